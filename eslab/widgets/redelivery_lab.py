"""The redelivery lab: a broker that delivers twice, and three consumers (book §6.1.6).

:class:`RedeliveryLab` puts sliders, a consumer choice and a Run button on top of
notebook 06's experiment (:func:`eslab.lessons.nb06_idempotent_consumers.run_redelivery`):
seeded payment messages delivered at least once to a naive, RDBMS or NoSQL consumer, the
final balances against exactly-once processing, and the drift delivery by delivery.
"""

from __future__ import annotations

import ipywidgets as w
from matplotlib.figure import Figure

from eslab.consumers import CONSUMER_KINDS
from eslab.i18n import _
from eslab.lessons.nb06_idempotent_consumers import (
    RedeliveryReport,
    counters_text,
    drift_figure,
    run_redelivery,
    verdict_text,
)
from eslab.widgets.base import Lab, control, html_table, show_figure


class RedeliveryLab(Lab):
    """Duplicate and crash sliders, a consumer choice and a Run button."""

    name = "redelivery"

    def __init__(
        self,
        *,
        kind: str = "naive",
        duplicate_rate: float = 0.2,
        crash_rate: float = 0.1,
        seed: int = 0,
        messages: int = 60,
        accounts: int = 3,
    ) -> None:
        super().__init__()
        self.messages, self.accounts = messages, accounts
        self.report: RedeliveryReport | None = None
        self.figure: Figure | None = None
        self.duplicates = control(
            w.FloatSlider(
                value=duplicate_rate,
                min=0,
                max=0.9,
                step=0.05,
                description=_("duplicate rate"),
                continuous_update=False,
                style={"description_width": "initial"},
            ),
            self.name,
            "duplicates",
        )
        self.crashes = control(
            w.FloatSlider(
                value=crash_rate,
                min=0,
                max=0.5,
                step=0.05,
                description=_("crash rate"),
                continuous_update=False,
                style={"description_width": "initial"},
            ),
            self.name,
            "crashes",
        )
        self.kind = control(
            w.ToggleButtons(options=list(CONSUMER_KINDS), value=kind, description=_("consumer")),
            self.name,
            "kind",
        )
        self.seed = control(
            w.BoundedIntText(
                value=seed, min=0, max=9999, description=_("seed"), layout=w.Layout(width="150px")
            ),
            self.name,
            "seed",
        )
        self.run_button = control(
            w.Button(description=_("Run"), button_style="primary", icon="play"), self.name, "run"
        )
        self.counters = control(w.HTML(), self.name, "counters")
        self.verdict = control(w.HTML(), self.name, "verdict")
        self.balances = control(w.HTML(), self.name, "balances")
        self.plot = control(w.Output(), self.name, "plot")
        self.run_button.on_click(self.callback(lambda _button: self.run()))
        self._finish(
            w.HBox([self.duplicates, self.crashes]),
            w.HBox([self.kind, self.seed, self.run_button]),
            self.counters,
            self.verdict,
            w.HBox([self.balances, self.plot]),
        )
        self.run()

    def run(self) -> RedeliveryReport:
        """Run with the controls' values and show counters, balances and the drift."""
        report = run_redelivery(
            self.kind.value,
            duplicate_rate=self.duplicates.value,
            crash_rate=self.crashes.value,
            seed=self.seed.value,
            messages=self.messages,
            accounts=self.accounts,
        )
        self.report = report
        self.figure = drift_figure([report])
        show_figure(self.plot, self.figure)  # first, so the counters never run ahead of it
        self.counters.value = f"<b>{self.kind.value}</b>: {counters_text(report)}"
        colour = "#1b7837" if report.exactly_once else "#b2182b"
        self.verdict.value = f"<span style='color:{colour}'>{verdict_text(report)}</span>"
        rows = [
            (
                a,
                report.expected[a],
                report.balances[a],
                f"{report.balances[a] - report.expected[a]:+d}",
            )
            for a in report.balances
        ]
        self.balances.value = html_table(
            ["account", "expected", "actual", "difference"],
            rows,
            css_class="eslab-redelivery-table",
        )
        return report
