"""Keep the translation catalogues in step with the source.

    python tools/i18n_catalogue.py          # add new messages (empty) to every .po, drop gone ones
    python tools/i18n_catalogue.py --check  # exit 1 and list the messages without a translation

The source of truth for the messages is the ``_("...")`` calls in ``eslab/`` (found with
``ast``, like the standard library's pygettext); translators fill the ``msgstr`` lines.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from eslab.i18n import (  # noqa: E402
    LANGUAGES,
    NOT_A_LITERAL,
    catalogue_path,
    read_po,
    source_messages,
)

HEADER = (
    'msgid ""\nmsgstr ""\n'
    '"Project-Id-Version: eslab\\n"\n'
    '"Language: {lang}\\n"\n'
    '"MIME-Version: 1.0\\n"\n'
    '"Content-Type: text/plain; charset=UTF-8\\n"\n'
    '"Content-Transfer-Encoding: 8bit\\n"\n'
)


def quote(text: str) -> str:
    """A .po string literal (one line; newlines escaped)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def write_catalogue(lang: str, new: dict[str, str] | None = None) -> list[str]:
    """Rewrite ``lang``'s .po with every source message (``new`` translations win over the
    file's); return the messages left untranslated."""
    path = catalogue_path(lang)
    known = {**(read_po(path) if path.exists() else {}), **(new or {})}
    messages = source_messages()
    messages.pop(NOT_A_LITERAL, None)
    parts = [HEADER.format(lang=lang)]
    missing = []
    for msgid in sorted(messages):
        where = " ".join(sorted({w.rsplit(":", 1)[0] for w in messages[msgid]}))
        msgstr = known.get(msgid, "")
        if not msgstr:
            missing.append(msgid)
        parts.append(f"#: {where}\nmsgid {quote(msgid)}\nmsgstr {quote(msgstr)}\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts), encoding="utf-8")
    return missing


def main(argv: list[str]) -> int:
    """Update (or with --check, only inspect) every non-English catalogue."""
    status = 0
    for lang in (lang for lang in LANGUAGES if lang != "en"):
        if "--check" in argv:
            known = read_po(catalogue_path(lang))
            missing = [m for m in source_messages() if m not in known and m != NOT_A_LITERAL]
        else:
            missing = write_catalogue(lang)
        for msgid in missing:
            print(f"{lang}: no translation for {msgid!r}")
            status = 1
    return status


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
