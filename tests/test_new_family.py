"""A new constraint family is one file: a toy "at most K starts per hospital site per day",
written here only and added through the registry, is picked up by the formulation, the
greedy plan, the unplaced reasons, explain and the pinned-row checks with no other file
changed, and its optima match a brute force written apart from the model."""

from __future__ import annotations

import math
import random

import numpy as np
import pandas as pd
import pytest
from checker import brute_force_optimum, check_plan_folder
from family import bed_patient, care_home, home
from helpers import day, write_snapshot

from optimiser import InputError, allocate, build_formulation, explain, load_snapshot
from optimiser.data.reading import LINE
from optimiser.model.families import Family, Room, registered
from optimiser.model.rows import per_day_rows
from optimiser.solve.greedy import greedy_plan


class SiteStartsRoom(Room):
    def __init__(self, snapshot, placed, most, site_of):
        self.most, self.site_of = most, site_of
        self.starts = np.zeros((site_of.max() + 1, snapshot.horizon))
        np.add.at(self.starts, (site_of[placed["patient"].to_numpy()], placed["day"].to_numpy()), 1)
        self.sites = snapshot.patients["site"].to_numpy()

    def fits(self, p, service, day):
        return self.starts[self.site_of[p], day] < self.most

    def take(self, p, service, day):
        self.starts[self.site_of[p], day] += 1

    def why(self, p, service, day):
        return ["" if ok else f"site {self.sites[p]}: {self.most} starts that day already" for ok in self.fits(p, service, day)]

    def reason(self, p, service, day, open_before):
        return f"site starts: site {self.sites[p]} has its {self.most} starts a day on every day there is room"


class SiteStarts(Family):
    """At most ``most`` starts a day among the patients of one hospital site:

    sum_{p at site h, s} x[p, s, d] <= most      for sites h, days d
    """

    name = "site_starts"
    cause = "site_starts"

    def __init__(self, most: int):
        self.most = most

    def _site_of(self, snapshot):
        return pd.factorize(snapshot.patients["site"], sort=True)[0]

    def rows(self, snapshot, variables, naive=False):
        site_of = self._site_of(snapshot)
        sites = site_of.max() + 1 if len(site_of) else 0
        limit = np.full(sites, float(self.most))
        block, _, _ = per_day_rows(
            self.name, site_of[variables["patient"].to_numpy()], variables["day"].to_numpy(), sites, snapshot.horizon, limit
        )
        return block

    def room(self, snapshot, placed):
        return SiteStartsRoom(snapshot, placed, self.most, self._site_of(snapshot))

    def check_pinned(self, snapshot, pinned, problems):
        site = snapshot.patients["site"].to_numpy()[pinned["patient"].to_numpy()]
        counts = pd.Series(1, index=pd.MultiIndex.from_arrays([site, pinned["day"].to_numpy()])).groupby(level=[0, 1]).sum()
        for (where, d), count in counts.items():
            if count > self.most:
                for line in pinned.loc[(site == where) & (pinned["day"].to_numpy() == d), LINE]:
                    problems.add(
                        "pinned.csv", int(line), "patient_id", None, f"more than {self.most} pinned starts at site {where}"
                    )

    def start_intervals(self, snapshot, triples):
        return triples["day"].to_numpy()  # a per-day row: every day its own interval, none dropped


def two_patients_two_beds(folder, pinned=None, horizon=1):
    """Two care-home patients of site H and a home with two beds free from today."""
    return write_snapshot(
        folder,
        patients=[bed_patient("P1"), bed_patient("P2")],
        services=[care_home("C")],
        capacity=[{"service_id": "C", "date": day(0), "amount": 2}],
        pinned=pinned,
        horizon=horizon,
    )


def site_rule(most):
    """The same rule, read apart from the model (plain dicts of the checker)."""

    def rule(instance, plan):
        counts: dict = {}
        for p, (_, d) in plan.items():
            key = (instance.patients[p]["site"], d)
            counts[key] = counts.get(key, 0) + 1
        return [f"site starts at {key}: {n} > {most}" for key, n in counts.items() if n > most]

    return rule


def two_site_snapshot(folder, seed):
    """Patients of two sites, on pathways 1 and 3, with room enough that the site rule binds:
    two care homes and a home-care provider, a daily admission limit, a past ready date or two."""
    rng = random.Random(seed)
    patients = []
    for i in range(rng.randint(4, 6)):
        pathway = rng.choice([1, 3, 3])
        patients.append(
            {
                "patient_id": f"P{i}",
                "site": rng.choice(["H", "K"]),
                "locality": "A",
                "pathway": pathway,
                "ready_date": day(rng.randint(-3, 1)),
                "priority": rng.choice(["", 1, 2]),
                "care_hours": rng.choice([1, 2]) if pathway == 1 else "",
            }
        )
    services = [care_home("C1"), care_home("C2", max_admissions_per_day=rng.choice(["", 1])), home("R")]
    capacity = [
        {"service_id": "C1", "date": day(0), "amount": rng.randint(1, 3)},
        {"service_id": "C2", "date": day(rng.randint(0, 1)), "amount": rng.randint(1, 2)},
        {"service_id": "R", "date": day(0), "amount": rng.choice([2, 3, 4])},
    ]
    return write_snapshot(folder, patients, services, capacity, horizon=3)


@pytest.mark.parametrize("seed", range(12))
def test_the_optimum_with_the_new_family_matches_a_brute_force_with_the_rule(tmp_path, seed):
    folder = two_site_snapshot(tmp_path / "s", seed)
    most = 1 + seed % 2
    rule = site_rule(most)
    with registered(SiteStarts(most)):
        snapshot = load_snapshot(folder)
        plan = allocate(snapshot)
        formulation = build_formulation(snapshot)
        greedy = greedy_plan(formulation)
    assert [block.family for block in formulation.blocks][-1] == "site_starts"
    assert plan.status == "optimal"
    plan.write(tmp_path / "plan")
    violations, objective = check_plan_folder(folder, tmp_path / "plan", rules=[rule])
    assert violations == []
    assert math.isclose(objective, brute_force_optimum(folder, rules=[rule]), rel_tol=1e-9, abs_tol=1e-9)
    assert formulation.violations(greedy) == []  # the greedy asked the new family's room
    assert check_plan_folder(folder, tmp_path / "plan")[0] == []  # and kept the contract's own rules


def test_the_random_snapshots_are_ones_where_the_rule_binds(tmp_path):
    """Most of the snapshots above have a dearer optimum under the rule (so the match is a test of it)."""
    binding = 0
    for seed in range(12):
        folder = two_site_snapshot(tmp_path / f"s{seed}", seed)
        binding += brute_force_optimum(folder, rules=[site_rule(1 + seed % 2)]) > brute_force_optimum(folder) + 1e-9
    assert binding >= 6


def test_the_new_family_binds_and_reasons_and_explain_name_it(tmp_path):
    """Two patients of site H, two free care-home beds, one start a day from H, one day:
    one is placed; the other is unplaced because of the site rule, and explain says so."""
    folder = two_patients_two_beds(tmp_path / "s")
    assert allocate(load_snapshot(folder)).summary["placed"] == 2  # without the family both go
    with registered(SiteStarts(1)):
        snapshot = load_snapshot(folder)
        plan = allocate(snapshot)
        greedy = allocate(snapshot, solver="greedy")
        assert plan.summary["placed"] == 1 and greedy.summary["placed"] == 1
        (unplaced,) = plan.unplaced.itertuples()
        assert unplaced.cause == "site_starts"
        assert unplaced.reason == "site starts: site H has its 1 starts a day on every day there is room"
        explanation = explain(snapshot, plan.placements, unplaced.patient_id)
        (option,) = explanation.options
        assert option.days[0]["status"] == "site H: 1 starts that day already"


def test_pinned_rows_that_break_the_new_family_are_input_errors(tmp_path):
    pinned = [{"patient_id": "P1", "service_id": "C", "date": day(0)}, {"patient_id": "P2", "service_id": "C", "date": day(0)}]
    folder = two_patients_two_beds(tmp_path / "s", pinned=pinned, horizon=2)
    load_snapshot(folder)  # fine without the family
    with registered(SiteStarts(1)), pytest.raises(InputError) as error:
        load_snapshot(folder)
    assert [problem.line for problem in error.value.problems] == [2, 3]
    assert all("more than 1 pinned starts at site H" in str(problem) for problem in error.value.problems)


def test_dominance_rows_refuse_a_family_their_proof_does_not_cover(tmp_path):
    from optimiser.model.dominance import with_dominance

    folder = two_site_snapshot(tmp_path / "s", 0)
    with registered(SiteStarts(1)):
        formulation = build_formulation(load_snapshot(folder))
    with pytest.raises(ValueError, match="not for site_starts"):
        with_dominance(formulation)


class LyingSiteStarts(SiteStarts):
    """The same rows, but a room that never says no: its greedy plan breaks the rows."""

    def room(self, snapshot, placed):
        return Room()


def test_a_warm_start_that_breaks_the_rows_is_not_trusted(tmp_path):
    from optimiser import solve

    folder = two_patients_two_beds(tmp_path / "s")
    with registered(LyingSiteStarts(1)):
        formulation = build_formulation(load_snapshot(folder))
    assert formulation.violations(greedy_plan(formulation)) == ["site_starts[0,0]"]
    with pytest.raises(AssertionError, match="the warm start breaks rows"):
        solve(formulation, "highs")
    assert solve(formulation, "highs", warm_start=False).objective > 0  # without it, the solve is fine
