"""Shared pytest configuration for eslab.

Keep this file light: the notebook-execution harness lives in ``tests/notebooks/`` and the
real-browser harness in ``tests/browser/`` (each with its own conftest). Fixtures shared by
the unit tests (e.g. an in-memory ``store``) belong here.
"""
