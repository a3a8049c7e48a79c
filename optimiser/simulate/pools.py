"""Places by pool: what a service's places are counted in, for the flow simulation.

Pool 0 is the service's places as the flow contract counts them (beds, or carer-hours a
day on pathway 1); pools 1..B are the time-of-day bands of a v2 snapshot (contract 6.1), in
``snapshot.toml``'s order. A placement holds ``use(p)`` in pool 0 and its band use
``hours_b(p) x carers(p)`` in band b, for its whole stay.

Which pools bind at a service is rule 5's and 5b's: pool 0 where the service has an all-day
capacity row or no band rows (every bed service; every v1 service), band b where it has
band rows. A band-only service still has pool-0 places (the sum of its bands), which the
daily figures report, but no all-day capacity row in the day's state.

Places: pool 0 is ``places`` in services.csv, or the pool's capacity free on day 0 (the
all-day rows, or for a band-only service the sum of its band rows). The day-0 occupants
hold ``places - free`` in pool 0 and look like the average pathway-1 patient of the
snapshot in the bands: band b's places are its free carer-hours on day 0 plus that held
amount times the band's share of the average patient's use.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optimiser.data.snapshot import Snapshot
from optimiser.model.rules import band_of_rows, band_use


@dataclass(frozen=True)
class Pools:
    """Per service s and pool j (0 = places, 1.. = bands): ``places[s, j]``, ``free[s, j]``
    (capacity free on day 0) and ``binds[s, j]`` (the pool has capacity rows in the state)."""

    names: tuple[str, ...]  # "" for pool 0, then the band names
    places: np.ndarray
    free: np.ndarray
    binds: np.ndarray
    band_share: np.ndarray  # each band's share of the average pathway-1 patient's use

    @property
    def held(self) -> np.ndarray:
        """Each service's places held by the day-0 occupants, by pool."""
        return self.places - self.free


def pools_of(snapshot: Snapshot) -> Pools:
    """The snapshot's pools (module doc)."""
    bands = tuple(snapshot.settings.bands)
    services = snapshot.services
    n = len(services)
    capacity = snapshot.capacity
    on_day0 = capacity[snapshot.day_of(capacity["date"]) <= 0]
    band = band_of_rows(on_day0)
    free = np.zeros((n, 1 + len(bands)))
    index = snapshot.service_index
    all_day = on_day0[band == ""]
    np.add.at(free[:, 0], index.loc[all_day["service_id"]].to_numpy(), all_day["amount"].to_numpy(dtype=float))
    binds = np.zeros_like(free, dtype=bool)
    banded = on_day0[band != ""]
    with_bands = np.zeros(n, dtype=bool)
    with_bands[index.loc[capacity.loc[band_of_rows(capacity) != "", "service_id"]].to_numpy()] = True
    with_all_day = np.zeros(n, dtype=bool)
    with_all_day[index.loc[capacity.loc[band_of_rows(capacity) == "", "service_id"]].to_numpy()] = True
    binds[:, 0] = with_all_day | ~with_bands
    if bands:
        j = 1 + np.asarray([bands.index(b) for b in banded["band"]], dtype=np.int64)
        np.add.at(free, (index.loc[banded["service_id"]].to_numpy(), j), banded["amount"].to_numpy(dtype=float))
        binds[:, 1:] = with_bands[:, None]
        only = with_bands & ~with_all_day
        free[only, 0] = free[only, 1:].sum(axis=1)
    given = services["places"].to_numpy(dtype=float)
    places = free.copy()
    places[:, 0] = np.where(np.isnan(given), free[:, 0], given)
    share = np.zeros(len(bands))
    one = (snapshot.patients["pathway"] == 1).to_numpy()
    if bands and one.any():
        total = snapshot.patients.loc[one, "use"].to_numpy(dtype=float).sum()
        share = band_use(snapshot)[one].sum(axis=0) / total if total > 0 else share
        places[:, 1:] += np.where(with_bands[:, None], (places[:, 0] - free[:, 0])[:, None] * share[None, :], 0.0)
    return Pools(("", *bands), places, free, binds, share)


def patient_uses(snapshot: Snapshot) -> np.ndarray:
    """Each snapshot patient's use by pool: ``use(p)``, then its band uses."""
    use = snapshot.patients["use"].to_numpy(dtype=float)[:, None]
    if not snapshot.settings.bands:
        return use
    return np.hstack([use, band_use(snapshot)])
