"""One colour and marker per event type, the same in every picture of the course.

A type's colour comes from a colour-blind-safe palette of ten (Okabe-Ito's colours, then
Paul Tol's "muted" ones that differ from them), at a slot chosen by a stable hash of the
type's name — not by the order the types happen to appear in — so ``MemberRegistered`` has
one colour in every timeline, swimlane, explorer and notebook. The :class:`Palette`
remembers each type's slot for the session: two types never share a slot, so a collision
of hashes is resolved once (the type named later takes the next free slot) and then holds
for every later figure. Past the tenth type the slots go round again with another marker
shape, so a (colour, marker) pair always names one type (in a density lane: colour and
hatching).

Outcomes have their own marker shapes (:data:`OUTCOME_STYLES`) so colour is never the
only signal: a rejected append is an ✕, a duplicate delivery a dotted ring, a
compensation a dashed ring, a snapshot a hollow diamond.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from eslab.i18n import N_

OKABE_ITO = ["#e69f00", "#56b4e9", "#009e73", "#0072b2", "#cc79a7"]
"""Okabe & Ito's colour-blind-safe colours for event types. Their black (the current event)
and vermillion (:data:`ALERT`: refused, failed, compensated) are kept for outcomes, their
yellow left out (too faint on white)."""

TOL_MUTED = ["#332288", "#117733", "#ddcc77", "#882255", "#999933"]
"""Paul Tol's "muted" colours (also colour-blind-safe) that no Okabe-Ito colour resembles
(his rose, cyan, teal and purple are too near reddish purple, sky blue and bluish green)."""

COLOURS: list[str] = OKABE_ITO + TOL_MUTED
"""Every colour an event type can get, in slot order: ten that stay apart."""

TYPE_MARKERS = ["o", "s", "^", "v", "P"]
"""The dot's shape: the first round of colours are circles, the next squares, …"""

MARKER_GLYPHS = {"o": "●", "s": "■", "^": "▲", "v": "▼", "P": "✚"}
"""Each dot marker as a text character."""

TYPE_HATCHES = ["", "////", "....", "\\\\", "xx"]
"""The bar's hatching in a density lane, one per round (as the markers)."""

ROLE_COLOURS = {
    "command": "#0072b2",
    "reply": "#009e73",
    "failure": "#cc79a7",
    "compensation": "#d55e00",
    "event": "#555555",
}
"""Colours of what a message *does* in a swimlane (Okabe-Ito, as the event types)."""

ALERT = "#d55e00"
"""Okabe-Ito's vermillion: refused, failed, compensated."""

OUTCOME_STYLES: dict[str, dict[str, Any]] = {
    "rejected": {"marker": "X", "color": ALERT, "s": 160, "label": N_("rejected append")},
    "duplicate": {
        "marker": "o",
        "facecolors": "none",
        "edgecolors": "#000000",
        "s": 260,
        "linewidths": 1.5,
        "linestyles": ":",
        "label": N_("duplicate delivery"),
    },
    "snapshot": {
        "marker": "D",
        "facecolors": "none",
        "edgecolors": "#000000",
        "s": 110,
        "linewidths": 1.5,
        "label": N_("snapshot"),
    },
    "compensation": {
        "marker": "o",
        "facecolors": "none",
        "edgecolors": ALERT,
        "s": 260,
        "linewidths": 2,
        "linestyles": "--",
        "label": N_("compensation"),
    },
    "skipped": {
        "marker": "s",
        "facecolors": "none",
        "edgecolors": "#555555",
        "s": 200,
        "linewidths": 2,
        "label": N_("skipped (missed)"),
    },
}
"""Marker styles (``Axes.scatter`` keywords) for outcomes drawn over the event dots."""


@dataclass(frozen=True)
class TypeStyle:
    """How one event type is drawn: its colour (hex), dot marker and bar hatching."""

    colour: str
    marker: str
    hatch: str = ""

    @property
    def glyph(self) -> str:
        """The marker as a character, for HTML next to the picture (● ■ ▲ ▼ ✚)."""
        return MARKER_GLYPHS.get(self.marker, "●")


def stable_slot(name: str, slots: int = len(COLOURS)) -> int:
    """The slot a name prefers: a hash that is the same in every Python process."""
    return zlib.crc32(name.encode("utf-8")) % slots


class Palette:
    """Remembers which slot (colour, marker) each event type has; two types never share one."""

    def __init__(self, colours: list[str] | None = None, markers: list[str] | None = None):
        self.colours = list(colours or COLOURS)
        self.markers = list(markers or TYPE_MARKERS)
        self.slots: dict[str, int] = {}
        self._taken: set[int] = set()

    def style(self, event_type: str) -> TypeStyle:
        """The type's colour and marker (gives it a slot on first use)."""
        slot = self.slots.get(event_type)
        if slot is None:
            slot = self._claim(event_type)
        n = len(self.colours)
        round_ = (slot // n) % len(self.markers)
        hatch = TYPE_HATCHES[round_ % len(TYPE_HATCHES)]
        return TypeStyle(self.colours[slot % n], self.markers[round_], hatch)

    def colour(self, event_type: str) -> str:
        """The type's colour (hex)."""
        return self.style(event_type).colour

    def styles(self, event_types: Iterable[str]) -> dict[str, TypeStyle]:
        """Styles for the types of one figure; new types claim slots in name order."""
        names = sorted(set(event_types))
        return {name: self.style(name) for name in names}

    def _claim(self, event_type: str) -> int:
        n = len(self.colours)
        total = n * len(self.markers)
        start = stable_slot(event_type, n)
        for step in range(total):
            # probe the other colours of the same round first, then the next marker round
            slot = (start + step) % n + (step // n) * n
            if slot not in self._taken:
                break
        else:  # every slot taken: share (the legend still names the type)
            slot = start
        self.slots[event_type] = slot
        self._taken.add(slot)
        return slot


PALETTE = Palette()
"""The session's palette: every picture and widget asks it, so colours agree."""


def type_styles(event_types: Iterable[str]) -> dict[str, TypeStyle]:
    """The session's colour and marker for each event type (see :class:`Palette`)."""
    return PALETTE.styles(event_types)


def event_colours(event_types: Iterable[str]) -> dict[str, str]:
    """The session's colour (hex) for each event type."""
    return {name: style.colour for name, style in type_styles(event_types).items()}
