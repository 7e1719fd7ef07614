"""Where the workshop's file stores live, and how to reset them.

Most notebooks use in-memory stores (restart the kernel to reset). File stores used in a
workshop live in one folder: ``$ESLAB_STORES`` if set, else ``~/.cache/eslab/stores``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from eslab.store import EventStore


def stores_dir() -> Path:
    """The folder that holds every file store eslab creates for notebooks."""
    configured = os.environ.get("ESLAB_STORES")
    if configured:
        return Path(configured).expanduser()
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return cache / "eslab" / "stores"


def store_path(name: str) -> Path:
    """The file of the store called ``name`` (letters, digits, '-' and '_' only)."""
    if not name or not all(c.isalnum() or c in "-_" for c in name):
        raise ValueError(f"A store name uses letters, digits, '-' and '_', got {name!r}.")
    return stores_dir() / f"{name}.duckdb"


def open_store(name: str, **options: Any) -> EventStore:
    """Open (or create) the workshop store ``name``."""
    return EventStore(store_path(name), **options)


def list_stores() -> list[Path]:
    """The store files that exist now."""
    folder = stores_dir()
    return sorted(folder.glob("*.duckdb")) if folder.exists() else []


def reset(name: str | None = None) -> list[Path]:
    """Delete one store (or all of them, with their WAL files); return what was deleted."""
    targets = [store_path(name)] if name else list_stores()
    deleted = []
    for target in targets:
        for path in (target, target.with_name(target.name + ".wal")):
            if path.exists():
                path.unlink()
                deleted.append(path)
    return deleted
