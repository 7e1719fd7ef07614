"""The time machine: slide through an aggregate's versions (seed §8, 개발자에게 타임 머신 제공).

Moving the slider replays the stream up to that version — the seed's loop, nothing
else — and shows the state next to the timeline with the current event circled.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as w
from matplotlib.figure import Figure

from eslab.aggregate import AggregateRepository
from eslab.i18n import _
from eslab.viz.timeline import timeline
from eslab.widgets.base import Lab, control, fields_table, show_figure


class TimeMachine(Lab):
    """A version slider over one aggregate's history."""

    name = "timemachine"
    WINDOW = 150
    """Half the number of events drawn: a long stream shows the part around the slider."""

    def __init__(
        self, repo: AggregateRepository[Any], entity_id: str, *, x: str = "position"
    ) -> None:
        super().__init__()
        self.repo, self.entity_id, self.x = repo, entity_id, x
        self.history = repo.store.load(repo.entity_type, entity_id)
        if not self.history:
            repo.find(entity_id)  # raises EntityNotFoundError with a helpful message
        last = len(self.history)
        self.slider = control(
            w.IntSlider(
                value=last, min=1, max=last, description=_("version"), continuous_update=False
            ),
            self.name,
            "slider",
        )
        self.caption = control(w.Label(), self.name, "caption")
        self.state = control(w.HTML(), self.name, "state")
        self.figure = control(w.Output(), self.name, "figure")
        self.slider.observe(self.callback(self._on_change), names="value")
        self._finish(self.slider, self.caption, w.HBox([self.state, self.figure]))
        self.show(last)

    def state_at(self, version: int) -> Any:
        """The aggregate as it was right after ``version`` (a replay of the prefix)."""
        events = [stored.event for stored in self.history[:version]]
        aggregate = self.repo.aggregate_class.replay(events)
        aggregate.id, aggregate.version = self.entity_id, version
        return aggregate

    def window(self, version: int) -> list[Any]:
        """The events drawn around ``version``: all of a short stream, else ±WINDOW of it."""
        start = max(0, min(version - 1 - self.WINDOW, len(self.history) - 2 * self.WINDOW))
        return self.history[start : start + 2 * self.WINDOW]

    def show(self, version: int) -> None:
        """Show the state, caption and timeline at ``version``."""
        stored = self.history[version - 1]
        self.caption.value = _(
            "Version {version} of {last}: {event_type} at position {position}"
        ).format(
            version=version,
            last=len(self.history),
            event_type=stored.event_type,
            position=stored.position,
        )
        self.state.value = fields_table(self.state_at(version))
        shown = self.window(version)
        span = (
            ""
            if len(shown) == len(self.history)
            else _(" (versions {first}–{last})").format(
                first=shown[0].entity_version, last=shown[-1].entity_version
            )
        )
        # A fixed layout (no constrained layout): a slider move redraws in ~⅔ of the time.
        fig = Figure(figsize=(7, 2.2))
        fig.subplots_adjust(left=0.27, right=0.7, bottom=0.25, top=0.85)
        timeline(
            shown,
            x=self.x,
            highlight=stored.position,
            title=f"{self.repo.entity_type} {self.entity_id}{span}",
            ax=fig.add_subplot(),
        )
        show_figure(self.figure, fig)

    def _on_change(self, change: dict[str, Any]) -> None:
        self.show(change["new"])
