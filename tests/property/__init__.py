"""Property-based (hypothesis) tests of eslab's public API; see ``support.py``."""
