"""The snapshot lab: how long does ``find`` take, with and without snapshots? (book §6.1.5)

Pick a stream length (up to 100,000 events) and a snapshot interval. The lab builds the
stream once (``datasets.long_stream``, a bulk insert, cached per length) and loads it
twice with ``AggregateRepository.find``: replaying every event, and starting from the
newest snapshot (its version is the length rounded down to a multiple of the interval).
It shows the events each load read, the measured time, whether both states are equal,
and a plot of load time against stream length: a line that grows, and a flat one.

With a snapshot every *k* events the store would hold ``length // k`` snapshots; a load
only ever uses the newest one, so that is the one the lab stores.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import ipywidgets as w
from matplotlib.figure import Figure

from eslab import datasets
from eslab.aggregate import Aggregate, AggregateRepository
from eslab.domain.bank import BankAccount
from eslab.domain.order import Order
from eslab.i18n import _
from eslab.snapshots import SnapshotStrategy
from eslab.store import EventStore
from eslab.widgets.base import Lab, control, html_table, show_figure

AGGREGATES: dict[str, type[Aggregate]] = {"BankAccount": BankAccount, "Order": Order}
LADDER = (1_000, 5_000, 10_000, 25_000, 50_000, 100_000)
"""Stream lengths the plot measures (those up to the chosen length, plus that length)."""
INTERVALS = (10, 50, 100, 500, 1_000, 5_000, 10_000)


@dataclass(frozen=True)
class Measurement:
    """One stream length and interval: events read and seconds, without / with snapshots."""

    length: int
    every: int
    snapshot_version: int
    events_read_plain: int
    events_read_snapshot: int
    seconds_plain: float
    seconds_snapshot: float
    same_state: bool


def snapshot_version(length: int, every: int) -> int:
    """The newest snapshot a stream of ``length`` events has when taken every ``every``."""
    return (length // every) * every


def load_time_figure(points: Sequence[Measurement], every: int) -> Figure:
    """Load time against stream length: replaying everything vs starting at a snapshot."""
    points = sorted(points, key=lambda m: m.length)
    fig = Figure(figsize=(6.5, 3.2), layout="constrained")
    ax = fig.add_subplot()
    xs = [m.length for m in points]
    ax.plot(
        xs,
        [m.seconds_plain * 1000 for m in points],
        "o-",
        color="#d62728",
        label=_("replay every event"),
    )
    ax.plot(
        xs,
        [m.seconds_snapshot * 1000 for m in points],
        "s-",
        color="#6a3d9a",
        label=_("from a snapshot (every {every:,})").format(every=every),
    )
    ax.set_xlabel(_("events in the stream"))
    ax.set_ylabel(_("find() time (ms)"))
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", frameon=False)
    ax.set_title(_("Load time: linear without snapshots, flat with them"))
    return fig


class SnapshotLab(Lab):
    """Sliders for stream length and snapshot interval; measure, compare and plot."""

    name = "snapshotlab"

    def __init__(
        self,
        *,
        store: EventStore | None = None,
        entity_type: str = "BankAccount",
        length: int = 10_500,
        every: int = 1_000,
        max_length: int = 100_000,
        step: int = 500,
        measure: bool = True,
    ) -> None:
        super().__init__()
        if entity_type not in AGGREGATES:
            raise ValueError(f"entity_type must be one of {sorted(AGGREGATES)}.")
        self.store = store or EventStore()
        self.entity_type = entity_type
        self.aggregate_class = AGGREGATES[entity_type]
        self.streams: dict[int, str] = {}
        """Stream length → entity id of the stream built for it (built once)."""
        self.measurements: dict[tuple[int, int], Measurement] = {}
        self.last_figure: Figure | None = None
        self.length = control(
            w.IntSlider(
                value=length,
                min=step,
                max=max_length,
                step=step,
                description=_("events"),
                continuous_update=False,
                style={"description_width": "110px"},
                layout=w.Layout(width="460px"),
            ),
            self.name,
            "length",
        )
        self.every = control(
            w.SelectionSlider(
                options=list(INTERVALS),
                value=every,
                description=_("snapshot every"),
                continuous_update=False,
                style={"description_width": "110px"},
                layout=w.Layout(width="460px"),
            ),
            self.name,
            "every",
        )
        self.plan = control(w.HTML(), self.name, "plan")
        self.measure_button = control(
            w.Button(description=_("Measure"), button_style="primary", icon="stopwatch"),
            self.name,
            "measure",
        )
        self.progress = control(
            w.IntProgress(value=0, min=0, max=1, description="", layout=w.Layout(width="200px")),
            self.name,
            "progress",
        )
        self.status = control(w.Label(), self.name, "status")
        self.results = control(w.HTML(), self.name, "results")
        self.figure = control(w.Output(), self.name, "figure")
        self.length.observe(self.callback(lambda _: self.show_plan()), names="value")
        self.every.observe(self.callback(lambda _: self.show_plan()), names="value")
        self.measure_button.on_click(self.callback(lambda _: self.measure()))
        self._finish(
            self.length,
            self.every,
            self.plan,
            w.HBox([self.measure_button, self.progress, self.status]),
            self.results,
            self.figure,
        )
        self.show_plan()
        if measure:
            self.measure()

    # -- what the sliders say -------------------------------------------------------------

    def show_plan(self) -> None:
        """Say which snapshot a load would start from, before measuring anything."""
        n, k = self.length.value, self.every.value
        at = snapshot_version(n, k)
        start = (
            _("starts from the snapshot at version {at:,} and reads {read:,} events").format(
                at=at, read=n - at
            )
            if at
            else _(
                "finds no snapshot yet (the first comes at version {every:,}) and "
                "reads all {n:,} events"
            ).format(every=k, n=n)
        )
        self.plan.value = (
            "<div>"
            + _(
                "A stream of <b>{n:,}</b> events with a snapshot every <b>{every:,}</b>: "
                "<code>find()</code> {start}; without snapshots it reads all <b>{n:,}</b>. "
                "Click <i>Measure</i> to time both."
            ).format(n=n, every=k, start=start)
            + "</div>"
        )

    # -- building and measuring -------------------------------------------------------------

    def stream(self, length: int) -> str:
        """The entity id of a stream with ``length`` events (built on first use, then cached)."""
        if length not in self.streams:
            entity_id = f"{self.entity_type.lower()}-{length}"
            datasets.long_stream(self.store, entity_id, length, entity_type=self.entity_type)
            self.streams[length] = entity_id
        return self.streams[length]

    def measure_one(self, length: int, every: int) -> Measurement:
        """Load a ``length``-event stream without and with a snapshot (cached per pair)."""
        key = (length, every)
        if key in self.measurements:
            return self.measurements[key]
        entity_id = self.stream(length)
        plain = AggregateRepository(self.store, self.aggregate_class, entity_type=self.entity_type)
        seconds_plain, replayed = _timed(lambda: plain.find(entity_id), length)
        read_plain = plain.last_events_read
        at = snapshot_version(length, every)
        self._keep_only_snapshot(plain, entity_id, at, replayed)
        snapping = AggregateRepository(
            self.store,
            self.aggregate_class,
            entity_type=self.entity_type,
            snapshots=SnapshotStrategy(every=every),
        )
        seconds_snap, loaded = _timed(lambda: snapping.find(entity_id), length)
        same = loaded == replayed and loaded.version == replayed.version
        result = Measurement(
            length,
            every,
            at,
            read_plain,
            snapping.last_events_read,
            seconds_plain,
            seconds_snap,
            same,
        )
        self.measurements[key] = result
        return result

    def _keep_only_snapshot(
        self, repo: AggregateRepository[Any], entity_id: str, at: int, full: Aggregate
    ) -> None:
        """Leave exactly one snapshot of the stream, at version ``at`` (none if 0)."""
        self.store.sql(
            "DELETE FROM snapshots WHERE entity_type = $t AND entity_id = $i "
            "AND entity_version <> $v",
            {"t": self.entity_type, "i": entity_id, "v": at},
        )
        if at == 0 or self.store.latest_snapshot(self.entity_type, entity_id, at):
            return
        state = full if at == full.version else repo.find(entity_id, version=at)
        SnapshotStrategy(every=None).take(repo, state)

    def measure(self) -> Measurement:
        """Measure the chosen length and interval, plus the plot's shorter lengths."""
        n, k = self.length.value, self.every.value
        lengths = sorted({x for x in LADDER if x < n} | {n})
        self.progress.max, self.progress.value = len(lengths), 0
        self.progress.bar_style = "info"
        points = []
        for length in lengths:
            todo = length not in self.streams
            self.status.value = (
                _("building a {n:,}-event stream…").format(n=length)
                if todo
                else _("loading {n:,} events…").format(n=length)
            )
            points.append(self.measure_one(length, k))
            self.progress.value += 1
        self.progress.bar_style = "success"
        chosen = points[-1]
        self.status.value = _("measured {n} stream lengths").format(n=len(points))
        self.results.value = _results_table(chosen)
        self.last_figure = load_time_figure(points, k)
        show_figure(self.figure, self.last_figure)
        return chosen


def _timed(load: Any, length: int) -> tuple[float, Any]:
    """Best time of a few runs (one run for long streams) and the last result."""
    runs = 3 if length <= 12_000 else 1
    best, result = float("inf"), None
    for _run in range(runs):
        start = time.perf_counter()
        result = load()
        best = min(best, time.perf_counter() - start)
    return best, result


def _results_table(m: Measurement) -> str:
    where = (
        _("from the snapshot at version {version:,}").format(version=m.snapshot_version)
        if m.snapshot_version
        else _("from no snapshot")
    )
    rows = [
        (
            _("replay every event"),
            f"{m.events_read_plain:,}",
            f"{m.seconds_plain * 1000:,.1f}",
            "—",
        ),
        (
            where,
            f"{m.events_read_snapshot:,}",
            f"{m.seconds_snapshot * 1000:,.1f}",
            _("yes ✓") if m.same_state else _("NO ✗"),
        ),
    ]
    return html_table(
        ["find()", _("events read"), _("time (ms)"), _("same state?")],
        rows,
        css_class="eslab-snapshotlab-table",
    )
