"""``sheetgen serve`` as a real process on loopback: a load of concurrent uploads, hostile files
uploaded while normal checks go on, and the server killed with SIGKILL in the middle of
submissions. Each test is bounded in time and stops its server itself."""

from __future__ import annotations

import hashlib
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx2
import pytest

from sheetgen import build

from . import hostile
from .serving import XLSX, free_port, load, right_and_wrong, running


@pytest.fixture(scope="module")
def sheets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return right_and_wrong(tmp_path_factory.mktemp("sheets"))


def test_a_load_of_concurrent_uploads_is_answered_right(
    sheets: dict[str, Path], tmp_path: Path
) -> None:
    """200 uploads from 20 clients at once: every one answered 200 with the right verdict.
    (The latency figures are printed; ``benchmarks/serve_load.py`` is where they are measured.)
    """
    with running(["--workers", "2"], tmp_path) as server:
        result = load(
            server.url,
            [(sheets["right"], True), (sheets["wrong"], False)],
            clients=20,
            uploads=200,
            seconds=240,
        )
        rss = server.rss_mb()
    print(result.line(), f"server RSS {rss:.0f} MB")
    assert result.mistakes == []
    assert len(result.statuses) == 200 and set(result.statuses) == {200}
    assert rss < 400


HOSTILE: list[Callable[[Path], Path]] = [
    hostile.sheet_zip_bomb,
    hostile.bzip2_bomb,
    hostile.huge_shared_string,
    hostile.xml_entity_bomb,
    hostile.whole_sheet_merge,
    hostile.far_cell,
    hostile.deep_nesting,
    hostile.lying_size_bomb,
    hostile.many_entries,
    hostile.encrypted,
]


def test_hostile_uploads_cost_no_normal_check(sheets: dict[str, Path], tmp_path: Path) -> None:
    files = []
    for make in HOSTILE:
        folder = tmp_path / make.__name__
        folder.mkdir()
        files.append(make(folder))
    hostile_answers: list[tuple[str, int, str]] = []
    normal: list[tuple[int, object]] = []
    with running(["--workers", "2", "--check-seconds", "10"], tmp_path) as server:

        def attack() -> None:
            with httpx2.Client(base_url=server.url, timeout=120) as http:
                for path in files:
                    answer = http.post(
                        "/api/check", files={"file": (path.name, path.read_bytes(), XLSX)}
                    )
                    hostile_answers.append((path.name, answer.status_code, answer.text))

        attacker = threading.Thread(target=attack)
        attacker.start()
        with httpx2.Client(base_url=server.url, timeout=120) as http:
            while attacker.is_alive() or len(normal) < 10:
                which = "right" if len(normal) % 2 == 0 else "wrong"
                answer = http.post(
                    "/api/check",
                    files={"file": (f"{which}.xlsx", sheets[which].read_bytes(), XLSX)},
                )
                normal.append((answer.status_code, answer.json().get("ok")))
                if len(normal) > 500:
                    break
        attacker.join(240)
        rss = server.rss_mb()
    assert not attacker.is_alive()
    assert all(status == 200 for status, _ in normal), normal
    assert [ok for _, ok in normal] == [i % 2 == 0 for i in range(len(normal))]
    assert len(hostile_answers) == len(files)
    for name, status, text in hostile_answers:
        assert 400 <= status < 500, (name, status, text)
        assert '"error"' in text
    assert rss < 400


def test_sigkill_loses_no_acknowledged_submission(sheets: dict[str, Path], tmp_path: Path) -> None:
    """Submissions stream in; the server is killed with SIGKILL; restarted on the same folder,
    every submission it acknowledged is in the index and on disk, byte for byte."""
    (tmp_path / "class.csv").write_text("id,name\n" + "".join(f"s{i},L{i}\n" for i in range(8)))
    (tmp_path / "codes.csv").write_text(
        "id,name,code\n" + "".join(f"s{i},L{i},CODE-{i}\n" for i in range(8))
    )
    versions = [build(tmp_path / f"v{i}.xlsx", weight=0.1 * (i + 1)) for i in range(4)]
    bodies = [v.read_bytes() for v in versions]
    args = ["--collect", "collected", "--roster", "class.csv", "--codes", "codes.csv"]
    env = {"SHEETGEN_TEACHER_TOKEN": "t0ken"}
    acknowledged: list[tuple[int, str, str]] = []  # id, learner code, sha256
    lock = threading.Lock()
    with running([*args, "--workers", "1", "--feedback", "none"], tmp_path, env) as server:

        def learner(i: int) -> None:
            with httpx2.Client(base_url=server.url, timeout=30) as http:
                for n in range(200):
                    data = bodies[(i + n) % len(bodies)]
                    try:
                        answer = http.post(
                            "/api/submit",
                            files={"file": ("mine.xlsx", data, XLSX)},
                            data={"code": f"CODE-{i}"},
                        )
                    except httpx2.HTTPError:
                        return  # the server is gone
                    if answer.status_code == 429:
                        time.sleep(0.05)
                        continue
                    if answer.status_code == 200 and answer.json().get("stored") is True:
                        with lock:
                            acknowledged.append(
                                (answer.json()["id"], f"s{i}", hashlib.sha256(data).hexdigest())
                            )

        threads = [threading.Thread(target=learner, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60
        while len(acknowledged) < 20 and time.monotonic() < deadline:
            time.sleep(0.02)
        server.kill()
        for t in threads:
            t.join(60)
    assert len(acknowledged) >= 20
    index = tmp_path / "collected" / ".sheetgen" / "index.sqlite"
    # Restarted, the server repairs the latest copies from the index.
    with running([*args, "--workers", "1"], tmp_path, env), sqlite3.connect(index) as db:
        rows = {
            ident: (learner, path, digest)
            for ident, learner, path, digest in db.execute(
                "SELECT id, learner, path, sha256 FROM submissions"
            )
        }
    for ident, learner_id, digest in acknowledged:
        assert ident in rows
        learner_id_stored, path, stored_digest = rows[ident]
        assert (learner_id_stored, stored_digest) == (learner_id, digest)
        data = (tmp_path / "collected" / path).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest
    newest: dict[str, str] = {}
    for ident in sorted(rows):
        newest[rows[ident][0]] = rows[ident][2]
    for learner_id, digest in newest.items():  # each latest copy is the newest indexed version
        folder = tmp_path / "collected" / f"{learner_id}-L{learner_id[1:]}"
        latest = folder / f"{folder.name}.xlsx"
        assert hashlib.sha256(latest.read_bytes()).hexdigest() == digest


READY = """
import sys
from sheetgen.serve.config import ServeConfig
from sheetgen.serve.run import serve
serve(ServeConfig(port=int(sys.argv[1]), workers=1), ready=lambda: print("ready", flush=True))
"""


def test_ready_is_told_once_the_port_accepts_connections(tmp_path: Path) -> None:
    """What ``sheetgen serve`` prints its "serving" line from: a script waiting for the line
    connects at once, with no retry."""
    port = free_port()
    with subprocess.Popen(
        [sys.executable, "-c", READY, str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=tmp_path,
    ) as process:
        try:
            assert process.stdout is not None
            assert process.stdout.readline() == b"ready\n"
            answer = httpx2.get(f"http://127.0.0.1:{port}/api/health", timeout=10)
            assert answer.status_code == 200
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
