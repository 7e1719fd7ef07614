"""The Korean edition (notebooks/ko/) is the English course in Korean, kept in step by tests.

- its masters are what tools/translate_notebooks.py makes from the English masters now;
- code cells are the English ones, the same exercises and self-checks in the same order;
- every markdown cell is Korean;
- each glossary term's Korean form appears in the Korean notebook that teaches it;
- its pictures draw Hangul (no tofu boxes).
"""

from __future__ import annotations

import importlib.util
import io
import re
import subprocess
import tomllib
import warnings
from pathlib import Path

import nbformat
import pytest
from matplotlib.figure import Figure

import eslab
from eslab.glossary import TERMS

ROOT = Path(__file__).resolve().parents[1]
ENGLISH = ROOT / "notebooks" / "solutions"
KOREAN = ROOT / "notebooks" / "ko" / "solutions"

spec = importlib.util.spec_from_file_location(
    "translate", ROOT / "tools" / "translate_notebooks.py"
)
translate = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
spec.loader.exec_module(translate)  # type: ignore[union-attr]

MASTERS = sorted(KOREAN.glob("[0-9][0-9]_*.ipynb"))
HANGUL = re.compile(r"[\uac00-\ud7a3]")
CHECK_CALL = re.compile(r"\bcheck\.\w+\(|\bexercise_\d+\(")


def _ids(paths: list[Path]) -> list[str]:
    return [p.stem for p in paths]


def _cells(path: Path, kind: str) -> list[nbformat.NotebookNode]:
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == kind]


def test_the_korean_edition_covers_the_translated_notebooks() -> None:
    names = [p.stem for p in MASTERS]
    assert names == translate.translated_names()
    assert {"00_welcome", "05_snapshots", "12_your_own_domain"} <= set(names)


def test_korean_masters_are_up_to_date_with_the_english_ones() -> None:
    """An English change (a new cell, edited code) fails here until the script is re-run."""
    stale = translate.build(check=True)
    assert not stale, f"run `python tools/translate_notebooks.py`: stale {stale}"


@pytest.mark.parametrize("master", MASTERS, ids=_ids(MASTERS))
def test_code_cells_are_the_english_ones(master: Path) -> None:
    korean = _cells(master, "code")
    english = _cells(ENGLISH / master.name, "code")
    assert korean[0].id == translate.LANGUAGE_CELL_ID
    assert 'os.environ["ESLAB_LANG"] = "ko"' in korean[0].source
    assert [(c.id, c.source) for c in korean[1:]] == [(c.id, c.source) for c in english]


@pytest.mark.parametrize("master", MASTERS, ids=_ids(MASTERS))
def test_the_same_exercises_and_checks_in_the_same_order(master: Path) -> None:
    def exercises(path: Path) -> list[str]:
        nb = nbformat.read(path, as_version=4)
        found = []
        for cell in nb.cells:
            if cell.cell_type == "code":
                found += CHECK_CALL.findall(cell.source)
                found += ["solution"] * cell.source.count("# BEGIN SOLUTION")
        return found

    english = exercises(ENGLISH / master.name)
    assert english and exercises(master) == english
    korean_headings = [
        c.id for c in _cells(master, "markdown") if re.search(r"^## 연습문제", c.source, re.M)
    ]
    english_headings = [
        c.id
        for c in _cells(ENGLISH / master.name, "markdown")
        if re.search(r"^## Exercise", c.source, re.M)
    ]
    assert korean_headings == english_headings


@pytest.mark.parametrize("master", MASTERS, ids=_ids(MASTERS))
def test_every_markdown_cell_is_korean(master: Path) -> None:
    for cell in _cells(master, "markdown"):
        prose = re.sub(r"`[^`]*`|```.*?```|\([^)]*\.md[^)]*\)", "", cell.source, flags=re.S)
        letters = [ch for ch in prose if ch.isalpha()]
        hangul = HANGUL.findall(prose)
        assert letters and len(hangul) / len(letters) > 0.4, (cell.id, cell.source[:200])


@pytest.mark.parametrize("master", MASTERS, ids=_ids(MASTERS))
def test_links_point_at_files_that_exist(master: Path) -> None:
    learner = master.parent.parent / master.name  # links are read from the learner copy
    for cell in _cells(master, "markdown"):
        for target in re.findall(r"\]\(([^)#]+\.md)", cell.source):
            assert (learner.parent / target).exists(), (cell.id, target)


GLOSSARY_CASES = [
    (term, path) for term in TERMS for path in MASTERS if path.name.startswith(f"{term.notebook}_")
]


@pytest.mark.parametrize(
    ("term", "master"),
    GLOSSARY_CASES,
    ids=[f"{m.name[:2]}-{t.english}" for t, m in GLOSSARY_CASES],
)
def test_glossary_terms_are_used_in_the_notebook_that_teaches_them(term, master: Path) -> None:
    text = "\n".join(c.source for c in _cells(master, "markdown"))
    for form in term.korean.split(" / "):
        assert form in text, f"{master.name} teaches {term.english!r} but never says {form!r}"


@pytest.fixture
def korean(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("ESLAB_LANG", raising=False)
    eslab.set_language("ko")
    yield
    eslab.set_language(None)


def _missing_glyphs(fig: Figure) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.savefig(io.BytesIO(), format="png")
    return [str(w.message) for w in caught if "missing from" in str(w.message)]


def test_korean_figures_have_no_tofu(korean) -> None:
    """The snapshot lab's chart and a timeline, drawn in Korean: every glyph is in a font."""
    from eslab.aggregate import AggregateRepository
    from eslab.domain.bank import BankAccount, Deposit, OpenAccount
    from eslab.store import EventStore
    from eslab.viz import timeline, use_korean_font
    from eslab.widgets.snapshot_lab import Measurement, load_time_figure

    assert use_korean_font() is not None
    points = [
        Measurement(n, 500, (n // 500) * 500, n, 0, n * 1e-6, 1e-5, True)
        for n in (1_000, 5_000, 20_000)
    ]
    chart = load_time_figure(points, 500)
    labels = [chart.axes[0].get_title(), chart.axes[0].get_xlabel(), chart.axes[0].get_ylabel()]
    assert all(HANGUL.search(text) for text in labels), labels
    assert _missing_glyphs(chart) == []

    store = EventStore()

    repo = AggregateRepository(store, BankAccount)
    repo.save(OpenAccount("Ada", 10), entity_id="acc-1")
    repo.update("acc-1", Deposit(5))
    fig = timeline(store, highlight=2)
    ax = fig.axes[0]
    assert HANGUL.search(ax.get_title()) and HANGUL.search(ax.get_xlabel())
    assert _missing_glyphs(fig) == []


def _make_dry_run(target: str) -> str:
    done = subprocess.run(
        ["make", "-n", target], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return done.stdout


def test_make_lab_ko_sets_korean_menus_and_make_lab_is_unchanged() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["optional-dependencies"]["ko"] == ["jupyterlab-language-pack-ko-KR"]
    lab_ko = _make_dry_run("lab-ko")
    assert '"locale": "ko_KR"' in lab_ko
    assert "@jupyterlab/translation-extension/plugin.jupyterlab-settings" in lab_ko
    assert "JUPYTERLAB_SETTINGS_DIR=" in lab_ko and "ESLAB_LANG=ko" in lab_ko
    assert "ko/00_welcome.ipynb" in lab_ko
    lab = _make_dry_run("lab")
    assert "jupyter lab notebooks/" in lab
    assert "ESLAB_LANG" not in lab and "JUPYTERLAB_SETTINGS_DIR" not in lab
