"""What every lab shares: display, error-visible callbacks, figures, HTML tables."""

from __future__ import annotations

import enum
import functools
import html
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as w
from IPython.display import HTML, Image, display
from matplotlib.figure import Figure

from eslab.errors import EslabError
from eslab.i18n import _


class Lab:
    """Base of the labs: subclasses build ``self.widget`` and use ``self.log`` for errors."""

    name = "lab"

    def __init__(self) -> None:
        self.last_notice = ""
        self.log = w.Output(layout=w.Layout(max_height="160px", overflow="auto"))
        self.log.add_class(f"eslab-{self.name}-log")
        self.widget: w.Box = w.VBox()

    def _finish(self, *children: w.Widget) -> None:
        self.widget = w.VBox([*children, self.log])
        self.widget.add_class(f"eslab-{self.name}")

    def callback(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Wrap a widget callback so an exception shows in the lab's log Output."""

        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            with self.log:
                try:
                    return func(*args, **kwargs)
                except EslabError as exc:
                    self.notice(f"{type(exc).__name__}: {exc}")
                    return None

        return run

    def notice(self, text: str) -> None:
        """Show an expected refusal (e.g. a ConcurrencyError) as a message, not a traceback."""
        self.last_notice = text
        self.log.clear_output()
        with self.log:
            display(
                HTML(f"<div class='eslab-notice' style='color:#b2182b'>{html.escape(text)}</div>")
            )

    def _ipython_display_(self) -> None:
        display(self.widget)


def control(widget: w.Widget, lab: str, part: str) -> w.Widget:
    """Tag a control with the DOM class ``eslab-<lab>-<part>`` (browser tests find it)."""
    widget.add_class(f"eslab-{lab}-{part}")
    return widget


def show_figure(out: w.Output, fig: Figure) -> None:
    """Replace what ``out`` shows with ``fig`` (as a PNG)."""
    from eslab.viz.timeline import figure_png

    with out:
        out.clear_output(wait=True)
        display(Image(data=figure_png(fig), format="png"))


def html_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    highlight: int | None = None,
    css_class: str = "eslab-table",
) -> str:
    """A small HTML table (escaped); row ``highlight`` is shaded."""
    head = "".join(
        f"<th style='padding:2px 8px;text-align:left'>{html.escape(str(h))}</th>" for h in headers
    )
    body = []
    for i, row in enumerate(rows):
        style = " style='background:#fff3b0'" if i == highlight else ""
        cells = "".join(f"<td style='padding:2px 8px'>{html.escape(str(c))}</td>" for c in row)
        body.append(f"<tr{style}>{cells}</tr>")
    return (
        f"<table class='{css_class}' style='border-collapse:collapse;font-size:12px'>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def fields_table(obj: Any, *, css_class: str = "eslab-state") -> str:
    """An HTML table of an aggregate's fields (name, value)."""
    import dataclasses

    names = (
        [f.name for f in dataclasses.fields(obj)]
        if dataclasses.is_dataclass(obj)
        else list(vars(obj))
    )
    rows = [(n, _pretty(getattr(obj, n))) for n in names]
    rows.insert(0, ("version", getattr(obj, "version", "")))
    return html_table([_("field"), _("value")], rows, css_class=css_class)


def _pretty(value: Any) -> str:
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, list) and len(value) > 3:
        return _("[{n} items]").format(n=len(value))
    return str(value)
