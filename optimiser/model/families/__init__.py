"""The constraint families, one module each, and the registry the formulation loops over.

``FAMILIES`` lists the families of contract section 3 in row order. The
formulation, greedy, reasons, explain and validation all ask these (through
``Formulation.families`` once a model is built); none re-derives a rule. A new
family is a module with a ``Family`` subclass and an entry here, or, for a while,
``with registered(MyFamily()):``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from optimiser.model.families.admissions import Admissions
from optimiser.model.families.assignment import Assignment
from optimiser.model.families.bands import Bands
from optimiser.model.families.base import Family, Room
from optimiser.model.families.capacity import Capacity
from optimiser.model.families.equipment import Equipment
from optimiser.model.families.interim import Interim

FAMILIES: list[Family] = [Assignment(), Capacity(), Bands(), Admissions(), Equipment(), Interim()]


def active() -> tuple[Family, ...]:
    """The families a model built now has."""
    return tuple(FAMILIES)


@contextlib.contextmanager
def registered(*families: Family) -> Iterator[None]:
    """Add families to the registry for the duration of the block."""
    FAMILIES.extend(families)
    try:
        yield
    finally:
        for family in families:
            FAMILIES.remove(family)


__all__ = ["FAMILIES", "Family", "Room", "active", "registered"]
