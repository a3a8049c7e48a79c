"""The ``lookahead`` policy: the daily optimiser, told what the flow file says about the days
it plans, and aimed at what the simulation measures.

Each morning it solves the same model as ``optimiser`` on the same state, changed in up to
three ways (by default flat harm only: the measured best), each using only what a hub knows that morning (the flow file's rates, the case mix of
the snapshot's patients, today's waiting list), never the run's own future draws:

- ``phantoms``: the newcomers the flow file expects over the plan's days (rate x weekday
  factor, per pathway and site) join the plan as patients copied from the snapshot's, ready
  ``notice_days`` after they would arrive. They take no place today (they are not ready),
  but they compete for the places of the days after, so today's plan leaves room where
  tomorrow's expected patients would use it better. Their number and the patients they copy
  are drawn from the policy's own stream, seeded by (flow seed, run, day): the run's
  arrivals stream is not read.
- ``flat_harm``: a day waited costs its patient's priority whatever the wait so far (the
  weight ``wait_growth_days`` made very large), as delayed bed-days count days, not how
  long each patient has waited; ``max_wait_days`` keeps the tail in check where a hub wants it.
- ``capacity_price``: a pathway-1 start costs ``capacity_price x (use / mean use - 1)`` more
  (in acute days): a package of twice the mean carer-hours holds the hours of two patients for
  a whole stay, which a one-day plan does not see. Zero on average, so placing is not
  discouraged, only the order among patients changed; beds (use 1) are untouched.

Only the real patients' starts on the day are carried out. ``benchmarks/README.md`` records
what each part bought on ``ics`` and ``ics-v2``, including those that did not help.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from optimiser.model.families.base import DIRECT, stage_of

PHANTOM = "~"  # phantom patients' ids begin with it (repeated until no real patient's id does)
FLAT_GROWTH = 1e9  # wait_growth_days of flat harm


@dataclass(frozen=True)
class Lookahead:
    """The lookahead policy's parts (module doc); the flow file's ``[lookahead]`` table."""

    phantoms: bool = False  # measured: no fewer delayed bed-days on ics, more on ics-v2 (benchmarks/README.md)
    flat_harm: bool = True
    capacity_price: float = 0.0

    def as_dict(self) -> dict:
        return {"phantoms": self.phantoms, "flat_harm": self.flat_harm, "capacity_price": self.capacity_price}


def phantom_patients(snapshot, flow, run: int, t: int, plan_days: int, columns: list[str]) -> pd.DataFrame:
    """The expected newcomers ready within the plan of day t, as patients.csv rows copied from
    the snapshot's patients (``template`` added: the position of the patient copied).

    Newcomers arriving on day t + j (j >= 1) are ready on t + j + notice_days; those ready
    before the plan ends (t + plan_days) join it. Their count per (rate, day) is the expected
    rate rounded at random, and the patients copied are drawn at random from the rate's
    pathway (and site), from the policy's own stream (module doc)."""
    rng = np.random.default_rng(np.random.SeedSequence([flow.seed, run, t, 0x10A]))
    patients = snapshot.patients
    origin = snapshot.snapshot_date
    templates, ready = [], []
    for j in range(1, max(plan_days - flow.notice_days, 1)):
        day = t + j
        weekday = (origin + dt.timedelta(days=day)).weekday()
        for rate in flow.rates:
            expected = rate.per_day * flow.weekday_factor[weekday]
            count = int(np.floor(expected + rng.random()))
            mine = patients["pathway"].to_numpy() == rate.pathway
            if rate.site is not None:
                mine &= patients["site"].to_numpy() == rate.site
            pool = np.flatnonzero(mine)
            if count and len(pool):
                templates.append(rng.choice(pool, size=count))
                ready.append(np.full(count, day + flow.notice_days))
    if not templates:
        return pd.DataFrame(columns=[*columns, "template"])
    template = np.concatenate(templates)
    ready_day = np.concatenate(ready)
    phantoms = patients.iloc[template][columns].copy().reset_index(drop=True)
    prefix = PHANTOM
    while patients["patient_id"].str.startswith(prefix).any():
        prefix += PHANTOM
    phantoms["patient_id"] = [f"{prefix}{t}-{k}" for k in range(len(template))]
    phantoms["ready_date"] = pd.to_datetime([origin + dt.timedelta(days=int(d)) for d in ready_day])
    if "earliest_date" in phantoms:
        phantoms["earliest_date"] = pd.NaT
    if "nhs_number" in phantoms:
        phantoms["nhs_number"] = None
    phantoms["template"] = template
    return phantoms


def price_capacity(formulation, lookahead: Lookahead) -> None:
    """Add the capacity price to the pathway-1 starts of a formulation (module doc)."""
    if lookahead.capacity_price <= 0:
        return
    variables = formulation.variables
    patients = formulation.snapshot.patients
    pathway = patients["pathway"].to_numpy()[variables["patient"].to_numpy()]
    home_care = (pathway == 1) & (stage_of(variables) == DIRECT)
    if not home_care.any():
        return
    use = variables["use"].to_numpy(dtype=float)
    mean = float(patients.loc[patients["pathway"] == 1, "use"].mean())
    formulation.objective = formulation.objective + np.where(home_care, lookahead.capacity_price * (use / mean - 1.0), 0.0)
