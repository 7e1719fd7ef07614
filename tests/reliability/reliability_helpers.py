"""Child-process workers and checks shared by the reliability suites.

Not a test module (pytest collects only ``test_*.py``). The workers run in child
processes started from a *forkserver* that imported eslab once, so a child starts in
milliseconds instead of the ~1.3 s a fresh interpreter needs to import pandas; that is
what lets the crash suite run dozens of SIGKILL trials in a few seconds.

A worker reports progress by appending whole lines to a side file with one
``os.write`` each (``O_APPEND``): bytes written before a SIGKILL stay in the file, so
an "ack" line proves that ``append`` had returned before the kill.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import os
import random
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from multiprocessing.context import BaseContext
from pathlib import Path

from eslab import Event, EventStore

HERE = Path(__file__).resolve().parent
_PRELOAD = ["__main__", "eslab", "eslab.domain.bank", "reliability_helpers"]
_WARM = ["eslab.publishing", "eslab.projections", "relay_helpers"]
"""Preloaded too when they import (the forkserver skips a module that fails to import)."""
_context: BaseContext | None = None


@dataclass(frozen=True)
class CrashTestEvent(Event):
    """One event of a numbered command: part ``index`` of ``count`` in this stream."""

    command: str
    parts: int
    index: int
    count: int
    blob: str = ""


# -- processes ------------------------------------------------------------------------


def child_context() -> BaseContext:
    """A multiprocessing context whose children start with eslab already imported."""
    global _context
    if _context is None:
        if str(HERE) not in sys.path:
            sys.path.insert(0, str(HERE))
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(_PRELOAD + _WARM)
        # Python 3.11's forkserver imports the preload list before it applies the parent's
        # sys.path, so it learns where this folder is from PYTHONPATH, set just for its start.
        old = os.environ.get("PYTHONPATH")
        os.environ["PYTHONPATH"] = os.pathsep.join(
            [str(HERE), str(HERE.parents[1])] + ([old] if old else [])
        )
        try:
            multiprocessing.forkserver.ensure_running()
        finally:
            if old is None:
                del os.environ["PYTHONPATH"]
            else:
                os.environ["PYTHONPATH"] = old
        _context = ctx
    return _context


def ack(fd: int, line: str) -> None:
    """Append one whole line to the side file (a single write: all of it or none)."""
    os.write(fd, (line + "\n").encode())


def read_lines(path: Path) -> list[str]:
    """The complete lines of a side file (a torn last line, without newline, is dropped)."""
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    return lines[:-1]  # the piece after the last newline is incomplete (or empty)


def wait_for_lines(
    path: Path, n: int, proc: multiprocessing.process.BaseProcess, timeout: float = 20.0
) -> bool:
    """Wait until ``path`` has ``n`` complete lines (False if the child ended first)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(read_lines(path)) >= n:
            return True
        if not proc.is_alive():
            return len(read_lines(path)) >= n
        time.sleep(0.002)
    raise TimeoutError(f"child {proc.pid} wrote fewer than {n} lines to {path} in {timeout} s")


def kill(proc: multiprocessing.process.BaseProcess) -> int | None:
    """SIGKILL the child (if still running), wait for it; return its exit code."""
    if proc.is_alive():
        proc.kill()
    proc.join(10)
    return proc.exitcode


# -- workload: commands of 1-3 events ------------------------------------------------


def stream_ids(n: int) -> list[str]:
    return [f"s{i}" for i in range(n)]


def write_commands(
    path: str,
    ack_path: str,
    trial: str,
    seed: int,
    streams: int,
    uow_share: float,
    blob: tuple[int, int],
    checkpoint_threshold: str | None,
    max_commands: int = 5000,
) -> None:
    """Append numbered commands until killed; ack each after ``append`` returned.

    A command is 1-3 events in one stream (``store.append``) or, with probability
    ``uow_share``, 1-3 events in each of two streams (one ``unit_of_work``).
    """
    fd = os.open(ack_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    store = EventStore(path)
    if checkpoint_threshold:
        store.cursor().execute(f"SET checkpoint_threshold = '{checkpoint_threshold}'")
    names = stream_ids(streams)
    heads = {s: store.head("Crash", s) for s in names}
    ack(fd, f"ready {os.getpid()}")
    rng = random.Random(seed)
    for n in range(max_commands):
        command = f"{trial}-c{n}"
        two = rng.random() < uow_share
        chosen = rng.sample(names, 2 if two else 1)
        batches = {
            s: [
                CrashTestEvent(command, len(chosen), i, k, "x" * rng.randint(*blob))
                for i in range(k)
            ]
            for s in chosen
            for k in [rng.randint(1, 3)]
        }
        if two:
            with store.unit_of_work() as uow:
                for s, events in batches.items():
                    uow.append("Crash", s, events, heads[s])
        else:
            s, events = next(iter(batches.items()))
            store.append("Crash", s, events, heads[s])
        for s, events in batches.items():
            heads[s] += len(events)
        ack(fd, "ack " + command + " " + " ".join(f"{s}={heads[s]}" for s in batches))
    store.close()
    ack(fd, "done")


def check_commands(store: EventStore, ack_lines: dict[str, list[str]]) -> dict[str, int]:
    """Assert the crash invariants on a reopened store; return a few counts.

    ``ack_lines`` maps a trial name to the lines its child wrote before it was killed.
    """
    events = store.read_all()
    by_stream: dict[str, list[int]] = defaultdict(list)
    by_command: dict[str, dict[str, list[tuple[int, int, int, int]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for e in events:
        assert isinstance(e.event, CrashTestEvent), e
        by_stream[e.entity_id].append(e.entity_version)
        ev = e.event
        by_command[ev.command][e.entity_id].append((ev.index, ev.count, ev.parts, e.entity_version))
    # Versions are gap-free per stream: 1, 2, …, head.
    for stream, versions in by_stream.items():
        assert versions == sorted(versions), f"{stream}: read_all order ≠ version order"
        assert versions == list(range(1, len(versions) + 1)), f"{stream} has gaps: {versions}"
    # No partial command: every part of every command present, in consecutive versions.
    for command, parts in by_command.items():
        declared = {p for rows in parts.values() for _, _, p, _ in rows}
        assert declared == {len(parts)}, f"{command}: {len(parts)} of {declared} streams written"
        for rows in parts.values():
            rows.sort()
            count = rows[0][1]
            assert [r[0] for r in rows] == list(range(count)), f"{command} half-written: {rows}"
            first = rows[0][3]
            assert [r[3] for r in rows] == list(range(first, first + count)), (command, rows)
    # Every acknowledged command is there, at the acknowledged version; per trial the
    # commands present are a prefix 0..m with m = last ack or last ack + 1 (in flight).
    acked_total = 0
    for trial, lines in ack_lines.items():
        acks = [line.split() for line in lines if line.startswith("ack ")]
        acked_total += len(acks)
        for _, command, *heads in acks:
            assert command in by_command, f"acknowledged {command} is missing after the kill"
            for item in heads:
                stream, version = item.split("=")
                last = max(r[3] for r in by_command[command][stream])
                assert last == int(version), f"{command}: acked v{version}, stored v{last}"
        present = sorted(
            int(c.rsplit("-c", 1)[1]) for c in by_command if c.rsplit("-c", 1)[0] == trial
        )
        assert present == list(range(len(present))), f"{trial}: commands missing in {present}"
        assert len(acks) <= len(present) <= len(acks) + 1, (trial, len(acks), len(present))
    return {"events": len(events), "commands": len(by_command), "acked": acked_total}


# -- workload: a log reader with a checkpoint, next to a writer ----------------------

HANDLE_SECONDS = 0.001


def seed_backlog(path: str, events: int) -> None:
    """Write ``events`` events (in one unit of work) for a reader to work through."""
    with EventStore(path) as store, store.unit_of_work() as uow:
        for n in range(events // 2):
            uow.append(
                "Tail",
                f"b{n % 10}",
                [CrashTestEvent(f"b-c{n}", 1, i, 2) for i in range(2)],
                2 * (n // 10),
            )


def tail_with_checkpoint(
    path: str, out_path: str, seed: int, write: bool, reader: str = "tailer"
) -> None:
    """A writer thread appends while a reader thread follows the log with a checkpoint.

    The reader handles a batch (``HANDLE_SECONDS`` per event, so it lags behind and is
    busy when killed), writes its positions to ``out_path`` (one line per batch), then
    saves the checkpoint: at-least-once. With ``write=False`` there is no
    writer: the reader drains the log and writes ``done``.
    """
    fd = os.open(out_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    store = EventStore(path)
    rng = random.Random(seed)
    start = store.checkpoint(reader)
    ack(fd, f"start {start}")
    stop = threading.Event()

    def writer() -> None:
        wrng = random.Random(seed + 1)
        names = stream_ids(3)
        heads = {s: store.head("Tail", s) for s in names}
        n = 0
        while not stop.is_set():
            s = wrng.choice(names)
            k = wrng.randint(1, 3)
            cmd = f"w{seed}-c{n}"
            store.append("Tail", s, [CrashTestEvent(cmd, 1, i, k) for i in range(k)], heads[s])
            heads[s] += k
            n += 1

    thread = threading.Thread(target=writer, daemon=True)
    if write:
        thread.start()
    position = start
    while True:
        batch = store.read_all(after_position=position, limit=rng.randint(1, 20))
        if not batch:
            if not write:
                break
            time.sleep(0.001)
            continue
        time.sleep(HANDLE_SECONDS * len(batch))  # the work, e.g. updating a read model
        ack(fd, "batch " + " ".join(str(e.position) for e in batch))
        position = batch[-1].position
        store.save_checkpoint(reader, position)
    ack(fd, "done")
    store.close()


# -- workload: a store held by another process ---------------------------------------


def hold_store(path: str, ready: threading.Event | None, release: object) -> None:
    """Open ``path`` read-write, say so, and keep it open until ``release`` is set."""
    store = EventStore(path)
    store.append("Held", "1", [CrashTestEvent("held", 1, 0, 1)], 0)
    if ready is not None:
        ready.set()
    release.wait(30)  # type: ignore[attr-defined]
    store.close()


def try_open(path: str, read_only: bool, out_path: str) -> None:
    """Try to open ``path``; write the outcome (error class, message) to ``out_path``."""
    try:
        EventStore(path, read_only=read_only).close()
        outcome = "opened\nno error"
    except Exception as exc:  # noqa: BLE001 - the class is what the parent checks
        outcome = f"{type(exc).__module__}.{type(exc).__name__}\n{exc}"
    Path(out_path).write_text(outcome, encoding="utf-8")


# -- workload: a full disk -----------------------------------------------------------


def fill_disk(path: str, out_path: str) -> None:
    """Append a few commands, then cap file sizes (RLIMIT_FSIZE) and append until refused.

    SIGXFSZ is ignored so that a write past the limit fails with EFBIG instead of killing
    the process. The child ends with ``os._exit`` (no clean close), like a crash.
    """
    import resource
    import signal

    fd = os.open(out_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    store = EventStore(path)
    version = 0
    for n in range(3):
        version = store.append("Crash", "s0", [CrashTestEvent(f"full-c{n}", 1, 0, 1)], version)
        ack(fd, f"ack full-c{n} s0={version}")
    sizes = [os.path.getsize(f) for f in (path, path + ".wal") if os.path.exists(f)]
    limit = max(sizes) + 400_000
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    for n in range(3, 1000):
        events = [CrashTestEvent(f"full-c{n}", 1, i, 2, "y" * 20_000) for i in range(2)]
        try:
            version = store.append("Crash", "s0", events, version)
        except Exception as exc:  # noqa: BLE001 - the class is what the parent checks
            text = " ".join(str(exc).split())
            ack(fd, f"error {type(exc).__module__}.{type(exc).__name__} {text}")
            break
        ack(fd, f"ack full-c{n} s0={version}")
    os._exit(0)


def preloaded(out_path: str) -> None:
    """Write which of the preloaded modules a child started with."""
    names = [m for m in _PRELOAD + _WARM if m in sys.modules]
    Path(out_path).write_text(" ".join(names), encoding="utf-8")
