"""Memory running out while a workbook is checked, told by the library itself: ``verify_workbook``
(and so ``verify_each``, ``grade``, the web page and ``sheetgen verify``) raises
:class:`~sheetgen.errors.TooLargeError` with the sentence ``verify`` prints, its
``MemoryError`` chained, and what the check held let go before the sentence is made. What
follows a check runs out as plainly: ``verify --annotate``'s copy (the check done, its copy
too large to make here) and ``grade``'s search of a checked file for its hand-out's records
(the file recorded as too large to check, the class graded on)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import traceback
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sheetgen import TooLargeError, build, verify_workbook
from sheetgen.check.batch import verify_each
from sheetgen.cli import main
from sheetgen.engine.evaluate import Evaluator

TOO_LARGE = (
    "{} is too large to check on this machine: checking it needs more memory than is free "
    "(the file itself is not damaged); check it where more memory is free (close other "
    "programs, or use a larger computer)."
)


class _Held:
    """Weak references to what the check held when its memory ran out."""

    def __init__(self) -> None:
        self.refs: list[weakref.ref[Any]] = []

    def alive(self) -> list[str]:
        return [type(r()).__name__ for r in self.refs if r() is not None]


@pytest.fixture
def runs_out(monkeypatch: pytest.MonkeyPatch) -> _Held:
    """The evaluator runs out of memory as it fills the cells of a book."""
    held = _Held()

    def fill(self: Evaluator, *_args: object, **_kwargs: object) -> None:
        held.refs += [weakref.ref(self), weakref.ref(self.book)]
        raise MemoryError

    monkeypatch.setattr(Evaluator, "fill", fill)
    return held


def test_verify_workbook_tells_memory_running_out_as_too_large(
    runs_out: _Held, tmp_path: Path
) -> None:
    """A teacher's script calling ``verify_workbook`` got a bare ``MemoryError`` (the sentence
    was made by the command's callers alone); and the error holds none of what was checked:
    the frames of its traceback, which held the book and the evaluator, are cleared."""
    path = build(tmp_path / "hw.xlsx")
    with pytest.raises(TooLargeError) as caught:
        verify_workbook(path)
    assert str(caught.value) == TOO_LARGE.format(path)
    assert type(caught.value.__cause__) is MemoryError  # where it ran out, for who looks
    assert len(runs_out.refs) == 2 and runs_out.alive() == []


def test_what_the_reader_had_read_is_let_go_too(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The reader tells its own running out (``TooLargeError``, from ``read_checked``); the
    worksheets it had captured were still held by its frames, kept by that error."""
    held = _Held()

    def read_book(_data: bytes, sheets: dict[str, object], **_kwargs: object) -> None:
        held.refs += [weakref.ref(capture) for capture in sheets.values()]
        raise MemoryError

    monkeypatch.setattr("sheetgen.workbook.safety.vet.read_book", read_book)
    path = build(tmp_path / "hw.xlsx")
    with pytest.raises(TooLargeError) as caught:
        verify_workbook(path)
    assert str(caught.value) == TOO_LARGE.format(path)
    assert len(held.refs) == 1 and held.alive() == []


def test_verify_each_yields_the_sentence_and_goes_on(runs_out: _Held, tmp_path: Path) -> None:
    first, second = build(tmp_path / "a.xlsx"), build(tmp_path / "b.xlsx")
    told = list(verify_each([first, second]))
    assert [(p, type(e)) for p, e in told] == [(first, TooLargeError), (second, TooLargeError)]
    assert str(told[1][1]) == TOO_LARGE.format(second)


def test_a_callers_own_exception_keeps_its_frames(runs_out: _Held, tmp_path: Path) -> None:
    """Only the check's own frames are cleared: a caller checking from an except block keeps
    what its exception's frames hold (a debugger's post-mortem of it)."""
    path = build(tmp_path / "hw.xlsx")

    def failing() -> None:
        mine = "still here"
        raise KeyError(mine)

    try:
        failing()
    except KeyError as exc:
        with pytest.raises(TooLargeError):
            verify_workbook(path)
        assert exc.__traceback__ is not None and exc.__traceback__.tb_next is not None
        assert exc.__traceback__.tb_next.tb_frame.f_locals["mine"] == "still here"


def test_letting_go_running_out_too_is_still_told_too_large(
    runs_out: _Held, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Clearing the frames runs code, which needs memory itself, while none is free yet (a
    real cap 512 KB above what reading took): the sentence is still told, not a bare
    ``MemoryError``, and what the check held still goes (its tracebacks dropped)."""
    path = build(tmp_path / "hw.xlsx")

    def clear_frames(_tb: object) -> None:
        raise MemoryError

    monkeypatch.setattr(traceback, "clear_frames", clear_frames)
    with pytest.raises(TooLargeError) as caught:
        verify_workbook(path)
    assert str(caught.value) == TOO_LARGE.format(path)
    assert type(caught.value.__cause__) is MemoryError
    assert len(runs_out.refs) == 2 and runs_out.alive() == []


def test_reading_the_files_bytes_running_out_is_told_the_same(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The bytes are read before anything vets them (``read_input``, which ``grade`` calls
    itself to hash them): running out there is the same sentence, in verify and in grade's
    row alike."""
    from sheetgen.teacher.scoring import grade_one

    path = build(tmp_path / "hw.xlsx")

    def read(_fd: int, _size: int) -> bytes:
        raise MemoryError

    monkeypatch.setattr(os, "read", read)  # the module's, while the test runs
    with pytest.raises(TooLargeError, match="is too large to check on this machine"):
        verify_workbook(path)
    assert grade_one(str(path)).reason == TOO_LARGE.format(path)


_CAPPED = """
import resource, sys
from pathlib import Path
from sheetgen import TooLargeError, verify_workbook
from sheetgen.workbook.safety import configured_limits, read_checked

large, small, margin = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
verify_workbook(small)  # imports made, the templates' formulas compiled
checked = read_checked(large, configured_limits())  # read whole: checking it is what runs out
with open("/proc/self/status") as status:
    size = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize"))
resource.setrlimit(resource.RLIMIT_AS, (size + margin, resource.RLIM_INFINITY))
try:
    verify_workbook(large, checked=checked)
    print("checked")
except TooLargeError as exc:
    print(type(exc.__cause__).__name__, exc)
del checked
print(verify_workbook(small).ok)  # under the same cap: the memory went back
"""


def _capped(script: str, large: Path, small: Path, margin: int) -> subprocess.CompletedProcess[str]:
    """``script`` run in a process of its own (its address space capped ``margin`` bytes
    above what it reached before the work) with ``large``, ``small`` and ``margin``, in the
    folder of ``large``: not the checkout, so the installed sheetgen is what runs."""
    result = subprocess.run(
        [sys.executable, "-c", script, str(large), str(small), str(margin)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=large.parent,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmSize (Linux)")
def test_a_real_run_out_of_memory_is_told_and_the_memory_goes_back(tmp_path: Path) -> None:
    """A 40-40-1 network read whole, then checked with 4 MB more address space than reading it
    took: checking it needs about 14 MB (Python 3.11, glibc: told too large up to a 13 MB
    margin), the article's sheet, checked once before, under 256 KB more: the margin sits
    well inside both, so that another machine, or a sheetgen that checks with half as much,
    still runs out on the one and not on the other. The check is told
    too large (its ``MemoryError`` chained), and the same process then checks the article's
    sheet under the same cap, as a web worker goes on to its next upload."""
    large = build(tmp_path / "n40.xlsx", "network:layers=40-40-1")
    small = build(tmp_path / "small.xlsx")
    result = _capped(_CAPPED, large, small, 4 << 20)
    assert result.stdout.splitlines() == ["MemoryError " + TOO_LARGE.format(large), "True"]


@pytest.fixture
def fresh_compilations() -> Iterator[None]:
    """No compilation remembered from before the test, nor from it after."""
    from sheetgen.engine import compiled

    def clear() -> None:
        compiled.compile_formula.cache_clear()
        compiled._compile_text.cache_clear()
        compiled._vetted.cache_clear()
        compiled._vetted_shape.cache_clear()
        compiled._PATTERNS.clear()

    clear()
    yield
    clear()


def test_a_formula_running_out_is_told_too_large_not_its_cells_verdict(
    fresh_compilations: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The engine turns a formula's failure into the cell's ``#VALUE!`` (could not be
    evaluated: not computed, exit 3); memory running out in it is no fault of the formula's,
    and is told as the whole check's."""
    from sheetgen.engine import replay

    def straighten(_pipe: object) -> Any:
        def function(*_args: object) -> object:
            raise MemoryError

        return function

    monkeypatch.setattr(replay, "straighten", straighten)
    path = build(tmp_path / "hw.xlsx")
    with pytest.raises(TooLargeError) as caught:
        verify_workbook(path)
    assert str(caught.value) == TOO_LARGE.format(path)


def test_compiling_running_out_is_not_remembered_as_the_texts_failure(
    fresh_compilations: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A text that failed to compile is remembered as failed (every later check of the
    process, a class's or the web page's, would call it unreadable): running out of memory
    compiling it is raised, and the next try compiles it."""
    import formulas

    from sheetgen.engine.compiled import compile_formula

    def ast(*_args: object, **_kwargs: object) -> object:
        raise MemoryError

    with monkeypatch.context() as patched:
        patched.setattr(formulas.Parser, "ast", ast)
        with pytest.raises(MemoryError):
            compile_formula("=SQRT(16)+1")
    compiled = compile_formula("=SQRT(16)+1")
    assert compiled.form.problem is None and compiled.function is not None


TOO_LARGE_TO_COPY = (
    "{} is too large to copy with feedback on this machine: writing its feedback copy needs "
    "more memory than is free (the file itself is not damaged, and its check is done); write "
    "the copy where more memory is free (close other programs, or use a larger computer)."
)


def _annotated(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    """``sheetgen verify hw.xlsx --annotate fb.xlsx`` of the article's sheet ``path``, alone
    in its folder: the exit code must be 2, the copy must not be there, nor any part of it;
    the report and the one line on stderr are returned."""
    tmp_path, copy = path.parent, path.parent / "fb.xlsx"
    code = main(["verify", str(path), "--annotate", str(copy), "--variants", "0"])
    out, err = capsys.readouterr()
    assert code == 2, (code, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hw.xlsx"]  # no copy, no temporary
    assert len(err.strip().splitlines()) == 1, err
    return out, err.strip()


def test_writing_the_feedback_copy_running_out_is_told_too_large(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`verify --annotate` ran out of memory writing the copy (openpyxl's save of a large
    sheet): "internal error (MemoryError)". It is told as the check's running out is, the
    check's report printed before it, and the workbook the copy was made of let go."""
    from openpyxl import Workbook

    held = _Held()

    def save(self: Workbook, _where: object) -> None:
        held.refs.append(weakref.ref(self))
        raise MemoryError

    path = build(tmp_path / "hw.xlsx")
    monkeypatch.setattr(Workbook, "save", save)
    out, err = _annotated(path, capsys)
    assert err == "sheetgen: " + TOO_LARGE_TO_COPY.format(path)
    assert out.endswith(f"OK: all 52 cells of {path} compute the right numbers.\n"), out
    assert len(held.refs) == 1 and held.alive() == []


def test_reading_the_workbook_to_copy_running_out_says_the_copy_not_the_check(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """openpyxl reads the workbook again to copy it, with more memory than the check needed:
    its running out (told by the reader as too large to check) is the copy's, the check
    being done."""
    import openpyxl

    def load_workbook(*_args: object, **_kwargs: object) -> None:
        raise MemoryError

    path = build(tmp_path / "hw.xlsx")
    monkeypatch.setattr(openpyxl, "load_workbook", load_workbook)
    _out, err = _annotated(path, capsys)
    assert err == "sheetgen: " + TOO_LARGE_TO_COPY.format(path)


def test_importing_what_writes_the_copy_running_out_is_told_too_large(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What writes the copy (openpyxl, with ``sheetgen.report.annotate``) is imported once the
    report is printed: importing it may be what runs out (seen under a real cap)."""
    import importlib.abc

    class RunsOut(importlib.abc.MetaPathFinder):
        def find_spec(self, name: str, *_args: object) -> None:
            if name == "sheetgen.report.annotate":
                raise MemoryError

    path = build(tmp_path / "hw.xlsx")
    monkeypatch.delitem(sys.modules, "sheetgen.report.annotate", raising=False)
    monkeypatch.setattr(sys, "meta_path", [RunsOut(), *sys.meta_path])
    _out, err = _annotated(path, capsys)
    assert err == "sheetgen: " + TOO_LARGE_TO_COPY.format(path)


def _graded(capsys: pytest.CaptureFixture[str], *paths: Path) -> tuple[int, dict[str, Any]]:
    argv = ["grade", *map(str, paths), "--workers", "1", "-q", "--variants", "0"]
    code = main([*argv, "--format", "json"])
    out, err = capsys.readouterr()
    assert err == "", err
    return code, {row["learner"]: row for row in json.loads(out)["files"]}


def test_grade_records_the_records_search_running_out_as_too_large_and_goes_on(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """After a file's check, ``grade`` searches its parts for the hand-out's signed records
    (``read_found``): running out there ended the whole class's run in "internal error
    (MemoryError)". The file is recorded as too large to check, as a refusal is, and the
    class goes on."""
    from sheetgen.teacher.provenance import read_found as found

    first, second = build(tmp_path / "a.xlsx"), build(tmp_path / "b.xlsx")
    calls: list[bytes] = []

    def read_found(data: bytes) -> Any:
        calls.append(data)
        if len(calls) == 1:  # the first file's (the files are graded in order)
            raise MemoryError
        return found(data)

    monkeypatch.setattr("sheetgen.teacher.provenance.read_found", read_found)
    code, rows = _graded(capsys, first, second)
    assert code == 1
    assert rows["a"]["status"] == "unreadable" and rows["a"]["score"] == 0
    assert rows["a"]["reason"] == TOO_LARGE.format(first)
    assert rows["b"]["status"] == "ok" and rows["b"]["reason"] == ""


def _noted(path: Path, chars: int) -> Path:
    """The article's sheet with ``chars`` characters of notes in a notes part of its own
    (500,000 a note, under the text limit), which compresses 17 to 1 (under the ratio limit):
    the check streams the part, ``grade``'s search for the hand-out's records inflates it."""
    import random
    import zipfile

    build(path)
    rng = random.Random(7)
    letters = bytes(b"abcdefghijklmnop"[i % 16] for i in range(256))
    words = [rng.randbytes(200).translate(letters) for _ in range(64)]
    notes = b"".join(
        b'<comment ref="A%d" authorId="0"><text><t>%s</t></text></comment>'
        % (i + 1, b"".join(rng.choices(words, k=2500)))
        for i in range(chars // 500_000)
    )
    xml = (
        b'<?xml version="1.0" encoding="UTF-8"?><comments xmlns="http://schemas.openxmlformats'
        b'.org/spreadsheetml/2006/main"><authors><author>x</author></authors><commentList>'
        + notes
        + b"</commentList></comments>"
    )
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/comments9.xml", xml)
    return path


_GRADED_CAPPED = """
import json, resource, sys
from sheetgen import verify_workbook
from sheetgen.cli import main

large, small, margin = sys.argv[1], sys.argv[2], int(sys.argv[3])
verify_workbook(large)  # imports made, the templates' formulas compiled
with open("/proc/self/status") as status:
    size = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize"))
resource.setrlimit(resource.RLIMIT_AS, (size + margin, resource.RLIM_INFINITY))
main(["grade", large, small, "--workers", "1", "-q", "--variants", "0", "-o", "grades.json"])
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmSize (Linux)")
def test_grade_running_out_for_real_after_the_check_records_the_file_and_goes_on(
    tmp_path: Path,
) -> None:
    """A sheet with 40 MB of notes (2.4 MB on disk), graded with 24 MB more address space than
    checking it once took: checking it again needs 4 to 8 MB (Python 3.11, glibc), the
    search of its parts for the hand-out's records (all 40 MB inflated, and searched in
    capitals) 64 to 96 MB, so the margin sits well inside both. Its row says it is too large
    to check, and the next file is graded under the same cap."""
    large = _noted(tmp_path / "large.xlsx", 40_000_000)
    small = build(tmp_path / "small.xlsx")
    _capped(_GRADED_CAPPED, large, small, 24 << 20)
    rows = json.loads((tmp_path / "grades.json").read_text())["files"]
    said = {row["learner"]: (row["status"], row["reason"]) for row in rows}
    assert said == {"large": ("unreadable", TOO_LARGE.format(large)), "small": ("ok", "")}


def test_the_autograder_tells_the_records_search_running_out_as_too_large(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Gradescope's autograder searches each handed-in file for its hand-out's records
    before choosing which to grade: running out there ended in a traceback and no results.
    That file is told too large to check (as verify says), and another handed in is graded."""
    from sheetgen.teacher import autograder
    from sheetgen.teacher.provenance import read_found as found

    sub = tmp_path / "submission"
    sub.mkdir()
    big, small = build(sub / "big.xlsx"), build(sub / "small.xlsx")

    def read_found(path: Path) -> Any:
        if Path(path) == big:
            raise MemoryError
        return found(path)

    monkeypatch.setattr("sheetgen.teacher.provenance.read_found", read_found)
    doc = autograder.results_for(sub)
    assert str(doc["output"]).startswith(f"Graded {small.name}; also handed in, not graded: big")
    assert doc["score"] == sum(t["max_score"] for t in doc["tests"]) > 0

    small.unlink()
    doc = autograder.results_for(sub)
    assert doc["output"] == "big.xlsx could not be checked: " + TOO_LARGE.format("big.xlsx")
    assert doc["score"] == 0.0
