"""Interactive labs (ipywidgets) built on the store and the pictures.

Every lab has a ``widget`` (its root box, with the DOM class ``eslab-<lab>``) and shows
itself when it is the last expression of a cell. Callbacks run inside an Output widget,
so an error in one is shown to the learner instead of vanishing into a log.
"""
