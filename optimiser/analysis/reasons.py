"""Why each unplaced patient is unplaced, in plain words.

The first cause that applies, in this order:
``no_eligible_service`` (rules 1-3 leave no service; which need or reach rule
excludes the candidates), ``horizon`` (earliest start past the horizon),
``equipment`` (an item is never in stock, or all units are taken),
``capacity`` (every eligible service is full), ``admissions`` (daily
admission limits), ``cost`` (placing would cost more than waiting), or
``solver_limit`` (a place is free, but the solve stopped at a limit first).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from optimiser.constants import TOLERANCE
from optimiser.model.eligibility import eligible_pairs
from optimiser.model.families.base import DIRECT, INTERIM, names, stage_of
from optimiser.model.formulation import Formulation
from optimiser.model.rules import (
    reach_table,
    unmet_needs,
    with_attributes,
)


class _Facts:
    """What every reason looks up, computed once (per-patient slices of numpy arrays by
    binary search, so that a national plan's thousands of reasons take well under a second)."""

    def __init__(self, formulation: Formulation, chosen: np.ndarray):
        snapshot = formulation.snapshot
        self.snapshot = snapshot
        self.formulation = formulation
        self.pairs = eligible_pairs(snapshot)
        self.reach = {locality: frame for locality, frame in reach_table(snapshot).groupby("locality")}
        variables = formulation.variables
        self.rooms = [(family, family.room(snapshot, variables[chosen])) for family in formulation.families]
        self._alone = None  # each family's alone check, prepared when first needed
        self.variable_patient = variables["patient"].to_numpy()
        self.variable_columns = {name: variables[name].to_numpy() for name in ("service", "day", "cost")}
        self.variable_columns["stage"] = stage_of(variables)
        self.pair_patient = self.pairs["patient"].to_numpy()
        self.dates = snapshot.date_of(np.arange(snapshot.horizon)).to_numpy()  # ISO date of each day
        self.service_ids = snapshot.services["service_id"].to_numpy()

    def variables_of(self, p: int) -> dict[str, np.ndarray]:
        """Service, day and cost of each of the patient's variables."""
        lo, hi = np.searchsorted(self.variable_patient, [p, p + 1])
        return {name: values[lo:hi] for name, values in self.variable_columns.items()}

    def services_of(self, p: int) -> np.ndarray:
        lo, hi = np.searchsorted(self.pair_patient, [p, p + 1])
        return self.pairs["service"].to_numpy()[lo:hi]


def unplaced_reasons(formulation: Formulation, x: np.ndarray) -> pd.DataFrame:
    """One row per unplaced patient: ``patient`` (index), ``patient_id``, ``cause``, ``reason``."""
    snapshot = formulation.snapshot
    patients = snapshot.patients
    variables = formulation.variables
    chosen = x > 0.5
    placed = np.zeros(len(patients), dtype=bool)
    placed[variables["patient"].to_numpy()[chosen]] = True
    unplaced = np.flatnonzero(~placed)
    if len(unplaced) == 0:
        return pd.DataFrame({"patient": [], "patient_id": [], "cause": [], "reason": []})

    facts = _Facts(formulation, chosen)
    has_pair = np.zeros(len(patients), dtype=bool)
    has_pair[facts.pair_patient] = True
    has_triple = np.zeros(len(patients), dtype=bool)
    has_triple[facts.variable_patient] = True
    horizon = snapshot.horizon
    earliest = patients["earliest_day"].to_numpy()

    no_service = _no_service_reasons(facts, unplaced[~has_pair[unplaced]])
    causes, reasons = [], []
    for p in unplaced:
        if not has_pair[p]:
            cause, reason = "no_eligible_service", no_service[p]
        elif earliest[p] >= horizon:
            start = snapshot.date_of([earliest[p]])[0]
            cause, reason = "horizon", f"horizon: earliest start {start} is past the horizon ({horizon} days)"
        elif not has_triple[p]:
            cause, reason = _no_triple_reason(facts, p)
        else:
            cause, reason = _crowded_out_reason(facts, p)
        causes.append(cause)
        reasons.append(reason)
    return pd.DataFrame(
        {"patient": unplaced, "patient_id": patients["patient_id"].to_numpy()[unplaced], "cause": causes, "reason": reasons}
    )


def _no_service_reasons(facts: _Facts, unplaced: np.ndarray) -> dict[int, str]:
    """Why each of these patients (none has an eligible service) has none: which reach and
    need rules (``rules.unmet_needs``) exclude the services of its pathway; one pass for all."""
    snapshot = facts.snapshot
    patients, services = snapshot.patients, snapshot.services
    service_pathway = services["pathway"].to_numpy()
    on_pathway = {pathway: int((service_pathway == pathway).sum()) for pathway in np.unique(patients["pathway"])}
    within = {}
    for p in unplaced:
        reach = facts.reach.get(patients["locality"].iat[p])
        if reach is None:
            within[p] = np.zeros(0, dtype=np.int64)
            continue
        service, minutes = reach["service"].to_numpy(), reach["minutes"].to_numpy()
        near = (service_pathway[service] == patients["pathway"].iat[p]) & (minutes <= patients["max_travel"].iat[p] + TOLERANCE)
        within[p] = service[near]
    lengths = [len(within[p]) for p in unplaced]
    pairs = pd.DataFrame(
        {
            "patient": np.repeat(unplaced, lengths).astype(np.int64),
            "service": np.concatenate([within[p] for p in unplaced] + [np.zeros(0, dtype=np.int64)]),
        }
    )
    position = np.repeat(np.arange(len(unplaced)), lengths)  # each pair's patient, as a position in ``unplaced``
    unmet = unmet_needs(with_attributes(snapshot, pairs))
    counts = {need: np.bincount(position[mask], minlength=len(unplaced)) for need, mask in unmet.items()}
    reasons = {}
    for i, p in enumerate(unplaced):
        pathway = patients["pathway"].iat[p]
        candidates = on_pathway[pathway]
        if candidates == 0:
            reasons[p] = f"no eligible service: the snapshot has no pathway-{pathway} service"
            continue
        out_of_reach = candidates - len(within[p])
        parts = []
        if out_of_reach:
            if pathway == 1:
                parts.append(
                    f"{out_of_reach} of {candidates} pathway-1 services do not cover locality {patients['locality'].iat[p]}"
                )
            else:
                parts.append(
                    f"{out_of_reach} of {candidates} pathway-{pathway} services are beyond reach "
                    f"(over {patients['max_travel'].iat[p]:g} min or no travel time)"
                )
        if len(within[p]):
            lacking = [f"{int(count[i])} lack {need.replace('_', '-')}" for need, count in counts.items() if count[i]]
            nearby = "covering it" if pathway == 1 else "within reach"
            parts.append(f"of the {len(within[p])} {nearby}, " + ", ".join(lacking))
        reasons[p] = "no eligible service: " + "; ".join(parts)
    return reasons


def _no_triple_reason(facts: _Facts, p: int) -> tuple[str, str]:
    """No triple although rules 1-3 leave services: a family's rule alone (the patient needs
    more than is ever free, or an item never in stock), most specific first; else timing."""
    services = facts.services_of(p)
    if facts._alone is None:
        ranked = sorted(facts.formulation.families, key=lambda family: family.alone_rank)
        facts._alone = [(family, family.alone(facts.snapshot)) for family in ranked]
    for family, alone in facts._alone:
        reason = alone(p, services)
        if reason is not None:
            return family.cause or family.name, reason
    return "horizon", "horizon: no eligible service admits on a day the patient can start within the horizon"


def _crowded_out_reason(facts: _Facts, p: int) -> tuple[str, str]:
    """The patient has triples but none the plan left room for: the first family (in row
    order) whose room closes every start the earlier ones leave open says why; if some
    start is open, the solver stopped first or waiting is cheaper. v2: for a patient who
    may bridge, the interim beds are asked too, and named when they are full as well."""
    formulation = facts.formulation
    mine = facts.variables_of(p)
    direct, entry = mine["stage"] == DIRECT, mine["stage"] == INTERIM
    s, d, cost = mine["service"][direct], mine["day"][direct], mine["cost"][direct]
    blocked = None
    open_now = np.ones(len(s), dtype=bool)
    if not direct.any():
        blocked = _no_triple_reason(facts, p)
    for family, room in facts.rooms if blocked is None else ():
        fits = open_now & room.fits(p, s, d)
        if not fits.any():
            blocked = family.cause or family.name, room.reason(p, s, d, open_now)
            break
        open_now = fits
    if entry.any():
        v, dv = mine["service"][entry], mine["day"][entry]
        open_entry = np.ones(len(v), dtype=bool)
        for family, room in facts.rooms:
            fits = open_entry & room.fits_entry(p, v, dv)
            if not fits.any():
                if blocked is not None:
                    what = "interim bed free" if family.name == "capacity" else f"interim entry allowed ({family.name})"
                    units = names(np.unique(facts.service_ids[v[open_entry]]))
                    return blocked[0], f"{blocked[1]}; no {what} at {units} either"
                break
            open_entry = fits
        else:  # an interim bed is open: the cheapest open choice says why nobody took it
            s, d = np.concatenate([s, v]), np.concatenate([d, dv])
            open_now = np.concatenate([open_now if blocked is None else np.zeros(len(open_now), bool), open_entry])
            cost = np.concatenate([cost, mine["cost"][entry]])
            blocked = None
    if blocked is not None:
        return blocked
    cheapest = int(np.argmin(np.where(open_now, cost, np.inf)))
    if cost[cheapest] < formulation.unplaced_cost[p] - TOLERANCE:
        date = facts.dates[d[cheapest]]
        return "solver_limit", (
            f"solver limit: {facts.service_ids[s[cheapest]]} has room on {date}, but the solver stopped before "
            "placing this patient; allow more time"
        )
    return "cost", "cost: placing this patient would cost more than waiting past the horizon (travel and preference weights)"
