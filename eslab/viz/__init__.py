"""Pictures: timelines of event streams (and, in sibling modules, swimlanes)."""

from eslab.viz.fonts import use_korean_font
from eslab.viz.frame import events_frame
from eslab.viz.timeline import Mark, timeline

use_korean_font()

__all__ = ["Mark", "events_frame", "timeline", "use_korean_font"]
