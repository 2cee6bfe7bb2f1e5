"""Balance of Most Similar Groups, and groups chosen for it: pure numpy on z-score matrices.

"The individual partnership areas in a given MSG are not identical to the partnership in question, but the
average of their characteristics is very nearly identical": that is what makes the group's average the area's
expected level. This module measures how nearly (``gaps``, ``rms``, ``best_possible``) and chooses groups that
keep the promise (``balanced``, ``synthetic``); ``perfwork.peers`` turns them into groups frames.

Conventions: ``z`` is the (areas x characteristics) matrix of z-scores, ``cw`` the characteristic weights
(>= 0; the distance is sum cw (z_a - z_b)^2), ``order`` each area's other areas nearest first (n x n-1).
A group is a members matrix (areas x slots, -1 = empty slot) with member weights (0 in empty slots).
"""

from __future__ import annotations

import numpy as np

# Thresholds of the words (RMS gap in SD units): "very nearly identical" is within GOOD.
GOOD, FAIR = 0.1, 0.2
PENALTY = 0.1          # balanced: weight of the members' mean squared distance beside the squared gap
CANDIDATES = 6         # balanced / synthetic: candidates = this many times k nearest areas


def gaps(z: np.ndarray, members: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """(areas x characteristics): the group's weighted mean z-score minus the area's own, in SD units.
    ``weights`` None = equal weights over the filled slots; rows without members are NaN."""
    filled = members >= 0
    w = filled.astype("float64") if weights is None else np.where(filled, weights, 0.0)
    tot = w.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.einsum("am,amv->av", w, z[np.where(filled, members, 0)]) / tot
    return mean - z[: len(members)]


def rms(g: np.ndarray, cw: np.ndarray) -> np.ndarray:
    """Overall balance: the root mean square of the gaps, weighted by the characteristic weights."""
    return np.sqrt((g ** 2 * cw).sum(axis=1) / cw.sum())


def _scaled(z: np.ndarray, cw: np.ndarray) -> np.ndarray:
    """z-scores scaled so that plain squared norms are the weighted mean squares used by ``rms``."""
    return z * np.sqrt(cw / cw.sum())


def balanced(z: np.ndarray, cw: np.ndarray, order: np.ndarray, k: int, candidates: int | None = None,
             penalty: float = PENALTY) -> np.ndarray:
    """k members per area chosen among its ``candidates`` nearest areas so that their mean matches the area.

    Minimises  gap^2 + penalty x (members' mean squared distance), both as weighted mean squares over the
    characteristics, by best-improvement swaps (one member out, one candidate in) starting from the k nearest
    until no swap improves. The penalty keeps members from being far apart merely to average out: a spread
    group over-states a rate that grows exponentially with a characteristic. Deterministic (ties go to the
    earlier candidate, i.e. the nearer, then the lower code, as ``order``). Returns (areas x k) indices."""
    n = len(z)
    m = min(order.shape[1], candidates or CANDIDATES * k)
    y = _scaled(z, cw)
    out = np.empty((n, k), dtype=np.int64)
    for a in range(n):
        cand = order[a, :m]
        diff = y[cand] - y[a]                         # candidates' offsets from the area
        d2 = (diff ** 2).sum(axis=1)
        sel = np.zeros(m, dtype=bool)
        sel[:k] = True
        s, dsum = diff[:k].sum(axis=0), d2[:k].sum()
        best = (s ** 2).sum() / k ** 2 + penalty * dsum / k
        for _ in range(50 * k if m > k else 0):          # with no candidate beyond the k nearest, no swap
            ins, outs = np.flatnonzero(~sel), np.flatnonzero(sel)
            trial = s[None, None, :] - diff[outs][:, None, :] + diff[ins][None, :, :]
            tdist = dsum - d2[outs][:, None] + d2[ins][None, :]
            obj = (trial ** 2).sum(axis=2) / k ** 2 + penalty * tdist / k
            i, j = np.unravel_index(np.argmin(obj), obj.shape)
            if obj[i, j] >= best - 1e-12:
                break
            sel[outs[i]], sel[ins[j]] = False, True
            s, dsum, best = trial[i, j], tdist[i, j], obj[i, j]
        out[a] = cand[sel]
    return out


def _simplex_ls(diff: np.ndarray, cap: float | None = None) -> np.ndarray:
    """Non-negative weights summing to 1 (none above ``cap``) minimising |weights @ diff|^2: least squares with
    a heavy sum-to-one row (NNLS without a cap, bounded-variable least squares with one)."""
    from scipy.optimize import lsq_linear, nnls

    big = 1e3 * max(1.0, float(np.abs(diff).max()))
    a = np.vstack([diff.T, np.full((1, len(diff)), big)])
    b = np.zeros(len(a))
    b[-1] = big
    if cap is None:
        w, _ = nnls(a, b, maxiter=50 * len(diff))
    else:
        w = lsq_linear(a, b, bounds=(0.0, cap), method="bvls").x
        w = np.where(w > 1e-9, w, 0.0)
    return w / w.sum() if w.sum() > 0 else np.full(len(diff), 1.0 / len(diff))


def synthetic(z: np.ndarray, cw: np.ndarray, order: np.ndarray, k: int, candidates: int | None = None,
              min_members: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic-control groups: non-negative weights summing to 1 over at most k of the area's
    ``candidates`` nearest areas, whose weighted mean matches the area as closely as possible, no weight above
    1 / ``min_members`` (so at least that many members carry the benchmark). With more than k positive weights
    the k largest are kept and the weights solved again. Returns (members, weights), both (areas x k), members
    nearest first, -1 / 0 in unused slots."""
    n = len(z)
    m = min(order.shape[1], candidates or CANDIDATES * k)
    cap = 1.0 / min(max(min_members, 1), k) if min_members > 1 else None
    y = _scaled(z, cw)
    members = np.full((n, k), -1, dtype=np.int64)
    weights = np.zeros((n, k))
    for a in range(n):
        cand = order[a, :m]
        w = _simplex_ls(y[cand] - y[a], cap)
        keep = np.flatnonzero(w > 1e-9)
        if len(keep) > k:
            keep = np.sort(np.argsort(-w, kind="stable")[:k])
            w = np.zeros(m)
            w[keep] = _simplex_ls(y[cand[keep]] - y[a], cap)
            keep = keep[w[keep] > 1e-9]
        members[a, : len(keep)] = cand[keep]
        weights[a, : len(keep)] = w[keep] / w[keep].sum()
    return members, weights


def best_possible(z: np.ndarray, cw: np.ndarray, cap: float | None = None) -> np.ndarray:
    """Per area, the smallest RMS gap any group can reach: the distance from the area to the convex hull of all
    the other areas (any non-negative weights summing to 1). Above ``FAIR`` no group can match the area.
    With ``cap`` = 1/k no weight may exceed it: a floor no group of k equally weighted members can beat."""
    y = _scaled(z, cw)
    n = len(y)
    out = np.empty(n)
    for a in range(n):
        diff = np.delete(y, a, axis=0) - y[a]
        out[a] = np.sqrt(((_simplex_ls(diff, cap) @ diff) ** 2).sum())
    return out


def label(r: np.ndarray) -> np.ndarray:
    """'good' (RMS gap <= 0.1 SD), 'fair' (<= 0.2) or 'poor'."""
    return np.where(r <= GOOD, "good", np.where(r <= FAIR, "fair", "poor")).astype(object)


def notes(g: np.ndarray, r: np.ndarray, best: np.ndarray, variables: list[str], cw: np.ndarray) -> np.ndarray:
    """The balance of each group in words; a poor one names the characteristic furthest off, which way the
    expected level is likely wrong, and whether any group could do better."""
    out = np.empty(len(g), dtype=object)
    gw = np.where(cw > 0, np.abs(g), 0.0)
    for a in range(len(g)):
        if np.isnan(r[a]):
            out[a] = "no balance: the group has no members with characteristics"
            continue
        j = int(np.argmax(gw[a]))
        v, gap = variables[j], g[a, j]
        if r[a] <= GOOD:
            out[a] = f"good balance: the group's mean characteristics are within {r[a]:.2f} SD (RMS) of the area's"
            continue
        if r[a] <= FAIR:
            out[a] = f"fair balance (RMS gap {r[a]:.2f} SD); furthest off: {v} {gap:+.2f} SD"
            continue
        side = "below" if gap < 0 else "above"
        low = "too low" if gap < 0 else "too high"
        out[a] = (f"poor balance (RMS gap {r[a]:.2f} SD): the group's mean {v} is {abs(gap):.2f} SD {side} the "
                  f"area's, so for indicators that rise with {v} its expected level is likely {low}")
        if best[a] > FAIR:
            out[a] += f"; no group of other areas can match this area (best possible RMS gap {best[a]:.2f} SD)"
    return out
