"""The class report a teacher opens: one self-contained HTML file (``grade DIR -o report.html``).

It holds the score distribution, the most common root causes in plain words, a heat map of
the sheet itself (the layout's grid as the learners saw it, each checked cell coloured by how
many learners got it wrong) and one section per learner with their verdict and what to fix
first. Plots are drawn by matplotlib and inlined as SVG, styles are inline, and nothing is
fetched when the file is viewed (no network, no external script or font).

The heat map is machine-checkable: each checked cell of the SVG is a group whose id is
``heat-<cell>`` and whose ``<title>`` (the tooltip) reads "<cell> <meaning>: <n> of <m>
learners wrong, <t> to do"; the same numbers are in the page's ``heat-data`` JSON block.

matplotlib is an optional dependency (``pip install 'sheetgen[report]'``); without it this
module says so in one sentence instead of writing a report without its pictures.
"""

from __future__ import annotations

import html
import io
import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from openpyxl.utils.cell import (
    column_index_from_string,
    coordinate_from_string,
    get_column_letter,
)

from ..errors import SheetgenError, UsageError
from ..layouts.families import resolve_layout
from ..layouts.layout import Layout
from ..maths.neuron import describe
from ..report.render import review_note
from .cells import class_cell
from .scoring import Graded, readable_scores

if TYPE_CHECKING:
    from ..check.results import Report


class ClassReport(Protocol):
    """What the page is drawn from: ``sheetgen.teacher.results.ClassReport``, named here by
    what it offers so that the class's results can render this page without a cycle."""

    @property
    def graded(self) -> tuple[Graded, ...]: ...

    @property
    def skipped(self) -> tuple[tuple[str, str], ...]: ...

    @property
    def missing(self) -> Sequence[Any]: ...  # learners of the roster with no file (id, name)

    @property
    def unmatched(self) -> tuple[Graded, ...]: ...

    def rows(self) -> list[dict[str, Any]]: ...

    def summary(self, rows: Sequence[Mapping[str, Any]] | None = None) -> dict[str, Any]: ...


MAX_HEAT_CELLS = 1200
"""A training run of thousands of cells is drawn up to this many cells (its first rows): every
step repeats the first's formulas, so the first rows show where learners go wrong."""


def heat_counts(result: ClassReport) -> tuple[dict[str, int], dict[str, int], int]:
    """Per checked cell: how many learners got it wrong, how many left it to do; and how many
    readable workbooks of the most common layout there are."""
    _, same = _most_common_layout(result)
    wrong: Counter[str] = Counter()
    todo: Counter[str] = Counter()
    for r in same:  # counted where the builder put each cell, wherever the learner moved it
        for c in r.cells:
            if c.status == "todo":
                todo[class_cell(r, c)] += 1
            elif not c.ok and not c.pending and c.graded and c.checked:
                wrong[class_cell(r, c)] += 1
    return dict(wrong), dict(todo), len(same)


def _most_common_layout(result: ClassReport) -> tuple[str, list[Report]]:
    """The layout most readable workbooks have (its spec, or its name), and their reports:
    the heat map draws that layout, and counts those."""
    reports = [g.report for g in result.graded if g.report is not None]
    if not reports:
        return "", []
    common = Counter(r.spec or r.layout for r in reports).most_common(1)[0][0]
    return common, [r for r in reports if (r.spec or r.layout) == common]


def _layout(result: ClassReport) -> Layout | None:
    spec, _ = _most_common_layout(result)
    try:
        return resolve_layout(spec) if spec else None
    except SheetgenError:
        return None


def render_html(result: ClassReport) -> str:
    """The whole report as one HTML document."""
    try:
        import matplotlib
    except ImportError:
        raise UsageError(
            "The HTML report draws its plots with matplotlib: pip install 'sheetgen[report]'."
        ) from None
    matplotlib.use("Agg")
    rows = result.rows()
    summary = result.summary(rows)
    layout = _layout(result)
    wrong, todo, n = heat_counts(result)
    parts = [
        _HEAD,
        "<h1>Class report</h1>",
        _overview(summary),
        "<h2>Scores</h2>",
        _histogram(readable_scores(rows)),
        "<h2>Most common root causes</h2>",
        _common_roots(result),
        "<h2>Where the class went wrong</h2>",
        (
            _heat_map(layout, wrong, todo, n)
            if layout is not None and n
            else "<p>No readable workbook to map.</p>"
        ),
        _heat_data(wrong, todo, n),
        "<h2>Learners</h2>",
        *(_learner(g, r) for g, r in zip(result.graded, rows, strict=False)),
        _missing(result.missing),
        _unmatched(result.unmatched),
        _skipped(result.skipped),
        _SCRIPT,
        "</body></html>",
    ]
    return "\n".join(parts)


_HEAD = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>sheetgen class report</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto;
       max-width: 1100px; padding: 0 1rem; color: #222; }
h1 { margin-bottom: .2rem; } h2 { border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
.cards { display: flex; gap: 1rem; flex-wrap: wrap; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: .6rem 1rem; min-width: 7rem; }
.card b { display: block; font-size: 1.6rem; }
table.roots { border-collapse: collapse; } table.roots td, table.roots th {
  border-bottom: 1px solid #eee; padding: .3rem .6rem; text-align: left; vertical-align: top; }
section.learner { border: 1px solid #e4e4e4; border-radius: 6px; padding: .4rem 1rem;
  margin: .8rem 0; }
section.learner h3 { margin: .3rem 0; }
.ok { color: #1a7f37; } .wrong { color: #b42318; } .todo { color: #1f4e79; }
.unreadable { color: #7f7f7f; } .flag { color: #b54708; font-weight: 600; }
svg { max-width: 100%; height: auto; }
</style></head><body>"""

_SCRIPT = """<script>
// Only reads the page: counts the heat map's cells so a viewer (or a test) sees it loaded.
(function () {
  var cells = document.querySelectorAll('g[id^="heat-"]');
  document.body.setAttribute('data-heat-cells', String(cells.length));
})();
</script>"""


def _overview(summary: Mapping[str, Any]) -> str:
    mean = summary["mean_score"]
    cards = [
        ("workbooks", summary["workbooks"]),
        ("all right", summary["ok"]),
        ("with wrong cells", summary["wrong"]),
        ("unfinished", summary["to do"]),
        ("unreadable", summary["unreadable"]),
        ("flagged", summary["flagged"]),
        ("handed in nothing", summary.get("missing", 0)),
        ("mean score", "n/a" if mean is None else f"{mean:.0f}%"),
    ]
    body = "".join(f'<div class="card"><b>{v}</b>{html.escape(k)}</div>' for k, v in cards)
    return f'<div class="cards">{body}</div>'


def _svg(figure: Any, *, tight: bool = True) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight" if tight else None)
    import matplotlib.pyplot as plt

    plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # drop the XML prolog and doctype: inlined in HTML


def _histogram(scores: Sequence[float]) -> str:
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    with plt.rc_context({"svg.fonttype": "none", "font.size": 10}):
        fig, ax = plt.subplots(figsize=(7, 2.6))
        ax.hist(list(scores), bins=[i * 10 for i in range(11)], color="#4c78a8", edgecolor="white")
        ax.set_xlim(0, 100)
        ax.set_xlabel("score (%)")
        ax.set_ylabel("learners")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        return f'<figure id="histogram">{_svg(fig)}</figure>'


def _common_roots(result: ClassReport) -> str:
    """The cells most learners got wrong in themselves, what the cell means, the template's
    hint, and the wrong formula learners wrote most often there."""
    counts: Counter[str] = Counter()
    formulas: dict[str, Counter[str]] = {}
    example: dict[str, Any] = {}
    for g in result.graded:
        if g.report is None:
            continue
        for c in g.report.roots:
            at = class_cell(g.report, c)  # the built address: moved tables count together
            counts[at] += 1
            example.setdefault(at, c)
            formulas.setdefault(at, Counter())[c.formula or c.holds] += 1
    if not counts:
        return "<p>No root causes: every readable workbook is right or unfinished.</p>"
    lines = [
        "<table class=roots><tr><th>cell</th><th>learners</th><th>what goes wrong</th>"
        "<th>most common wrong entry</th></tr>"
    ]
    for cell, n in counts.most_common(8):
        c = example[cell]
        status = {
            "typed": "a typed number instead of a formula",
            "structure": "a number from the wrong cells",
            "fragile": "right by luck",
        }
        words = c.explanation or c.message
        if c.status in status:
            words = f"{status[c.status]}. {words}"
        entry, times = formulas[cell].most_common(1)[0]
        lines.append(
            f"<tr><td><b>{html.escape(cell)}</b><br>{html.escape(describe(c.quantity))}</td>"
            f"<td>{n}</td><td>{html.escape(words)}</td>"
            f"<td><code>{html.escape(entry)}</code> ({times})</td></tr>"
        )
    lines.append("</table>")
    return "\n".join(lines)


def _grid(layout: Layout) -> tuple[list[tuple[int, int, Any]], int, int, int]:
    cells = []
    for spec in layout.cells:
        column, row = coordinate_from_string(spec.at)
        cells.append((row, column_index_from_string(column), spec))
    cells.sort(key=lambda t: (t[0], t[1]))
    all_rows = max((r for r, _, _ in cells), default=1)
    if len(cells) > MAX_HEAT_CELLS:
        last = cells[MAX_HEAT_CELLS][0]  # whole rows only
        cells = [t for t in cells if t[0] < last] or cells[:MAX_HEAT_CELLS]
    rows = max((r for r, _, _ in cells), default=1)
    cols = max((c for _, c, _ in cells), default=1)
    return cells, rows, cols, all_rows


def _heat_map(layout: Layout, wrong: Mapping[str, int], todo: Mapping[str, int], n: int) -> str:
    import matplotlib.pyplot as plt
    from matplotlib import colormaps
    from matplotlib.collections import PatchCollection
    from matplotlib.colors import Normalize
    from matplotlib.patches import Rectangle

    cells, rows, cols, all_rows = _grid(layout)
    cmap = colormaps["Reds"]
    norm = Normalize(0, max(1, n))
    width = min(40.0, 1.2 * cols + 1)
    height = min(120.0, 0.42 * rows + 1)
    with plt.rc_context({"svg.fonttype": "none", "font.size": 7}):
        fig, ax = plt.subplots(figsize=(width, height))
        fig.subplots_adjust(left=0.03, right=0.99, top=0.97, bottom=0.01)
        plain: list[Rectangle] = []
        for row, col, spec in cells:
            x, y = col - 1, rows - row
            if spec.checked:
                k = wrong.get(spec.at, 0)
                face = cmap(0.08 + 0.85 * norm(k)) if k else "#eef6ee"
                group = Rectangle((x, y), 1, 1, facecolor=face, edgecolor="#999", lw=0.5)
                group.set_gid(f"heat-{spec.at}")
                ax.add_artist(group)  # not add_patch: the limits are set below, once
                dark = k and norm(k) > 0.55
                ax.text(
                    x + 0.5,
                    y + 0.62,
                    spec.at,
                    ha="center",
                    va="center",
                    fontsize=6,
                    color="white" if dark else "#555",
                )
                ax.text(
                    x + 0.5,
                    y + 0.3,
                    str(k),
                    ha="center",
                    va="center",
                    fontsize=8,
                    weight="bold",
                    color="white" if dark else "#222",
                )
            else:
                face = "#fff2cc" if spec.kind == "input" else "#f7f7f7"
                plain.append(Rectangle((x, y), 1, 1, facecolor=face, edgecolor="#ddd", lw=0.4))
                label = spec.text if spec.kind == "text" else None
                if spec.kind == "input":
                    label = describe(spec.quantity or "")
                if label:
                    ax.text(
                        x + 0.05,
                        y + 0.5,
                        label[:22],
                        ha="left",
                        va="center",
                        fontsize=6,
                        color="#1f4e79" if spec.kind == "text" else "#7f6000",
                        clip_on=True,
                    )
        ax.add_collection(PatchCollection(plain, match_original=True), autolim=False)
        ax.set_xlim(0, cols)
        ax.set_ylim(0, rows)
        ax.set_aspect("auto")
        ax.set_xticks([i + 0.5 for i in range(cols)], [_column(i + 1) for i in range(cols)])
        ax.set_yticks(
            [rows - r + 0.5 for r in range(1, rows + 1)], [str(r) for r in range(1, rows + 1)]
        )
        ax.tick_params(length=0, labelsize=6)
        ax.xaxis.tick_top()
        for spine in ax.spines.values():
            spine.set_visible(False)
        svg = _svg(fig, tight=False)
    svg = _titles(svg, layout, wrong, todo, n)
    key = (
        f"<p>Each checked cell shows its address and how many of the {n} learners got it "
        "wrong (not counting blanks still to do); redder is more. Hover a cell for details."
        + (
            f" The first {rows} of the sheet's {all_rows} rows are drawn."
            if rows < all_rows
            else ""
        )
        + "</p>"
    )
    return f'<figure id="heat-map">{key}{svg}</figure>'


def _titles(
    svg: str, layout: Layout, wrong: Mapping[str, int], todo: Mapping[str, int], n: int
) -> str:
    """Give every heat-map group an SVG <title> (the browser's tooltip)."""
    meaning = {c.at: describe(c.quantity or "") for c in layout.checked}

    def add(match: re.Match[str]) -> str:
        at = match.group(1)
        tip = (
            f"{at} {meaning.get(at, '')}: {wrong.get(at, 0)} of {n} learners wrong, "
            f"{todo.get(at, 0)} to do"
        )
        return f"{match.group(0)}<title>{html.escape(tip)}</title>"

    return re.sub(r'<g id="heat-([A-Z]+[0-9]+)">', add, svg)


def _column(i: int) -> str:
    return str(get_column_letter(i))


def _heat_data(wrong: Mapping[str, int], todo: Mapping[str, int], n: int) -> str:
    data = json.dumps({"learners": n, "wrong": wrong, "todo": todo}, sort_keys=True)
    return f'<script type="application/json" id="heat-data">{html.escape(data, False)}</script>'


def _learner(g: Graded, row: Mapping[str, Any]) -> str:
    status = str(row["status"])
    css = {"ok": "ok", "wrong": "wrong", "to do": "todo"}.get(status, "unreadable")
    who = html.escape(g.learner) + (
        f" <small>({html.escape(g.learner_id)})</small>" if g.learner_id else ""
    )
    lines = [
        '<section class="learner">',
        f'<h3>{who} — <span class="{css}">{html.escape(status)}</span>, {row["score"]:.0f}%</h3>',
        f"<p><small>{html.escape(g.path)}</small></p>",
    ]
    lines += [f'<p class="flag">⚠ {html.escape(flag)}</p>' for flag in g.flags]
    if g.report is None:
        lines.append(f"<p>Could not be checked: {html.escape(g.reason or '')}</p>")
    else:
        roots = g.report.roots
        if roots:
            lines.append("<p>To fix first:</p><ul>")
            for c in roots:
                words = " ".join(filter(None, (c.message, c.explanation)))
                lines.append(
                    f"<li><b>{html.escape(c.cell)}</b> ({html.escape(describe(c.quantity))}): "
                    f"{html.escape(words)}</li>"
                )
            lines.append("</ul>")
        if g.report.todo:
            cells = ", ".join(c.cell for c in g.report.todo)
            lines.append(f"<p class=todo>Still to do: {html.escape(cells)}.</p>")
        if g.report.review:
            note = review_note(g.report)
            lines.append(f'<p class="flag">⚠ {html.escape(note)}</p>')
        if g.report.ok:
            lines.append("<p class=ok>Every cell is right.</p>")
    lines.append("</section>")
    return "\n".join(lines)


def _missing(missing: Sequence[Any]) -> str:
    if not missing:
        return ""
    items = "".join(
        f'<li class="missing">{html.escape(m.name)} <small>({html.escape(m.id)})</small></li>'
        for m in missing
    )
    return f"<h2>Handed in nothing</h2><ul>{items}</ul>"


def _unmatched(unmatched: Sequence[Graded]) -> str:
    if not unmatched:
        return ""
    items = "".join(
        f"<li>{html.escape(g.path)}: "
        f"{html.escape('unreadable: ' + (g.reason or '') if g.report is None else 'readable')}"
        "</li>"
        for g in unmatched
    )
    return f"<h2>Files that match no learner of the roster (in no grade book)</h2><ul>{items}</ul>"


def _skipped(skipped: Sequence[tuple[str, str]]) -> str:
    if not skipped:
        return ""
    items = "".join(f"<li>{html.escape(f)}: {html.escape(why)}</li>" for f, why in skipped)
    return f"<h2>Files not graded</h2><ul>{items}</ul>"
