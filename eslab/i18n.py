"""The course's language: English by default, Korean with ``set_language("ko")``.

User-visible text (widget labels, pictures' titles and axes, self-check verdicts and
hints, the instructor CLI's messages) is written in English in the source and wrapped in
``_()``. The translations are standard gettext catalogues,
``eslab/locale/<lang>/LC_MESSAGES/eslab.po``, read with the standard library's
:mod:`gettext` (the ``.po`` text is compiled to the ``.mo`` form in memory, so there is no
build step and no stale binary). The language comes from :func:`set_language`, else the
``ESLAB_LANG`` environment variable (the Korean notebooks set it in their first cell),
else English.

``_()`` takes a literal string (placeholders are filled afterwards with ``.format``), so
``python -m tools.i18n`` and the tests can find every message in the source.
"""

from __future__ import annotations

import ast
import gettext
import io
import os
import struct
from functools import cache
from pathlib import Path

DOMAIN = "eslab"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGES = ("en", "ko")
"""The languages the course speaks (English is the source text)."""
ENV_VAR = "ESLAB_LANG"
NOT_A_LITERAL = "<not a literal>"

_chosen: str | None = None


def set_language(language: str | None) -> None:
    """Speak ``language`` ("en" or "ko") from now on; ``None`` goes back to ESLAB_LANG."""
    global _chosen
    if language is not None and language not in LANGUAGES:
        raise ValueError(
            f"eslab speaks {', '.join(LANGUAGES)}, not {language!r}: "
            f"call set_language() with one of these."
        )
    _chosen = language


def language() -> str:
    """The language in use: set_language()'s, else ESLAB_LANG's (if known), else "en"."""
    if _chosen is not None:
        return _chosen
    env = os.environ.get(ENV_VAR, "").strip().lower()[:2]
    return env if env in LANGUAGES else "en"


def _(message: str) -> str:
    """``message`` in the language in use (itself when the catalogue lacks it)."""
    lang = language()
    if lang == "en" or not message:  # gettext("") would be the catalogue's header
        return message
    return translations(lang).gettext(message)


def N_(message: str) -> str:
    """Mark ``message`` for translation without translating it yet (gettext's ``N_``).

    For module-level texts (legend labels in a table, option names): the code that shows
    them calls ``_()`` on the value at that moment, in the language then in use.
    """
    return message


@cache
def translations(lang: str) -> gettext.NullTranslations:
    """The catalogue of ``lang`` (an empty one if it has no ``.po`` file)."""
    po = catalogue_path(lang)
    if not po.exists():
        return gettext.NullTranslations()
    return gettext.GNUTranslations(io.BytesIO(mo_bytes(read_po(po))))


def catalogue_path(lang: str) -> Path:
    """Where the ``.po`` catalogue of ``lang`` lives."""
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_po(path: Path) -> dict[str, str]:
    """msgid → msgstr of a ``.po`` file (header included; fuzzy and empty entries left out)."""
    entries: dict[str, str] = {}
    msgid: list[str] | None = None
    msgstr: list[str] | None = None
    current: list[str] | None = None
    fuzzy = False

    def flush() -> None:
        if msgid is not None and msgstr is not None and not fuzzy:
            text = "".join(msgstr)
            if text:
                entries["".join(msgid)] = text

    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line.startswith("#,") and "fuzzy" in line:
            flush()
            msgid = msgstr = current = None
            fuzzy = True
        elif line.startswith("msgid "):
            if msgstr is not None:
                flush()
                fuzzy = False
            msgid, msgstr = [ast.literal_eval(line[6:])], None
            current = msgid
        elif line.startswith("msgstr "):
            msgstr = [ast.literal_eval(line[7:])]
            current = msgstr
        elif line.startswith('"') and current is not None:
            current.append(ast.literal_eval(line))
    flush()
    return entries


def mo_bytes(entries: dict[str, str]) -> bytes:
    """The GNU ``.mo`` form of a catalogue (what ``msgfmt`` writes), for :mod:`gettext`."""
    keys = sorted(entries)
    ids = [k.encode("utf-8") for k in keys]
    strs = [entries[k].encode("utf-8") for k in keys]
    header_size = 7 * 4
    table_size = len(keys) * 8
    ids_start = header_size + 2 * table_size
    id_table, offset = [], ids_start
    for b in ids:
        id_table.append((len(b), offset))
        offset += len(b) + 1
    str_table = []
    for b in strs:
        str_table.append((len(b), offset))
        offset += len(b) + 1
    out = struct.pack("<7I", 0x950412DE, 0, len(keys), header_size, header_size + table_size, 0, 0)
    for length, start in id_table + str_table:
        out += struct.pack("<2I", length, start)
    out += b"".join(b + b"\0" for b in ids) + b"".join(b + b"\0" for b in strs)
    return out


def source_messages(package: Path | None = None) -> dict[str, list[str]]:
    """Every ``_("...")`` / ``N_("...")`` message in the package's source → where it is.

    A ``_()`` whose argument is built on the spot (an f-string, a ``+``) is reported under
    the key :data:`NOT_A_LITERAL`: its text could never be in a catalogue. (A name or a
    lookup is fine: it holds a text marked with ``N_`` elsewhere.)
    """
    root = package or Path(__file__).resolve().parent
    found: dict[str, list[str]] = {}
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("_", "N_")
                and node.args
            ):
                continue
            where = f"{path.relative_to(root.parent)}:{node.lineno}"
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.setdefault(arg.value, []).append(where)
            elif isinstance(arg, ast.JoinedStr | ast.BinOp):
                found.setdefault(NOT_A_LITERAL, []).append(where)
    return found
