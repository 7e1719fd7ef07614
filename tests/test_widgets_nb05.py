"""The snapshot lab of notebook 05, driven in-process (move sliders, click Measure)."""

from __future__ import annotations

import pytest

from eslab.widgets.snapshot_lab import (
    Measurement,
    SnapshotLab,
    load_time_figure,
    snapshot_version,
)


@pytest.fixture
def lab() -> SnapshotLab:
    return SnapshotLab(length=2_500, every=1_000, max_length=5_000, step=500)


def test_lab_is_tagged_for_the_browser(lab: SnapshotLab) -> None:
    assert "eslab-snapshotlab" in lab.widget._dom_classes
    for part in ("length", "every", "plan", "measure", "results", "figure", "progress"):
        assert (
            f"eslab-snapshotlab-{part}"
            in getattr(lab, {"measure": "measure_button"}.get(part, part))._dom_classes
        )


def test_first_view_measures_the_default_stream(lab: SnapshotLab) -> None:
    assert "reads 500 events" in lab.plan.value and "reads all <b>2,500</b>" in lab.plan.value
    m = lab.measurements[(2_500, 1_000)]
    assert (m.events_read_plain, m.events_read_snapshot, m.snapshot_version) == (2_500, 500, 2_000)
    assert m.same_state and m.seconds_plain > 0 and m.seconds_snapshot > 0
    assert "from the snapshot at version 2,000" in lab.results.value
    assert ">500<" in lab.results.value and ">2,500<" in lab.results.value
    assert "yes ✓" in lab.results.value
    assert lab.last_figure is not None  # the plot was drawn
    assert [len(line.get_xdata()) for line in lab.last_figure.axes[0].get_lines()] == [2, 2]
    assert set(lab.measurements) == {(1_000, 1_000), (2_500, 1_000)}
    assert lab.progress.value == lab.progress.max == 2


def test_sliders_update_the_plan_at_once(lab: SnapshotLab) -> None:
    lab.length.value = 3_000
    assert "starts from the snapshot at version 3,000 and reads 0 events" in lab.plan.value
    lab.every.value = 5_000
    assert "finds no snapshot yet (the first comes at version 5,000)" in lab.plan.value
    assert "reads all 3,000 events" in lab.plan.value


def test_measure_without_a_snapshot_reads_everything(lab: SnapshotLab) -> None:
    lab.length.value, lab.every.value = 3_000, 5_000
    lab.measure_button.click()
    m = lab.measurements[(3_000, 5_000)]
    assert m.snapshot_version == 0 and m.events_read_snapshot == m.events_read_plain == 3_000
    assert "from no snapshot" in lab.results.value and m.same_state
    assert lab.store.latest_snapshot("BankAccount", lab.streams[3_000]) is None


def test_streams_are_built_once_and_keep_one_snapshot(lab: SnapshotLab) -> None:
    events_before = lab.store.last_position()
    lab.every.value = 500
    lab.measure_button.click()
    lab.every.value = 50
    lab.measure_button.click()
    assert lab.store.last_position() == events_before  # no stream was built again
    assert sorted(lab.streams) == [1_000, 2_500]
    snaps = lab.store.sql("SELECT entity_id, entity_version FROM snapshots ORDER BY 1")
    assert snaps.values.tolist() == [["bankaccount-1000", 1_000], ["bankaccount-2500", 2_500]]
    assert lab.measurements[(2_500, 50)].events_read_snapshot == 0


def test_measure_is_cached_per_length_and_interval(lab: SnapshotLab) -> None:
    first = lab.measurements[(2_500, 1_000)]
    lab.measure_button.click()
    assert lab.measurements[(2_500, 1_000)] is first


def test_order_streams_work_too() -> None:
    lab = SnapshotLab(entity_type="Order", length=1_500, every=100, max_length=2_000)
    m = lab.measurements[(1_500, 100)]
    assert m.same_state and m.events_read_snapshot == 0 and m.events_read_plain == 1_500


def test_unknown_entity_type_is_refused() -> None:
    with pytest.raises(ValueError, match="entity_type"):
        SnapshotLab(entity_type="Ticket", measure=False)


def test_snapshot_version_rounds_down_to_the_interval() -> None:
    assert [snapshot_version(n, 1_000) for n in (999, 1_000, 10_500)] == [0, 1_000, 10_000]


def test_load_time_figure_has_one_line_per_way() -> None:
    points = [Measurement(n, 100, n, n, 0, n / 1e5, 1e-3, True) for n in (1_000, 100, 500)]
    fig = load_time_figure(points, 100)
    lines = fig.axes[0].get_lines()
    assert [line.get_label() for line in lines] == [
        "replay every event",
        "from a snapshot (every 100)",
    ]
    assert list(lines[0].get_xdata()) == [100, 500, 1_000]
