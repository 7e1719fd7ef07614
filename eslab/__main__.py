"""Instructor tools: ``python -m eslab <command>``.

where            where each store lives (file stores; notebooks default to memory)
reset [NAME]     delete one workshop store, or all of them
seed             build the workshop datasets into file stores
check NOTEBOOK   run a notebook headless and print its self-check results
student-copies   regenerate the learner notebooks from notebooks/solutions/ (and ko/solutions/)
glossary         print the Korean ↔ English glossary (Markdown)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from eslab import workshop
from eslab.i18n import _

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the exit code is 0 on success."""
    parser = argparse.ArgumentParser(
        prog="python -m eslab",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("where", help=_("where the stores live"))
    reset = sub.add_parser("reset", help=_("delete workshop stores"))
    reset.add_argument("name", nargs="?", help=_("one store (default: all)"))
    seed = sub.add_parser("seed", help=_("build the workshop datasets"))
    seed.add_argument(
        "--orders",
        type=int,
        default=0,
        help=_("also generate this many extra orders (deterministic)"),
    )
    check = sub.add_parser("check", help=_("run a notebook and show its self-checks"))
    check.add_argument("notebook", help=_("a path, or a number like 02"))
    check.add_argument("--timeout", type=int, default=300)
    sub.add_parser("student-copies", help=_("regenerate learner notebooks from the masters"))
    sub.add_parser("glossary", help=_("print the glossary"))
    args = parser.parse_args(argv)
    return COMMANDS[args.command](args)


def _where(args: argparse.Namespace) -> int:
    print(
        _("File stores live in {path} (set ESLAB_STORES to move them).").format(
            path=workshop.stores_dir()
        )
    )
    for path in workshop.list_stores():
        print(f"  {path.name:30} {path.stat().st_size / 1e6:8.1f} MB")
    print(
        _(
            "Notebooks 00–11 use in-memory stores unless a cell says otherwise: "
            "Kernel → Restart resets them."
        )
    )
    return 0


def _reset(args: argparse.Namespace) -> int:
    deleted = workshop.reset(args.name)
    print("\n".join(_("deleted {path}").format(path=p) for p in deleted) or _("nothing to delete"))
    return 0


def _seed(args: argparse.Namespace) -> int:
    from eslab import datasets

    built = datasets.seed_workshop(workshop.stores_dir(), extra_orders=args.orders)
    for name, count in built.items():
        print(f"  {name:30} " + _("{count:>10,} events").format(count=count))
    return 0


def _check(args: argparse.Namespace) -> int:
    import nbclient
    import nbformat

    path = _find_notebook(args.notebook)
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=args.timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as exc:
        print(
            "✗ "
            + _("{name} stopped with an error:").format(name=path.name)
            + f"\n{str(exc)[-1500:]}"
        )
        return 1
    results = [
        line
        for cell in nb.cells
        if cell.cell_type == "code"
        for line in _texts(cell)
        if line.startswith(("✓", "✗"))
    ]
    print(_("{name}: ran every cell.").format(name=path.name))
    print("\n".join(results) or _("(no self-checks found)"))
    return 0 if results and all(r.startswith("✓") for r in results) else 1


def _texts(cell: dict) -> list[str]:
    lines = []
    for output in cell.get("outputs", []):
        text = output.get("text") or output.get("data", {}).get("text/plain", "")
        lines += [line.strip("'\" ") for line in str(text).splitlines()]
    return lines


def _find_notebook(name: str) -> Path:
    path = Path(name)
    if path.exists():
        return path
    matches = sorted(NOTEBOOKS.glob(f"{name}*.ipynb")) if name[:2].isdigit() else []
    if not matches:
        raise SystemExit(
            _("No notebook {name!r}: give a path or a number like 02.").format(name=name)
        )
    return matches[0]


def _student_copies(args: argparse.Namespace) -> int:
    from eslab.student_copy import write_student_copies

    for path in write_student_copies(NOTEBOOKS):
        print(_("wrote {path}").format(path=path))
    return 0


def _glossary(args: argparse.Namespace) -> int:
    from eslab.glossary import markdown

    sys.stdout.write(markdown())
    return 0


COMMANDS = {
    "where": _where,
    "reset": _reset,
    "seed": _seed,
    "check": _check,
    "student-copies": _student_copies,
    "glossary": _glossary,
}

if __name__ == "__main__":
    raise SystemExit(main())
