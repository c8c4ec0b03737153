"""``sheetgen serve`` in self-check mode, driven in-process (the ASGI app, no socket): the JSON
API answers what ``verify --json`` prints, the learner's page draws the sheet with a verdict on
each checked cell, and uploads that cannot be checked get one sentence and a 4xx."""

from __future__ import annotations

import asyncio
import io
import json
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from starlette.testclient import TestClient

from sheetgen import build
from sheetgen.cli import main
from sheetgen.serve import work
from sheetgen.serve.config import ServeConfig
from sheetgen.serve.guard import RateLimit
from sheetgen.serve.pool import CheckPool, PoolBusy
from sheetgen.serve.routes import create_app, shown_name
from sheetgen.workbook.safety import configured_limits

from .serving import right_and_wrong

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(scope="module")
def sheets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return right_and_wrong(tmp_path_factory.mktemp("sheets"))


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    app = create_app(ServeConfig(workers=1, max_upload=200_000))
    with TestClient(app) as c:
        yield c


def upload(path: Path, name: str | None = None) -> dict[str, tuple[str, bytes, str]]:
    return {"file": (name or path.name, path.read_bytes(), XLSX)}


def verify_json(path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    main(["verify", str(path), "--json"])
    data: dict[str, object] = json.loads(capsys.readouterr().out)
    return data


@pytest.mark.parametrize("which", ["right", "wrong"])
def test_api_check_answers_what_verify_json_prints(
    client: TestClient,
    sheets: dict[str, Path],
    which: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    answer = client.post("/api/check", files=upload(sheets[which]))
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    expected = verify_json(sheets[which], capsys)
    got = answer.json()
    assert got.pop("path") == f"{which}.xlsx"  # the learner's name, not the server's copy
    expected.pop("path")
    assert got == expected
    assert got["ok"] is (which == "right")


@pytest.mark.parametrize(
    "spec", ["network:layers=2-3-1", "training:steps=40", "neuron:activation=sigmoid"]
)
def test_every_family_is_checked_and_drawn(
    client: TestClient, spec: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sheet = build(tmp_path / "family.xlsx", spec)
    answer = client.post("/api/check", files=upload(sheet))
    assert answer.status_code == 200
    expected = verify_json(sheet, capsys)
    assert answer.json() | {"path": ""} == expected | {"path": ""}
    client.get("/")
    page = client.post(
        "/check", files=upload(sheet), data={"csrf": client.cookies["sheetgen_csrf"]}
    )
    assert page.status_code == 200 and "OK: all" in page.text
    drawn = set(re.findall(r'<td class="k-right" id="cell-(\w+)"', page.text))
    assert drawn == {c["cell"] for c in expected["cells"]}  # type: ignore[attr-defined]


def test_a_broken_training_run_lists_its_root_first(
    client: TestClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sheet = build(tmp_path / "training.xlsx", "training:steps=60")
    report = verify_json(sheet, capsys)
    first = next(c for c in report["cells"] if c["formula"])  # type: ignore[attr-defined]
    wb = openpyxl.load_workbook(sheet)
    ws = wb.worksheets[0]
    ws[first["cell"]] = f"=2*({first['formula'][1:]})"
    wb.save(tmp_path / "broken.xlsx")
    client.get("/")
    page = client.post(
        "/check",
        files=upload(tmp_path / "broken.xlsx"),
        data={"csrf": client.cookies["sheetgen_csrf"]},
    )
    assert page.status_code == 200
    listed = re.findall(r'<li class="k-(\w+)" id="fix-(\w+)"', page.text)
    assert listed[0] == ("root", first["cell"])
    assert 50 < len(listed) <= 200  # many cells follow from it; the list is bounded
    assert 'class="scroll"' in page.text


def test_health_and_the_pages_twin(client: TestClient) -> None:
    health = client.get("/api/health")
    assert health.status_code == 200
    assert health.json()["ok"] is True and health.json()["stores_files"] is False
    page = client.get("/")
    assert page.status_code == 200
    assert "checked and discarded" in page.text
    assert '</api/health>; rel="alternate"' in page.headers["link"]
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "<script>" not in page.text and " style=" not in page.text  # nothing inline


@pytest.mark.parametrize(
    ("name", "data", "status", "words"),
    [
        ("notes.pdf", b"%PDF-1.4 not a workbook", 422, "not an .xlsx"),
        ("empty.xlsx", b"", 422, "empty"),
        ("broken.xlsx", b"PK\x03\x04" + b"\0" * 100, 422, "is damaged or incomplete"),
    ],
)
def test_a_file_that_cannot_be_checked_is_one_sentence(
    client: TestClient, name: str, data: bytes, status: int, words: str
) -> None:
    answer = client.post("/api/check", files={"file": (name, data, XLSX)})
    assert answer.status_code == status
    error = answer.json()["error"]
    assert list(answer.json()) == ["error"]
    assert name in error and words in error
    assert "sheetgen-serve-" not in error and "upload-" not in error  # no server path
    assert error.count(". ") == 0 and error.endswith(".")


def test_no_file_field_is_a_400(client: TestClient) -> None:
    answer = client.post("/api/check", files={"other": ("a.xlsx", b"x", XLSX)})
    assert answer.status_code == 400
    assert answer.json() == {"error": "Send the workbook as the multipart field file."}


def test_an_upload_past_the_cap_is_413_while_it_streams(client: TestClient) -> None:
    big = b"PK\x03\x04" + b"\0" * 400_000
    answer = client.post("/api/check", files={"file": ("big.xlsx", big, XLSX)})
    assert answer.status_code == 413
    assert "larger than" in answer.json()["error"] and "--max-upload" in answer.json()["error"]

    # Without a Content-Length only counting can stop it: drive the app with a body that
    # arrives in 50 kB pieces and count how many it asked for.
    asked = 0

    async def receive() -> dict[str, object]:
        nonlocal asked
        asked += 1
        if asked == 1:
            head = b"--b\r\nContent-Disposition: form-data; name=file; filename=a.xlsx\r\n\r\n"
            return {"type": "http.request", "body": head, "more_body": True}
        return {"type": "http.request", "body": b"\0" * 50_000, "more_body": asked < 200}

    sent: list[dict[str, object]] = []

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/check",
        "raw_path": b"/api/check",
        "query_string": b"",
        "headers": [(b"content-type", b"multipart/form-data; boundary=b")],
        "http_version": "1.1",
        "scheme": "http",
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 1234),
        "root_path": "",
    }
    asyncio.run(client.app(scope, receive, send))  # type: ignore[arg-type]
    assert sent[0]["status"] == 413
    assert asked <= 3 + 264_000 // 50_000  # stopped at the cap, not after 10 MB


def test_the_learners_page_shows_the_grid_with_verdicts(
    client: TestClient, sheets: dict[str, Path]
) -> None:
    page = client.get("/")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token is not None
    answer = client.post(
        "/check", files=upload(sheets["wrong"]), data={"csrf": token[1], "action": "check"}
    )
    assert answer.status_code == 200
    html = answer.text
    assert "FAILED: 47 of 52 cells right" in html
    # E3 is a root cause: red, with a mark and words, and its explanation beside it
    cell = re.search(r'<td class="k-root" id="cell-E3"[^>]*>(.*?)</td>', html, re.S)
    assert cell is not None
    assert "\u2717" in cell[1] and "wrong: fix this first" in cell[1]
    assert "=1-F2^3" in cell[1] and "Hint:" in cell[1]
    assert re.search(r'<td class="k-inherited" id="cell-B4"', html)
    assert re.search(r'<td class="k-right" id="cell-E2"', html)
    assert ">Neuron maths:<" in html  # the learner's labels, as in their file
    # wrong cells listed first, root causes before what follows from them
    listed = re.findall(r'<li class="k-(\w+)" id="fix-(\w+)"', html)
    assert listed[0] == ("root", "E3")
    assert [k for k, _ in listed] == sorted(
        (k for k, _ in listed), key=["root", "inherited", "todo"].index
    )
    assert '</api/check>; rel="alternate"' in answer.headers["link"]


def test_the_page_says_why_a_file_was_not_checked(client: TestClient) -> None:
    client.get("/")
    answer = client.post(
        "/check",
        files={"file": ("notes.pdf", b"%PDF-1.4 not a workbook", XLSX)},
        data={"csrf": client.cookies["sheetgen_csrf"]},
    )
    assert answer.status_code == 422
    refusal = re.search(r'<p class="refusal" role="alert" id="refusal">(.*?)</p>', answer.text)
    assert refusal is not None and "notes.pdf" in refusal[1] and "not an .xlsx" in refusal[1]
    assert 'id="upload"' in answer.text  # and the form to try again


def test_a_form_without_its_csrf_token_is_refused(
    client: TestClient, sheets: dict[str, Path]
) -> None:
    client.get("/")
    answer = client.post(
        "/check", files=upload(sheets["right"]), data={"csrf": "forged", "action": "check"}
    )
    assert answer.status_code == 403
    assert "expired" in answer.text


def test_the_feedback_workbook_downloads(client: TestClient, sheets: dict[str, Path]) -> None:
    answer = client.post("/api/annotate", files=upload(sheets["wrong"], "mine.xlsx"))
    assert answer.status_code == 200
    assert answer.headers["content-type"] == XLSX
    assert 'filename="mine-feedback.xlsx"' in answer.headers["content-disposition"]
    ws = openpyxl.load_workbook(io.BytesIO(answer.content))["Neuron"]
    assert ws["E3"].comment is not None and "1-F2^3" in ws["E3"].comment.text
    assert ws["E3"].fill.fgColor.rgb.endswith("F8CBAD")


def test_shown_names_are_only_shown() -> None:
    assert shown_name("../../etc/passwd") == "passwd"
    assert shown_name("C:\\Users\\a\\neuron.xlsx") == "neuron.xlsx"
    assert shown_name("\x1b[31mred.xlsx") == "[31mred.xlsx"
    assert shown_name(None) == "your workbook"


def test_the_queue_is_bounded_and_a_slow_check_is_stopped(
    sheets: dict[str, Path], tmp_path: Path
) -> None:
    # A check that takes tenths of a second against a limit of a hundredth: the article's
    # takes a millisecond or two once a worker has met a hand-out, too close to any limit.
    slow = build(tmp_path / "slow.xlsx", "training:steps=200,optimizer=adam")
    pool = CheckPool(1, 0, seconds=0.01, memory=900 * 1024 * 1024)
    pool.start()
    try:
        for worker in pool._all:  # each worker runs under its address-space cap
            limits = Path(f"/proc/{worker.process.pid}/limits").read_text()
            line = next(x for x in limits.splitlines() if x.startswith("Max address space"))
            assert line.split()[3:5] == [str(900 * 1024 * 1024)] * 2
        job = {"do": "check", "path": str(slow), "name": "slow.xlsx"}

        async def two_at_once() -> tuple[dict[str, object], BaseException | None]:
            first = asyncio.ensure_future(pool.run(job))
            await asyncio.sleep(0)
            busy: BaseException | None = None
            try:
                await pool.run(job)
            except PoolBusy as exc:
                busy = exc
            return await first, busy

        answer, busy = asyncio.run(two_at_once())
        assert isinstance(busy, PoolBusy) and busy.retry_after >= 1
        assert answer["status"] == 503 and int(str(answer["retry_after"])) >= 1
        assert "could not be checked within the 0.01 s of computing" in str(answer["error"])
        pool.seconds = 30.0  # the worker was replaced: the next check is answered
        again = asyncio.run(pool.run(job | {"path": str(sheets["right"])}))
        assert again["report"]["ok"] is True
    finally:
        pool.close()


def test_rate_limit_counts_a_sliding_minute() -> None:
    limit = RateLimit(2, keys=2)
    assert limit.retry_after("a", 0) is None
    assert limit.retry_after("a", 1) is None
    assert limit.retry_after("a", 2) == 59
    assert limit.retry_after("a", 61) is None
    for key in "bcd":
        limit.retry_after(key, 62)
    assert len(limit._seen) == 2


def test_serve_refuses_collect_options_without_collect(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["serve", "--attempts", "3"]) == 2
    assert "--attempts applies to collect mode only" in capsys.readouterr().err


class BusyPool:
    """A pool whose queue is always full."""

    workers, queue, pending = 1, 0, 1

    def start(self) -> None: ...

    def close(self) -> None: ...

    async def run(self, job: object) -> dict[str, object]:
        raise PoolBusy(3)


def test_a_full_queue_is_a_503_with_retry_after(sheets: dict[str, Path]) -> None:
    app = create_app(ServeConfig(), pool=BusyPool())  # type: ignore[arg-type]
    with TestClient(app) as c:
        answer = c.post("/api/check", files=upload(sheets["right"]))
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "3"
    assert answer.json() == {"error": "The server is busy; try again in 3 s."}


def test_rate_limit_per_address_on_request(sheets: dict[str, Path]) -> None:
    app = create_app(ServeConfig(rate_limit=2), pool=BusyPool())  # type: ignore[arg-type]
    with TestClient(app) as c:
        statuses = [c.post("/api/check", files=upload(sheets["right"])) for _ in range(3)]
    assert [a.status_code for a in statuses] == [503, 503, 429]
    assert int(statuses[2].headers["retry-after"]) > 0


def test_serve_refuses_a_port_in_use(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert err == f"sheetgen: Cannot listen on 127.0.0.1:{port}: address already in use.\n"


def test_a_sheet_too_large_for_a_check_says_what_the_teacher_can_do(
    monkeypatch: pytest.MonkeyPatch, sheets: dict[str, Path]
) -> None:
    def out_of_memory(*args: object, **kwargs: object) -> None:
        raise MemoryError

    monkeypatch.setattr(work, "verify_workbook", out_of_memory)
    job = {"do": "check", "path": str(sheets["right"]), "name": "big.xlsx"}
    answer = work.handle(job, configured_limits(()))
    assert answer["status"] == 422
    assert answer["error"] == (
        "big.xlsx is a large sheet that needs more memory than the server gives one check: "
        "the teacher can raise it with --check-memory."
    )


def test_the_page_reads_the_learners_file_once(
    monkeypatch: pytest.MonkeyPatch, sheets: dict[str, Path]
) -> None:
    """The page's check read a large book twice (once to check it, again to draw its grid):
    ~1.5 s of a 73,500-cell sheet's 7.2. The grid is drawn from the book the check read, and
    is the grid of the file as read afresh."""
    from sheetgen.check.verify import verify_workbook
    from sheetgen.serve.grid import sheet_grid
    from sheetgen.workbook.safety import Limits, read_checked, vet
    from sheetgen.workbook.safety.files import read_input

    reads: list[Path] = []

    def counted(path: Path, limits: Limits) -> bytes:
        reads.append(path)
        return read_input(path, limits)

    monkeypatch.setattr(vet, "read_input", counted)
    path = sheets["wrong"]
    job = {"do": "check", "path": str(path), "name": "mine.xlsx", "grid": True}
    answer = work.handle(job, configured_limits(()))
    assert reads == [path]
    report = verify_workbook(path)
    fresh = read_checked(path).book.sheet(report.sheet)
    assert fresh is not None
    assert answer["grid"] == sheet_grid(fresh, report)
