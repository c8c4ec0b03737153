"""Copies in a class (``sheetgen.teacher.identify.flag_copies``): each copy is flagged with a
short line naming a few of the others, so N copies give N short flags, not N times N names."""

from __future__ import annotations

import pytest

from sheetgen import build, verify_workbook
from sheetgen.check.verify import Report
from sheetgen.teacher.grade import Graded
from sheetgen.teacher.identify import flag_copies
from sheetgen.teacher.roster import SEED


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    return verify_workbook(build(tmp_path_factory.mktemp("copies") / "neuron.xlsx"))


def _class(report: Report, names: list[str], digest: str) -> list[Graded]:
    return [Graded(f"/class/{n}.xlsx", report, digest=digest, name=n) for n in names]


def test_a_pair_names_the_other(report: Report) -> None:
    a, b = flag_copies(_class(report, ["ada", "bob"], "d1"))
    assert a.flags == ("byte-identical to the submission of bob",)
    assert b.flags == ("byte-identical to the submission of ada",)


def test_many_copies_each_get_one_short_flag(report: Report) -> None:
    names = [f"learner{i:03d}" for i in range(200)]
    alone = Graded("/class/zed.xlsx", report, digest="other", name="zed")
    flagged = flag_copies([*_class(report, names, "same"), alone])
    assert flagged[-1].flags == ()
    first = flagged[0].flags
    assert first == (
        "byte-identical to 199 other submissions: learner001, learner002, learner003 and 196 more",
    )
    assert flagged[5].flags == (
        "byte-identical to 199 other submissions: learner000, learner001, learner002 and 196 more",
    )
    assert max(len(f) for g in flagged for f in g.flags) < 120
    four = flag_copies(_class(report, ["a", "b", "c", "d"], "x"))
    assert four[3].flags == ("byte-identical to 3 other submissions: a, b, c",)


def test_one_hand_out_under_many_learners_names_a_few(report: Report) -> None:
    seeded = ((SEED, "7"),)
    names = [f"l{i}" for i in range(6)]
    graded = [
        Graded(f"/class/{n}.xlsx", report, digest=n, name=n, learner_id=n, recorded=seeded)
        for n in names
    ]
    flagged = flag_copies(graded)
    assert flagged[0].flags == ("the same hand-out parameters as l1, l2, l3 and 2 more",)
