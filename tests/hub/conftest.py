"""The hub's browser tests share the browser tests' Chromium (one per session)."""

from ..browser.conftest import browser  # noqa: F401 - a fixture, used by name
