"""Flow simulation: the daily allocation run forward over weeks (``simulate``), and capacity
sweeps over it (``sweep``)."""

from optimiser.simulate.simulation import check_places, simulate

__all__ = ["check_places", "simulate"]
