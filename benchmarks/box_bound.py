"""Would a box do? The optimizer sheets' running error analysis with boxes for its zonotopes.

    python benchmarks/box_bound.py                      # a 2-2-1 network, 200 Adam steps
    python benchmarks/box_bound.py training:steps=200,optimizer=adam --no-coupling

Not part of the test run. The build asks the running error analysis of an optimizer's sheet
(``sheetgen.layouts.optimized``) only whether any step is given up, and the analysis with numpy
costs about a quarter of Adam's build. A cheaper test that is *sound* (when it says "nothing is
given up" the analysis says so too) is the same analysis with each carried error's box (its
bound) for its zonotope: each output's error at most ``Σ |slope| · bound`` over its inputs plus
its own rounding, by the triangle inequality, in plain Python. This script runs that box, the
slopes exactly the analysis' (the optimizer's from its dual numbers, the row's from the same
central differences), and prints the largest carried bound every 20 steps and the step where
the first-order analysis would be given up (``_linear``), beside what the analysis itself finds.

``--no-coupling`` leaves out what a parameter's error does to the next gradients (through the
row's slopes): the bound then stays small, so what makes the box grow is the wrapping effect of
that coupling, which the zonotope's signed generators cancel and a box cannot.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Mapping
from typing import Any

from sheetgen.layouts import optimized
from sheetgen.layouts.families import model_for, resolve_layout
from sheetgen.maths.optimizers import CARRIED, EPS, ONE_STEP_REL, bounds


def box(args: tuple[Any, ...], coupling: bool) -> int | None:
    """The step at which the box is given up (None: never), printing its largest bound."""
    history, name, names, hyper, scale, values, _ = args
    unit = 64 * EPS * scale
    carried: dict[str, float] = dict.fromkeys(names, 0.0)
    last: dict[str, Mapping[str, float]] = {p: {} for p in names}
    slopes = optimized._Slopes(history, names)
    for k, st in enumerate(history, start=1):
        bound = list(carried.values())
        if not optimized._linear(list(carried), bound, st, values, f"step{k}.", hyper):
            return k
        row_of = {leaf: i for i, leaf in enumerate(st.leaves)}
        jacobian = slopes(k) if k > 1 else None
        now: dict[str, float] = {}
        for p in names:
            g = st.row[f"global.{p}"]
            through = 0.0  # Σ |d g / d q| bound[q]: the gradient's error from the parameters'
            if jacobian is not None and coupling:
                through = sum(
                    abs(float(s)) * carried[q]
                    for s, q in zip(jacobian[row_of[f"global.{p}"]], names, strict=True)
                )
            own = ONE_STEP_REL * abs(g) + unit
            state = [leaf for leaf in CARRIED if leaf in last[p]]
            local = bounds(name, k, g, st.state[p], 0.0, own, last[p], {}, hyper)
            duals = optimized._dual_step(name, k, st.current[p], g, last[p], state, hyper)
            for leaf, dual in duals.items():
                d_p, d_g, *d_state = dual.d
                error = local[leaf] + abs(d_p) * carried[p] + abs(d_g) * through
                for d, x in zip(d_state, state, strict=True):
                    error += abs(d) * carried[f"{x}.{p}"]
                if leaf == "new":
                    now[p] = error
                elif leaf in CARRIED:
                    now[f"{leaf}.{p}"] = error
            last[p] = st.state[p]
        carried = now
        if k % 20 == 0:
            print(f"    step {k:4}: largest carried bound {max(carried.values()):.3g}")
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", nargs="?", default="training:layers=2-2-1,steps=200,optimizer=adam")
    parser.add_argument("--no-coupling", action="store_true")
    args = parser.parse_args()
    lay = resolve_layout(args.spec)
    seen: list[tuple[Any, ...]] = []
    real = optimized._growths

    def recording(*given: Any) -> dict[str, float]:
        seen.append(given)
        return real(*given)

    optimized._growths = recording  # type: ignore[assignment]
    reference = model_for(lay.settings)(dict(lay.defaults), lay.settings)
    started = time.process_time()
    growths = {q: reference.growth(q) for q in reference.values}
    spent = time.process_time() - started
    given_up = [q for q, g in growths.items() if math.isinf(g)]
    finite = max((g for g in growths.values() if math.isfinite(g)), default=1.0)
    print(
        f"{args.spec}: the analysis ({spent:.3f} s CPU) gives up {len(given_up)} cells, "
        f"largest growth otherwise {finite:.3g}"
    )
    print(f"  the box{' without the coupling' if args.no_coupling else ''}:")
    lost = box(seen[0], not args.no_coupling)
    print(f"  the box is given up at step {lost}" if lost else "  the box holds to the end")


if __name__ == "__main__":
    main()
