"""The instructor's live view of the class on the shared store (a workshop on the hub).

One picture and two tables, redrawn on "Refresh" and, while "live" is ticked, every few
seconds: the timeline of everyone's events (the progress streams left out), the conflicts
each learner has seen in the conflict lab, and the exercises each learner has passed per
notebook (:mod:`eslab.checks.class_record`).
"""

from __future__ import annotations

import threading

import ipywidgets as w
from matplotlib.figure import Figure

from eslab.checks import class_record
from eslab.errors import BadInputError
from eslab.i18n import _
from eslab.store import EventStore
from eslab.viz.timeline import timeline
from eslab.widgets.base import Lab, control, html_table, show_figure


class ClassView(Lab):
    """The whole class at a glance, refreshed while the workshop runs."""

    name = "classview"

    def __init__(self, store: EventStore | None = None, *, every: float = 5.0) -> None:
        super().__init__()
        found = store or class_record.shared_store()
        if found is None:
            raise BadInputError(
                "No shared store: set ESLAB_STORE (the hub does) or pass "
                "ClassView(EventStore('postgresql://…'))."
            )
        self.store: EventStore = found
        self.every = every
        self._stop = threading.Event()
        self.drawn: Figure | None = None
        """The last timeline drawn (None while the class has written nothing)."""
        self.button = control(w.Button(description=_("Refresh")), self.name, "refresh")
        self.live = control(w.Checkbox(value=False, description=_("live")), self.name, "live")
        self.summary = control(w.HTML(), self.name, "summary")
        self.figure = control(w.Output(), self.name, "timeline")
        self.conflicts = control(w.HTML(), self.name, "conflicts")
        self.passes = control(w.HTML(), self.name, "passes")
        self.button.on_click(self.callback(lambda _: self.refresh()))
        self.live.observe(self.callback(self._toggle_live), names="value")
        self._finish(
            w.HBox([self.button, self.live]),
            self.summary,
            self.figure,
            w.HBox([self.conflicts, self.passes]),
        )
        self.refresh()

    def refresh(self) -> None:
        """Read the shared store again and redraw everything."""
        events = self.store.to_dataframe()
        work = events[events["entity_type"] != class_record.STREAM_TYPE]
        learners = class_record.progress(self.store)["learner"].dropna().nunique()
        streams = work.groupby(["entity_type", "entity_id"]).ngroups
        self.summary.value = _(
            "<b>{events}</b> events in <b>{streams}</b> streams; "
            "<b>{learners}</b> learners have reported progress."
        ).format(events=len(work), streams=streams, learners=learners)
        if len(work):
            self.drawn = timeline(work, title=_("Everyone's events, by position"))
            show_figure(self.figure, self.drawn)
        conflicts = class_record.conflicts_per_learner(self.store)
        self.conflicts.value = (
            "<b>"
            + _("Conflicts seen")
            + "</b>"
            + html_table([_("learner"), _("conflicts")], list(conflicts.items()))
        )
        passes = class_record.passes_per_notebook(self.store)
        self.passes.value = (
            "<b>"
            + _("Exercises passed")
            + "</b>"
            + html_table(
                [_("learner"), *passes.columns],
                [
                    [name, *row]
                    for name, row in zip(passes.index, passes.values.tolist(), strict=True)
                ],
            )
        )

    def _toggle_live(self, change: dict) -> None:
        if change["new"]:
            self._stop.clear()
            threading.Thread(target=self._loop, daemon=True).start()
        else:
            self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.refresh()
            except Exception as exc:  # the store went away: say so and stop
                self.notice(
                    _("live view stopped: {type_name}: {exc}").format(
                        type_name=type(exc).__name__, exc=exc
                    )
                )
                self.live.value = False
                return
