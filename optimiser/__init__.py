"""optimiser: where discharge-ready hospital patients should go next, and when.

>>> from optimiser import load_snapshot, allocate
>>> plan = allocate(load_snapshot("instances/demo"))
>>> plan.placements.head(); plan.unplaced; plan.summary["objective"]
>>> plan.write("plan")
"""

from optimiser.api import *  # noqa: F403 (the public API: api.__all__)
from optimiser.api import __all__  # noqa: F401

__version__ = "0.1.0"
