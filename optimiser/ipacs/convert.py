"""From IPACS's aggregate flow to patients: a contract snapshot and a ``flow.toml``.

One scenario (``CAP_LOS_ARR``, e.g. ``BCap_Blos_BArr``, the same for every node) becomes:

- ``localities.csv``: one locality per IPACS place (B, NS, SG, ...), one acute site each
  (``ACUTE-B``, ...).
- ``services.csv``: one service per node (``P2_B`` ...): pathway and locality from the node,
  no needs; ``places`` its capacity, in beds (pathways 2, 3) or carer-hours a day (pathway 1,
  taking one visit slot as one carer-hour: capacity x IPACS's visits a day).
- ``capacity.csv``: what is free on day 0, places less the initial occupants (none when the
  occupants fill it: a node with more occupants than beds starts full).
- ``patients.csv``: the initial queue (``dtoc``) of each node as patients already waiting
  (ready the day before the snapshot), at the node's site and locality; a pathway-1 patient
  needs (IVR + FVR) / 2 carer-hours a day, the mean of IPACS's visit profile.
- ``snapshot.toml``: the workbook's first date, a 14-day horizon.
- ``flow.toml``: the run as long as the workbook's dates; one arrival rate per node (its
  mean over the dates, at its site) and the weekday pattern of all the nodes' arrivals
  together; per pathway a lognormal stay from the arrival-weighted median and mean of its
  nodes (the flow file has one stay per pathway); IPACS's costs (acute delayed day, community
  cost per bed-day or slot); ready on the day they arrive (``notice_days = 0``).

IPACS's nodes are separate: a patient only goes to its own locality's service. With
``travel_minutes`` the bed services (pathways 2, 3) of every locality are that many minutes
from the others, so the optimiser can place across localities (within the patients'
default 60-minute limit).
"""

from __future__ import annotations

import datetime as dt
import difflib
from pathlib import Path

import numpy as np
import pandas as pd

from optimiser.data.files import write_folder
from optimiser.data.problems import InputError, ProblemList
from optimiser.ipacs.visits import package_lengths
from optimiser.ipacs.workbook import Workbook
from optimiser.simulate.flow import policy_lines

HORIZON_DAYS = 14


def scenario_suffixes(workbook: Workbook) -> list[str]:
    """The ``CAP_LOS_ARR`` parts every node has, in IPACS's order."""
    by_node: dict[str, list[str]] = {}
    for s in workbook.scenarios:
        by_node.setdefault(s.node, []).append(f"{s.capacity_scenario}_{s.los_scenario}_{s.arrival_scenario}")
    common = None
    for suffixes in by_node.values():
        common = list(suffixes) if common is None else [x for x in common if x in suffixes]
    return common or []


def _csv(rows: list[dict], columns: list[str]) -> str:
    return pd.DataFrame(rows, columns=columns).to_csv(index=False)


def converted_files(
    workbook: Workbook, scenario: str | None = None, travel_minutes: float | None = None, runs: int = 20, seed: int = 1
) -> dict[str, str]:
    """The snapshot's files and ``flow.toml`` for one scenario (module doc)."""
    choices = scenario_suffixes(workbook)
    chosen = choices[0] if scenario is None else scenario
    if chosen not in choices:
        problems = ProblemList()
        close = difflib.get_close_matches(chosen, choices, n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        problems.add("--scenario", None, None, chosen, f"is not a scenario of every node; {hint}use one of {', '.join(choices)}")
        raise InputError(problems, subject="conversion")
    capacity_scenario, los_scenario, arrival_scenario = chosen.split("_")
    nodes = sorted({s.node for s in workbook.scenarios})
    places = sorted({node.split("_", 1)[1] for node in nodes})
    today = workbook.dates[0]
    per_visit = workbook.visits_a_day()

    localities = [{"locality_id": p, "name": f"IPACS place {p}", "equipment_store": ""} for p in places]
    services, capacity, patients, rates = [], [], [], []
    problems = ProblemList()
    for node in nodes:
        pathway, place = int(node[1]), node.split("_", 1)[1]
        stay = workbook.stays[(node, los_scenario)]
        size = workbook.capacity[(node, capacity_scenario)]
        hours = (int(stay.ivr) + int(stay.fvr)) / 2 if pathway == 1 else 1.0
        total = size * per_visit if pathway == 1 else size
        occupied = workbook.occupants[node] * hours
        services.append(
            {
                "service_id": node,
                "name": f"IPACS {node} ({capacity_scenario})",
                "pathway": pathway,
                "locality": place,
                "dementia": "yes",
                "nursing": "yes",
                "bariatric": "yes",
                "double_handed": "yes",
                "places": total,
            }
        )
        capacity.append({"service_id": node, "date": today.isoformat(), "amount": max(total - occupied, 0.0)})
        queue = workbook.queue[node]
        if queue == 0:
            problems.add(
                "initial conditions",
                None,
                "dtoc",
                f"{node}: 0",
                "the patient-level flow copies new patients from the node's waiting ones; give it at least one",
            )
        for k in range(queue):
            patients.append(
                {
                    "patient_id": f"{node}-Q{k + 1:03d}",
                    "site": f"ACUTE-{place}",
                    "locality": place,
                    "pathway": pathway,
                    "ready_date": (today - dt.timedelta(days=1)).isoformat(),
                    "priority": 1,
                    "care_hours": hours if pathway == 1 else "",
                    "carers": 1 if pathway == 1 else "",
                }
            )
        rates.append((pathway, f"ACUTE-{place}", float(workbook.arrivals[(node, arrival_scenario)].mean())))
    if problems:
        raise InputError(problems, subject="conversion")

    travel = []
    if travel_minutes is not None:
        travel = [{"from_locality": a, "to_locality": b, "minutes": travel_minutes} for a in places for b in places if a != b]
    files = {
        "snapshot.toml": f"# converted from the IPACS workbook {workbook.source.name}, scenario {chosen}; aggregate figures, no patients\n"
        f"snapshot_date = {today.isoformat()}\nhorizon_days = {HORIZON_DAYS}\n",
        "localities.csv": _csv(localities, ["locality_id", "name", "equipment_store"]),
        "services.csv": _csv(
            services, ["service_id", "name", "pathway", "locality", "dementia", "nursing", "bariatric", "double_handed", "places"]
        ),
        "capacity.csv": _csv(capacity, ["service_id", "date", "amount"]),
        "patients.csv": _csv(
            patients, ["patient_id", "site", "locality", "pathway", "ready_date", "priority", "care_hours", "carers"]
        ),
        "flow.toml": _flow(workbook, nodes, arrival_scenario, los_scenario, rates, runs, seed),
    }
    if travel:
        files["travel.csv"] = _csv(travel, ["from_locality", "to_locality", "minutes"])
    return files


def _flow(workbook: Workbook, nodes: list[str], arrival: str, los: str, rates, runs: int, seed: int) -> str:
    total = sum(workbook.arrivals[(node, arrival)] for node in nodes)
    weekdays = np.array([d.weekday() for d in workbook.dates])
    by_weekday = np.array([total[weekdays == w].mean() if (weekdays == w).any() else total.mean() for w in range(7)])
    factor = by_weekday / total.mean() if total.mean() > 0 else np.ones(7)
    first_bed = next((n for n in nodes if n.startswith("P2_")), nodes[0])
    community = {}
    for pathway in (1, 2, 3):
        members = [n for n in nodes if n.startswith(f"P{pathway}_")]
        community[pathway] = workbook.community_cost[members[0]] if members else 0.0
    lines = [
        f"# converted from the IPACS workbook {workbook.source.name}: arrivals {arrival}, stays {los}; aggregate figures, no patients",
        f"days = {workbook.days}",
        f"runs = {runs}",
        f"seed = {seed}",
        'policies = ["optimiser", "fifo"]',
        f"bed_day_cost = {workbook.acute_cost[first_bed]:g}",
        "community_cost = { " + ", ".join(f"pathway{p} = {c:g}" for p, c in community.items()) + " }",
        "",
        "[arrivals]",
        "notice_days = 0",
        "weekday_factor = [" + ", ".join(f"{f:.3f}" for f in factor) + "]",
    ]
    for pathway, site, per_day in rates:
        lines += ["", "[[arrivals.rate]]", f"pathway = {pathway}", f'site = "{site}"', f"per_day = {per_day:.4f}"]
    lines += ["", "[length_of_stay]"]
    for pathway in (1, 2, 3):
        members = [n for n in nodes if n.startswith(f"P{pathway}_")]
        if not members:
            continue
        weights = np.array([workbook.arrivals[(n, arrival)].sum() for n in members], dtype=float)
        weights = weights / weights.sum() if weights.sum() > 0 else np.full(len(members), 1 / len(members))
        if pathway == 1:  # as the visit model draws packages: rounded and cut at mean + 3 sd
            moments = [package_lengths(workbook.stays[(n, los)], workbook.stays[(n, los)].sigma) for n in members]
        else:
            moments = [(workbook.stays[(n, los)].median, workbook.stays[(n, los)].mean) for n in members]
        median = float(sum(w * m[0] for w, m in zip(weights, moments)))
        mean = float(sum(w * m[1] for w, m in zip(weights, moments)))
        lines.append(f"pathway{pathway} = {{ median = {median:.3f}, mean = {max(mean, median):.3f} }}")
    lines += ["", *policy_lines(), ""]
    return "\n".join(lines)


def convert_ipacs(
    workbook: Workbook,
    out: str | Path,
    scenario: str | None = None,
    travel_minutes: float | None = None,
    runs: int = 20,
    seed: int = 1,
) -> list[Path]:
    """Write the converted snapshot folder (with its ``flow.toml``) to ``out``, all together."""
    return write_folder(Path(out), converted_files(workbook, scenario, travel_minutes, runs, seed))
