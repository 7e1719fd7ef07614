"""Pictures: timelines of event streams and swimlanes of the messages between services."""

from eslab.frame import events_frame
from eslab.viz.fonts import use_korean_font
from eslab.viz.swimlane import Exchange, swimlane
from eslab.viz.timeline import Mark, figure_png, timeline


def _show_figures_in_notebooks() -> None:
    """Let a cell that ends with a Figure show it as a PNG (without importing pyplot)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with JupyterLab
        return
    shell = get_ipython()
    if shell is not None:
        from matplotlib.figure import Figure

        shell.display_formatter.formatters["image/png"].for_type(Figure, figure_png)


use_korean_font()
_show_figures_in_notebooks()

__all__ = [
    "Exchange",
    "Mark",
    "events_frame",
    "figure_png",
    "swimlane",
    "timeline",
    "use_korean_font",
]
