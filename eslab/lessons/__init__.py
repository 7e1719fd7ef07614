"""Lessons: one module per notebook with its examples, experiments and figures.

Each ``nbNN_<name>.py`` holds what only notebook NN (and its widgets and checks) needs:
the demo-domain examples it runs, the experiments it times or repeats, the pictures it
draws. The mechanisms (``eslab.store``, ``eslab.publishing``, ``eslab.projections``, …)
never import from here, so they stay free of the course's demo domain and of plotting;
a learner's own domain can take the place of the examples.
"""
