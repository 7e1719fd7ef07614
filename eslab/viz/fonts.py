"""Korean text in the pictures (the chapter notes are Korean: 애그리거트, 재연, 사가 …).

Matplotlib's default font has no Hangul. ``use_korean_font`` adds a Korean font as a
*fallback* after the default one, so Latin text keeps its look and Hangul glyphs come from
the fallback: the system's Noto Sans CJK KR when installed (Debian: fonts-noto-cjk),
otherwise NanumGothic shipped inside the ``koreanize-matplotlib`` package (a dependency,
so it works after a plain ``pip install`` on any machine).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import matplotlib as mpl
from matplotlib import font_manager

SYSTEM_FONTS = (
    "Noto Sans CJK KR",
    "Noto Sans KR",
    "NanumGothic",
    "Malgun Gothic",
    "Apple SD Gothic Neo",
)


def korean_font_family() -> str | None:
    """The name of a font with Hangul glyphs that matplotlib can use (None if none)."""
    names = {f.name for f in font_manager.fontManager.ttflist}
    for name in SYSTEM_FONTS:
        if name in names:
            return name
    spec = importlib.util.find_spec("koreanize_matplotlib")  # found, not imported
    if spec is None or not spec.submodule_search_locations:
        return None
    shipped = Path(next(iter(spec.submodule_search_locations))) / "fonts" / "NanumGothic.ttf"
    if not shipped.exists():
        return None
    font_manager.fontManager.addfont(str(shipped))
    return font_manager.FontProperties(fname=str(shipped)).get_name()


def use_korean_font() -> str | None:
    """Add a Korean font as fallback to matplotlib's sans-serif family; return its name."""
    family = korean_font_family()
    if family is None:
        return None
    current = list(mpl.rcParams["font.family"])
    if current == ["sans-serif"]:
        current = [mpl.rcParams["font.sans-serif"][0]]
    if family not in current:
        mpl.rcParams["font.family"] = [*current, family]
    return family
