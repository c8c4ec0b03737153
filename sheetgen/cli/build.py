"""The commands that write or list layouts: ``reference``, ``build`` and ``templates``."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import UsageError, shown
from ..layouts.families import FAMILIES
from ..maths.optimizers import OPTIMIZER_OPTIONS, OPTIMIZERS
from .options import (
    PARAMETERS,
    VARIANT_OPTIONS,
    add_limit_option,
    add_parameters,
    add_quiet_option,
    add_variant_options,
    at_least,
    few_collections,
    import_openpyxl_without_numpy,
    parameter_overrides,
    safety_limits,
)

if TYPE_CHECKING:
    from .options import Commands


def cmd_reference(args: argparse.Namespace) -> int:
    import_openpyxl_without_numpy()
    from ..layouts.layout import load_layout
    from ..maths.neuron import Neuron, article_report, describe
    from ..writer.build import parameters

    params = parameters(load_layout(), parameter_overrides(args, (*PARAMETERS, "tiny")))
    neuron = Neuron(params["input"], params["weight"], params["bias"], params["target"])
    print(article_report(neuron))
    if args.all:
        for name, value in neuron.quantities(params["tiny"]).items():
            print(f"{name:24} {describe(name):28} {value: .17g}")
    return 0


# Every option of every generated family, and the flag that sets it (``learning_rate`` is
# ``--learning-rate``). A flag a family has no option for is refused, never ignored.
FAMILY_OPTIONS = {family.name: family.options for family in FAMILIES}
SPEC_FLAGS = (
    "layers",
    "steps",
    "learning_rate",
    "faux",
    *VARIANT_OPTIONS,
    *OPTIMIZER_OPTIONS,
    "examples",  # set by --data: the data table's size
    "batch",
)


def _flag(option: str) -> str:
    return "--" + option.replace("_", "-")


def _spec_value(option: str, value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if option == "layers":
        return str(value).replace(",", "-")
    if option == "faux":  # a spec separates its options by commas: names join with +
        return str(value).replace(",", "+").replace(" ", "")
    return str(value)


def build_spec(args: argparse.Namespace) -> str:
    """The layout spec ``build`` writes: LAYOUT (a template, a family or a family's spec) with
    the family flags applied. A variant flag turns the article's sheet into a ``neuron``
    variant; a flag the family has no option for is refused in one sentence."""
    given = {k: getattr(args, k) for k in SPEC_FLAGS if getattr(args, k, None) is not None}
    layout = str(args.layout)
    family, sep, raw = layout.partition(":")
    if family not in FAMILY_OPTIONS:
        if not given or sep:
            return layout
        if layout != "single_neuron":
            raise UsageError(
                f"{_flag(next(iter(given)))} applies to the generated layouts "
                f"({', '.join(FAMILY_OPTIONS)}), not to {layout!r}."
            )
        family = "neuron"
        layout = "the article's sheet (single_neuron)"
    options = dict(item.partition("=")[::2] for item in filter(None, raw.split(",")))
    options = {k.strip(): v.strip() for k, v in options.items()}
    for option, value in given.items():
        if option not in FAMILY_OPTIONS[family]:
            applies = [f for f, known in FAMILY_OPTIONS.items() if option in known]
            raise UsageError(
                f"{_flag(option)} applies to {' and '.join(applies)}, not to {layout}."
            )
        if option in options and options[option] != _spec_value(option, value):
            # examples is no flag: --data sets it from its rows
            source = f"in --data {args.data}" if option == "examples" else f"as {_flag(option)}"
            raise UsageError(
                f"{option} is given twice ({options[option]} in the spec, {value} {source}): "
                "give it once."
            )
        options[option] = _spec_value(option, value)
    if family == "network":
        options.setdefault("layers", "2-3-1")
    if family == "neuron":
        from ..layouts.neuron import parse_options

        return parse_options(options).spec  # the family's canonical spelling
    if not options:
        return family
    return family + ":" + ",".join(f"{k}={v}" for k, v in options.items())


def default_output(spec: str) -> Path:
    """``output/`` + a file name derived from the whole spec: distinct specs, distinct names."""
    from ..writer.build import DEFAULT_OUTPUT

    family, sep, raw = spec.partition(":")
    if family == "neuron":
        from ..layouts.neuron import output_name

        return DEFAULT_OUTPUT.parent / output_name(spec)
    if not sep:  # a template's name or a path to one
        path = Path(spec)
        stem = path.stem if path.suffix == ".toml" else path.name
        return DEFAULT_OUTPUT.parent / (_safe_name(stem) + ".xlsx")
    parts = [family]
    for item in sorted(filter(None, raw.split(","))):
        key, _, value = item.partition("=")
        parts.append(f"{key.strip()}-{value.strip()}")
    return DEFAULT_OUTPUT.parent / (_safe_name("_".join(parts)) + ".xlsx")


def _safe_name(text: str) -> str:
    """``text`` as one file name: characters a file system may refuse become ``%XX``."""
    return re.sub(r"[^\w.+=-]", lambda m: "".join(f"%{b:02X}" for b in m[0].encode()), text)


def data_overrides(args: argparse.Namespace) -> dict[str, float]:
    """``--data xor`` or ``--data FILE.csv`` (``sheetgen.teacher.data.read_data``): the data
    table's values, with the spec's ``examples`` (and, given none, the network's layers) set
    on ``args`` from the data, and what was decided for the user said on stderr."""
    from ..teacher.data import read_data

    family, _, raw = str(args.layout).partition(":")
    if family != "training":
        raise UsageError(f"--data trains a network on a data set: build training, not {family}.")
    layers = args.layers or dict(i.partition("=")[::2] for i in raw.split(",")).get("layers")
    data = read_data(args.data, layers)
    for note in data.notes:
        print(note, file=sys.stderr)
    if not layers:
        args.layers = data.layers
    args.examples = data.examples
    return dict(data.values)


def cmd_build(args: argparse.Namespace) -> int:
    with few_collections():
        return _build(args)


def _build(args: argparse.Namespace) -> int:
    import_openpyxl_without_numpy()  # the build needs neither numpy nor the formulas engine
    from ..layouts.families import planned_cells, resolve_layout
    from ..writer.build import refuse_too_large
    from ..writer.files import check_output

    data = data_overrides(args) if args.data is not None else {}
    spec = build_spec(args)
    planned = planned_cells(spec)  # a sheet too large to check is refused before any work
    limits = safety_limits(args) if args.limit or planned is not None else None
    if limits is not None:
        refuse_too_large(spec, planned, limits)
    if args.blank is not None and not args.exercise:
        raise UsageError("--blank chooses the cells of an exercise: add --exercise.")
    overrides = parameter_overrides(args, (*PARAMETERS, "tiny")) | data
    if (args.roster or args.keys) and not args.exercise:
        raise UsageError("--roster and --keys build a class's hand-outs: add --exercise.")
    if args.no_hints and not args.exercise:
        raise UsageError("--no-hints is for the notes of an exercise: add --exercise.")
    if args.exercise and args.roster:
        from ..teacher.exercise import build_class

        if args.seed is not None:
            raise UsageError("--seed and --roster exclude each other: a roster seeds by id.")
        out = args.output or Path("hand-out")
        written = build_class(
            args.roster,
            out,
            spec,
            keys_dir=args.keys,
            blanks=args.blank,
            hints=not args.no_hints,
            force=args.force,
            **overrides,
        )
        keys = {str(k.parent) for _, _, k in written}
        many = len(written) != 1
        print(
            f"Wrote {len(written)} hand-out{'s' if many else ''} to {out} and "
            f"{'their answer keys' if many else 'its answer key'}, the learners' codes "
            f"(codes.csv) and the class key to {', '.join(sorted(keys))}",
            file=sys.stderr,
        )
        return 0
    if args.output is not None:
        output = check_output(args.output, force=args.force)
    else:
        output = default_output(spec)
        seed = "" if args.seed is None else f"_seed-{args.seed}"
        prefix = "exercise_" if args.exercise else ""  # beside its answer key, never over it
        output = output.with_name(f"{prefix}{output.stem}{seed}.xlsx")
        if output.parent.is_dir():
            check_output(output, force=args.force)
    if args.exercise:
        from ..teacher.exercise import build_exercise

        path = build_exercise(
            output,
            spec,
            blanks=args.blank,
            seed=args.seed,
            force=args.force,
            hints=not args.no_hints,
            learner=None,
            **overrides,
        )
        print(
            f"Wrote {shown(path)} (the answer key: the same command without --exercise)",
            file=sys.stderr,
        )
        return 0
    if args.seed is not None:
        from ..teacher.exercise import seeded_parameters

        overrides = seeded_parameters(resolve_layout(spec), args.seed, overrides)
    from ..progress import ticking
    from ..writer.build import build_within

    with ticking(f"Building {shown(output)}", quiet=args.quiet):
        path = build_within(limits, output, spec, force=args.force, **overrides)
    print(f"Wrote {shown(path)}", file=sys.stderr)
    return 0


def cmd_templates(args: argparse.Namespace) -> int:
    import_openpyxl_without_numpy()
    from ..layouts.families import load
    from ..layouts.layout import available_layouts, load_layout

    for name in available_layouts():
        lay = load_layout(name)
        print(f"{name:20} {lay.description}")
    for family in FAMILIES:
        pattern, description = load(family.usage)()
        print(f"{pattern}  {description}")
    return 0


def add_reference(sub: Commands) -> None:
    """The ``reference`` command's arguments."""
    p = sub.add_parser(
        "reference",
        help="print the reference neuron's gradients",
        description="Print the article program's two lines for these parameters.",
    )
    add_parameters(p, tiny=True)
    p.add_argument("--all", action="store_true", help="also list every quantity the sheet shows")
    p.set_defaults(run=cmd_reference)


def add_build(sub: Commands) -> None:
    """The ``build`` command's arguments."""
    p = sub.add_parser(
        "build",
        help="write the workbook with live formulas",
        description="Write the article's workbook (.xlsx) with live formulas.",
    )
    p.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        help="where to write (default: in output/, named from the layout and its options, "
        "such as output/training_learning_rate-0.5_steps-5.xlsx)",
    )
    p.add_argument("--force", action="store_true", help="overwrite PATH if it exists")
    p.add_argument(
        "layout",
        nargs="?",
        default="single_neuron",
        help="what to build: a template name (see 'templates'), 'network', 'training' or a "
        "spec like 'neuron:inputs=2'; default single_neuron",
    )
    add_parameters(p, tiny=True)
    group = p.add_argument_group("network and training")
    group.add_argument(
        "--layers",
        metavar="N,N,...",
        help="network sizes: inputs, hidden..., outputs (2,3,1); with training, train that network",
    )
    group.add_argument("--steps", type=at_least(1), metavar="N", help="training steps (default 50)")
    group.add_argument(
        "--faux",
        metavar="all|none|N|NAME,...",
        help="which weights and biases of a network get a faux-gradient row: all (default), "
        "none, a fixed sample of N, or names such as w1_1_1,b2_1",
    )
    group.add_argument(
        "--learning-rate", type=float, metavar="R", help="training learning rate (default 0.1)"
    )
    group.add_argument(
        "--optimizer",
        choices=OPTIMIZERS,
        help="how a training sheet steps: gradient descent (sgd, default), momentum, rmsprop "
        "or adam, its state in labelled columns",
    )
    group.add_argument(
        "--beta", type=float, metavar="B", help="momentum's or rmsprop's beta (default 0.9)"
    )
    group.add_argument("--beta1", type=float, metavar="B", help="adam's beta1 (default 0.9)")
    group.add_argument("--beta2", type=float, metavar="B", help="adam's beta2 (default 0.999)")
    group.add_argument(
        "--epsilon", type=float, metavar="E", help="rmsprop's or adam's epsilon (default 1e-08)"
    )
    group.add_argument(
        "--data",
        metavar="xor|FILE.csv",
        help="train the network on a data set: xor (the four XOR examples) or a CSV file with "
        "a header row and one column per input, then per target (named target1... or given "
        "by --layers); its values fill the sheet's editable data table",
    )
    group.add_argument(
        "--batch",
        type=at_least(1),
        metavar="N",
        help="with --data: examples per step, taken in order and cycling (default all of them)",
    )
    group.add_argument(
        "--activation",
        metavar="NAME",
        help="the activation: tanh (default), sigmoid, relu or linear for a neuron variant; "
        "the network's or training's (with --loss cross-entropy: a neuron's must be sigmoid, "
        "a network's is its hidden layers')",
    )
    add_variant_options(p)
    p.add_argument(
        "--exercise",
        action="store_true",
        help="write a learner's version with cells left blank to fill in",
    )
    p.add_argument(
        "--blank",
        metavar="ROWS|CELLS",
        help="what the exercise leaves blank: rows (3,4) or cells (E3,C4); "
        "default the local and global gradient rows",
    )
    p.add_argument(
        "--seed",
        type=int,
        metavar="N",
        help="reproducible random parameters, one N per learner (the same N builds the key)",
    )
    p.add_argument(
        "--roster",
        type=Path,
        metavar="CSV",
        help="with --exercise: one hand-out per learner of this CSV (id and name columns) in "
        "the folder -o (default hand-out/), parameters derived from each id, and an answer "
        "key each in --keys",
    )
    p.add_argument(
        "--keys",
        type=Path,
        metavar="DIR",
        help="where --roster writes the answer keys (default: the hand-out folder's name + -keys)",
    )
    p.add_argument(
        "--no-hints",
        action="store_true",
        help="blanks' notes say what the cell means, not the formula",
    )
    add_limit_option(p)
    add_quiet_option(p)
    p.set_defaults(run=cmd_build)


def add_templates(sub: Commands) -> None:
    """The ``templates`` command."""
    p = sub.add_parser("templates", help="list the layouts that can be built and verified")
    p.set_defaults(run=cmd_templates)
