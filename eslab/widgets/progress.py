"""A progress bar for long writes (``datasets.long_stream``, ``generate_orders``, …)."""

from __future__ import annotations

import ipywidgets as widgets
from IPython.display import display

from eslab.datasets import Progress
from eslab.i18n import _


def progress_bar(description: str | None = None) -> Progress:
    """A progress callback that shows (and fills) an ipywidgets bar in the notebook."""
    bar = widgets.IntProgress(
        value=0, min=0, max=1, description=description or _("writing"), bar_style="info"
    )
    label = widgets.Label("")
    display(widgets.HBox([bar, label]))

    def update(done: int, total: int) -> None:
        bar.max, bar.value = max(total, 1), done
        label.value = _("{done:,} / {total:,} events").format(done=done, total=total)
        if done >= total:
            bar.bar_style = "success"

    return update
