"""Build the Korean masters from the English ones: code verbatim, markdown from a translation.

    python tools/translate_notebooks.py            # write notebooks/ko/solutions/NN_*.ipynb
    python tools/translate_notebooks.py --check    # exit 1 if a master is missing or stale

For every English master ``notebooks/solutions/NN_name.ipynb`` with a translation file
``notebooks/ko/translations/NN_name.md``, the Korean master is the English notebook with:

- one extra first code cell (id ``eslab-lang-ko``) that sets ``ESLAB_LANG=ko``, so widgets,
  pictures and self-checks speak Korean (and any ``python -m eslab`` the notebook starts);
- every markdown cell's text replaced by the section of the translation file that follows
  ``<!-- cell ID -->`` (the English cell's id). ``<!-- cell ID same -->`` keeps a cell that is
  already Korean (the 요약 summaries). A markdown cell without a section is an error, and so
  is a section for a cell that no longer exists: the Korean edition cannot silently fall
  behind the English one;
- code cells copied as they are (ids, solution markers and all), so the learner copies come
  from ``python -m eslab student-copies`` exactly as the English ones do.

Re-run it after any change to an English master (tests/test_korean_edition.py fails until then).
"""

from __future__ import annotations

import copy
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
ENGLISH = ROOT / "notebooks" / "solutions"
KOREAN = ROOT / "notebooks" / "ko"
TRANSLATIONS = KOREAN / "translations"
LANGUAGE_CELL_ID = "eslab-lang-ko"
LANGUAGE_CELL = (
    "# 이 노트북의 위젯, 그림, 자가 점검은 한국어로 표시됩니다 (ESLAB_LANG=ko).\n"
    "import os\n"
    "\n"
    'os.environ["ESLAB_LANG"] = "ko"'
)
SECTION = re.compile(r"^<!-- cell (\S+?)( same)? -->\s*$", re.MULTILINE)


class TranslationError(Exception):
    """A translation file does not match its English notebook."""


def read_translation(path: Path) -> dict[str, str | None]:
    """cell id → Korean markdown (None: keep the cell's text as it is)."""
    text = path.read_text(encoding="utf-8")
    marks = list(SECTION.finditer(text))
    sections: dict[str, str | None] = {}
    for mark, following in zip(marks, [*marks[1:], None], strict=True):
        end = following.start() if following else len(text)
        body = text[mark.end() : end].strip("\n")
        if mark.group(1) in sections:
            raise TranslationError(f"{path.name}: cell {mark.group(1)} is translated twice")
        sections[mark.group(1)] = None if mark.group(2) else body
    return sections


def korean_master(english: nbformat.NotebookNode, translation: Path) -> nbformat.NotebookNode:
    """The Korean master made from an English master and its translation file."""
    sections = read_translation(translation)
    nb = copy.deepcopy(english)
    markdown_ids = [c.id for c in nb.cells if c.cell_type == "markdown"]
    missing = [i for i in markdown_ids if i not in sections]
    unknown = [i for i in sections if i not in markdown_ids]
    if missing or unknown:
        raise TranslationError(
            f"{translation.name}: no Korean for markdown cells {missing}; "
            f"sections for cells that are not markdown cells of the English master: {unknown}. "
            "Translate the new cells (or drop the old sections), then run this again."
        )
    for cell in nb.cells:
        if cell.cell_type == "markdown" and sections[cell.id] is not None:
            cell.source = sections[cell.id]
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    language = nbformat.v4.new_code_cell(LANGUAGE_CELL)
    language.id = LANGUAGE_CELL_ID
    first_code = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    nb.cells.insert(first_code, language)
    return nb


def translated_names() -> list[str]:
    """The notebooks that have a Korean translation file, e.g. ``00_welcome``."""
    return sorted(p.stem for p in TRANSLATIONS.glob("[0-9][0-9]_*.md"))


def build(check: bool = False) -> list[str]:
    """Write (or compare) every Korean master; return the names that were stale."""
    stale = []
    (KOREAN / "solutions").mkdir(parents=True, exist_ok=True)
    for name in translated_names():
        english = nbformat.read(ENGLISH / f"{name}.ipynb", as_version=4)
        nb = korean_master(english, TRANSLATIONS / f"{name}.md")
        target = KOREAN / "solutions" / f"{name}.ipynb"
        text = nbformat.writes(nb) + "\n"
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            stale.append(name)
            if not check:
                target.write_text(text, encoding="utf-8")
    return stale


if __name__ == "__main__":
    checking = "--check" in sys.argv[1:]
    try:
        names = build(check=checking)
    except TranslationError as exc:
        print(exc)
        raise SystemExit(1) from None
    for name in names:
        print(("stale: " if checking else "wrote: ") + name)
    raise SystemExit(1 if checking and names else 0)
