"""The direction of imports (design: Layers), read from the source with ``ast``.

notebooks → widgets/, checks/ → lessons/ → viz/, domain/ → mechanisms → engines.
Mechanisms never import lessons, the demo domain, widgets, checks, plotting or ipywidgets,
so a learner's own domain can sit where ``domain/`` sits; and no eslab modules import each
other in a circle.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "eslab"

MECHANISMS = frozenset(
    f"eslab.{name}"
    for name in (
        "store events serialization aggregate snapshots upcasting migration messaging "
        "publishing consumers sagas projections shredding importers frame errors clock "
        "workshop glossary student_copy testing pgcluster course engines engines.duckdb "
        "engines.postgres log_tailing classroom"
    ).split()
) | {"eslab"}
"""The event store's machinery (and the small helpers it stands on): no demo in here."""

DEMO_DOMAIN = ("eslab.domain", "eslab.ftgo", "eslab.datasets")
LESSONS = ("eslab.lessons",)
VIZ = ("eslab.viz",)
WIDGETS = ("eslab.widgets",)
CHECKS = ("eslab.checks",)
CLI = ("eslab.__main__", "eslab.hub")
UI = ("matplotlib", "ipywidgets", "IPython")

FORBIDDEN: dict[str, tuple[str, ...]] = {
    "mechanism": DEMO_DOMAIN + LESSONS + VIZ + WIDGETS + CHECKS + CLI + UI,
    "domain": LESSONS + VIZ + WIDGETS + CHECKS + CLI + UI,
    "viz": DEMO_DOMAIN + LESSONS + WIDGETS + CHECKS + CLI,
    "lessons": WIDGETS + CHECKS + CLI + ("ipywidgets",),
    "widgets": CLI,
    "checks": CLI,
    "cli": (),
}
"""What each layer may not import (a prefix matches the module and its submodules)."""


def layer(module: str) -> str:
    """The layer a module of eslab belongs to; every module must have one."""
    if module in MECHANISMS:
        return "mechanism"
    for name, prefixes in (
        ("domain", DEMO_DOMAIN),
        ("lessons", LESSONS),
        ("viz", VIZ),
        ("widgets", WIDGETS),
        ("checks", CHECKS),
        ("cli", CLI),
    ):
        if _under(module, prefixes):
            return name
    raise AssertionError(
        f"{module} has no layer: add it to MECHANISMS or put it in one of the packages "
        "(domain/, lessons/, viz/, widgets/, checks/) in tests/test_layers.py"
    )


def _under(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


@dataclass(frozen=True)
class Import:
    """One import statement's target, resolved to a module name."""

    source: str
    target: str
    line: int
    module_level: bool
    """False inside a function body (imported only when the function runs)."""


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def eslab_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports(path: Path, known: set[str]) -> list[Import]:
    """Every import in ``path``, at module level (also under ``if TYPE_CHECKING``) or not."""
    return imports_in(path.read_text(encoding="utf-8"), module_name(path), known)


def imports_in(code: str, source: str, known: set[str], *, package: bool = False) -> list[Import]:
    """The imports of ``code`` as module ``source`` (``package``: an ``__init__.py``)."""
    here = source if package else source.rpartition(".")[0]
    found: list[Import] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                for alias in child.names:
                    found.append(Import(source, alias.name, child.lineno, not in_function))
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    parts = here.split(".")[: len(here.split(".")) - child.level + 1]
                    base = ".".join([*parts, base] if base else parts)
                for alias in child.names:
                    sub = f"{base}.{alias.name}"
                    target = sub if sub in known else base
                    found.append(Import(source, target, child.lineno, not in_function))
            visit(
                child,
                in_function
                or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda),
            )

    visit(ast.parse(code), False)
    return found


def all_imports() -> list[Import]:
    modules = eslab_modules()
    return [i for path in modules.values() for i in imports(path, set(modules))]


def test_the_scanner_sees_imports_inside_functions_and_relative_ones() -> None:
    code = (
        "from typing import TYPE_CHECKING\n"
        "import matplotlib.pyplot as plt\n"
        "if TYPE_CHECKING:\n"
        "    from eslab.store import EventStore\n"
        "def f():\n"
        "    from eslab.domain import order\n"
        "    from . import events\n"
        "    from .viz import timeline\n"
    )
    known = {"eslab.events", "eslab.domain.order"}
    found = {(i.target, i.module_level) for i in imports_in(code, "eslab.probe", known)}
    assert found == {
        ("typing", True),
        ("matplotlib.pyplot", True),
        ("eslab.store", True),
        ("eslab.domain.order", False),
        ("eslab.events", False),
        ("eslab.viz", False),
    }


def test_every_module_has_a_layer() -> None:
    for module in eslab_modules():
        layer(module)


def test_imports_go_one_way() -> None:
    wrong = [
        f"{i.source} (line {i.line}, {layer(i.source)}) imports {i.target}"
        for i in all_imports()
        if _under(i.target, FORBIDDEN[layer(i.source)])
    ]
    assert not wrong, "Imports against the layers (see design: Layers):\n" + "\n".join(wrong)


def test_the_rules_catch_what_the_issue_found() -> None:
    """The rules themselves: what used to be wrong is forbidden, the right way is allowed."""
    bad = [
        ("eslab.publishing", "eslab.domain.order"),
        ("eslab.projections", "matplotlib.figure"),
        ("eslab.consumers", "eslab.domain.bank"),
        ("eslab.importers", "eslab.viz.frame"),
        ("eslab.sagas", "eslab.ftgo"),
        ("eslab.store", "eslab.lessons.nb03_optimistic_locking"),
        ("eslab.domain.order", "eslab.widgets.base"),
        ("eslab.lessons.nb06_idempotent_consumers", "eslab.widgets.redelivery_lab"),
        ("eslab.viz.timeline", "eslab.lessons.nb09_queries_and_projections"),
    ]
    good = [
        ("eslab.widgets.redelivery_lab", "eslab.lessons.nb06_idempotent_consumers"),
        ("eslab.checks.nb06_idempotent_consumers", "eslab.lessons.nb06_idempotent_consumers"),
        ("eslab.lessons.nb09_queries_and_projections", "eslab.domain.order"),
        ("eslab.lessons.nb09_queries_and_projections", "matplotlib.figure"),
        ("eslab.ftgo", "eslab.sagas"),
        ("eslab.viz.timeline", "eslab.frame"),
    ]
    assert all(_under(target, FORBIDDEN[layer(source)]) for source, target in bad)
    assert not any(_under(target, FORBIDDEN[layer(source)]) for source, target in good)


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (or a self-import)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == node:
                    break
            if len(group) > 1 or node in edges.get(node, ()):
                found.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            connect(node)
    return found


def test_cycles_finds_a_circle_and_nothing_in_a_line() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_no_import_circles_between_eslab_modules() -> None:
    modules = set(eslab_modules())
    edges: dict[str, set[str]] = {}
    for i in all_imports():
        if i.module_level and i.target in modules and i.target != i.source:
            edges.setdefault(i.source, set()).add(i.target)
    assert cycles(edges) == []


DEMO_EVENTS = ("OrderCreated", "AccountOpened", "MoneyDeposited", "TicketCreated")

_MECHANISM_IMPORTS = "import " + ", ".join(
    sorted(m for m in MECHANISMS if m not in ("eslab.student_copy", "eslab.glossary"))
)


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )


def test_importing_the_mechanisms_loads_no_plotting_and_registers_no_demo_events() -> None:
    code = f"""
import sys
{_MECHANISM_IMPORTS}
from eslab.events import registered_types
assert 'matplotlib' not in sys.modules and 'ipywidgets' not in sys.modules, 'UI loaded'
assert 'IPython' not in sys.modules, 'IPython loaded'
loaded = sorted(m for m in sys.modules if m.startswith(('eslab.domain', 'eslab.ftgo',
                'eslab.lessons', 'eslab.widgets', 'eslab.viz', 'eslab.checks')))
assert not loaded, loaded
before = set(registered_types())
import eslab.ftgo, eslab.domain.bank, eslab.lessons.nb10_tradeoffs_and_deleting_data
demo = {{name for name, cls in registered_types().items()
        if cls.__module__.startswith(('eslab.domain', 'eslab.ftgo', 'eslab.lessons'))}}
assert demo >= set({DEMO_EVENTS!r}), demo
print(sorted(before & demo))
"""
    done = _python(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


LEARNER = """
from dataclasses import dataclass
import eslab, eslab.publishing, eslab.projections, eslab.sagas, eslab.consumers
from eslab import Event, EventStore

@dataclass(frozen=True)
class OrderCreated(Event):
    title: str

store = EventStore()
store.append("Loan", "l-1", [OrderCreated("Dune")], 0)
assert store.load("Loan", "l-1")[0].event == OrderCreated("Dune")
"""


def test_a_learners_own_order_created_works_beside_eslab() -> None:
    done = _python(LEARNER + "print('ok')")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


CLASH_AFTER = """
try:
    import eslab.domain.order
except eslab.BadInputError as exc:
    print(exc)
"""

CLASH_BEFORE = """
from dataclasses import dataclass
import eslab, eslab.domain.order
from eslab import Event

try:
    @dataclass(frozen=True)
    class OrderCreated(Event):
        title: str
except eslab.BadInputError as exc:
    print(exc)
"""


@pytest.mark.parametrize("code", [LEARNER + CLASH_AFTER, CLASH_BEFORE], ids=["after", "before"])
def test_a_clash_with_the_demo_domain_names_both_classes_and_the_fix(code: str) -> None:
    done = _python(code)
    assert done.returncode == 0, done.stderr
    message = done.stdout
    assert "Two event classes claim the type name 'OrderCreated'" in message
    assert "__main__.OrderCreated" in message
    assert "eslab.domain.order.OrderCreated" in message
    assert "Rename one of the classes" in message
    assert "`event_type = 'MyOrderCreated'`" in message
    assert "eslab.domain.order is the course's demo domain" in message


def test_an_explicit_event_type_name_resolves_the_clash() -> None:
    code = """
from dataclasses import dataclass
import eslab.domain.order
from eslab import Event, EventStore

@dataclass(frozen=True)
class OrderCreated(Event):
    event_type = "LibraryOrderCreated"
    title: str

store = EventStore()
store.append("Loan", "l-1", [OrderCreated("Dune")], 0)
stored = store.load("Loan", "l-1")[0]
assert stored.event_type == "LibraryOrderCreated" and stored.event == OrderCreated("Dune")
print("ok")
"""
    done = _python(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
