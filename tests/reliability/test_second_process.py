"""A second process and a file store: a clear StoreLockedError, never a raw DuckDB error.

DuckDB lets one process open a file read-write; every other process (read-write or
read-only) is refused while it does. The message must name the process holding the
file (its PID) and say how to open the store read-only.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest
import reliability_helpers as rh

from eslab import EventStore, ReadOnlyStoreError, StoreLockedError


def _open_in_child(path: Path, read_only: bool, tmp_path: Path) -> tuple[str, str]:
    out = tmp_path / f"outcome-{read_only}.txt"
    proc = rh.child_context().Process(target=rh.try_open, args=(str(path), read_only, str(out)))
    proc.start()
    proc.join(30)
    assert proc.exitcode == 0
    error_class, message = out.read_text(encoding="utf-8").split("\n", 1)
    return error_class, message


def _assert_helpful(message: str, pid: int, path: Path) -> None:
    assert f"PID {pid}" in message, message
    assert str(path) in message
    assert "read_only=True" in message
    assert "store.close()" in message
    assert "IO Error" not in message and "Conflicting lock" not in message, "raw DuckDB text"


@pytest.mark.parametrize("read_only", [False, True], ids=["read-write", "read-only"])
def test_child_cannot_open_what_this_process_writes(tmp_path: Path, read_only: bool) -> None:
    path = tmp_path / "held.duckdb"
    with EventStore(path) as store:
        store.append("Held", "1", [rh.CrashTestEvent("c", 1, 0, 1)], 0)
        error_class, message = _open_in_child(path, read_only, tmp_path)
    assert error_class == "eslab.errors.StoreLockedError", (error_class, message)
    _assert_helpful(message, os.getpid(), path)


def test_this_process_cannot_open_what_a_child_writes(tmp_path: Path) -> None:
    path = tmp_path / "held.duckdb"
    ctx = rh.child_context()
    ready, release = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=rh.hold_store, args=(str(path), ready, release))
    proc.start()
    try:
        assert ready.wait(30), "the child never opened the store"
        for read_only in (False, True):
            with pytest.raises(StoreLockedError) as info:
                EventStore(path, read_only=read_only)
            _assert_helpful(str(info.value), proc.pid, path)
            assert isinstance(info.value.__cause__, duckdb.IOException)  # chained, for experts
    finally:
        release.set()
        proc.join(30)
    assert proc.exitcode == 0
    with EventStore(path) as store:  # once the child closed it, it opens here
        assert [e.event.command for e in store.load("Held", "1")] == ["held"]


def test_many_read_only_processes_while_nobody_writes(tmp_path: Path) -> None:
    path = tmp_path / "shared.duckdb"
    with EventStore(path) as store:
        store.append("Held", "1", [rh.CrashTestEvent("c", 1, 0, 1)], 0)
    with EventStore(path, read_only=True) as reader:
        error_class, message = _open_in_child(path, True, tmp_path)
        assert (error_class, message) == ("opened", "no error")
        assert reader.head("Held", "1") == 1
        with pytest.raises(ReadOnlyStoreError, match="read-only"):
            reader.append("Held", "1", [rh.CrashTestEvent("c", 1, 0, 1)], 1)
        error_class, message = _open_in_child(path, False, tmp_path)  # a writer is refused
    assert error_class == "eslab.errors.StoreLockedError", (error_class, message)
    _assert_helpful(message, os.getpid(), path)
