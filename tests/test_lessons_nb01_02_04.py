"""Lesson code of notebooks 01, 02 and 04: the demos show what the text says."""

from __future__ import annotations

from eslab import AggregateRepository, EventStore
from eslab.domain.bank import AccountOpened, BankAccount, MoneyDeposited, MoneyWithdrawn
from eslab.domain.order import Address, CreateOrder, LineItem, Money, Order
from eslab.lessons.nb01_why_event_sourcing import (
    CrudAccountService,
    busy_account,
    order_as_tables,
)
from eslab.lessons.nb02_events_and_replay import eventuate_local_figure, plot_life
from eslab.lessons.nb04_publishing_events import POLLING, TAILING, measure_relays, plot_relays


def _order() -> Order:
    repo = AggregateRepository(EventStore(), Order)
    items = [LineItem("p", "Pizza", 2, Money(950)), LineItem("d", "Tiramisu", 1, Money(600))]
    return repo.save(
        CreateOrder("c-1", "r-1", items, Address("1 Main St", "Oakland", "94611")),
        entity_id="o-1",
    )


def test_order_as_tables_flattens_value_objects_and_lists() -> None:
    mapped = order_as_tables(_order(), "o-1")
    orders, lines = mapped.tables["orders"], mapped.tables["order_line_items"]
    assert len(orders) == 1 and len(lines) == 2
    assert orders.loc[0, "total_cents"] == 2 * 950 + 600
    assert orders.loc[0, "postcode"] == "94611"
    assert list(lines["price_cents"]) == [950, 600]
    assert len(mapped.statements) == 3
    assert mapped.columns_mapped == len(orders.columns) + len(lines.columns)


def test_crud_service_loses_messages_when_publishing_is_a_second_step() -> None:
    service = CrudAccountService()
    service.open("a", 100)
    service.withdraw("a", 30)
    assert service.balance_seen_by_subscribers("a") == service.balances["a"] == 70
    service.correct_balance("a", 60)
    service.crash_before_publish = True
    try:
        service.withdraw("a", 20)
    except ConnectionError:
        pass
    assert service.balances["a"] == 40
    assert service.balance_seen_by_subscribers("a") == 70


def test_busy_account_is_seeded_and_refuses_overdrafts() -> None:
    first, second = busy_account(), busy_account()
    assert [e.event for e in first.read_all()] == [e.event for e in second.read_all()]
    repo = AggregateRepository(first, BankAccount)
    head = first.head("BankAccount", "ines")
    assert all(repo.find("ines", version=v).balance >= 0 for v in range(1, head + 1))
    assert head < 41  # some withdrawals were refused and left no event
    assert max(repo.find("ines", version=v).balance for v in range(1, head + 1)) > 500


def test_plot_life_draws_the_state_after_each_event() -> None:
    events = [AccountOpened("c", 40), MoneyDeposited(10), MoneyWithdrawn(30)]
    fig = plot_life(BankAccount, events, "balance")
    line = fig.axes[0].lines[0]
    assert list(line.get_xdata()) == [1, 2, 3]
    assert list(line.get_ydata()) == [40, 50, 20]
    labels = [t.get_text() for t in fig.axes[0].texts]
    assert labels[0].startswith("AccountOpened") and labels[-1].endswith("balance=20")


def test_eventuate_local_figure_names_the_tables_and_the_cdc() -> None:
    texts = " ".join(t.get_text() for t in eventuate_local_figure().axes[0].texts)
    for word in ("events", "entities", "snapshots", "CDC", "topic", "entity_version"):
        assert word in texts


def test_measure_relays_counts_the_pollers_updates() -> None:
    frame = measure_relays(sizes=(300,), batch_size=100, repeats=1)
    by_relay = frame.set_index("relay")
    assert by_relay.loc[POLLING, "events rows UPDATEd"] == 300
    assert by_relay.loc[TAILING, "events rows UPDATEd"] == 0
    assert (frame["drained"] == 300).all()
    assert len(plot_relays(frame).axes[0].patches) == 2
