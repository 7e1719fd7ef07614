"""The relay lab: step through two transactions and three relays (book §6.1.4).

Each click of "Next step" does one action of notebook 04's race
(:class:`eslab.lessons.nb04_publishing_events.CommitOrderRace`): T1 and T2 insert into
the same DuckDB database on two cursors, T2 commits first, and three relays poll — a
naive "position > last seen" poller, eslab's gap-aware position poller, and the polling
publisher with its ``published`` column. The events table (with the in-flight rows only
their own transaction can see), each relay's broker deliveries and what each one missed
update after every step.

Switch to "serialised appends" to see the fix eslab's store uses: T2 must wait for
the append lock, so positions are committed in order and even the naive poller is right.
"""

from __future__ import annotations

import html

import ipywidgets as w

from eslab.lessons.nb04_publishing_events import CommitOrderRace
from eslab.publishing import PositionPoller, Relay
from eslab.widgets.base import Lab, control, html_table

RACE, SERIALISED = "race (no lock)", "serialised appends"


class RelayLab(Lab):
    """A step button over the commit-order race, with tables that update per step."""

    name = "relaylab"

    def __init__(self, mode: str = RACE) -> None:
        super().__init__()
        self.mode = control(
            w.ToggleButtons(options=(RACE, SERIALISED), value=mode, description="appends"),
            self.name,
            "mode",
        )
        self.step_button = control(
            w.Button(description="Next step", button_style="primary", icon="step-forward"),
            self.name,
            "step",
        )
        self.run_button = control(w.Button(description="Run to the end"), self.name, "run")
        self.reset_button = control(
            w.Button(description="Reset", icon="refresh"), self.name, "reset"
        )
        self.summary = control(w.HTML(), self.name, "summary")
        self.steps_view = control(w.HTML(), self.name, "steps")
        self.events_view = control(w.HTML(), self.name, "events")
        self.relays_view = control(w.HTML(), self.name, "relays")
        self.actions_view = control(w.HTML(), self.name, "actions")
        self.step_button.on_click(self.callback(lambda _: self.step()))
        self.run_button.on_click(self.callback(lambda _: self.run()))
        self.reset_button.on_click(self.callback(lambda _: self.reset()))
        self.mode.observe(self.callback(lambda _: self.reset()), names="value")
        self._finish(
            w.HBox([self.mode, self.step_button, self.run_button, self.reset_button]),
            self.summary,
            w.HBox([self.steps_view, self.events_view]),
            self.relays_view,
            self.actions_view,
        )
        self.race: CommitOrderRace | None = None
        self.reset()

    def reset(self) -> None:
        """A fresh, empty store and the race from its first step."""
        if self.race is not None:
            self.race.close()
        self.race = CommitOrderRace(serialised=self.mode.value == SERIALISED)
        self.last_actions: list[str] = []
        self.refresh()

    def step(self) -> None:
        """Do one step of the race (nothing once it is over)."""
        assert self.race is not None
        if self.race.finished:
            self.summary.value = "The race is over: press Reset to run it again."
            return
        self.last_actions = [f"{a.actor}: {a.action} — {a.detail}" for a in self.race.step()]
        self.refresh()

    def run(self) -> None:
        """Do every remaining step."""
        assert self.race is not None
        while not self.race.finished:
            self.step()

    # -- showing -----------------------------------------------------------------------

    def refresh(self) -> None:
        """Redraw the step list, events table, relay table and last actions."""
        race = self.race
        assert race is not None
        marks = [
            "✓" if i < race.done else ("▶" if i == race.done else "")
            for i in range(len(race.steps))
        ]
        self.steps_view.value = "<b>Steps</b>" + html_table(
            ["", "#", "step"],
            [(m, i + 1, s) for i, (m, s) in enumerate(zip(marks, race.steps, strict=True))],
            highlight=race.done if not race.finished else None,
            css_class=f"eslab-{self.name}-steptable",
        )
        table = race.events_table()
        self.events_view.value = "<b>events table</b>" + html_table(
            ["position", "stream", "status", "published"],
            [
                (r.position, f"{r.entity_type} {r.entity_id}", r.status, r.published)
                for r in table.itertuples()
            ],
            css_class=f"eslab-{self.name}-eventtable",
        )
        result = race.result()
        rows = [
            (
                name,
                _where(relay),
                _list(result.published[name]),
                _list(result.received[name]),
                _list(result.missed[name]) or "—",
            )
            for name, relay in race.relays.items()
        ]
        self.relays_view.value = "<b>Relays → broker → consumer 'order-history'</b>" + html_table(
            ["relay", "reads from", "published", "delivered", "missed (so far)"],
            rows,
            css_class=f"eslab-{self.name}-relaytable",
        )
        self.actions_view.value = (
            "<b>Last step</b><ul>"
            + "".join(f"<li>{html.escape(a)}</li>" for a in self.last_actions)
            + "</ul>"
        )
        self.summary.value = self._summary_text()

    def _summary_text(self) -> str:
        race = self.race
        assert race is not None
        if not race.finished:
            return (
                f"Step {race.done} of {len(race.steps)} done. "
                f"Next: {html.escape(race.steps[race.done])}"
            )
        skipped = race.result().skipped
        if skipped:
            return (
                f"<b style='color:#b2182b'>The naive poller skipped position "
                f"{_list(skipped)} forever</b>: it committed after a higher position had "
                "been read. The position poller and the poller published it."
            )
        return (
            "<b style='color:#1b7837'>No relay missed anything</b>: positions were "
            "committed in order."
        )

    def missed(self) -> dict[str, list[int]]:
        """What each relay has missed so far (for tests)."""
        assert self.race is not None
        return self.race.result().missed


def _list(values: list[int]) -> str:
    return ", ".join(map(str, values))


def _where(relay: Relay) -> str:
    if isinstance(relay, PositionPoller):
        gaps = f", waiting for {_list(sorted(relay.gaps))}" if relay.gaps else ""
        return f"position > {relay.high}{gaps} (checkpoint {relay.checkpoint})"
    return "published = false"
