"""A progress bar for long writes (``datasets.long_stream``, ``generate_orders``, …)."""

from __future__ import annotations

import ipywidgets as widgets
from IPython.display import display

from eslab.datasets import Progress


def progress_bar(description: str = "writing") -> Progress:
    """A progress callback that shows (and fills) an ipywidgets bar in the notebook."""
    bar = widgets.IntProgress(value=0, min=0, max=1, description=description, bar_style="info")
    label = widgets.Label("")
    display(widgets.HBox([bar, label]))

    def update(done: int, total: int) -> None:
        bar.max, bar.value = max(total, 1), done
        label.value = f"{done:,} / {total:,} events"
        if done >= total:
            bar.bar_style = "success"

    return update
