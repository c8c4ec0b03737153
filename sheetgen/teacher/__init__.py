"""A class: hand-outs with blanks (``exercise``), who a hand-out is for (``roster``), a
folder of submissions graded (``grade``: which files, ``gather``; each scored, ``scoring``;
whose, ``identify``; the class's outputs, ``results``) and shown as an HTML class report
(``class_report``), and the Gradescope bundle (``autograder``).

May import: ``sheetgen.report`` and everything below it; only ``sheetgen.cli`` sits above.
"""

from .provenance import LearnerCode, learner_by_code, learner_code, read_codes

__all__ = ["LearnerCode", "learner_by_code", "learner_code", "read_codes"]
