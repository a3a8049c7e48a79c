"""The order in which IPACS lists its scenarios (the columns of its output files).

IPACS names a scenario ``{node}_{capacity}_{los}_{arrivals}`` and takes the order from R: the
``arrivals`` rows are merged by ``node`` with ``capacity``, ``los`` and ``initial conditions``
(``merge(..., all = TRUE)``), and a scenario comes where its name first appears. R's merge
pairs the rows of one node in the order its internal Shell sort leaves them, which is not
stable; the final sort by node is. This module computes that order from the sheets' row
order, so our files have IPACS's columns in IPACS's order for any workbook.
"""

from __future__ import annotations


def shell_sort_with_index(keys: list[int]) -> list[int]:
    """The 0-based positions of ``keys`` in the order R's ``isort_with_index`` leaves them
    (Shell sort, gaps 1, 4, 13, ... up to n / 9; equal keys keep no particular order)."""
    x = list(keys)
    index = list(range(len(keys)))
    n = len(x)
    h = 1
    while h <= n // 9:
        h = 3 * h + 1
    while h > 0:
        for i in range(h, n):
            v, iv = x[i], index[i]
            j = i
            while j >= h and x[j - h] > v:
                x[j], index[j] = x[j - h], index[j - h]
                j -= h
            x[j], index[j] = v, iv
        h //= 3
    return index


def merge_by_node(left: list[dict], right: list[dict]) -> list[dict]:
    """R's ``merge(left, right, by = "node", all = TRUE)`` for rows whose nodes all appear in
    both tables: the joined rows in the order R gives them."""
    common = [row["node"] for row in left if row["node"] in {r["node"] for r in right}]
    first = {}
    for position, node in enumerate(common, start=1):
        first.setdefault(node, position)
    left_keys = [first.get(row["node"], 0) for row in left]
    right_keys = [first.get(row["node"], 0) for row in right]
    left_order = shell_sort_with_index(left_keys)
    right_order = shell_sort_with_index(right_keys)
    groups_right: dict[int, list[int]] = {}
    for position in right_order:
        if right_keys[position] > 0:
            groups_right.setdefault(right_keys[position], []).append(position)
    pairs, seen = [], set()
    for position in left_order:
        key = left_keys[position]
        if key == 0 or key in seen:
            continue
        seen.add(key)
        lefts = [p for p in left_order if left_keys[p] == key]
        pairs += [(a, b) for a in lefts for b in groups_right.get(key, [])]
    rows = [{**left[a], **right[b]} for a, b in pairs]
    return sorted(rows, key=lambda row: row["node"].encode())  # R's radix order: stable, C locale


def scenario_order(arrivals: list[dict], capacity: list[dict], los: list[dict], initial: list[dict]) -> list[str]:
    """Scenario names in IPACS's order. Each row is a dict with ``node`` and the sheet's
    scenario column (``arrival``, ``capacity_scenario``, ``los_scenario``)."""
    rows = merge_by_node(merge_by_node(merge_by_node(arrivals, capacity), los), initial)
    names: dict[str, None] = {}
    for row in rows:
        names.setdefault(f"{row['node']}_{row['capacity_scenario']}_{row['los_scenario']}_{row['arrival_scenario']}")
    return list(names)
