"""Crash suite: SIGKILL writers, checkpointing readers and relays at seeded random points.

After every kill the store is reopened as it is — no repair step — and checked: every
acknowledged append is there, no command is half-written, versions are gap-free per
stream, and a reader that saves its checkpoint (a plain ``read_all`` loop, the
PollingPublisher, the PositionPoller, the Projector) resumes without losing an
event. Children come from a forkserver with eslab imported (see reliability_helpers).
"""

from __future__ import annotations

import random
import time
from multiprocessing.process import BaseProcess
from pathlib import Path

import pytest
import reliability_helpers as rh

from eslab import EventStore

pytestmark = pytest.mark.slow

# name: (seed, trials, worker options)
SCENARIOS = {
    "append": (
        101,
        10,
        {"streams": 4, "uow_share": 0.0, "blob": (0, 200), "checkpoint_threshold": None},
    ),
    "unit_of_work": (
        202,
        10,
        {"streams": 4, "uow_share": 0.5, "blob": (0, 200), "checkpoint_threshold": None},
    ),
    "checkpointing": (
        303,
        10,
        {"streams": 3, "uow_share": 0.3, "blob": (2_000, 30_000), "checkpoint_threshold": "64KB"},
    ),
}
WRITER_TRIALS = sum(trials for _, trials, _ in SCENARIOS.values())
READER_TRIALS = 8


def _kill_after(proc: BaseProcess, ack_path: Path, rng: random.Random) -> str:
    """Kill the child at a seeded point; say where (for failure messages)."""
    if rng.random() < 0.2:  # early: while opening / replaying the WAL of the last crash
        delay = rng.uniform(0.0, 0.06)
        time.sleep(delay)
        rh.kill(proc)
        return f"{delay * 1000:.0f} ms after start"
    rh.wait_for_lines(ack_path, 2, proc)  # "ready" and the first ack: it is mid-run
    delay = rng.uniform(0.0, 0.15)
    time.sleep(delay)
    rh.kill(proc)
    return f"{delay * 1000:.0f} ms after the first ack"


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_sigkill_loses_no_acknowledged_command(scenario: str, tmp_path: Path) -> None:
    """Many kills on one store file: acked commands survive, none is half-written."""
    seed, trials, options = SCENARIOS[scenario]
    rng = random.Random(seed)
    path = tmp_path / "crash.duckdb"
    ctx = rh.child_context()
    acks: dict[str, list[str]] = {}
    killed_mid_run = 0
    for trial in range(trials):
        name = f"t{trial}"
        ack_path = tmp_path / f"{name}.acks"
        proc = ctx.Process(
            target=rh.write_commands,
            args=(str(path), str(ack_path), name, rng.randrange(2**32)),
            kwargs=options,
        )
        proc.start()
        where = _kill_after(proc, ack_path, rng)
        lines = rh.read_lines(ack_path)
        assert "done" not in lines, f"{name} finished before the kill: raise max_commands"
        acks[name] = lines
        killed_mid_run += any(line.startswith("ack ") for line in lines)
        with EventStore(path) as store:  # reopening is the whole recovery
            try:
                counts = rh.check_commands(store, acks)
            except AssertionError as exc:
                raise AssertionError(f"{scenario} trial {trial} (killed {where}): {exc}") from exc
    assert killed_mid_run >= trials // 2, "too few kills landed between appends"
    assert counts["acked"] > 0
    with EventStore(path) as store:  # still writable after all those crashes
        head = store.head("Crash", "s0")
        store.append("Crash", "s0", [rh.CrashTestEvent("after-c0", 1, 0, 1)], head)
        assert store.head("Crash", "s0") == head + 1


def test_killed_checkpoint_reader_resumes_without_loss(tmp_path: Path) -> None:
    """A reader saving ``save_checkpoint`` after each batch, killed while a writer runs.

    Invariant: at every restart, each event at or below the saved checkpoint was already
    handled (the checkpoint never runs ahead of the work), and after a final drain every
    event in the log was handled. Re-handled events (at-least-once) are allowed.
    """
    rng = random.Random(404)
    path = tmp_path / "tail.duckdb"
    out = tmp_path / "reader.out"
    ctx = rh.child_context()
    runs: list[tuple[int, list[int]]] = []  # (checkpoint at start, positions handled)
    rh.seed_backlog(str(path), 300)

    def run(write: bool) -> None:
        before = len(rh.read_lines(out))
        proc = ctx.Process(
            target=rh.tail_with_checkpoint, args=(str(path), str(out), rng.randrange(2**32), write)
        )
        proc.start()
        if write:
            rh.wait_for_lines(out, before + 1, proc)
            time.sleep(rng.uniform(0.02, 0.2))
            rh.kill(proc)
        else:
            proc.join(30)
            assert proc.exitcode == 0
        lines = rh.read_lines(out)[before:]
        assert lines and lines[0].startswith("start "), lines[:1]
        handled = [int(p) for line in lines if line.startswith("batch ") for p in line.split()[1:]]
        runs.append((int(lines[0].split()[1]), handled))

    for _ in range(READER_TRIALS):
        run(write=True)
    run(write=False)  # drain what the last writer left

    with EventStore(path) as store:
        log = [e.position for e in store.read_all()]
        assert store.checkpoint("tailer") == log[-1]
    assert len(log) > 50, "the writer barely ran; the test proves little"
    seen: set[int] = set()
    for i, (start, handled) in enumerate(runs):
        lost = [p for p in log if p <= start and p not in seen]
        assert not lost, f"run {i} resumed after {start} but never handled {lost[:5]}"
        assert handled == sorted(set(handled)), f"run {i} handled out of order"
        assert not handled or handled[0] > start
        seen.update(handled)
    assert seen == set(log)
    assert any(r[1] for r in runs[1:-1]), "no run after a kill handled anything"


RELAY_KINDS = ["poller", "tailer", "projector"]
RELAY_TRIALS = 5
"""Kills per relay kind (PollingPublisher, PositionPoller, Projector)."""
CRASH_TRIALS = WRITER_TRIALS + READER_TRIALS + RELAY_TRIALS * len(RELAY_KINDS)
"""Figure for the README's Guarantees section."""


def _relay_invariant(kind: str, store: EventStore, sent: set[int]) -> None:
    """What must hold whenever the relay is not running (after a kill or at the end)."""
    log = {e.position: e for e in store.read_all()}
    if kind == "poller":
        marked = {p for p, e in log.items() if e.published}
        assert marked <= sent, f"marked published but never sent: {sorted(marked - sent)[:5]}"
    elif kind == "tailer":
        done = store.checkpoint("position-poller")
        lost = sorted(p for p in log if p <= done and p not in sent)
        assert not lost, f"checkpoint {done} is past positions never sent: {lost[:5]}"
    else:
        done = store.checkpoint("projection:crash_positions")
        rows = (
            store.cursor()
            .execute("SELECT position, entity_id, entity_version FROM crash_positions")
            .fetchall()
        )
        expected = {(p, e.entity_id, e.entity_version) for p, e in log.items() if p <= done}
        assert set(rows) == expected, (
            f"read model ≠ events up to checkpoint {done}: missing "
            f"{sorted(expected - set(rows))[:3]}, extra {sorted(set(rows) - expected)[:3]}"
        )


@pytest.mark.parametrize("kind", RELAY_KINDS)
def test_killed_relay_or_projector_resumes_without_loss(kind: str, tmp_path: Path) -> None:
    """PollingPublisher / PositionPoller / Projector, killed while a writer appends:
    at every restart nothing recorded as done was left undone; after a drain, every event
    was sent (relays, at least once) or is in the read model (projector, exactly once)."""
    pytest.importorskip("eslab.publishing")
    pytest.importorskip("eslab.projections")
    rng = random.Random(f"relay-{kind}")
    path, out = tmp_path / f"{kind}.duckdb", tmp_path / f"{kind}.out"
    rh.seed_backlog(str(path), 200)
    ctx = rh.child_context()
    import relay_helpers

    def sent() -> set[int]:
        return {int(line.split()[1]) for line in rh.read_lines(out) if line.startswith("sent ")}

    for trial in range(RELAY_TRIALS + 1):
        write = trial < RELAY_TRIALS
        before = len(rh.read_lines(out))
        proc = ctx.Process(
            target=relay_helpers.run_relay,
            args=(str(path), str(out), kind, rng.randrange(2**32), write),
        )
        proc.start()
        if write:
            rh.wait_for_lines(out, before + 1, proc)
            time.sleep(rng.uniform(0.02, 0.2))
            rh.kill(proc)
        else:
            proc.join(60)
            assert proc.exitcode == 0 and rh.read_lines(out)[-1] == "done"
        with EventStore(path) as store:
            try:
                _relay_invariant(kind, store, sent())
            except AssertionError as exc:
                raise AssertionError(f"{kind} after run {trial}: {exc}") from exc
            positions = [e.position for e in store.read_all()]
            if not write and kind != "projector":
                assert set(positions) <= sent(), "an event was never sent"
            if not write and kind == "poller":
                assert not store.unpublished(10)
            if not write and kind == "projector":
                assert store.checkpoint("projection:crash_positions") == store.last_position()
    assert len(positions) > 200, "the writer never ran"
