"""The course speaks Korean on request: every user-visible text has a Korean translation.

The texts are the ``_("...")`` / ``N_("...")`` calls in ``eslab/`` (found with ``ast``);
the translations are ``eslab/locale/ko/LC_MESSAGES/eslab.po``, read with the standard
library's gettext.
"""

from __future__ import annotations

import ast
import gettext
import io
import string
from pathlib import Path

import pytest

import eslab
from eslab import i18n
from eslab.checks import hint, passed
from eslab.i18n import NOT_A_LITERAL, _, catalogue_path, mo_bytes, read_po, source_messages

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "eslab"


@pytest.fixture
def korean(monkeypatch: pytest.MonkeyPatch):
    """Korean for one test (the language is module state: put it back afterwards)."""
    monkeypatch.delenv(i18n.ENV_VAR, raising=False)
    eslab.set_language("ko")
    yield
    eslab.set_language(None)


@pytest.fixture
def messages() -> dict[str, list[str]]:
    return source_messages()


@pytest.fixture
def catalogue() -> dict[str, str]:
    return read_po(catalogue_path("ko"))


def test_every_message_has_a_korean_translation(messages, catalogue) -> None:
    missing = {m: where for m, where in messages.items() if m != NOT_A_LITERAL}
    missing = {m: w for m, w in missing.items() if m not in catalogue}
    assert not missing, (
        "No Korean for these texts: run `python tools/i18n_catalogue.py` and fill their "
        f"msgstr in {catalogue_path('ko').relative_to(ROOT)}:\n"
        + "\n".join(f"  {m!r} ({', '.join(w)})" for m, w in missing.items())
    )


def test_no_message_is_built_before_it_is_translated(messages) -> None:
    """_(f"...") could never be found in a catalogue: use _("... {x} ...").format(x=...)."""
    assert NOT_A_LITERAL not in messages, messages.get(NOT_A_LITERAL)


def test_the_catalogue_has_no_stale_entries(messages, catalogue) -> None:
    stale = [m for m in catalogue if m and m not in messages]
    assert not stale, f"texts no longer in the source (run tools/i18n_catalogue.py): {stale}"


def test_translations_keep_the_placeholders(catalogue) -> None:
    fields = string.Formatter()

    def placeholders(text: str) -> set[tuple[str, str, str | None]]:
        return {(f, spec, conv) for _, f, spec, conv in fields.parse(text) if f is not None}

    wrong = {m: t for m, t in catalogue.items() if m and placeholders(m) != placeholders(t)}
    assert not wrong, wrong


def test_english_is_the_default_and_the_source_text(monkeypatch) -> None:
    monkeypatch.delenv(i18n.ENV_VAR, raising=False)
    assert eslab.language() == "en"
    assert _("Deposit") == "Deposit"
    assert str(hint("x")) == "✗ Not yet. Hint: x"


def test_set_language_speaks_korean(korean) -> None:
    assert eslab.language() == "ko"
    assert _("Deposit") == "입금"
    assert str(hint("x")) == "✗ 아직입니다. 힌트: x"
    assert str(passed()) == "✓ 정답입니다."
    assert _("a text nobody translated") == "a text nobody translated"


def test_the_environment_variable_chooses_the_language(monkeypatch) -> None:
    eslab.set_language(None)
    monkeypatch.setenv(i18n.ENV_VAR, "ko")
    assert _("Withdraw") == "출금"
    monkeypatch.setenv(i18n.ENV_VAR, "ko_KR.UTF-8")
    assert eslab.language() == "ko"
    monkeypatch.setenv(i18n.ENV_VAR, "fr")
    assert eslab.language() == "en"


def test_an_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="speaks en, ko"):
        eslab.set_language("fr")
    assert eslab.language() in ("en", "ko")


def test_the_mo_form_is_what_gettext_reads() -> None:
    entries = {"": "Content-Type: text/plain; charset=UTF-8\n", "Save": "저장", "a": "ㄱ"}
    catalogue = gettext.GNUTranslations(io.BytesIO(mo_bytes(entries)))
    assert catalogue.gettext("Save") == "저장"
    assert catalogue.gettext("a") == "ㄱ"
    assert catalogue.gettext("missing") == "missing"


def test_po_reading_joins_continued_lines_and_skips_fuzzy(tmp_path: Path) -> None:
    po = tmp_path / "x.po"
    po.write_text(
        'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "a "\n"b"\nmsgstr "가 "\n"나"\n\n'
        '#, fuzzy\nmsgid "c"\nmsgstr "다"\n\n'
        'msgid "d"\nmsgstr ""\n',
        encoding="utf-8",
    )
    assert read_po(po) == {"": "Content-Type: text/plain; charset=UTF-8\n", "a b": "가 나"}


# -- nothing a learner sees is left out ----------------------------------------------------

SHOWN = {"hint", "passed", "set_title", "set_xlabel", "set_ylabel"}
SHOWN_KEYWORDS = {"description", "title", "label"}


def untranslated_texts(path: Path) -> list[str]:
    """Texts a learner sees that are not wrapped in _(): hints, verdicts, labels, titles."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
        shown = [node.args[0]] if name in SHOWN and node.args else []
        shown += [k.value for k in node.keywords if k.arg in SHOWN_KEYWORDS]
        for arg in shown:
            if any(c.isalpha() for c in _literal_text(arg)):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def _literal_text(node: ast.AST) -> str:
    """The words written in the source of a str literal or f-string (not the data in it)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(_literal_text(v) for v in node.values)
    return ""


TRANSLATED = [
    *sorted((PACKAGE / "checks").glob("*.py")),
    *sorted(set((PACKAGE / "widgets").glob("*.py")) - {PACKAGE / "widgets" / "__init__.py"}),
    *sorted((PACKAGE / "viz").glob("*.py")),
    PACKAGE / "__main__.py",
]


@pytest.mark.parametrize("path", TRANSLATED, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_what_learners_see_goes_through_the_catalogue(path: Path) -> None:
    assert untranslated_texts(path) == []
