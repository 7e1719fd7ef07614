"""``python -m bench``: run every workload for eslab and the peer, print and save ratios.

Each workload runs eslab and the peer in alternation, ``--reps`` times, and reports the
median. Results go to ``bench/results/latest.json`` and ``bench/results/latest.png``.
Up front it estimates the total time (from the last run's step times in latest.json, else
from its measured times), then says when each workload starts and finishes, with a bar
over the repetitions (on stderr).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import platform
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
from tqdm import tqdm

from bench import workloads as wl
from eslab.pgcluster import find_bin_dir

RESULTS = Path(__file__).resolve().parent / "results"


def _reps(reps: int, what: str) -> Iterator[int]:
    """range(reps) with a bar on stderr that goes away when done."""
    return iter(tqdm(range(reps), desc=f"      {what}", unit="rep", leave=False))


def median_of(fn: Callable[[], wl.Timing], reps: int) -> tuple[float, int]:
    runs = [fn() for _ in _reps(reps, "floor")]
    return statistics.median(r[0] for r in runs), runs[0][1]


def alternate(
    eslab: Callable[[], wl.Timing], peer: Callable[[], wl.Timing] | None, reps: int
) -> tuple[list[float], list[float], int]:
    mine, theirs, units = [], [], 0
    for _ in _reps(reps, "eslab / peer"):
        seconds, units = eslab()
        mine.append(seconds)
        if peer is not None:
            theirs.append(peer()[0])
    return mine, theirs, units


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smaller per-command workload (20 commands per aggregate)",
    )
    parser.add_argument(
        "--notebooks", action="store_true", help="also time the whole notebook sequence headless"
    )
    parser.add_argument(
        "--postgres",
        choices=["auto", "no", "only"],
        default="auto",
        help="the PostgreSQL engine vs eventsourcing.postgres on a throwaway server "
        "(auto: when the server binaries are installed)",
    )
    args = parser.parse_args()
    per = 20 if args.quick else 100
    rows: list[dict[str, object]] = []

    def record(
        name: str,
        unit: str,
        mine: list[float],
        theirs: list[float],
        units: int,
        target: str,
        floor: float | None = None,
    ) -> None:
        m = statistics.median(mine)
        p = statistics.median(theirs) if theirs else None
        row = {
            "workload": name,
            "units": units,
            "unit": unit,
            "eslab_s": m,
            "peer_s": p,
            "speedup_vs_peer": (p / m) if p else None,
            "floor_s": floor,
            "eslab_vs_floor": (floor / m) if floor else None,
            "target": target,
        }
        rows.append(row)
        speed = f"{p / m:6.2f}×" if p else "   —  "
        fl = f"{floor / m:5.2f}× floor" if floor else ""
        print(
            f"{name:42} eslab {m * 1000:9.1f} ms  peer "
            f"{(p or 0) * 1000:9.1f} ms  speed-up {speed} {fl:14} target: {target}",
            flush=True,
        )

    print(
        f"eslab bench · {platform.processor() or platform.machine()} · "
        f"{platform.python_version()} · duckdb {duckdb.__version__}\n"
    )
    reps = args.reps
    if args.postgres == "only":
        postgres_workloads(record, reps, args.quick)
        return
    tmp = wl._tmp()
    big = tmp / "big0.duckdb"
    seeds: dict[str, list[float]] = {}

    def per_command() -> None:
        mine, theirs, n = alternate(
            lambda: wl.per_command_eslab(100, per), lambda: wl.per_command_peer(100, per), reps
        )
        floor, _ = median_of(lambda: wl.per_command_floor(100, per), reps)
        record(
            f"1. per-command append (100×{per} commands)",
            "commands",
            mine,
            theirs,
            n,
            "≥ 0.8× DuckDB floor",
            floor,
        )

    def batched() -> None:
        mine, theirs, n = alternate(
            lambda: wl.batched_eslab(100, 100), lambda: wl.batched_peer(100, 100), reps
        )
        record("2. batched append (10,000 events, 1 txn)", "events", mine, theirs, n, "≥ 1.5× peer")

    def seed() -> None:
        seeds["eslab"] = [
            wl.seed_eslab(tmp / f"big{i}.duckdb")[0] for i in _reps(reps, "seed 1M events")
        ]
        seeds["peer"] = [wl.seed_peer(tmp / "big.sqlite")[0]]

    def load() -> None:
        mine, theirs, n = alternate(
            lambda: wl.load_eslab(big), lambda: wl.load_peer(tmp / "big.sqlite"), reps
        )
        fetch, _ = median_of(lambda: wl.fetch_floor(big), reps)
        record(
            "3. load 10k-event stream from 1M events", "events", mine, theirs, n, "≥ 5× peer", fetch
        )

    def snapshot() -> None:
        snap_eslab, snap_peer = wl.snapshot_store_eslab(), wl.snapshot_store_peer()
        mine, theirs, n = alternate(
            lambda: wl.snapshot_load_eslab(snap_eslab),
            lambda: wl.snapshot_load_peer(snap_peer),
            reps,
        )
        record("4. load with snapshot at 100k events", "loads", mine, theirs, n, "≤ 2 ms")
        record(
            "5. bulk seed 1,000,000 events",
            "events",
            seeds["eslab"],
            seeds["peer"],
            wl.BIG_EVENTS,
            "≤ 3 s",
        )

    def revenue() -> None:
        mine, theirs, n = alternate(
            lambda: wl.revenue_eslab(big), lambda: wl.revenue_peer(tmp / "big.sqlite"), reps
        )
        record("6. revenue per restaurant per day (1M)", "events", mine, theirs, n, "≥ 20× peer")

    def locking() -> None:
        unique, n = median_of(wl.lock_unique_key, reps)
        cas, _ = median_of(wl.lock_entities_cas, reps)
        record(
            "lock: UNIQUE key (eslab) vs CAS (peer col.)",
            "commands",
            [unique],
            [cas],
            n,
            "keep the faster",
        )

    steps: dict[str, Callable[[], None]] = {
        "1. per-command append": per_command,
        "2. batched append": batched,
        "seed 1M events (for 3, 5 and 6)": seed,
        "3. load from 1M events": load,
        "4./5. snapshot load, bulk seed": snapshot,
        "6. revenue query": revenue,
        "lock: UNIQUE key vs CAS": locking,
    }
    for name, fn in extra_measurements(args.notebooks).items():

        def extra(name: str = name, fn: Callable[[], tuple[float, int, str]] = fn) -> None:
            with quiet_displays():
                seconds, units, target = fn()
            record(name, "", [seconds], [], units, target)

        steps[name] = extra
    if args.postgres == "auto" and find_bin_dir() is not None:
        steps["PostgreSQL engine vs eventsourcing.postgres"] = lambda: postgres_workloads(
            record, reps, args.quick
        )

    progress = StepProgress(list(steps), reps=reps, quick=args.quick)
    for name, fn in steps.items():
        with progress.step(name):
            fn()

    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(
        json.dumps(
            {
                "when": time.strftime("%Y-%m-%d %H:%M"),
                "machine": platform.platform(),
                "duckdb": duckdb.__version__,
                "results": rows,
                "steps": progress.seconds,
                "reps": reps,
                "quick": args.quick,
            },
            indent=2,
            default=str,
        )
    )
    plot(rows, RESULTS / "latest.png")
    print(f"\nsaved {RESULTS / 'latest.json'} and latest.png")


# Which result rows each step produces (to estimate a step from a run that kept no step times).
_ROWS_OF_STEP = {
    "1. per-command append": "1.",
    "2. batched append": "2.",
    "seed 1M events (for 3, 5 and 6)": "5.",
    "3. load from 1M events": "3.",
    "4./5. snapshot load, bulk seed": "4.",
    "6. revenue query": "6.",
    "lock: UNIQUE key vs CAS": "lock",
}
_UNKNOWN_STEP_S = 60.0


Record = Callable[..., None]


def postgres_workloads(record: Record, reps: int, quick: bool) -> None:
    """eslab on PostgreSQL vs eventsourcing.postgres, on one throwaway server."""
    from bench import postgres as pg

    print("\nPostgreSQL: eslab's engine vs eventsourcing.postgres, same server", flush=True)
    per = 4 if quick else 20
    streams, total, busy, snap = 500, 50_000, wl.BUSY, 10_000  # smaller than DuckDB
    with pg.server() as cluster:
        db = pg.Databases(cluster)
        mine, theirs, n = alternate(
            lambda: wl.per_command_eslab(50, per, db.eslab()),
            lambda: wl.per_command_peer(50, per, db.peer()),
            reps,
        )
        record(f"PG 1. per-command append (50×{per})", "commands", mine, theirs, n, "≥ 1× peer")
        mine, theirs, n = alternate(
            lambda: wl.batched_eslab(100, 100, db.eslab()),
            lambda: wl.batched_peer(100, 100, db.peer()),
            reps,
        )
        record("PG 2. batched append (10,000 events)", "events", mine, theirs, n, "≥ 1× peer")
        eslab_db, peer_db, busy_id = pg.seed_load(db, streams, total, busy)
        mine, theirs, n = alternate(
            lambda: wl.load_eslab(db.url(eslab_db)),
            lambda: pg.load_peer(db, peer_db, busy_id, busy),
            reps,
        )
        record("PG 3. load 10k-event stream from 50k", "events", mine, theirs, n, "≥ 1× peer")
        snap_eslab, snap_peer = pg.snapshot_store_eslab(db, snap), pg.snapshot_store_peer(db, snap)
        mine, theirs, n = alternate(
            lambda: wl.snapshot_load_eslab(db.url(snap_eslab), snap),
            lambda: pg.snapshot_load_peer(db, snap_peer, snap),
            reps,
        )
        record("PG 4. load with snapshot at 10k events", "loads", mine, theirs, n, "≥ 1× peer")


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


class StepProgress:
    """Prints the estimated total up front, then each step as it starts and finishes."""

    def __init__(self, names: list[str], *, reps: int, quick: bool) -> None:
        self.names = names
        self.seconds: dict[str, float] = {}
        self.estimates = self._estimates(names, reps, quick)
        total = sum(self.estimates.values())
        print(
            f"{len(names)} workloads, {reps} repetition(s) each: about {_duration(total)} in all "
            "(estimated from bench/results/latest.json)\n",
            flush=True,
        )

    @staticmethod
    def _estimates(names: list[str], reps: int, quick: bool) -> dict[str, float]:
        try:
            last = json.loads((RESULTS / "latest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            last = {}
        steps, rows = last.get("steps", {}), last.get("results", [])
        scale = reps / max(int(last.get("reps", 3)), 1)
        same_mode = quick == bool(last.get("quick", False))
        estimates = {}
        for name in names:
            if name in steps and same_mode:
                estimates[name] = float(steps[name]) * scale
                continue
            prefix = _ROWS_OF_STEP.get(name, name)
            measured = [
                sum(float(r.get(k) or 0) for k in ("eslab_s", "peer_s", "floor_s"))
                for r in rows
                if str(r.get("workload", "")).startswith(prefix)
            ]
            estimates[name] = sum(measured) * reps if measured else _UNKNOWN_STEP_S
        return estimates

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Announce ``name``, run the body, report its time and what is left."""
        i = len(self.seconds) + 1
        print(f"[{i}/{len(self.names)}] {name} … (≈ {_duration(self.estimates[name])})", flush=True)
        started = time.perf_counter()
        yield
        self.seconds[name] = took = time.perf_counter() - started
        left = sum(self.estimates[n] for n in self.names[i:])
        print(
            f"[{i}/{len(self.names)}] {name}: done in {_duration(took)}"
            + (f" · about {_duration(left)} left" if left else ""),
            flush=True,
        )


@contextlib.contextmanager
def quiet_displays() -> Iterator[None]:
    """Keep IPython's display() out of the terminal: outside a kernel it prints reprs
    like ``<IPython.core.display.Image object>`` to stdout."""
    with contextlib.redirect_stdout(io.StringIO()):
        yield


def extra_measurements(notebooks: bool) -> dict[str, Callable[[], tuple[float, int, str]]]:
    """Widget interaction, explorer drawing and (optionally) the notebook sequence."""
    from bench import interactive

    found = {"time machine: one slider move (10k events)": interactive.time_machine_move}
    try:
        from bench import bench_explorer
    except ImportError:
        pass
    else:
        found["explorer: draw 100,000 events"] = interactive.explorer(bench_explorer)
    if notebooks:
        found["all notebooks, headless"] = interactive.notebook_sequence
    return found


def plot(rows: list[dict[str, object]], path: Path) -> None:
    from matplotlib.figure import Figure

    compared = [r for r in rows if r["speedup_vs_peer"]]
    fig = Figure(figsize=(9, 0.5 + 0.45 * len(compared)), layout="constrained")
    ax = fig.add_subplot()
    names = [str(r["workload"]) for r in compared]
    values = [float(r["speedup_vs_peer"]) for r in compared]  # type: ignore[arg-type]
    ax.barh(names, values, color=["#1b7837" if v >= 1 else "#b2182b" for v in values])
    ax.axvline(1, color="black", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("speed-up of eslab over the peer (eventsourcing + SQLite), log scale")
    ax.invert_yaxis()
    fig.savefig(path, dpi=100)


if __name__ == "__main__":
    main()
