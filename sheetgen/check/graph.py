"""The formulas' dependency graph on a checked sheet, as the diagnosis walks it: the bad cells
each wrong cell reads through good ones, a cell's ancestors, a circular path. Structure only,
never values. The walk from every wrong cell (:meth:`Graph.nearest_each`) asks each cell's inputs
of the evaluator once and keeps none; the walks from a few cells (ancestors, a circular path, an
error's trail) keep those they ask for (:meth:`Graph.deps`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ..engine.evaluate import Evaluator, Ref


class Graph:
    """The formulas' dependency graph on the checked sheet (structure only, never values)."""

    def __init__(self, ev: Evaluator, sheet: str) -> None:
        self.ev = ev
        self.sheet = sheet
        self._deps: dict[Ref, list[Ref]] = {}
        # Each error explained: what is said of it, and the cells of its trail (why_error).
        self.trails: dict[str, tuple[str, frozenset[str]]] = {}

    def deps(self, ref: Ref) -> list[Ref]:
        if ref not in self._deps:
            self._deps[ref] = self.ev.dependencies(ref)
        return self._deps[ref]

    def ref(self, cell: str) -> Ref:
        return (self.sheet, cell)

    def nearest(self, cell: str, bad: Mapping[str, object]) -> tuple[str, ...]:
        """The bad cells ``cell`` reads, directly or through good cells (not past a bad one)."""
        found: list[str] = []
        seen: set[Ref] = set()
        stack = list(reversed(self.deps(self.ref(cell))))
        while stack:
            ref = stack.pop()
            if ref in seen:
                continue
            seen.add(ref)
            if ref[0] == self.sheet and ref[1] in bad and ref[1] != cell:
                found.append(ref[1])
                continue
            stack.extend(reversed(self.deps(ref)))
        return tuple(found)

    def nearest_each(
        self, cells: Iterable[str], bad: Mapping[str, object]
    ) -> dict[str, tuple[str, ...]]:
        """:meth:`nearest` for each of ``cells``, in the same order, what each good cell
        leads to worked out once: a sheet with thousands of wrong cells (every row moved, a
        network's) walked the same good cells from each of them, for minutes. A cell whose
        walk meets a cycle, or comes back to it, is walked by :meth:`nearest` itself."""
        memo: dict[Ref, tuple[str, ...]] = {}
        out = {}
        for cell in cells:
            got = self._through(self.ref(cell), bad, memo)
            # Itself among them: it reads itself through a good cell worked out before.
            out[cell] = self.nearest(cell, bad) if got is None or cell in got else got
        return out

    def _through(
        self, start: Ref, bad: Mapping[str, object], memo: dict[Ref, tuple[str, ...]]
    ) -> tuple[str, ...] | None:
        """The bad cells ``start`` reads, directly or through good cells, in the order
        :meth:`nearest` finds them (each good cell's, kept in ``memo``, are the first of each
        of its inputs' in turn); None where a cycle is met.

        Each cell's inputs are asked of the evaluator as it is walked, and not kept (the
        ``memo`` says where a cell leads): each is walked once, and kept they were the largest
        structure of a wrong 10,000-step run's diagnosis (27 MB, its every cell's)."""
        sheet, reads = self.sheet, self.ev.fresh_dependencies
        path = {start}
        stack: list[tuple[Ref, list[Ref], int, dict[str, None]]] = [(start, reads(start), 0, {})]
        while stack:
            ref, deps, i, found = stack.pop()
            while i < len(deps):
                d = deps[i]
                i += 1
                if d in path:
                    return None
                if d[0] == sheet and d[1] in bad:
                    found[d[1]] = None
                    continue
                known = memo.get(d)
                if known is None:
                    stack += [(ref, deps, i, found), (d, reads(d), 0, {})]
                    path.add(d)
                    break
                found.update(dict.fromkeys(known))
            else:
                result = tuple(found)
                path.discard(ref)
                if not stack:
                    return result
                memo[ref] = result
                w, w_deps, j, w_found = stack.pop()
                w_found.update(dict.fromkeys(result))
                stack.append((w, w_deps, j, w_found))
        raise AssertionError("unreachable: the start's walk returns")

    def ancestors(self, cell: str) -> set[str]:
        """Every cell of the sheet that ``cell`` reads, directly or not."""
        seen: set[Ref] = set()
        stack = list(self.deps(self.ref(cell)))
        while stack:
            ref = stack.pop()
            if ref not in seen:
                seen.add(ref)
                stack.extend(self.deps(ref))
        return {r[1] for r in seen if r[0] == self.sheet}

    def on_cycle(self, cell: str) -> bool:
        return cell in self.ancestors(cell)

    def cycle(self, cell: str) -> list[str]:
        """One circular path from ``cell`` back to itself, for the explanation."""
        start = self.ref(cell)
        stack: list[tuple[Ref, list[Ref]]] = [(start, [start])]
        seen: set[Ref] = set()
        while stack:
            ref, path = stack.pop()
            for dep in self.deps(ref):
                if dep == start:
                    return [r[1] for r in [*path, start]]
                if dep not in seen:
                    seen.add(dep)
                    stack.append((dep, [*path, dep]))
        return [cell]
