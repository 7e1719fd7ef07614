"""Pictures: timelines of event streams (and, in sibling modules, swimlanes)."""

from eslab.viz.frame import events_frame
from eslab.viz.timeline import Mark, timeline

__all__ = ["Mark", "events_frame", "timeline"]
