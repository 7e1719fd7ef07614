"""The saga stepper: run the CreateOrderSaga one message at a time (notebook 08).

Choose where the saga fails (nowhere, at the consumer check, at the kitchen, at the card
authorization — the pivot — or a crash after the pivot), whether the broker injects
duplicates, then **Step** (one delivery) or **Play** (to the end). The lab shows the
swimlane of the messages so far, every aggregate's state (Order, Consumer, Ticket,
Account and the saga instance itself) and, at the end, whether the services agree.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as w
from matplotlib.figure import Figure

from eslab.clock import FixedClock, SeededIds
from eslab.errors import BadInputError
from eslab.ftgo import FAILURES, FtgoSystem, PlacedOrder, SagaOutcome
from eslab.i18n import _
from eslab.messaging import MessageBroker
from eslab.store import EventStore
from eslab.viz.swimlane import exchanges, swimlane
from eslab.widgets.base import Lab, control, html_table, show_figure

DUPLICATE_RATE, CRASH_RATE = 0.3, 0.1
"""The broker's fault injection when 'duplicates' is ticked."""


def new_system(
    failure: str = "none", *, duplicates: bool = False, seed: int = 0, mode: str = "orchestration"
) -> tuple[FtgoSystem, PlacedOrder]:
    """A fresh in-memory FTGO system with one order placed that fails at ``failure``."""
    store = EventStore(clock=FixedClock(), id_factory=SeededIds(seed))
    broker = MessageBroker(
        seed=seed,
        duplicate_rate=DUPLICATE_RATE if duplicates else 0.0,
        crash_rate=CRASH_RATE if duplicates else 0.0,
    )
    system = FtgoSystem(store, broker, mode=mode)
    return system, system.scenario(failure)


def state_rows(system: FtgoSystem, placed: PlacedOrder) -> list[tuple[str, str, str, str, str]]:
    """(aggregate, id, version, state, details) for every aggregate the order touches."""
    s = system.states(placed)
    rows = []
    order = s["Order"]
    rows.append(
        (
            "Order",
            placed.order_id,
            _version(order),
            _state(order),
            f"total {order.total}" if order else "",
        )
    )
    consumer = s["Consumer"]
    rows.append(
        (
            "Consumer",
            consumer.id if consumer else "—",
            _version(consumer),
            "suspended" if consumer and consumer.suspended else ("ok" if consumer else "—"),
            _consumer_details(consumer, placed.order_id),
        )
    )
    ticket = s["Ticket"]
    rows.append(
        (
            "Ticket",
            ticket.id if ticket else "—",
            _version(ticket),
            _state(ticket),
            f"{len(ticket.line_items)} line item(s)" if ticket else "not created",
        )
    )
    account = s["Account"]
    rows.append(
        (
            "Account",
            account.id if account else "—",
            _version(account),
            "authorized"
            if account and placed.order_id in account.authorizations
            else "not authorized",
            f"available {account.available} of {account.card_limit}" if account else "",
        )
    )
    saga = s["Saga"]
    if placed.saga_id is not None:
        rows.append(
            (
                "CreateOrderSaga",
                placed.saga_id,
                _version(saga),
                _state(saga, "status"),
                _saga_details(system, saga),
            )
        )
    return rows


def _version(aggregate: Any) -> str:
    return str(aggregate.version) if aggregate is not None else "—"


def _state(aggregate: Any, attribute: str = "state") -> str:
    value = getattr(aggregate, attribute, None) if aggregate is not None else None
    return value.value if value is not None else "—"


def _consumer_details(consumer: Any, order_id: str) -> str:
    if consumer is None:
        return ""
    if order_id in consumer.verified_orders:
        return "verified this order"
    if order_id in consumer.refused_orders:
        return "refused this order"
    return f"order limit {consumer.order_limit}"


def _saga_details(system: FtgoSystem, saga: Any) -> str:
    if saga is None or system.orchestrator is None:
        return ""
    if saga.finished:
        return saga.failure_reason or "done"
    definition = system.orchestrator.definition
    step = definition.step(saga.current_step)
    doing = "compensating" if saga.status.value == "COMPENSATING" else "at"
    waiting = f", waiting for the reply to {saga.awaiting_command}" if saga.awaiting else ""
    return f"{doing} step {step.number} ({definition.kind(step.number)}){waiting}"


def outcome_text(outcome: SagaOutcome) -> str:
    """One line: where the order, ticket and card ended up, and whether they agree."""
    card = "card authorized" if outcome.authorized else "no authorization"
    verdict = "consistent ✓" if outcome.consistent else "NOT consistent ✗"
    return f"order {outcome.order_state} · ticket {outcome.ticket_state} · {card} — {verdict}"


class SagaStepper(Lab):
    """Choose a failing step, then step or play the CreateOrderSaga's messages."""

    name = "saga-stepper"

    def __init__(
        self,
        *,
        failure: str = "none",
        duplicates: bool = False,
        seed: int = 0,
        mode: str = "orchestration",
    ) -> None:
        super().__init__()
        if failure not in FAILURES:
            raise BadInputError(f"failure must be one of {FAILURES}, got {failure!r}.")
        self.seed, self.mode = seed, mode
        self.system: FtgoSystem | None = None
        self.placed: PlacedOrder | None = None
        self.figure: Figure | None = None
        self.failure = control(
            w.Dropdown(
                options=list(FAILURES),
                value=failure,
                description=_("failing step"),
                style={"description_width": "initial"},
            ),
            self.name,
            "failure",
        )
        self.duplicates = control(
            w.Checkbox(
                value=duplicates,
                description=_("duplicates and crashes in the broker"),
                indent=False,
            ),
            self.name,
            "duplicates",
        )
        self.step_button = control(
            w.Button(description=_("Step"), icon="step-forward"), self.name, "step"
        )
        self.play_button = control(
            w.Button(description=_("Play"), icon="play", button_style="primary"), self.name, "play"
        )
        self.reset_button = control(
            w.Button(description=_("Reset"), icon="undo"), self.name, "reset"
        )
        self.status = control(w.HTML(), self.name, "status")
        self.outcome = control(w.HTML(), self.name, "outcome")
        self.states = control(w.HTML(), self.name, "states")
        self.picture = control(w.Output(), self.name, "picture")
        self.step_button.on_click(self.callback(lambda _b: self.step()))
        self.play_button.on_click(self.callback(lambda _b: self.play()))
        self.reset_button.on_click(self.callback(lambda _b: self.reset()))
        self.failure.observe(self.callback(lambda _c: self.reset()), names="value")
        self.duplicates.observe(self.callback(lambda _c: self.reset()), names="value")
        self._finish(
            w.HBox([self.failure, self.duplicates]),
            w.HBox([self.step_button, self.play_button, self.reset_button]),
            self.status,
            self.outcome,
            self.states,
            self.picture,
        )
        self.reset()

    @property
    def delivered(self) -> int:
        """Deliveries so far (all of them, duplicates included)."""
        return len(self.system.broker.deliveries) if self.system else 0

    @property
    def finished(self) -> bool:
        return self.system is not None and self.system.finished

    def reset(self) -> None:
        """A new store and broker with the chosen failure; nothing delivered yet."""
        self.system, self.placed = new_system(
            self.failure.value, duplicates=self.duplicates.value, seed=self.seed, mode=self.mode
        )
        self.system.relay.run()  # the relay publishes the first command at once
        self.render()

    def step(self) -> None:
        """Deliver one message."""
        assert self.system is not None
        self.system.step()
        self.render()

    def play(self) -> None:
        """Deliver everything that is left."""
        assert self.system is not None
        self.system.run()
        self.render()

    def render(self) -> None:
        """Show the status line, the outcome, the states table and the swimlane."""
        assert self.system is not None and self.placed is not None
        shown = exchanges(self.system.broker, self.system.relevant)
        if shown:
            last = shown[-1]
            what = f"{last.seq}. {last.sender} → {last.receiver}: {last.label} ({last.outcome})"
        else:
            what = "order placed: Order + saga started in one transaction; nothing delivered yet"
        pending = self.system.broker.pending()
        self.status.value = f"<b>delivered {self.delivered}</b> · pending {pending} · last: {what}"
        if self.finished:
            result = self.system.outcome(self.placed)
            colour = "#1b7837" if result.consistent else "#b2182b"
            self.outcome.value = (
                f"<span style='color:{colour}'><b>finished:</b> {outcome_text(result)}</span>"
            )
        else:
            self.outcome.value = "<i>running… press Step or Play</i>"
        self.states.value = html_table(
            ["aggregate", "id", "version", "state", "details"],
            state_rows(self.system, self.placed),
            css_class="eslab-saga-stepper-table",
        )
        title = f"CreateOrderSaga — failing step: {self.failure.value}"
        self.figure = swimlane(self.system, title=title)
        show_figure(self.picture, self.figure)
