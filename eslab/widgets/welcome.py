"""The welcome notebook's widget check: a slider whose value a label echoes."""

from __future__ import annotations

from typing import Any

import ipywidgets as w

from eslab.i18n import _
from eslab.widgets.base import Lab, control


class WidgetCheck(Lab):
    """If moving the slider updates the text, widgets work in this JupyterLab."""

    name = "welcome"

    def __init__(self) -> None:
        super().__init__()
        self.slider = control(
            w.IntSlider(value=0, min=0, max=10, description=_("move me")), self.name, "slider"
        )
        self.echo = control(w.Label(), self.name, "echo")
        self.slider.observe(self.callback(self._echo), names="value")
        self._finish(self.slider, self.echo)
        self._echo({"new": 0})

    def _echo(self, change: dict[str, Any]) -> None:
        value = change["new"]
        self.echo.value = (
            _("Widgets work: the slider is at {value}.").format(value=value)
            if value
            else _("Move the slider: this text should follow it.")
        )
