"""The hub's browser tests share the browser tests' Chromium: the session fixture
``browser`` lives in tests/conftest.py."""
