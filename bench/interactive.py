"""Interactive figures: a widget move on a 10k-event stream, drawing, the notebooks."""

from __future__ import annotations

import time
from pathlib import Path
from types import ModuleType
from typing import Any

from bench import workloads as wl


def time_machine_move() -> tuple[float, int, str]:
    """One slider move of the time machine over a 10,000-event stream."""
    from eslab import AggregateRepository, EventStore
    from eslab.widgets.time_machine import TimeMachine

    store = EventStore()
    store.bulk_insert(wl.big_table(streams=2, total=10_001, busy=10_000))
    from bench.domain import Restaurant

    machine = TimeMachine(AggregateRepository(store, Restaurant), "r0")
    moves = [5_000, 5_001, 9_999, 1]
    started = time.perf_counter()
    for value in moves:
        machine.slider.value = value
    return (time.perf_counter() - started) / len(moves), 10_000, "≤ 150 ms"


def explorer(module: ModuleType) -> Any:
    def run() -> tuple[float, int, str]:
        figures = module.run()
        seconds = float(figures["explorer_redraw_all_s"])
        return seconds, int(figures.get("events", 100_000)), "≤ ~2 s"

    return run


def notebook_sequence() -> tuple[float, int, str]:
    """Every learner notebook executed headless in a fresh kernel, one after another."""
    import nbclient
    import nbformat

    folder = Path(__file__).resolve().parent.parent / "notebooks"
    paths = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    started = time.perf_counter()
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        nbclient.NotebookClient(
            nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
        ).execute()
    return time.perf_counter() - started, len(paths), "≤ 120 s"
