"""Benchmarks: eslab side by side with the `eventsourcing` library and DuckDB's floor.

Run with ``make bench`` (or ``python -m bench``). Not part of ``make test``: timings
depend on the machine and belong here, never in unit tests.
"""
