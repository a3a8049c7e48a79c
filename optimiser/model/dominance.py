"""Dominance rows: patients who can stand in for each other, ordered so the search sees one of them.

Pathway-1 components are multi-knapsacks over time where many patients are
alike (same package size, same providers, same equipment). Branch and bound
then explores every way of swapping them. These rows keep at least one
optimal plan and cut the swapped copies.

A slot is a (service, day) where a patient has a variable; c_p(a) is the
objective coefficient of patient p in slot a (cost - U(p), so 0 is
"unplaced"). Patient p *dominates* q (p > q) when neither is pinned, both are
on pathway 1, and

    use(p) <= use(q),  items(p) within items(q) (same store when p needs any),
    slots(q) within slots(p),  c_p(a) <= c_q(a) for every slot a of q.

Then, whenever q is placed and p is not, giving q's place to p keeps every
row (p uses no more carer-hours and no other items; the admission count is
unchanged) and costs no more, so some optimal plan has

    sum_{s, d} x[q, s, d] <= sum_{s, d} x[p, s, d]                        (A)

If moreover p and q have the same slots, use and items, and
h(a) = c_p(a) - c_q(a) never decreases with the day of a, then whenever q
starts before p, swapping their places keeps every row and costs no more:

    sum_{s, d <= t} x[q, s, d] <= sum_{s, d <= t} x[p, s, d]   for days t  (B)

Why all rows hold at once in some optimal plan: take an optimal plan and
swap while a row is broken. Number the patients along the (acyclic)
dominance order, pi(p) > pi(q) when p > q. An (A) swap raises
sum_{placed} pi; a (B) swap keeps who is placed and raises
sum_p pi(p) (D - day(p)). So (first, second) rises strictly at each swap,
and swaps stop at an optimal plan that keeps every row. The optimum is that
of the model without these rows, and a bound on the model with them is a
bound on the model without them.

Coefficients are compared after rounding to 1e-9 (so "no more" is a preorder,
and patients equal in everything are ordered by patient_id, never both ways).
Only covering pairs get rows (p > r > q makes p > q redundant).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import scipy.sparse as sp

from optimiser.model.formulation import Formulation
from optimiser.model.rows import RowBlock

DIGITS = 9


@dataclass
class Dominance:
    """Covering pairs (better, worse) as patient indices; ``ordered``: pairs that also get (B) rows."""

    better: np.ndarray
    worse: np.ndarray
    ordered: np.ndarray  # bool per pair


def find_dominance(formulation: Formulation) -> Dominance:
    """The covering dominance pairs among the formulation's pathway-1 patients (module doc)."""
    empty = Dominance(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, bool))
    variables = formulation.variables
    patients = formulation.snapshot.patients
    if len(variables) == 0:
        return empty
    patient = variables["patient"].to_numpy()
    pinned = np.zeros(len(patients), dtype=bool)
    pinned[patient[formulation.lower > 0]] = True
    candidate = (patients["pathway"].to_numpy()[patient] == 1) & ~pinned[patient]
    columns = np.flatnonzero(candidate)
    if len(columns) == 0:
        return empty

    # Slots as a patient x slot matrix (one entry per variable).
    service = variables["service"].to_numpy()[columns]
    day = variables["day"].to_numpy()[columns]
    horizon = int(variables["day"].max()) + 1
    slot = service.astype(np.int64) * horizon + day
    who = patient[columns]
    people, row = np.unique(who, return_inverse=True)
    slots, col = np.unique(slot, return_inverse=True)
    cost = np.round(formulation.objective[columns], DIGITS)
    incidence = sp.csr_matrix((np.ones(len(columns)), (row, col)), shape=(len(people), len(slots)))
    size = np.asarray(incidence.sum(axis=1)).ravel()

    # Candidate pairs: q's slots all among p's.
    shared = (incidence @ incidence.T).tocoo()
    better, worse = shared.row, shared.col
    keep = (better != worse) & (np.round(shared.data) == size[worse])
    better, worse = better[keep], worse[keep]

    use = patients["use"].to_numpy(dtype=float)[people]
    store = patients["store"].to_numpy()[people] if "store" in patients else np.full(len(people), None)
    items = _item_masks(patients["equipment"].to_numpy()[people])
    keep = use[better] <= use[worse] + 1e-12
    keep &= (items[better] & ~items[worse]) == 0
    keep &= (items[better] == 0) | (store[better] == store[worse])
    better, worse = better[keep], worse[keep]
    if len(better) == 0:
        return empty

    # c_p(a) <= c_q(a) on q's slots, and whether h = c_p - c_q rises with the day.
    key = row.astype(np.int64) * len(slots) + col
    order = np.argsort(key)
    key, cost_sorted, day_sorted = key[order], cost[order], day[order]
    starts = incidence.indptr
    counts = size[worse].astype(np.int64)
    pair = np.repeat(np.arange(len(better)), counts)
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    position = np.repeat(starts[worse], counts) + (np.arange(counts.sum()) - np.repeat(offsets, counts))
    q_slot = incidence.indices[position]
    q_at = np.searchsorted(key, worse[pair].astype(np.int64) * len(slots) + q_slot)
    q_cost = cost_sorted[q_at]
    p_cost = cost_sorted[np.searchsorted(key, better[pair].astype(np.int64) * len(slots) + q_slot)]
    h = p_cost - q_cost
    worst = np.full(len(better), -np.inf)
    np.maximum.at(worst, pair, h)
    keep = worst <= 0
    identical = (
        (size[better] == size[worse])
        & (use[better] == use[worse])
        & (items[better] == items[worse])
        & ((items[better] == 0) | (store[better] == store[worse]))
    )
    both = np.ones(len(better), dtype=bool)
    np.logical_and.at(both, pair, h == 0)
    alike = identical & both
    keep &= ~alike | (people[better] < people[worse])  # equal in everything: patient_id order decides
    rising = _rises_with_day(pair, day_sorted[q_at], h, len(better))

    better, worse, rising, identical = better[keep], worse[keep], rising[keep], identical[keep]
    cover = _covering(better, worse, len(people))
    return Dominance(people[better[cover]], people[worse[cover]], (identical & rising)[cover])


def define_dominance(formulation: Formulation, dominance: Dominance | None = None) -> RowBlock:
    """Rows (A) and (B) of the module doc for the covering pairs, as ``<=`` rows.

        sum_{s, d <= t} x[q, s, d] - sum_{s, d <= t} x[p, s, d] <= 0

    with t = the last day for (A), and every earlier day of p's slots for (B).
    """
    dominance = find_dominance(formulation) if dominance is None else dominance
    variables = formulation.variables
    patient = variables["patient"].to_numpy()
    day = variables["day"].to_numpy()
    columns_of = pd.Series(np.arange(len(variables))).groupby(patient).apply(np.asarray).to_dict()
    rows, cols, coefs, keys = [], [], [], []
    last = int(day.max()) + 1 if len(day) else 0
    for p, q, ordered in zip(dominance.better, dominance.worse, dominance.ordered):
        days = np.unique(day[columns_of[p]])[:-1] if ordered else np.zeros(0, np.int64)
        for t in [*days.tolist(), last]:
            mine = columns_of[q][day[columns_of[q]] <= t]
            theirs = columns_of[p][day[columns_of[p]] <= t]
            index = len(keys)
            rows += [np.full(len(mine) + len(theirs), index)]
            cols += [mine, theirs]
            coefs += [np.ones(len(mine)), -np.ones(len(theirs))]
            keys.append((p, q, t))
    snapshot = formulation.snapshot
    ids = snapshot.patients["patient_id"].to_numpy()
    table = pd.DataFrame(keys, columns=["better", "worse", "day"])
    named = pd.DataFrame(
        {
            "patient_id": ids[table["better"].to_numpy(dtype=np.int64)] if len(table) else [],
            "stands_in_for": ids[table["worse"].to_numpy(dtype=np.int64)] if len(table) else [],
            "by_day": table["day"].to_numpy(),
        }
    )
    if not keys:
        return RowBlock("dominance", named, np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), np.zeros(0))
    return RowBlock(
        "dominance",
        named,
        np.concatenate(rows),
        np.concatenate(cols),
        np.concatenate(coefs),
        np.zeros(len(keys)),
    )


PROVEN_FOR = ("assignment", "capacity", "admissions", "equipment")  # the families the proof above covers


def with_dominance(formulation: Formulation) -> tuple[Formulation, Dominance]:
    """The formulation with its dominance rows added (same variables, same optimum).

    The proof covers the families in ``PROVEN_FOR`` only; another family with rows in this
    model could tell p and q apart, so with one the rows are refused (ValueError)."""
    with_rows = {block.family for block in formulation.blocks if block.size}
    unproven = [family.name for family in formulation.families if family.name not in PROVEN_FOR and family.name in with_rows]
    if unproven:
        raise ValueError(f"dominance rows are proven for {', '.join(PROVEN_FOR)} only, not for {', '.join(unproven)}")
    dominance = find_dominance(formulation)
    block = define_dominance(formulation, dominance)
    if block.size == 0:
        return formulation, dominance
    blocks = [b for b in formulation.blocks if b.family != "dominance"] + [block]
    return _replace_blocks(formulation, blocks), dominance


def without_dominance(formulation: Formulation) -> Formulation:
    """The formulation without dominance rows (for searches that want every plan)."""
    if all(b.family != "dominance" for b in formulation.blocks):
        return formulation
    return _replace_blocks(formulation, [b for b in formulation.blocks if b.family != "dominance"])


def repair(formulation: Formulation, dominance: Dominance, x: np.ndarray) -> np.ndarray:
    """A plan no dearer than the feasible 0/1 vector x that keeps the dominance rows.

    The swaps of the module doc, until no row is broken (they stop: see there).
    """
    x = np.round(np.asarray(x, dtype=float)).copy()
    if len(dominance.better) == 0:
        return x
    variables = formulation.variables
    patient = variables["patient"].to_numpy()
    service = variables["service"].to_numpy()
    day = variables["day"].to_numpy()
    column = {(int(p), int(s), int(d)): i for i, (p, s, d) in enumerate(zip(patient, service, day))}
    placed = {int(patient[i]): int(i) for i in np.flatnonzero(x > 0.5)}
    pairs = list(zip(dominance.better.tolist(), dominance.worse.tolist(), dominance.ordered.tolist()))
    changed, passes = True, 0
    while changed:
        changed, passes = False, passes + 1
        if passes > 4 * len(pairs) + 10:  # cannot happen for an acyclic order (module doc)
            raise RuntimeError("dominance repair did not settle: the order has a cycle")
        for p, q, ordered in pairs:
            if q not in placed:
                continue
            at_q = placed[q]
            if p not in placed:  # (A): p takes q's place
                x[at_q] = 0
                mine = column[(p, int(service[at_q]), int(day[at_q]))]
                x[mine] = 1
                placed[p] = mine
                del placed[q]
                changed = True
            elif ordered and day[at_q] < day[placed[p]]:  # (B): swap places
                at_p = placed[p]
                x[at_q] = x[at_p] = 0
                p_new = column[(p, int(service[at_q]), int(day[at_q]))]
                q_new = column[(q, int(service[at_p]), int(day[at_p]))]
                x[p_new] = x[q_new] = 1
                placed[p], placed[q] = p_new, q_new
                changed = True
    return x


def _replace_blocks(formulation: Formulation, blocks: list[RowBlock]) -> Formulation:
    return replace(formulation, blocks=blocks)


def _item_masks(equipment: np.ndarray) -> np.ndarray:
    """Each patient's items as bits of one integer (Python ints: any number of items)."""
    names = sorted({item for items in equipment for item in (items or ())})
    bit = {name: 1 << i for i, name in enumerate(names)}
    masks = [sum(bit[item] for item in set(items or ())) for items in equipment]
    if len(names) <= 62:
        return np.asarray(masks, dtype=np.int64)
    return np.asarray(masks, dtype=object)


def _rises_with_day(pair: np.ndarray, day: np.ndarray, h: np.ndarray, pairs: int) -> np.ndarray:
    """Per pair: h never decreases with the day (max of h on a day <= min of h on every later day)."""
    if len(pair) == 0:
        return np.zeros(pairs, dtype=bool)
    frame = pd.DataFrame({"pair": pair, "day": day, "h": h})
    by_day = frame.groupby(["pair", "day"], sort=True)["h"].agg(["min", "max"]).reset_index()
    running = by_day.groupby("pair")["max"].cummax()
    previous = running.groupby(by_day["pair"]).shift(1)
    broken = (by_day["min"] < previous).groupby(by_day["pair"]).any()
    rising = np.ones(pairs, dtype=bool)
    rising[broken.index.to_numpy()[broken.to_numpy()]] = False
    return rising


def _covering(better: np.ndarray, worse: np.ndarray, n: int) -> np.ndarray:
    """Pairs (p, q) of the order with no r such that p > r > q (a transitive reduction)."""
    if len(better) == 0:
        return np.zeros(0, dtype=bool)
    order = sp.csr_matrix((np.ones(len(better)), (better, worse)), shape=(n, n))
    through = (order @ order).tocsr()
    through.data[:] = 1
    implied = np.asarray(through[better, worse]).ravel() > 0
    return ~implied
