"""Instructor tools: ``python -m eslab <command>``.

course DEST      copy the notebooks, data/ and the glossary into the folder DEST
where            where each store lives (file stores; notebooks default to memory)
reset [NAME]     delete one workshop store, or all of them
seed             build the workshop datasets into file stores
check NOTEBOOK   run a notebook headless and print its self-check results
student-copies   regenerate the learner notebooks from notebooks/solutions/
glossary         print the Korean ↔ English glossary (Markdown)
classroom start|stop|status|url|reset
                 a shared PostgreSQL store for the whole class (see WORKSHOP.md)
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
from eslab.course import course_dir

NOTEBOOKS = course_dir("notebooks")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the exit code is 0 on success."""
    parser = argparse.ArgumentParser(
        prog="python -m eslab",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    course = sub.add_parser("course", help="copy the course into a folder")
    course.add_argument("dest", type=Path, help="the folder (made if missing)")
    course.add_argument(
        "--solutions", action="store_true", help="also copy the masters (for instructors)"
    )
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
    classroom.add_argument("action", choices=["start", "stop", "status", "url", "reset", "hub"])
    # `classroom hub start|stop|status|reset`: the workshop JupyterHub (as root)
    classroom.add_argument("hub_action", nargs="?", choices=["start", "stop", "status", "reset"])
    classroom.add_argument(
        "--dir", default="eslab-classroom", help="the cluster's folder (default ./eslab-classroom)"
    )
    classroom.add_argument(
        "--host",
        default=None,
        help="address to listen on (default 127.0.0.1; a LAN address for other machines)",
    )
    classroom.add_argument("--port", type=int, default=0, help="TCP port (default: a free one)")
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


def _course(args: argparse.Namespace) -> int:
    from eslab.course import copy_course

    copied, kept = copy_course(args.dest, solutions=args.solutions)
    print(f"Copied {len(copied)} files into {args.dest}.")
    if kept:
        print(f"Kept {len(kept)} files that were already there (never overwritten):")
        print("\n".join(f"  {p}" for p in kept))
    print(f"Start with: jupyter lab {args.dest}")
    return 0


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
    from eslab.classroom import Classroom
    from eslab.errors import EslabError

    room = Classroom(Path(args.dir), host=args.host, port=args.port)
    try:
        if args.action == "start":
            url = room.start()
            print(f"Classroom store running in {room.directory} on {room.host}:{room.port}.")
            print("Learners set this before starting JupyterLab (share it, never commit it):")
            print(f"  ESLAB_STORE={url}")
        elif args.action == "url":
            print(f"ESLAB_STORE={room.url()}")
        elif args.action == "stop":
            room.stop()
            print(f"Stopped the classroom store in {room.directory} (data kept).")
        elif args.action == "reset":
            room.reset()
            print("Emptied every table and dropped every replication slot.")
        else:
            info = room.status()
            if not info["running"]:
                print(f"No classroom store running in {room.directory}.")
                return 1
            print(f"Running: {info['url']}\n  events: {info['events']}")
            for slot, retained in info["slots"]:
                print(f"  replication slot {slot}: keeps {retained or 0:,} bytes of WAL")
            if info["slots"]:
                print("  (a slot nobody reads keeps WAL on disk: `classroom reset` drops them)")
    except EslabError as exc:
        print(f"✗ {exc}", file=sys.stderr)
        return 2
    return 0


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
    "course": _course,
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
