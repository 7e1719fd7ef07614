"""Security: SQL is never built from data, and a normal workload writes only where it should.

1. An ``ast`` scan of ``eslab/**/*.py``: the SQL argument of every ``execute()``,
   ``executemany()``, ``sql()``, ``_run()`` or ``query()`` call must be built only from
   string literals and module-level constants (UPPER_CASE names, here or imported from
   eslab). Local variables are followed to their assignments, loop variables to the
   literal tuples they walk. Anything else — a parameter, an attribute, a call — is a
   finding, unless ``ALLOWED`` names that exact spot with the reason it is safe.
2. A workload (appends, loads, snapshots, checkpoints, a unit of work) in a child
   process whose HOME, CWD and TMPDIR are fresh folders: afterwards only the store's
   folder has files, and an audit hook saw no Python-level write outside it.
"""

from __future__ import annotations

import ast
import functools
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "eslab"
SINKS = {"execute", "executemany", "sql", "_run", "query"}
CONSTANT = re.compile(r"^_?[A-Z][A-Z0-9_]*$")
STRING_METHODS = {"strip", "lstrip", "rstrip", "upper", "lower"}

# file | function | what is interpolated, then (indented) why it is safe. Keep entries specific.
_ALLOWED_TABLE = """
eslab/store.py | EventStore._run | sql
    the executor every store statement goes through; callers are scanned
eslab/store.py | EventStore._write | sql
    statements queued by UnitOfWork.execute(), scanned where queued
eslab/store.py | EventStore._load_rows | columns
    private; callers pass _EVENT_COLUMNS or a literal list
eslab/store.py | EventStore._bulk_insert_arrow | names
    column names from the fixed sets `needed` / `optional` (bulk_insert)
eslab/store.py | EventStore._bulk_insert_arrow | select
    column names/expressions from `needed` / `optional` (bulk_insert)
eslab/store.py | EventStore.append | self.engine.insert_events
    the engine's constant INSERT_EVENTS (eslab/engines/duckdb.py, postgres.py), scanned there
eslab/store.py | EventStore._write | self.engine.insert_events
    the engine's constant INSERT_EVENTS (eslab/engines/duckdb.py, postgres.py), scanned there
eslab/store.py | EventStore.bulk_insert | self.engine.insert_events
    the engine's constant INSERT_EVENTS (eslab/engines/duckdb.py, postgres.py), scanned there
eslab/engines/duckdb.py | DuckDBEngine.execute | sql
    the engine's executor: EventStore._run is its caller, and is scanned
eslab/engines/duckdb.py | DuckDBEngine.create_schema | schema_sql()
    the DDL shipped in eslab/schema.sql, no input
eslab/engines/postgres.py | PostgresEngine.execute | text
    the engine's executor (EventStore._run's SQL, translated); values stay parameters
eslab/engines/postgres.py | SqlCursor.execute | sql
    store.cursor() on PostgreSQL: the caller's own SQL by design, with parameters
eslab/engines/postgres.py | PostgresEngine.create_schema | schema_sql()
    the DDL shipped in eslab/schema_postgres.sql, no input
eslab/hub.py | clear_store | ', '.join(tables)
    names from the constant STORE_TABLES, kept only if pg_tables lists them
eslab/store.py | EventStore.sql | query
    public API: runs the caller's own SQL by design, with parameters
eslab/crud.py | CrudAccounts._update | sql
    callers pass the constants BLIND_UPDATE / CHECKED_UPDATE
eslab/datasets.py | long_stream | _schema_version_sql('event_type')
    CASE over registered event names (only if str.isidentifier) and int versions
eslab/datasets.py | long_stream | _uuid_sql('h')
    substr() fragment over the literal column name 'h'
eslab/datasets.py | generate_orders | _uuid_sql('h')
    substr() fragment over the literal column name 'h'
eslab/datasets.py | long_stream | event_type_sql
    from the constant _LONG_STREAMS, after entity_type was checked against it
eslab/datasets.py | long_stream | event_data_sql
    from the constant _LONG_STREAMS, after entity_type was checked against it
eslab/importers.py | _sqlite_rows | table
    checked against [A-Za-z_]\\w* and against sqlite_master before use
eslab/lessons/nb03_optimistic_locking.py | VersionedTable.__init__ | name
    checked against _NAME (lower_snake_case) first
eslab/lessons/nb03_optimistic_locking.py | VersionedTable.insert | self.name
    the table name checked against _NAME in __init__
eslab/lessons/nb03_optimistic_locking.py | VersionedTable.read | self.name
    the table name checked against _NAME in __init__
eslab/lessons/nb03_optimistic_locking.py | VersionedTable.frame | self.name
    the table name checked against _NAME in __init__
eslab/lessons/nb03_optimistic_locking.py | _execute_update | sql
    callers pass versioned_sql / blind_sql (checked table name only)
eslab/projections.py | Projector.read_model | table
    must be one of the projection's own tables (_check_table)
eslab/projections.py | Projector.read_model | order_by
    checked by _check_identifier (lower-case letters, digits, _)
eslab/projections.py | Projector._reset | table
    every table name checked by _check_identifier in the loop before
eslab/projections.py | Projector._reset | columns
    column DDL written in the Projection class's code (`tables`), not data
eslab/projections.py | Projector._commit | sql
    from statements(): identifiers checked by _check_identifier, values as parameters
eslab/lessons/nb09_queries_and_projections.py | orders_from_read_model | sql
    the constant ORDERS_FROM_READ_MODEL_SQL; table checked against two constants
eslab/shredding.py | find_plaintext | sql
    table/column names from DuckDB's catalog, quoted by _quote (" doubled)
eslab/lessons/nb01_why_event_sourcing.py | order_as_tables | statements[0]
    only '?' placeholders joined onto a constant INSERT; the values are bound parameters
eslab/lessons/nb01_why_event_sourcing.py | order_as_tables | statements[-1]
    only '?' placeholders joined onto a constant INSERT; the values are bound parameters
eslab/checks/nb09_queries_and_projections.py | _run_query | query
    the learner's own SQL (the exercise's answer), run on stores the check made for it
eslab/log_tailing.py | WalTailer._sql | query
    the tailer's private executor: callers pass PEEK, ADVANCE or literals; values as params
"""
ALLOWED: dict[tuple[str, str, str], str] = {
    tuple(where.split(" | ")): reason.strip()  # type: ignore[misc]
    for where, reason in zip(*[iter(_ALLOWED_TABLE.strip().splitlines())] * 2, strict=True)
}
_PSQL = "[*self.psql_args(), '-d', 'postgres', "
ALLOWED |= {  # PgCluster._run runs programs (initdb, pg_ctl, psql), not SQL: argument lists
    ("eslab/pgcluster.py", "PgCluster._pg_ctl", "command"): "pg_ctl's argument list",
    (
        "eslab/pgcluster.py",
        "PgCluster.start",
        "[str(self._bin('initdb')), '-D', str(self.data_dir), '-U', SUPERUSER, '-A', "
        "'trust', '--no-instructions', '-E', 'UTF8']",
    ): "initdb's argument list: constants and the cluster's own folder",
    ("eslab/pgcluster.py", "PgCluster._ensure_database", _PSQL + "'-tAc', query]"): (
        "psql arguments; the query is built from the constant DATABASE only"
    ),
    (
        "eslab/pgcluster.py",
        "PgCluster._ensure_database",
        _PSQL + "'-c', f'CREATE DATABASE {DATABASE}']",
    ): "psql arguments; the SQL is built from the constant DATABASE only",
}


@dataclass(frozen=True)
class Finding:
    path: str
    function: str
    part: str
    line: int

    def key(self) -> tuple[str, str, str]:
        return (self.path, self.function, self.part)

    def __str__(self) -> str:
        return f"{self.path}:{self.line} in {self.function}(): SQL built from `{self.part}`"


class _Module:
    """Module-level constants and eslab imports of one file."""

    def __init__(self, tree: ast.Module) -> None:
        self.constants: dict[str, ast.expr] = {}
        self.imported: set[str] = set()
        for node in tree.body:
            if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for t in targets:
                    if isinstance(t, ast.Name) and CONSTANT.match(t.id):
                        self.constants[t.id] = node.value
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("eslab"):
                self.imported |= {
                    a.asname or a.name for a in node.names if CONSTANT.match(a.asname or a.name)
                }


class _Function:
    """What each local name of a function may hold: its assigned values."""

    def __init__(self, node: ast.FunctionDef | ast.AsyncFunctionDef | None) -> None:
        self.values: dict[str, list[ast.expr | None]] = {}
        if node is None:
            return
        args = node.args
        for a in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
            if a is not None:
                self.values.setdefault(a.arg, []).append(None)  # a parameter: unknown data
        for sub in ast.walk(node):
            if isinstance(sub, ast.Assign):
                for t in sub.targets:
                    self._bind(t, sub.value)
            elif isinstance(sub, ast.AnnAssign | ast.AugAssign) and sub.value is not None:
                self._bind(sub.target, sub.value)
            elif isinstance(sub, ast.For | ast.comprehension):
                self._bind_loop(sub.target, sub.iter)
            elif isinstance(sub, ast.withitem) and sub.optional_vars is not None:
                self._bind(sub.optional_vars, None)

    def _bind(self, target: ast.expr, value: ast.expr | None) -> None:
        if isinstance(target, ast.Name):
            self.values.setdefault(target.id, []).append(value)
        elif isinstance(target, ast.Tuple | ast.List):
            for i, t in enumerate(target.elts):
                item = (
                    value.elts[i]
                    if isinstance(value, ast.Tuple | ast.List)
                    and len(value.elts) == len(target.elts)
                    else None
                )
                self._bind(t, item)

    def _bind_loop(self, target: ast.expr, iterable: ast.expr) -> None:
        if isinstance(iterable, ast.Tuple | ast.List):  # a literal: bind each element
            for item in iterable.elts:
                self._bind(target, item)
        else:
            self._bind(target, None)


class _Scanner(ast.NodeVisitor):
    def __init__(self, path: str, module: _Module) -> None:
        self.path, self.module = path, module
        self.scope: list[str] = []
        self.nodes: list[ast.FunctionDef | ast.AsyncFunctionDef | None] = [None]
        self.built: dict[int, _Function] = {}
        self.findings: list[Finding] = []

    @property
    def function(self) -> _Function:
        """The local names of the function being visited (built when first needed)."""
        node = self.nodes[-1]
        if id(node) not in self.built:
            self.built[id(node)] = _Function(node)
        return self.built[id(node)]

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.scope.append(node.name)
        self.generic_visit(node)
        self.scope.pop()

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.scope.append(node.name)
        self.nodes.append(node)
        self.generic_visit(node)
        self.nodes.pop()
        self.scope.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Call(self, node: ast.Call) -> None:
        name = (
            node.func.attr
            if isinstance(node.func, ast.Attribute)
            else getattr(node.func, "id", None)
        )
        if name in SINKS:
            query = (
                node.args[0]
                if node.args
                else next((k.value for k in node.keywords if k.arg in ("query", "sql")), None)
            )
            if query is not None:
                for part in sorted(set(self.unsafe(query, set()))):
                    self.findings.append(
                        Finding(self.path, ".".join(self.scope) or "<module>", part, node.lineno)
                    )
        self.generic_visit(node)

    def unsafe(self, e: ast.expr, seen: set[str]) -> list[str]:
        """The parts of ``e`` that may carry data (empty: built from constants only)."""
        if isinstance(e, ast.Constant):
            return []
        if isinstance(e, ast.JoinedStr):
            return [
                p
                for v in e.values
                if isinstance(v, ast.FormattedValue)
                for p in self.unsafe(v.value, seen)
            ]
        if isinstance(e, ast.BinOp) and isinstance(e.op, ast.Add | ast.Mod):
            return self.unsafe(e.left, seen) + self.unsafe(e.right, seen)
        if isinstance(e, ast.IfExp):
            return self.unsafe(e.body, seen) + self.unsafe(e.orelse, seen)
        if isinstance(e, ast.Call) and isinstance(e.func, ast.Attribute):
            if e.func.attr in STRING_METHODS and not e.args:
                return self.unsafe(e.func.value, seen)
            if e.func.attr == "format":
                return self.unsafe(e.func.value, seen) + [
                    p
                    for a in [*e.args, *(k.value for k in e.keywords)]
                    for p in self.unsafe(a, seen)
                ]
        if (
            isinstance(e, ast.Attribute)
            and CONSTANT.match(e.attr)
            and isinstance(e.value, ast.Name)
        ):
            return []  # module.CONSTANT or self.CONSTANT
        if isinstance(e, ast.Name):
            return self._unsafe_name(e, seen)
        return [ast.unparse(e)]

    def _unsafe_name(self, e: ast.Name, seen: set[str]) -> list[str]:
        local = self.function.values.get(e.id)
        if local is None:
            if e.id in self.module.constants and CONSTANT.match(e.id) and e.id not in seen:
                return self.unsafe(self.module.constants[e.id], seen | {e.id})
            return [] if e.id in self.module.imported else [e.id]
        if e.id in seen:
            return []
        parts: list[str] = []
        for value in local:
            found = [e.id] if value is None else self.unsafe(value, seen | {e.id})
            # report through the named variable unless the data has a name of its own
            parts += [p if p.isidentifier() else e.id for p in found]
        return parts


@functools.cache
def scan(root: Path = PACKAGE) -> list[Finding]:
    findings: list[Finding] = []
    for file in sorted(root.rglob("*.py")):
        tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
        scanner = _Scanner(file.relative_to(root.parent).as_posix(), _Module(tree))
        scanner.visit(tree)
        findings += scanner.findings
    return findings


def test_no_sql_is_built_from_data() -> None:
    findings = [f for f in scan() if f.key() not in ALLOWED]
    assert not findings, (
        "SQL built from non-constant values (parameterise it, or add an "
        "ALLOWED entry with the reason it is safe):\n" + "\n".join(map(str, findings))
    )


def test_the_scanner_catches_what_it_should(tmp_path: Path) -> None:
    pkg = tmp_path / "eslab"
    pkg.mkdir()
    (pkg / "bad.py").write_text(
        """
TABLE = "events"
COLS = f"a, {TABLE}"


def ok(cur, entity_id):
    sql = f"SELECT {COLS} FROM {TABLE} WHERE id = $id"
    for name in ("x", "y"):
        sql += f" AND {name} = ${name}"
    cur.execute(sql + " LIMIT 1", {"id": entity_id})
    cur.execute("SELECT 1")


def bad(cur, entity_id, table):
    cur.execute(f"SELECT * FROM events WHERE id = '{entity_id}'")
    cur.execute("SELECT * FROM %s" % table)
    q = "DELETE FROM events WHERE id = " + entity_id
    con.sql(q)
    store._run("SELECT {}".format(table.upper()))
    cur.execute(query=" ".join(["SELECT", table]))
""",
        encoding="utf-8",
    )
    found = {(f.function, f.line) for f in scan(pkg)}
    assert found == {("bad", line) for line in (15, 16, 18, 19, 20)}


def test_every_allowed_entry_has_a_reason() -> None:
    assert all(len(reason) > 20 for reason in ALLOWED.values())


# -- files written by a normal workload -------------------------------------------------

WORKLOAD = r"""
import json, os, sys
from pathlib import Path
allowed = [os.path.realpath(os.path.join(sys.argv[1], "store")), os.path.realpath(sys.argv[2])]
written = []

def audit(event, args):
    if event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
        mode, flags = args[1], args[2] if len(args) > 2 else 0
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
        if writing:
            written.append(os.path.realpath(os.fsdecode(args[0])))
    elif event in ("os.mkdir", "os.rename", "os.remove", "shutil.copyfile", "os.symlink"):
        written.append(os.path.realpath(os.fsdecode(args[0])))

sys.addaudithook(audit)
from eslab import AggregateRepository, EventStore
from eslab.domain.bank import BankAccount, Deposit, OpenAccount
from eslab.snapshots import SnapshotStrategy

store = EventStore(Path(sys.argv[1]) / "store" / "bank.duckdb")
repo = AggregateRepository(store, BankAccount, snapshots=SnapshotStrategy(every=3))
repo.save(OpenAccount("ann", 10), entity_id="a")
for i in range(7):
    repo.update("a", Deposit(i + 1))
with store.unit_of_work() as uow:
    repo.update("a", Deposit(100), uow=uow)
    uow.record_processed("consumer", "m-1")
store.save_checkpoint("reader", store.last_position())
assert repo.find("a").balance == 138 and store.latest_snapshot("BankAccount", "a")
store.to_dataframe()
store.close()
store = EventStore(Path(sys.argv[1]) / "store" / "bank.duckdb", read_only=True)
assert len(store.read_all()) == 9
store.close()
outside = sorted({p for p in written if not any(p == a or p.startswith(a + os.sep)
                                                 for a in allowed)})
print(json.dumps(outside))
"""


def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_a_workload_writes_only_in_the_store_folder(tmp_path: Path) -> None:
    work, home, cwd, tmp = (tmp_path / n for n in ("work", "home", "cwd", "tmp"))
    for folder in (work, home, cwd, tmp):
        folder.mkdir()
    real_home = Path.home()
    home_before = sorted(p.name for p in real_home.iterdir()) if real_home.exists() else []
    env = {
        **os.environ,
        "HOME": str(home),
        "TMPDIR": str(tmp),
        "XDG_CACHE_HOME": str(home),
        "PYTHONPATH": str(ROOT),
        "PYTHONDONTWRITEBYTECODE": "1",
        "MPLCONFIGDIR": str(home / "mpl"),
    }
    done = subprocess.run(
        [sys.executable, "-c", WORKLOAD, str(work), str(tmp)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [], "Python wrote outside"
    assert _listing(cwd) == [], "files appeared in the working directory"
    assert [p for p in _listing(home) if not p.startswith("mpl")] == [], "files in HOME"
    assert _listing(tmp) == [], "files in TMPDIR"
    files = _listing(work)
    assert files and all(p == "store" or p.startswith("store/") for p in files), files
    assert any(p.endswith("bank.duckdb") for p in files)
    if real_home.exists():
        assert sorted(p.name for p in real_home.iterdir()) == home_before


@pytest.mark.parametrize(
    "entry", sorted(k for k in ALLOWED if k[0] == "eslab/store.py"), ids=lambda k: f"{k[1]}:{k[2]}"
)
def test_allowed_store_entries_point_at_real_code(entry: tuple[str, str, str]) -> None:
    """A stale entry for the store would silently allow a future construct there."""
    assert entry in {f.key() for f in scan()}, f"stale ALLOWED entry {entry}: remove it"
