"""How long drawing 100,000 events takes: the timeline, and the explorer's redraws.

    PYTHONPATH=. python bench/bench_explorer.py

``run()`` returns the figures (seconds, medians of ``repeat`` runs) for the bench harness.
The goal (issue 16): a redraw of 100,000 events within ~0.5 s, as before the density lanes
came. The explorer's redraw is also given in CPU seconds, which a busy (shared) machine
inflates less.

It also measures the other way to zoom, ``ipympl`` (matplotlib's Jupyter canvas: mouse
drag and wheel), when it is installed: ``ipympl_zoom_rescale_s`` is what a mouse zoom
costs when it only moves the axis limits of the picture already drawn (dense lanes stay
stretched bars), ``ipympl_zoom_redrawn_s`` what it costs when the lanes are recomputed for
the new window (what a correct density view needs) — both including the PNG the canvas
sends to the browser.
"""

from __future__ import annotations

import io
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere

N_EVENTS = 100_000
N_STREAMS = 2_000
GOAL_S = 0.5


def _median(action: Callable[[], Any], repeat: int) -> float:
    """Median wall-clock seconds; the CPU seconds of the same runs go to ``_cpu``."""
    times, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        action()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    _cpu.append(statistics.median(cpu))
    return statistics.median(times)


_cpu: list[float] = []


def run(n_events: int = N_EVENTS, repeat: int = 3) -> dict[str, Any]:
    """Measure; returns {name: seconds or count}. Deterministic data (seed 0)."""
    import matplotlib

    matplotlib.use("Agg")
    from eslab import EventStore
    from eslab.frame import synthetic_frame
    from eslab.viz import events_frame, timeline
    from eslab.widgets.explorer import Explorer

    frame = synthetic_frame(n_events, N_STREAMS, seed=0)
    raw = frame.drop(columns="stream").assign(event_data='{"n": 1}')
    raw.attrs.clear()
    results: dict[str, Any] = {"events": n_events, "streams": N_STREAMS}
    results["frame_from_table_s"] = _median(lambda: events_frame(raw), repeat)

    store = EventStore()
    store.bulk_insert(
        raw[
            ["entity_type", "entity_id", "entity_version", "event_type", "event_data", "created_at"]
        ]
    )
    results["frame_from_store_s"] = _median(lambda: events_frame(store), repeat)

    def whole_timeline() -> None:
        buffer = io.BytesIO()
        timeline(frame).savefig(buffer, format="png")

    results["timeline_png_unthinned_s"] = _median(whole_timeline, repeat)

    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        explorer = Explorer(frame, export_dir=folder)
        results["explorer_open_s"] = time.perf_counter() - start
        results["explorer_events_in_lanes"] = len(explorer.drawn)

        def redraw() -> None:
            explorer.show_all()
            explorer.refresh()

        results["explorer_redraw_all_s"] = _median(redraw, repeat)
        results["explorer_redraw_all_cpu_s"] = _cpu[-1]
        results["explorer_zoom_in_s"] = _median(explorer.zoom_in, repeat)
        explorer.show_all()
        results.update(_ipympl(explorer, repeat))
        results["explorer_filter_type_s"] = _median(
            lambda: setattr(explorer.type_select, "value", "Order"), 1
        )
        explorer.type_select.value = "(all)"
        explorer.show_all()
        results["export_png_s"] = _median(lambda: explorer.export(fmt="png"), repeat)
        results["export_svg_s"] = _median(lambda: explorer.export(fmt="svg"), repeat)
        results["export_svg_kb"] = round(explorer.export(fmt="svg").stat().st_size / 1024)
    results["goal_s"] = GOAL_S
    # CPU seconds: on a shared machine the wall clock also counts the other processes' turns
    results["within_goal"] = results["explorer_redraw_all_cpu_s"] <= GOAL_S
    results["load_average_1min"] = round(os.getloadavg()[0], 2)  # a busy machine is slower
    return results


def _ipympl(explorer: Any, repeat: int) -> dict[str, Any]:
    """Zoom by mouse in ipympl's canvas: rescale the drawn picture, or redraw its lanes."""
    try:
        import ipympl
        from ipympl.backend_nbagg import new_figure_manager_given_figure
    except ImportError:
        return {"ipympl": "not installed (pip install ipympl to compare)"}
    from eslab.viz import timeline

    fig = explorer.figure()
    canvas = new_figure_manager_given_figure(1, fig).canvas
    canvas.draw()
    canvas.get_diff_image()
    ax = fig.axes[0]
    low, high = ax.get_xlim()
    halves = iter([(low, (low + high) / 2), ((low + high) / 2, high)] * repeat)

    def rescale() -> None:
        ax.set_xlim(*next(halves))
        canvas.draw()
        canvas.get_diff_image()

    explorer.zoom_in()  # the window a mouse zoom would set
    drawn, options = explorer._drawing()
    explorer.show_all()

    def redrawn() -> None:
        fig.clear()
        timeline(drawn, ax=fig.add_subplot(), **options)
        canvas.draw()
        canvas.get_diff_image()

    return {
        "ipympl": ipympl.__version__,
        "ipympl_zoom_rescale_s": _median(rescale, repeat),
        "ipympl_zoom_redrawn_s": _median(redrawn, repeat),
    }


def main() -> None:
    results = run()
    width = max(map(len, results))
    for name, value in results.items():
        shown = f"{value:.3f}" if isinstance(value, float) else str(value)
        print(f"{name:<{width}}  {shown}")


if __name__ == "__main__":
    main()
