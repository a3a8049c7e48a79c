"""Numbers every layer shares, written once."""

TOLERANCE = 1e-9
"""Slack allowed when comparing sums of capacity, stock or cost: rows hold within it."""

BED_DAY_COST = 562.0
"""Pounds per acute bed-day (NHS England 2025 estimate); the default of ``--bed-day-cost``."""

DISRUPTION_PENALTY = 3.0
"""Objective units per patient moved from an earlier plan (``--keep``): about three days'
wait of a priority-1 patient."""

FEASIBILITY = 1e-6
"""How far a solver's plan may exceed a row's right-hand side and still count as keeping it."""
