"""The redelivery lab (notebook 06), driven in-process: set values, click, read what shows."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

from eslab.errors import BadInputError, EslabError  # noqa: E402
from eslab.lessons.nb06_idempotent_consumers import (
    counters_text,
    drift_figure,
    exactly_once_balances,
    payment_message,  # noqa: E402
    payment_messages,
    run_redelivery,
)
from eslab.widgets import redelivery_lab  # noqa: E402
from eslab.widgets.redelivery_lab import RedeliveryLab


@pytest.fixture
def lab() -> RedeliveryLab:
    return RedeliveryLab(messages=20)


def classes(widget: object) -> set[str]:
    return set(widget._dom_classes)  # type: ignore[attr-defined]


def test_dom_classes_for_the_browser_tests(lab: RedeliveryLab) -> None:
    assert "eslab-redelivery" in classes(lab.widget)
    parts = {
        "duplicates": lab.duplicates, "crashes": lab.crashes, "kind": lab.kind,
        "seed": lab.seed, "run": lab.run_button, "counters": lab.counters,
        "verdict": lab.verdict, "balances": lab.balances, "plot": lab.plot,
    }  # fmt: skip
    for part, control in parts.items():
        assert f"eslab-redelivery-{part}" in classes(control)
    assert lab.duplicates.description == "duplicate rate"
    assert lab.crashes.description == "crash rate"
    assert list(lab.kind.options) == ["naive", "RDBMS", "NoSQL"]


def test_the_lab_shows_a_first_run_when_it_opens(lab: RedeliveryLab) -> None:
    expected = run_redelivery("naive", duplicate_rate=0.2, crash_rate=0.1, seed=0, messages=20)
    assert counters_text(expected) in lab.counters.value
    assert "drift" in lab.verdict.value
    assert lab.figure is not None
    assert list(lab.figure.axes[0].get_lines()[0].get_ydata()) == expected.drift_series()


def test_run_button_uses_the_controls(lab: RedeliveryLab) -> None:
    lab.kind.value = "RDBMS"
    lab.duplicates.value = 0.5
    lab.crashes.value = 0.2
    lab.seed.value = 7
    lab.run_button.click()
    expected = run_redelivery("RDBMS", duplicate_rate=0.5, crash_rate=0.2, seed=7, messages=20)
    assert lab.counters.value == f"<b>RDBMS</b>: {counters_text(expected)}"
    assert "exactly-once effects ✓" in lab.verdict.value
    for account, balance in expected.expected.items():
        assert f"<td style='padding:2px 8px'>{account}</td>" in lab.balances.value
        assert f"<td style='padding:2px 8px'>{balance}</td>" in lab.balances.value
    assert "+0" in lab.balances.value and lab.last_notice == ""


def test_naive_drifts_and_idempotent_ones_do_not_on_the_same_schedule(lab: RedeliveryLab) -> None:
    lab.duplicates.value, lab.crashes.value, lab.seed.value = 0.3, 0.1, 1
    verdicts = {}
    for kind in ("naive", "RDBMS", "NoSQL"):
        lab.kind.value = kind
        lab.run_button.click()
        verdicts[kind] = lab.verdict.value
        assert lab.report is not None and lab.report.kind == kind
    assert "differ from expected ⚠" in verdicts["naive"]
    assert "✓" in verdicts["RDBMS"] and "✓" in verdicts["NoSQL"]


def test_without_faults_even_the_naive_consumer_is_right(lab: RedeliveryLab) -> None:
    lab.kind.value = "naive"
    lab.duplicates.value = lab.crashes.value = 0.0
    lab.run_button.click()
    assert "duplicates 0" in lab.counters.value and "✓" in lab.verdict.value


def test_an_error_in_a_callback_is_shown_in_the_lab(
    lab: RedeliveryLab, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise EslabError("the broker is down")

    monkeypatch.setattr(redelivery_lab, "run_redelivery", broken)
    lab.run_button.click()
    assert "the broker is down" in lab.last_notice


def test_run_redelivery_is_deterministic_and_keeps_its_parts() -> None:
    a = run_redelivery("NoSQL", duplicate_rate=0.3, crash_rate=0.2, seed=4, messages=15)
    b = run_redelivery("NoSQL", duplicate_rate=0.3, crash_rate=0.2, seed=4, messages=15)
    assert (a.counts, a.balances, a.drift_series()) == (b.counts, b.balances, b.drift_series())
    assert a.counts["delivered"] == len(a.broker.deliveries) == len(a.actual_totals)
    assert a.counts["delivered"] == 15 + a.counts["duplicates"]
    assert a.drift_series()[-1] == a.drift == 0
    assert a.consumer is not None and a.consumer.kind == "NoSQL"


def test_the_tracked_totals_match_the_store() -> None:
    """The drift curve is built from the consumer's outcomes; it must end at the store's."""
    for kind in ("naive", "RDBMS", "NoSQL"):
        report = run_redelivery(kind, duplicate_rate=0.4, crash_rate=0.2, seed=2, messages=20)
        assert report.actual_totals[-1] == sum(report.balances.values())
        assert report.expected_totals[-1] == sum(report.expected.values())


def test_drift_figure_draws_one_line_per_consumer() -> None:
    runs = [run_redelivery(k, seed=3, messages=15) for k in ("naive", "RDBMS", "NoSQL")]
    fig = drift_figure(runs)
    ax = fig.axes[0]
    labels = ax.get_legend_handles_labels()[1]
    assert [label.split(":")[0] for label in labels[:3]] == ["naive", "RDBMS", "NoSQL"]
    assert "redelivery" in labels
    naive_line = ax.get_lines()[0]
    assert list(naive_line.get_ydata()) == runs[0].drift_series()


def test_exactly_once_balances_counts_each_message_once_in_first_delivery_order() -> None:
    w = payment_message("w", "acc-1", "withdraw", 50)
    d = payment_message("d", "acc-1", "deposit", 40)
    assert exactly_once_balances([w, d, w, d], {"acc-1": 30}) == {"acc-1": 70}
    assert exactly_once_balances([d, w, d], {"acc-1": 30}) == {"acc-1": 20}


def test_payment_messages_are_seeded_and_checked() -> None:
    assert payment_messages(10, 3, seed=1) == payment_messages(10, 3, seed=1)
    assert payment_messages(10, 3, seed=1) != payment_messages(10, 3, seed=2)
    assert {p["account"] for p in payment_messages(50, 2)} == {"acc-1", "acc-2"}
    with pytest.raises(BadInputError, match="accounts"):
        payment_messages(10, 0)
