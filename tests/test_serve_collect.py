"""``sheetgen serve --collect``: learners hand in under their code, every version is kept, and
the teacher's pages (behind the token) give what ``sheetgen grade DIR`` gives."""

from __future__ import annotations

import io
import sqlite3
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from sheetgen.cli import main
from sheetgen.errors import UsageError
from sheetgen.serve.config import ServeConfig
from sheetgen.serve.routes import create_app
from sheetgen.serve.storage import Collection
from sheetgen.teacher import learner_by_code, read_codes
from sheetgen.teacher.roster import Learner

from .serving import right_and_wrong

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TOKEN = "teacher-secret-token"


@pytest.fixture(scope="module")
def sheets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return right_and_wrong(tmp_path_factory.mktemp("sheets"))


def class_files(folder: Path) -> tuple[Path, Path]:
    roster = folder / "class.csv"
    roster.write_text("id,name\ns001,Ada Lovelace\ns002,José Martí\ns003,Grace Hopper\n")
    codes = folder / "codes.csv"  # as the roster build writes it (hand-out-keys/codes.csv)
    codes.write_text(
        "id,name,code\ns001,Ada Lovelace,ADA-111\ns002,José Martí,JOSE-222\n"
        "s003,Grace Hopper,KNQC-YSAA\n"
    )
    return roster, codes


def collecting(folder: Path, **options: Any) -> TestClient:
    folder.mkdir(parents=True, exist_ok=True)
    roster, codes = class_files(folder)
    config = ServeConfig(
        workers=1, collect=folder / "collected", roster=roster, codes=codes, token=TOKEN
    )
    return TestClient(create_app(replace(config, **options)))


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with collecting(tmp_path) as c:
        yield c


def submit(c: TestClient, path: Path, code: str) -> Any:
    return c.post(
        "/api/submit", files={"file": (path.name, path.read_bytes(), XLSX)}, data={"code": code}
    )


def test_a_submission_is_stored_and_answered(
    client: TestClient, sheets: dict[str, Path], tmp_path: Path
) -> None:
    first = client.post(
        "/api/submit",
        files={"file": ("my sheet.xlsx", sheets["wrong"].read_bytes(), XLSX)},
        data={"code": "ADA-111"},
    )
    assert first.status_code == 200
    body = first.json()
    assert body["stored"] is True and body["id"] == 1
    assert body["ok"] is False and body["roots"] == ["E3"]  # --feedback full: verify's JSON
    second = client.post(
        "/api/submit",
        files={"file": ("../../evil.xlsx", sheets["right"].read_bytes(), XLSX)},
        data={"code": " ADA-111 "},
    )
    assert second.json()["id"] == 2 and second.json()["ok"] is True
    collected = tmp_path / "collected"
    latest = collected / "s001-Ada_Lovelace" / "s001-Ada_Lovelace.xlsx"
    assert latest.read_bytes() == sheets["right"].read_bytes()  # the latest counts
    versions = sorted((collected / ".sheetgen" / "versions" / "s001-Ada_Lovelace").iterdir())
    assert [v.read_bytes() for v in versions] == [
        sheets["wrong"].read_bytes(),
        sheets["right"].read_bytes(),
    ]
    assert not any("evil" in str(p) or "my sheet" in str(p) for p in collected.rglob("*"))
    with sqlite3.connect(collected / ".sheetgen" / "index.sqlite") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("SELECT COUNT(*) FROM submissions").fetchone()[0] == 2


def test_unknown_codes_and_non_workbooks_are_refused(
    client: TestClient, sheets: dict[str, Path], tmp_path: Path
) -> None:
    answer = client.post(
        "/api/submit",
        files={"file": ("a.xlsx", sheets["right"].read_bytes(), XLSX)},
        data={"code": "NOPE"},
    )
    assert answer.status_code == 403 and "code" in answer.json()["error"]
    answer = client.post(
        "/api/submit", files={"file": ("a.pdf", b"%PDF-1.4", XLSX)}, data={"code": "ADA-111"}
    )
    assert answer.status_code == 415
    assert not list((tmp_path / "collected" / ".sheetgen" / "versions").iterdir())


def test_no_upload_is_left_behind(
    client: TestClient, sheets: dict[str, Path], tmp_path: Path
) -> None:
    incoming = tmp_path / "collected" / ".sheetgen" / "incoming"
    sheet = {"file": ("a.xlsx", sheets["wrong"].read_bytes(), XLSX)}
    assert client.post("/api/check", files=sheet).status_code == 200
    annotated = client.post("/api/annotate", files=sheet)
    assert annotated.status_code == 200 and annotated.content[:2] == b"PK"
    assert submit(client, sheets["wrong"], "ADA-111").status_code == 200
    assert submit(client, sheets["wrong"], "NOPE").status_code == 403
    junk = {"file": ("a.xlsx", b"not a workbook", XLSX)}
    assert client.post("/api/check", files=junk).status_code >= 400
    assert client.post("/api/annotate", files=junk).status_code >= 400
    assert not list(incoming.iterdir())


def test_teacher_pages_need_the_token(client: TestClient) -> None:
    for path in ("/teacher/grades.csv", "/teacher/submissions.zip", "/teacher/summary.json"):
        assert client.get(path).status_code == 401
        wrong = client.get(path, headers={"authorization": "Bearer nope"})
        assert wrong.status_code == 401
    assert client.get("/teacher").status_code == 401  # the sign-in form


def test_grades_csv_is_what_sheetgen_grade_writes(
    client: TestClient, sheets: dict[str, Path], tmp_path: Path
) -> None:
    client.post(
        "/api/submit",
        files={"file": ("a.xlsx", sheets["wrong"].read_bytes(), XLSX)},
        data={"code": "ADA-111"},
    )
    client.post(
        "/api/submit",
        files={"file": ("b.xlsx", sheets["right"].read_bytes(), XLSX)},
        data={"code": "JOSE-222"},
    )
    auth = {"authorization": f"Bearer {TOKEN}"}
    served = client.get("/teacher/grades.csv", headers=auth)
    assert served.status_code == 200
    out = tmp_path / "grades.csv"
    assert (
        main(
            [
                "grade",
                str(tmp_path / "collected"),
                "--roster",
                str(tmp_path / "class.csv"),
                "-o",
                str(out),
                "--no-progress",
            ]
        )
        == 1
    )
    assert served.content == out.read_bytes()
    assert "s001" in served.text and "s002" in served.text
    for path, words in (
        ("/teacher/canvas.csv", "Points Possible"),
        ("/teacher/moodle.csv", "ID number"),
        ("/teacher/summary.json", '"summary"'),
        ("/teacher/report.html", "Class report"),
    ):
        answer = client.get(path, headers=auth)
        assert answer.status_code == 200, path
        assert words in answer.text, path
    home = client.get("/teacher", headers=auth)
    assert "2 workbooks: 1 right, 1 wrong" in home.text and "s001" in home.text
    assert '</teacher/summary.json>; rel="alternate"' in home.headers["link"]
    report = client.get("/teacher/report.html", headers=auth)
    assert "'sha256-" in report.headers["content-security-policy"]
    archive = client.get("/teacher/submissions.zip", headers=auth)
    names = zipfile.ZipFile(io.BytesIO(archive.content)).namelist()
    assert "submissions.csv" in names and len(names) == 3


def test_the_teacher_signs_in_with_a_form(client: TestClient) -> None:
    page = client.get("/teacher")
    token = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    answer = client.post("/teacher/sign-in", data={"csrf": token, "token": TOKEN})
    assert answer.status_code == 200  # redirected to the teacher's page
    assert "The class" in answer.text and "No submissions yet" in answer.text


def test_attempts_deadline_and_feedback(sheets: dict[str, Path], tmp_path: Path) -> None:
    with collecting(tmp_path / "a", attempts=1, feedback="summary") as c:
        first = submit(c, sheets["wrong"], "ADA-111")
        assert first.status_code == 200
        assert set(first.json()) == {"stored", "id", "received", "ok", "summary", "text"}
        again = submit(c, sheets["right"], "ADA-111")
        assert again.status_code == 403 and "attempts" in again.json()["error"]
        assert c.post("/api/check").status_code in (404, 405)  # no check without handing in
    past = datetime.now(UTC) - timedelta(hours=1)
    with collecting(tmp_path / "b", deadline=past, feedback="none") as c:
        late = submit(c, sheets["right"], "ADA-111")
        assert late.status_code == 403 and "deadline" in late.json()["error"]
    with collecting(tmp_path / "c", feedback="none") as c:
        quiet = submit(c, sheets["right"], "ADA-111")
        assert set(quiet.json()) == {"stored", "id", "received"}


def test_codes_csv_needs_its_columns_and_one_code_each(tmp_path: Path) -> None:
    bad = tmp_path / "codes.csv"
    bad.write_text("id,code\ns001,X\n")
    with pytest.raises(UsageError, match="id,name,code"):
        read_codes(bad)
    bad.write_text("\ufeffid,name,code\ns001,Ada,X\ns002,Bob,X\n")
    with pytest.raises(UsageError, match="twice"):
        read_codes(bad)


def test_a_learner_hands_in_with_the_form(sheets: dict[str, Path], tmp_path: Path) -> None:
    with collecting(tmp_path, max_upload=200_000) as c:
        page = c.get("/")
        assert 'name="code"' in page.text and "kept for your teacher" in page.text
        token = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        answer = c.post(
            "/submit",
            files={"file": ("mine.xlsx", sheets["wrong"].read_bytes(), XLSX)},
            data={"csrf": token, "code": "JOSE-222", "action": "check"},
        )
        assert answer.status_code == 200
        assert "Stored (submission 1" in answer.text and 'id="cell-E3"' in answer.text
        refused = c.post(
            "/submit",
            files={"file": ("mine.xlsx", sheets["wrong"].read_bytes(), XLSX)},
            data={"csrf": token, "code": "WRONG"},
        )
        assert refused.status_code == 403 and "not one of this class" in refused.text
        big = c.post(
            "/teacher/sign-in",
            content=b"token=" + b"x" * 400_000,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert big.status_code == 413 and "--max-upload" in big.json()["error"]


def test_serve_refuses_what_cannot_work(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    roster, codes = class_files(tmp_path)
    for args, words in (
        (["--collect", str(tmp_path / "c")], "--roster class.csv"),
        (
            ["--collect", str(tmp_path / "c"), "--roster", str(roster), "--codes", "nope.csv"],
            "were not found",
        ),
        (
            [
                "--collect",
                str(tmp_path / "c"),
                "--roster",
                str(roster),
                "--codes",
                str(codes),
                "--deadline",
                "friday",
            ],
            "is not an ISO 8601 time",
        ),
        (["--attempts", "3"], "applies to collect mode only"),
    ):
        assert main(["serve", *args]) == 2
        err = capsys.readouterr().err
        assert words in err and err.count("\n") == 1, err


def test_submissions_per_code_are_rate_limited(sheets: dict[str, Path], tmp_path: Path) -> None:
    with collecting(tmp_path, code_rate=1, feedback="none") as c:
        assert submit(c, sheets["right"], "ADA-111").status_code == 200
        again = submit(c, sheets["right"], "ADA-111")
        assert again.status_code == 429 and int(again.headers["retry-after"]) > 0
        assert submit(c, sheets["right"], "JOSE-222").status_code == 200  # another learner


def test_the_latest_copy_is_the_newest_version_under_concurrent_submissions(
    tmp_path: Path,
) -> None:
    ada = Learner("s001", "Ada Lovelace")
    collection = Collection(tmp_path / "collected", {"ADA-111": ada})
    uploads = []
    for i in range(4):
        upload = tmp_path / f"u{i}.xlsx"
        upload.write_bytes(b"PK\x03\x04 version %d" % i)
        uploads.append(upload)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda n: collection.store(ada, uploads[n % 4], ".xlsx"), range(40)))
    newest = list(collection.submissions())[-1]
    latest = tmp_path / "collected" / ada.file_stem / f"{ada.file_stem}.xlsx"
    assert latest.read_bytes() == newest.path.read_bytes()
    assert len(list(collection.submissions())) == 40
    collection.close()


def test_a_code_is_accepted_as_the_library_accepts_it(
    client: TestClient, sheets: dict[str, Path], tmp_path: Path
) -> None:
    for typed in ("KNQC-YSAA", "knqc ysaa", "knqc-ysaa", "KNQCYSAA", " Knqc-Ysaa "):
        found = learner_by_code(tmp_path, typed)  # codes.csv, as in the keys folder
        assert found is not None and found.id == "s003"
        answer = submit(client, sheets["right"], typed)
        assert answer.status_code == 200, typed
    assert learner_by_code(tmp_path, "KNQC-YSAB") is None
    assert submit(client, sheets["right"], "KNQC-YSAB").status_code == 403


def _form(page: Any) -> str:
    return str(page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0])


def test_a_draft_is_checked_without_handing_it_in(sheets: dict[str, Path], tmp_path: Path) -> None:
    with collecting(tmp_path, attempts=1) as c:
        page = c.get("/")
        assert 'value="hand-in">Hand in</button>' in page.text
        assert 'formaction="/check"' in page.text and "Check (not handed in)" in page.text
        draft = c.post(
            "/check",
            files={"file": ("mine.xlsx", sheets["wrong"].read_bytes(), XLSX)},
            data={"csrf": _form(page), "action": "check"},
        )
        assert draft.status_code == 200 and 'id="cell-E3"' in draft.text
        assert "not handed in" in draft.text and "Stored" not in draft.text
        assert not (tmp_path / "collected" / "s001-Ada_Lovelace").exists()
        handed = c.post(
            "/submit",
            files={"file": ("mine.xlsx", sheets["wrong"].read_bytes(), XLSX)},
            data={"csrf": _form(page), "code": "ada-111", "action": "hand-in"},
        )
        assert "Stored (submission 1" in handed.text  # the draft used no attempt
        assert "used all 1 attempts: the hand-in is closed for you" in handed.text
        assert "Hand in</button>" not in handed.text and "Check (not handed in)" in handed.text
        again = c.post(
            "/submit",
            files={"file": ("mine.xlsx", sheets["right"].read_bytes(), XLSX)},
            data={"csrf": _form(page), "code": "ADA-111", "action": "hand-in"},
        )
        assert again.status_code == 403 and again.text.count("closed for you") == 1
        assert "Hand in</button>" not in again.text and "Check (not handed in)" in again.text
    with collecting(tmp_path / "s", feedback="summary") as c:
        page = c.get("/")
        assert "Hand in</button>" in page.text and "Check (not handed in)" not in page.text


def test_after_the_deadline_the_page_says_the_hand_in_is_closed(
    sheets: dict[str, Path], tmp_path: Path
) -> None:
    past = datetime.now(UTC) - timedelta(hours=1)
    with collecting(tmp_path / "full", deadline=past) as c:
        page = c.get("/")
        assert "The hand-in is closed: the deadline" in page.text
        assert 'name="code"' not in page.text and "Hand in</button>" not in page.text
        assert 'action="/check"' in page.text  # checking a draft stays open
    with collecting(tmp_path / "none", deadline=past, feedback="none") as c:
        page = c.get("/")
        assert "The hand-in is closed" in page.text and "<form" not in page.text


def test_a_wrong_teacher_token_is_said_not_accepted(client: TestClient) -> None:
    page = client.get("/teacher")
    answer = client.post(
        "/teacher/sign-in", data={"csrf": _form(page), "token": "nope"}, follow_redirects=False
    )
    assert answer.status_code == 401 and "That token was not accepted." in answer.text
    assert "sheetgen_teacher" not in answer.headers.get("set-cookie", "")
    assert TOKEN not in answer.text


def test_the_class_page_counts_the_workbooks_to_review(client: TestClient, article: Path) -> None:
    """A workbook sheetgen could only check from the values it saved is neither right nor
    wrong: the teacher's page says so, as summary.json and ``sheetgen grade`` do."""
    from .stored import cell, stored

    saved = stored(
        article,
        article.parent / "review-by-hand.xlsx",
        {"F2": cell("F2", "_xlfn.SEQUENCE(1,1,TANH(E2))", 0.6640367702678491)},
    )
    assert submit(client, saved, "ADA-111").status_code == 200
    auth = {"authorization": f"Bearer {TOKEN}"}
    summary = client.get("/teacher/summary.json", headers=auth).json()["summary"]
    assert summary["review"] == 1
    home = client.get("/teacher", headers=auth)
    assert "1 workbook: 0 right, 0 wrong, 0 to do, 1 to review by hand, 0 unreadable" in (
        " ".join(home.text.split())
    )
