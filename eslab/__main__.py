"""Instructor tools: ``python -m eslab <command>``.

where            where each store lives (file stores; notebooks default to memory)
reset [NAME]     delete one workshop store, or all of them
seed             build the workshop datasets into file stores
check NOTEBOOK   run a notebook headless and print its self-check results
student-copies   regenerate the learner notebooks from notebooks/solutions/
glossary         print the Korean ↔ English glossary (Markdown)
classroom hub start|stop|status|reset
                 the workshop JupyterHub on a shared store (as root; see WORKSHOP.md)
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from eslab import workshop

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the exit code is 0 on success."""
    parser = argparse.ArgumentParser(
        prog="python -m eslab",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("where", help="where the stores live")
    reset = sub.add_parser("reset", help="delete workshop stores")
    reset.add_argument("name", nargs="?", help="one store (default: all)")
    seed = sub.add_parser("seed", help="build the workshop datasets")
    seed.add_argument(
        "--orders", type=int, default=0, help="also generate this many extra orders (deterministic)"
    )
    check = sub.add_parser("check", help="run a notebook and show its self-checks")
    check.add_argument("notebook", help="a path, or a number like 02")
    check.add_argument("--timeout", type=int, default=300)
    sub.add_parser("student-copies", help="regenerate learner notebooks from the masters")
    sub.add_parser("glossary", help="print the glossary")
    classroom = sub.add_parser("classroom", help="the shared classroom store and hub")
    classroom.add_argument("action", choices=["hub"])
    # `classroom hub start|stop|status|reset`: the workshop JupyterHub (as root)
    classroom.add_argument("hub_action", nargs="?", choices=["start", "stop", "status", "reset"])
    classroom.add_argument("--hub-dir", default=None, help="where the hub keeps its state")
    classroom.add_argument("--hub-ip", default="127.0.0.1", help="0.0.0.0: the whole room")
    classroom.add_argument("--hub-port", type=int, default=8000, help="the hub's port")
    classroom.add_argument(
        "--password",
        default=os.environ.get("ESLAB_HUB_PASSWORD"),
        help="the workshop password (or set ESLAB_HUB_PASSWORD)",
    )
    classroom.add_argument("--instructor", default="instructor", help="instructor's login")
    classroom.add_argument("--idle-timeout", type=int, default=3600, help="seconds to cull")
    args = parser.parse_args(argv)
    return COMMANDS[args.command](args)


def _where(args: argparse.Namespace) -> int:
    print(f"File stores live in {workshop.stores_dir()} (set ESLAB_STORES to move them).")
    for path in workshop.list_stores():
        print(f"  {path.name:30} {path.stat().st_size / 1e6:8.1f} MB")
    print(
        "Notebooks 00–11 use in-memory stores unless a cell says otherwise: "
        "Kernel → Restart resets them."
    )
    return 0


def _reset(args: argparse.Namespace) -> int:
    deleted = workshop.reset(args.name)
    print("\n".join(f"deleted {p}" for p in deleted) or "nothing to delete")
    return 0


def _seed(args: argparse.Namespace) -> int:
    from eslab import datasets

    built = datasets.seed_workshop(workshop.stores_dir(), extra_orders=args.orders)
    for name, count in built.items():
        print(f"  {name:30} {count:>10,} events")
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
        print(f"✗ {path.name} stopped with an error:\n{str(exc)[-1500:]}")
        return 1
    results = [
        line
        for cell in nb.cells
        if cell.cell_type == "code"
        for line in _texts(cell)
        if line.startswith(("✓", "✗"))
    ]
    print(f"{path.name}: ran every cell.")
    print("\n".join(results) or "(no self-checks found)")
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
        raise SystemExit(f"No notebook {name!r}: give a path or a number like 02.")
    return matches[0]


def _student_copies(args: argparse.Namespace) -> int:
    from eslab.student_copy import write_student_copies

    for path in write_student_copies(NOTEBOOKS):
        print(f"wrote {path}")
    return 0


def _glossary(args: argparse.Namespace) -> int:
    from eslab.glossary import markdown

    sys.stdout.write(markdown())
    return 0


def _classroom(args: argparse.Namespace) -> int:
    if args.action == "hub":
        return _classroom_hub(args)
    raise SystemExit(f"unknown classroom action {args.action!r}")


def _classroom_hub(args: argparse.Namespace) -> int:
    from eslab import hub
    from eslab.errors import EslabError

    folder = args.hub_dir or hub.DEFAULT_FOLDER
    if args.hub_action is None:
        raise SystemExit("Say what to do: classroom hub start|stop|status|reset.")
    try:
        if args.hub_action == "start":
            if not args.password:
                raise hub.HubError("Give the workshop password: --password or ESLAB_HUB_PASSWORD.")
            settings = hub.start(
                folder,
                password=args.password,
                ip=args.hub_ip,
                port=args.hub_port,
                instructor=args.instructor,
                idle_timeout=args.idle_timeout,
            )
            print(f"Hub running: learners open {settings.url} and log in with any name")
            print(
                f"and the workshop password. The instructor logs in as {args.instructor!r}"
                f" with the admin password {settings.admin_password}"
            )
            print(f"Shared store: {settings.store_url}")
        elif args.hub_action == "stop":
            print("stopped: " + (", ".join(hub.stop(folder)) or "nothing was running"))
        elif args.hub_action == "status":
            for key, value in hub.status(folder).items():
                print(f"{key:14} {value}")
        else:
            print("\n".join(f"removed {what}" for what in hub.reset(folder)) or "nothing to reset")
    except EslabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


COMMANDS = {
    "where": _where,
    "reset": _reset,
    "seed": _seed,
    "check": _check,
    "student-copies": _student_copies,
    "glossary": _glossary,
    "classroom": _classroom,
}

if __name__ == "__main__":
    raise SystemExit(main())
