"""Most Similar Groups and peer comparison.

"The expected performance of an individual partnership is the average of the group of similar partnerships":
each area is compared with its own group of the areas most like it.

Building a group (``most_similar``)
-----------------------------------
1. Take the areas of one level (CSPs or forces) and their characteristics (``Dataset.characteristics``;
   by default every characteristic known for all of them).
2. Standardise each characteristic to a z-score across the areas of the level:
   z = (x - mean) / sd, with the population standard deviation (ddof = 0). A characteristic that is the same
   everywhere has z = 0 and cannot separate areas.
3. Optionally weight the characteristics: w_v (default 1 each; named weight sets live in
   ``parameters/msg_weights.yaml``, ``weights="<name>"``, or pass a dict or a YAML path).
4. Distance between areas a and b: d(a, b) = sqrt( sum_v w_v (z_av - z_bv)^2 ), weighted Euclidean.
   Each characteristic's contribution to the squared distance, w_v (z_av - z_bv)^2, is returned as
   ``contrib_<variable>``; the contributions add up to distance^2, so a manager can see why an area is a peer.
5. The group of area a has k other areas (k = 15 for CSPs, 7 for forces, as the Home Office and HMICFRS
   groups), the area itself excluded, chosen by ``method``:
   - "nearest": the k nearest;
   - "balanced" (default): k of the 6k nearest, chosen so that the group's mean z-scores match the area's
     (``balance.balanced``: swaps from the k nearest minimising gap^2 + 0.1 x members' mean squared distance);
   - "synthetic": non-negative weights summing to 1, none above 1/``MIN_PEERS``, over at most k of the 6k
     nearest, whose weighted mean z-scores match the area's (the synthetic-control idea, ``balance.synthetic``).
   Groups are the area's own, so they are asymmetric: b may be in a's group without a being in b's (with
   fewer areas than that, all the others). Ties in distance are broken by peer code.
6. Balance, for every group: the gap between the group's (weighted) mean z-score and the area's on each
   characteristic (``balance_gap_<variable>``, SD units), their root mean square with the characteristic
   weights (``balance_rms``), the smallest RMS gap any weighted group of other areas could reach
   (``balance_best``), a label (good <= 0.1 SD, fair <= 0.2, poor) and the words (``balance_note``): a poor
   group names the characteristic furthest off and which way the expected level is likely wrong.
   ``balance_table`` gives one row per area.

Official or custom groups (e.g. CIPFA nearest neighbours) load with ``load_groups`` and, given the dataset,
carry the same balance figures (equal weights); ``explain`` says which characteristics separate an area from
each peer.

Comparing with peers (``compare``)
----------------------------------
For every area, indicator and period the group members' numerators and denominators are joined through the
(area, peer) table, so every area is compared at once:

- benchmark: pooled sum(numerator) / sum(denominator) x multiplier over the group (default), or the simple
  mean of members' values (the historical HMIC convention); the area itself included (default, as HMIC) or not.
  A group with unequal member weights (``weight`` column, e.g. "synthetic") has the weighted pooled benchmark
  sum(w x numerator) / sum(w x denominator) (or the weighted mean of values); the area itself, when included,
  counts as one member of k + 1 (weight 1 / (k + 1), the peers' weights scaled by k / (k + 1)), as in an
  unweighted group. The ``benchmark_method`` column says which. The band, rank and quartiles stay over the
  members unweighted (descriptive: every member counts once).
- significance: the PHE convention, the area's own 95% and 99.8% confidence limits against the benchmark
  (``High (0.001)``, ``High (0.025)``, ``Low (0.001)``, ``Low (0.025)``, ``Not significant``), read with the
  indicator's polarity as better / worse / similar (or higher / lower when there is no judgement). Optionally
  against overdispersion-adjusted limits (Spiegelhalter 2005, additive random effects estimated within the
  group), in the groups where the adjustment is applied.
- band: group mean +/- 1 SD of members' values (iQuanta style). Descriptive, not a test.
- rank within the group including the area (1 = best given polarity; 1 = highest when polarity is none),
  quartile (1 = best quarter), the best-quartile threshold and the gap to it.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from . import _paths, geography, stats
from . import balance as _balance
from .dataset import LEVELS, DataError, Dataset
from .errors import NotFound, UsageError
from .frames import as_object
from .vocab import PeerJudgement

PARAMETERS = _paths.shipped_parameters()
WEIGHTS_FILE = PARAMETERS / "msg_weights.yaml"  # the shipped weight sets; a project's own come first (_paths)
DEFAULT_K = {"csp": 15, "force": 7, "region": 3, "nation": 1}
MIN_PEERS = 5  # peers with data a benchmark needs (the area itself never counts)
GROUP_COLUMNS = ("area_code", "peer_code", "rank", "distance")
METHODS = ("nearest", "balanced", "synthetic")
DEFAULT_METHOD = "balanced"
# Per-area balance columns on every row of a groups frame (plus balance_gap_<variable> per characteristic).
BALANCE_COLUMNS = ("balance_rms", "balance_best", "balance", "balance_note")

AREA_ALIASES = ("area_code", "area", "code", "la_code", "lad_code", "csp_code", "force_code", "area code")
PEER_ALIASES = ("peer_code", "peer", "neighbour_code", "neighbor_code", "nn_code", "peer code")


class PeerGroupError(DataError):
    """A peer-group file or request that does not make sense; the message names file, row, column."""


# ---------------------------------------------------------------------------------------------------- weights
def load_weights(name_or_path: str | Path | dict | None = None) -> dict[str, float]:
    """Characteristic weights: a dict, a named set in ``parameters/msg_weights.yaml``, or a YAML file.

    A YAML file holds either ``weights: {variable: weight}`` (and optional ``transforms``) or named sets
    ``sets: {name: {weights: ..., transforms: ...}}``. See ``weight_set`` for the transforms too.
    """
    return weight_set(name_or_path)[0]


TRANSFORMS = ("log",)


def weight_set(name_or_path: str | Path | dict | None = None) -> tuple[dict[str, float], dict[str, str], str]:
    """(weights, transforms, label) of a weight set; see ``load_weights``. Errors name the file and key."""
    if name_or_path is None:
        return {}, {}, "equal weights"
    if isinstance(name_or_path, dict):
        body, where, label = {"weights": name_or_path}, "weights", "custom weights"
    else:
        path = Path(name_or_path)
        if path.suffix in (".yaml", ".yml"):
            if not path.exists():
                raise FileNotFoundError(f"no weights file at {path}")
            doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            if isinstance(doc, dict) and "weights" in doc:
                body, where = doc, str(path)
            elif isinstance(doc, dict) and isinstance(doc.get("sets"), dict) and len(doc["sets"]) == 1:
                (name, body), = doc["sets"].items()
                where = f"{path}, sets.{name}"
            else:
                raise PeerGroupError(f"{path}: expected a 'weights' mapping (characteristic: weight) or one set "
                                     f"under 'sets'")
            label = f"weights from {path.name}"
        else:
            wfile = _paths.weights_file()
            doc = yaml.safe_load(wfile.read_text(encoding="utf-8")) if wfile.exists() else {}
            sets = (doc or {}).get("sets", {}) or {}
            if str(name_or_path) not in sets:
                raise NotFound(f"no weight set {str(name_or_path)!r} in {wfile}; "
                               f"available: {', '.join(sets) or 'none'}")
            body, where = sets[str(name_or_path)] or {}, f"{wfile}, sets.{name_or_path}"
            label = f"weights {str(name_or_path)!r}"
    if not isinstance(body, dict):
        raise PeerGroupError(f"{where}: expected a mapping with 'weights' (and optional 'transforms')")
    raw = body.get("weights") or {}
    if not isinstance(raw, dict):
        raise PeerGroupError(f"{where}, key 'weights': expected a mapping of characteristic name to weight")
    clean = {}
    for k, v in raw.items():
        try:
            w = float(v)
        except (TypeError, ValueError):
            raise PeerGroupError(f"{where}, key 'weights.{k}': {v!r} is not a number; expected a weight >= 0") from None
        if not math.isfinite(w) or w < 0:
            raise PeerGroupError(f"{where}, key 'weights.{k}': {v!r} is not allowed; expected a weight >= 0")
        clean[str(k)] = w
    tr = body.get("transforms") or {}
    if not isinstance(tr, dict) or any(str(t) not in TRANSFORMS for t in tr.values()):
        raise PeerGroupError(f"{where}, key 'transforms': {tr!r}; expected a mapping of characteristic to one of "
                             f"{', '.join(TRANSFORMS)}")
    if not clean and not tr:
        label = "equal weights"
    return clean, {str(k): str(v) for k, v in tr.items()}, label


def _weight_set_names() -> list[str]:
    wfile = _paths.weights_file()
    doc = yaml.safe_load(wfile.read_text(encoding="utf-8")) if wfile.exists() else {}
    return list((doc or {}).get("sets") or {})


def weight_sets_for(variables) -> list[str]:
    """The named weight sets (``parameters/msg_weights.yaml``) whose characteristics all exist in ``variables``."""
    out = []
    for name in _weight_set_names():
        w, tr, _ = weight_set(name)
        if (w or tr) and set(w) | set(tr) <= set(variables):
            out.append(name)
    return out


# ---------------------------------------------------------------------------------------------------- build
def _level_characteristics(dataset: Dataset, level: str, variables) -> tuple[pd.DataFrame, str]:
    if level not in LEVELS:
        raise UsageError(f"level {level!r} is not one of {', '.join(LEVELS)}")
    codes = dataset.level(level)["area_code"]
    if codes.empty:
        raise PeerGroupError(f"{dataset.name}: no areas at level {level!r}")
    chars = dataset.characteristics.set_index("area_code")
    absent = codes[~codes.isin(chars.index)]
    note = ""
    if chars.columns.empty:
        raise PeerGroupError(f"{dataset.name}: the dataset has no area characteristics to build Most Similar Groups "
                             f"from; add some (perfwork ingest characteristics FILE ... --store STORE) or pass peer "
                             f"groups from a CSV (peers.load_groups, --groups)")
    if len(absent) == len(codes):
        derived = geography.derived_characteristics(dataset, level, codes)
        if derived is None:
            raise PeerGroupError(f"{dataset.name}: no characteristics for any {level} (nor for the areas below); "
                                 f"expected rows in characteristics for the areas to group, or pass peers from a "
                                 f"CSV (peers.load_groups)")
        chars, absent = derived, codes[:0]
        note = f"{level} characteristics: population-weighted means of the areas below, "
    if variables is None:
        have = chars.reindex(codes)
        variables = [c for c in have.columns if have[c].notna().all()]
        if not variables:
            raise PeerGroupError(f"{dataset.name}: no characteristic is known for every {level} "
                                 f"({len(absent)} areas have no row); pass variables=[...]")
    else:
        variables = [variables] if isinstance(variables, str) else list(variables)
        unknown = [v for v in variables if v not in chars.columns]
        if unknown:
            raise PeerGroupError(f"characteristics: no column(s) {', '.join(map(repr, unknown))}; "
                                 f"available: {', '.join(chars.columns)}")
    if len(absent):
        raise PeerGroupError(f"characteristics: no row for {level} {absent.iloc[0]}"
                             f"{f' (and {len(absent) - 1} more)' if len(absent) > 1 else ''}; "
                             f"expected every {level} to have characteristics")
    x = chars.reindex(codes)[variables]
    gaps = x.isna()
    if gaps.to_numpy().any():
        r, c = np.argwhere(gaps.to_numpy())[0]
        raise PeerGroupError(f"characteristics: {variables[c]!r} is missing for {level} {codes.iloc[r]} "
                             f"({int(gaps.to_numpy().sum())} gaps in all); expected a value for every area, or "
                             f"choose variables=[...] without it")
    return x.astype("float64"), note


def areas_with_data(dataset: Dataset, level: str) -> list[str]:
    """The areas of ``level`` with any counts (at or below them)."""
    anc = dataset.ancestors(level)
    have = set(dataset.counts["area_code"].astype(str))
    return sorted(set(anc.loc[anc["area_code"].isin(have), "ancestor"]))


def most_similar(dataset: Dataset, k: int | None = None, variables=None, weights=None,
                 level: str = "csp", method: str | None = None, among=None) -> pd.DataFrame:
    """Most Similar Groups: for every area of ``level``, a group of ``k`` other areas like it.

    ``method`` (``METHODS``; default ``DEFAULT_METHOD``): "nearest", the k nearest areas by weighted z-score
    distance; "balanced", k areas chosen among the 6k nearest so that their mean characteristics match the
    area's (``balance.balanced``); "synthetic", non-negative weights summing to 1 over at most k of them
    whose weighted mean matches the area (``balance.synthetic``; the benchmark is then the weighted pooled
    rate). ``among``: build the groups only among these areas (e.g. ``areas_with_data``; the method says so).
    When the level has fewer areas than the default k needs, k is the number of other areas and the method says
    so. Returns one row per (area, peer): area_code, peer_code, rank (1 = nearest), distance, ``weight``
    (the member's weight, summing to 1 over the group; 1/k unless synthetic), k, level, area_name,
    peer_name, ``contrib_<variable>`` (that characteristic's share of distance^2, before taking the square
    root: the contributions add up to distance^2) and the group's balance (``BALANCE_COLUMNS``, the same on
    every row of an area, see ``balance_table``). ``.attrs["method"]`` describes the method and
    ``.attrs["variables"]`` / ``.attrs["weights"]`` the inputs. See the module docstring.
    """
    method = DEFAULT_METHOD if method is None else method
    if method not in METHODS:
        raise ValueError(f"method {method!r}: expected one of {', '.join(METHODS)}")
    x, note = _level_characteristics(dataset, level, variables)
    if among is not None:
        x = x[x.index.isin(set(among))]
        note += f"only the {len(x)} {level}s with data, "
    variables = list(x.columns)
    n = len(x)
    if n < 2:
        raise PeerGroupError(f"{dataset.name}: level {level!r} has only {n} area ({x.index[0]}); a level with fewer "
                             f"than 2 areas has no peers to compare with")
    short = ""
    if k is None and DEFAULT_K[level] > n - 1:
        short = f" (not {DEFAULT_K[level]}: only {n} {level}s)"
    k = min(DEFAULT_K[level], n - 1) if k is None else int(k)
    if k < 1 or k > n - 1:
        raise UsageError(f"k={k}: expected 1 to {n - 1} (there are {n} areas at level {level!r})")
    wset, transforms, wtxt = weight_set(weights)
    unknown = [v for v in list(wset) + list(transforms) if v not in variables]
    if unknown:
        raise PeerGroupError(f"{wtxt} name characteristic(s) this dataset does not have: {', '.join(unknown)}; "
                             f"available: {', '.join(variables)} (weight sets for them: "
                             f"{', '.join(weight_sets_for(variables)) or 'none'}; or pass a dict or YAML file)")
    w = np.array([wset.get(v, 1.0) for v in variables])
    vals = x.to_numpy().copy()
    for v in transforms:
        j = variables.index(v)
        if (vals[:, j] <= 0).any():
            bad = x.index[vals[:, j] <= 0][0]
            raise PeerGroupError(f"characteristics: {v!r} is {x.loc[bad, v]!r} for {bad}; a log transform needs "
                                 f"values > 0")
        vals[:, j] = np.log(vals[:, j])
    sd = vals.std(axis=0, ddof=0)
    z = np.where(sd > 0, (vals - vals.mean(axis=0)) / np.where(sd > 0, sd, 1.0), 0.0)

    codes = x.index.to_numpy().astype(object)
    diff2 = (z[:, None, :] - z[None, :, :]) ** 2 * w            # n x n x v contributions
    d2 = diff2.sum(axis=2)
    np.fill_diagonal(d2, np.inf)
    # Deterministic order: distance (rounded against float noise), then peer code; the area itself last.
    key = np.round(d2, 10)
    code_rank = np.argsort(np.argsort(codes, kind="stable"), kind="stable")
    order = np.lexsort((np.broadcast_to(code_rank, (n, n)), key), axis=1)[:, :n - 1]
    member_w = None
    if method == "nearest":
        members = order[:, :k]
    elif method == "balanced":
        members = _balance.balanced(z, w, order, k)
    else:
        members, member_w = _balance.synthetic(z, w, order, k, min_members=MIN_PEERS)
    # Members nearest first (a balanced group's members are not the k nearest).
    by_dist = np.lexsort((np.where(members >= 0, code_rank[np.maximum(members, 0)], n),
                          np.where(members >= 0, key[np.arange(n)[:, None], np.maximum(members, 0)], np.inf)), axis=1)
    members = np.take_along_axis(members, by_dist, axis=1)
    member_w = (np.full(members.shape, 1.0 / k) if member_w is None
                else np.take_along_axis(member_w, by_dist, axis=1))
    filled = members >= 0
    rows = np.repeat(np.arange(n), filled.sum(axis=1))
    cols = members[filled]
    names = dict(zip(dataset.areas["area_code"], dataset.areas["area_name"]))
    out = pd.DataFrame({
        "area_code": pd.array(codes[rows], dtype="str"),
        "peer_code": pd.array(codes[cols], dtype="str"),
        "rank": (np.cumsum(filled, axis=1)[filled]).astype("int64"),
        "distance": np.sqrt(d2[rows, cols]),
        "weight": member_w[filled],
    })
    out["k"] = k
    out["level"] = level
    out["area_name"] = out["area_code"].map(names)
    out["peer_name"] = out["peer_code"].map(names)
    for j, v in enumerate(variables):
        out[f"contrib_{v}"] = diff2[rows, cols, j]
    bal = _balance_frame(z, w, members, member_w, variables, codes)
    out = _with_balance(out, bal)
    if transforms:
        wtxt += ", " + ", ".join(f"{how} {v}" for v, how in transforms.items())
    pool = min(n - 1, _balance.CANDIDATES * k)
    how = {"nearest": f"k={k}{short} nearest",
           "balanced": f"k={k}{short} chosen among the {pool} nearest so that the group's mean characteristics "
                       f"match the area's (balanced)",
           "synthetic": f"synthetic-control weights over at most k={k}{short} of the {pool} nearest, none above "
                        f"1/{min(MIN_PEERS, k)} (weighted benchmark)"}[method]
    out.attrs["method"] = (f"Most Similar Groups: {len(variables)} characteristics as z-scores across {n} {level}s "
                           f"({note}{wtxt}), Euclidean distance, {how} (own group, area excluded); "
                           + balance_summary(bal))
    out.attrs["msg_method"] = method
    out.attrs["variables"] = variables
    out.attrs["weights"] = {v: float(wi) for v, wi in zip(variables, w)}
    out.attrs["transforms"] = transforms
    out.attrs["source"] = "computed"
    return out


# ---------------------------------------------------------------------------------------------------- balance
def _balance_frame(z: np.ndarray, cw: np.ndarray, members: np.ndarray, member_w: np.ndarray | None,
                   variables: list[str], codes: np.ndarray) -> pd.DataFrame:
    """One row per area: the group's balance (``balance_table``) from z-scores and a members matrix."""
    g = _balance.gaps(z, members, member_w)
    r = _balance.rms(g, cw)
    best = _balance.best_possible(z, cw)
    size = (members >= 0).sum(axis=1)
    out = pd.DataFrame({"area_code": pd.array(codes[: len(members)], dtype="str"), "members": size})
    for j, v in enumerate(variables):
        out[f"balance_gap_{v}"] = g[:, j]
    out["balance_rms"] = r
    out["balance_best"] = best[: len(members)]
    out["balance"] = _balance.label(r)
    out["balance_note"] = _balance.notes(g, r, best, variables, cw)
    return out


def _with_balance(groups: pd.DataFrame, bal: pd.DataFrame) -> pd.DataFrame:
    """The groups frame with each area's balance columns on every one of its rows."""
    cols = [c for c in bal.columns if c.startswith("balance")]
    out = groups.drop(columns=[c for c in cols if c in groups.columns])
    at = pd.Index(bal["area_code"]).get_indexer(out["area_code"])
    for c in cols:
        out[c] = bal[c].to_numpy()[at]
    return out


def balance_table(groups: pd.DataFrame) -> pd.DataFrame:
    """Each area's group balance, one row per area: area_code, area_name, members, ``balance_gap_<variable>``
    (the group's weighted mean z-score minus the area's, in SD units: negative = the group is lower), the
    overall ``balance_rms`` (root mean square of the gaps with the characteristic weights), ``balance_best``
    (the smallest RMS gap any weighted group of other areas could reach), ``balance`` (good <= 0.1 SD, fair
    <= 0.2, poor) and ``balance_note`` in words. Empty when the groups carry no balance (no characteristics)."""
    if "balance_rms" not in groups.columns:
        return pd.DataFrame(columns=["area_code", "area_name", "members", *BALANCE_COLUMNS])
    first = groups.drop_duplicates("area_code").reset_index(drop=True)
    members = groups.groupby("area_code", sort=False)["peer_code"].size()
    cols = ["area_code"] + [c for c in ("area_name",) if c in first.columns]
    cols += [c for c in first.columns if c.startswith("balance_gap_")] + list(BALANCE_COLUMNS)
    out = first[cols].copy()
    out.insert(len(cols) - len(BALANCE_COLUMNS), "members", members.reindex(out["area_code"]).to_numpy())
    return out


def balance_summary(bal: pd.DataFrame) -> str:
    """The balance of a set of groups in one phrase, for method texts."""
    r = bal["balance_rms"].dropna().to_numpy()
    if not len(r):
        return "balance not measured (no characteristics)"
    if len(r) == 1:
        return f"balance {bal['balance_note'].iloc[0]}"
    return (f"balance: median RMS gap of group mean and area {np.median(r):.2f} SD, "
            f"{np.mean(r <= _balance.GOOD):.0%} of groups within {_balance.GOOD:g} SD, "
            f"{np.mean(r <= _balance.FAIR):.0%} within {_balance.FAIR:g} SD")


def _loaded_balance(pairs: pd.DataFrame, dataset: Dataset, level: str) -> pd.DataFrame | None:
    """Balance of groups read from a file, on the dataset's characteristics (equal weights); None without."""
    try:
        x, _ = _level_characteristics(dataset, level, None)
    except PeerGroupError:
        return None
    vals = x.to_numpy()
    sd = vals.std(axis=0, ddof=0)
    z = np.where(sd > 0, (vals - vals.mean(axis=0)) / np.where(sd > 0, sd, 1.0), 0.0)
    index = pd.Index(x.index)
    areas = pd.unique(pairs["area_code"])
    a_idx = index.get_indexer(areas)
    slot = pairs.groupby("area_code", sort=False).cumcount().to_numpy()
    members = np.full((len(areas), int(slot.max()) + 1), -1, dtype=np.int64)
    members[pd.Index(areas).get_indexer(pairs["area_code"]), slot] = index.get_indexer(pairs["peer_code"])
    others = np.setdiff1d(np.arange(len(z)), a_idx)  # the grouped areas' rows first, as _balance_frame expects
    perm = np.concatenate([a_idx, others])
    inv = np.empty(len(perm), dtype=np.int64)
    inv[perm] = np.arange(len(perm))
    members = np.where(members >= 0, inv[np.maximum(members, 0)], -1)
    return _balance_frame(z[perm], np.ones(z.shape[1]), members, None, list(x.columns),
                          index.to_numpy().astype(object)[perm])


# ---------------------------------------------------------------------------------------------------- load
def _norm(col) -> str:
    return str(col).strip().lower().replace("-", "_")


def _err(path, row: int | None, column: str | None, msg: str) -> PeerGroupError:
    where = str(path)
    if row is not None:
        where += f", row {row + 1} (line {row + 2})"
    if column is not None:
        where += f", column '{column}'"
    return PeerGroupError(f"{where}: {msg}")


def _layout(columns) -> tuple[dict, str | None, str | None]:
    """({normalised name: column}, the area column, the peer column) of a peer-group file's header."""
    cols = {_norm(c): c for c in columns}
    a_col = next((cols[a] for a in AREA_ALIASES if a in cols), None)
    p_col = next((cols[p] for p in PEER_ALIASES if p in cols), None)
    return cols, a_col, p_col


def _read_csv(path: Path) -> pd.DataFrame:
    """The file as strings, by the rules of every tidy file (``perfwork.sources.tidy``)."""
    from .sources import tidy
    return tidy.read_frame(path, error=PeerGroupError)


def groups_layout(path: str | Path) -> str:
    """The layout of a peer-group CSV, from its header: "pairs" (area and peer columns: every area's peers),
    "list" (an area column only: one area's list of peers, load it with ``area=``) or "unknown"."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no peer-group file at {path}")
    _, a_col, p_col = _layout(_read_csv(path).columns)
    if a_col is None:
        return "unknown"
    return "pairs" if p_col is not None else "list"


def load_groups(path: str | Path, dataset: Dataset | None = None, level: str = "csp", area: str | None = None,
                k: int | None = None) -> pd.DataFrame:
    """Official or custom peer groups from a CSV.

    Two layouts are understood:

    - pairs: columns ``area_code`` and ``peer_code`` (aliases: area/peer, ...), one row per (area, peer), in
      rank order within each area (an optional ``rank`` column overrides the order);
    - one area's list of peers (e.g. a CIPFA nearest-neighbour list: ``area_code,area_name`` or ``Code,Name``,
      the area itself not listed): pass ``area=`` with the code of the area whose peers they are.

    ``groups_layout(path)`` tells the two apart from the header.

    ``k`` keeps only each area's first k peers. With ``dataset`` every code must be an area of ``level``.
    Self-pairs, duplicate pairs, blank and unknown codes raise ``PeerGroupError`` naming the file, row and
    column. Returns the ``most_similar`` shape (distance is NaN) with a ``source`` column.

    Long on purpose: the checks run in the order a reader fixes a file, each naming its row and column.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no peer-group file at {path}")
    raw = _read_csv(path)
    cols, a_col, p_col = _layout(raw.columns)
    if a_col is not None and p_col is not None:
        if area is not None:
            raw = raw[raw[a_col].str.strip() == area]
        pairs = pd.DataFrame({"area_code": raw[a_col].str.strip(), "peer_code": raw[p_col].str.strip()},
                             index=raw.index)
        col_of = {"area_code": a_col, "peer_code": p_col}
        if area is not None and pairs.empty:
            raise _err(path, None, a_col, f"no rows for area {area!r}")
    elif a_col is not None:
        if area is None:
            raise _err(path, None, None, f"a list of one area's peers (column {a_col!r}, no peer column); pass "
                                         f"area='<code>' to say whose peers they are, or use a pairs file with "
                                         f"columns area_code,peer_code")
        pairs = pd.DataFrame({"area_code": str(area).strip(), "peer_code": raw[a_col].str.strip()}, index=raw.index)
        col_of = {"area_code": None, "peer_code": a_col}
    else:
        raise _err(path, None, None, f"found columns {', '.join(map(str, raw.columns))}; expected area_code,peer_code "
                                     f"(pairs) or area_code / Code (one area's list, with area=)")
    rows_in_file = pairs.index.to_numpy()          # 0-based data rows of the file, for messages
    pairs = pairs.reset_index(drop=True)
    rank_col = cols.get("rank")
    for c in ("area_code", "peer_code"):
        blank = pairs[c].isna() | (pairs[c] == "")
        if blank.any():
            i = int(np.flatnonzero(blank.to_numpy())[0])
            raise _err(path, int(rows_in_file[i]), col_of[c], "code is blank; expected an area code")
    selfp = (pairs["area_code"] == pairs["peer_code"]).to_numpy()
    if selfp.any():
        i = int(np.flatnonzero(selfp)[0])
        raise _err(path, int(rows_in_file[i]), col_of["peer_code"],
                   f"{pairs['peer_code'].iloc[i]!r} is listed as its own peer; expected an area's peers without the "
                   f"area itself")
    dup = pairs.duplicated(["area_code", "peer_code"], keep="first").to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        a, p = pairs["area_code"].iloc[i], pairs["peer_code"].iloc[i]
        first = int(np.flatnonzero(((pairs["area_code"] == a) & (pairs["peer_code"] == p)).to_numpy())[0])
        raise _err(path, int(rows_in_file[i]), col_of["peer_code"], f"peer {p!r} of {a!r} is listed twice "
                                                 f"(first at row {int(rows_in_file[first]) + 1}); "
                                                 f"expected each peer once per area")
    if dataset is not None:
        lv = dict(zip(dataset.areas["area_code"], dataset.areas["level"]))
        for c in ("area_code", "peer_code"):
            codes = pairs[c]
            unknown = ~codes.isin(lv)
            if unknown.any():
                i = int(np.flatnonzero(unknown.to_numpy())[0])
                more = f"; {int(unknown.sum())} unknown codes in all" if unknown.sum() > 1 else ""
                raise _err(path, int(rows_in_file[i]), col_of[c], f"unknown area code {codes.iloc[i]!r} (not in "
                                                                  f"{dataset.name}{more}); expected a {level} code "
                                                                  f"of the dataset")
            wrong = codes.map(lv) != level
            if wrong.any():
                i = int(np.flatnonzero(wrong.to_numpy())[0])
                raise _err(path, int(rows_in_file[i]), col_of[c],
                           f"{codes.iloc[i]!r} is a {lv[codes.iloc[i]]}; expected a {level}")
    if rank_col is not None:
        r = pd.to_numeric(raw[rank_col].reset_index(drop=True), errors="coerce")
        if r.isna().any():
            i = int(np.flatnonzero(r.isna().to_numpy())[0])
            raise _err(path, int(rows_in_file[i]), rank_col, f"{raw[rank_col].iloc[i]!r} is not a number; "
                                                             f"expected a rank (1 = nearest)")
        pairs["_order"] = r.to_numpy()
    else:
        pairs["_order"] = np.arange(len(pairs))
    pairs = pairs.sort_values(["area_code", "_order"], kind="stable").reset_index(drop=True)
    pairs["rank"] = pairs.groupby("area_code").cumcount().astype("int64") + 1
    if k is not None:
        pairs = pairs[pairs["rank"] <= int(k)].reset_index(drop=True)
    pairs = pairs.drop(columns="_order")
    pairs["distance"] = np.nan
    pairs["k"] = pairs.groupby("area_code")["peer_code"].transform("size").astype("int64")
    pairs["level"] = level
    names = {}
    if dataset is not None:
        names = dict(zip(dataset.areas["area_code"], dataset.areas["area_name"]))
    elif p_col is None:
        name_col = next((cols[n] for n in ("area_name", "name") if n in cols), None)
        if name_col is not None:
            names = dict(zip(raw[a_col].str.strip(), raw[name_col].str.strip()))
    pairs["area_name"] = pairs["area_code"].map(names)
    pairs["peer_name"] = pairs["peer_code"].map(names)
    pairs["source"] = str(path)
    pairs["weight"] = 1.0 / pairs["k"]
    sizes = sorted(set(pairs["k"]))
    ktxt = f"k={sizes[0]}" if len(sizes) == 1 else f"k={sizes[0]}-{sizes[-1]}"
    bal = _loaded_balance(pairs, dataset, level) if dataset is not None else None
    if bal is not None:
        pairs = _with_balance(pairs, bal)
    pairs.attrs["method"] = f"peer groups from {path.name} ({ktxt})" + ("" if bal is None else
                                                                          "; " + balance_summary(bal))
    pairs.attrs["source"] = str(path)
    return pairs


def groups_method(groups: pd.DataFrame) -> str:
    """A short description of where the groups come from ('MSG k=15', 'peer groups from x.csv (k=15)')."""
    if groups.attrs.get("method"):
        return groups.attrs["method"]
    ks = sorted(set(groups.groupby("area_code")["peer_code"].size()))
    return f"custom peer groups (k={ks[0]}{'-' + str(ks[-1]) if len(ks) > 1 else ''})"


def short_groups_method(groups: pd.DataFrame) -> str:
    """'k=15' / 'k=7-15' plus the source when the groups were loaded from a file."""
    ks = sorted(set(groups.groupby("area_code")["peer_code"].size())) if len(groups) else [0]
    ktxt = f"k={ks[0]}" if len(ks) == 1 else f"k={ks[0]}-{ks[-1]}"
    src = groups.attrs.get("source", "computed")
    if src and src != "computed":
        ktxt += f" ({Path(src).name})"
    return ktxt


# ---------------------------------------------------------------------------------------------------- explain
def explain(groups: pd.DataFrame, area: str, top: int = 3) -> pd.DataFrame:
    """Why the peers of ``area`` are its peers: one row per peer, rank order.

    Columns: rank, peer_code, peer_name, distance, ``differs_most_on`` (the ``top`` characteristics with the
    largest share of the squared distance, e.g. "density 61%, deprivation 22%"), ``closest_on`` (the ``top``
    with the smallest share) and ``share_<variable>`` (each characteristic's share of distance^2, 0-1).
    ``.attrs["summary"]`` holds the group-level view: each characteristic's mean contribution over the group.
    """
    rows = groups[groups["area_code"] == area]
    if rows.empty:
        have = groups["area_code"].drop_duplicates()
        raise NotFound(f"no peer group for {area!r}; groups cover {len(have)} areas "
                       f"(e.g. {', '.join(have.head(3))})")
    rows = rows.sort_values("rank")
    contrib = [c for c in rows.columns if c.startswith("contrib_")]
    out = rows[[c for c in ("rank", "peer_code", "peer_name", "distance") if c in rows.columns]].reset_index(drop=True)
    if not contrib:
        out["differs_most_on"] = "(no characteristics: groups loaded from a file)"
        out["closest_on"] = ""
        out.attrs["summary"] = pd.DataFrame(columns=["variable", "mean_contribution", "share"])
        return out
    c = rows[contrib].to_numpy()
    total = c.sum(axis=1, keepdims=True)
    share = np.divide(c, total, out=np.zeros_like(c), where=total > 0)
    names = [v[len("contrib_"):] for v in contrib]
    top = min(top, len(names))
    hi = np.argsort(-share, axis=1, kind="stable")[:, :top]
    lo = np.argsort(share, axis=1, kind="stable")[:, :top]
    out["differs_most_on"] = [", ".join(f"{names[j]} {share[i, j]:.0%}" for j in hi[i]) for i in range(len(out))]
    out["closest_on"] = [", ".join(names[j] for j in lo[i]) for i in range(len(out))]
    for j, v in enumerate(names):
        out[f"share_{v}"] = share[:, j]
    mean = c.mean(axis=0)
    summary = pd.DataFrame({"variable": names, "mean_contribution": mean,
                            "share": mean / mean.sum() if mean.sum() > 0 else 0.0})
    out.attrs["summary"] = summary.sort_values("mean_contribution", ascending=False).reset_index(drop=True)
    return out


# ---------------------------------------------------------------------------------------------------- compare
BENCHMARKS = ("pooled", "mean")
OVERDISPERSION = ("none", "auto", "always")


def _member_index(groups: pd.DataFrame, codes: pd.Index,
                  include_self: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each area with a group: its row in ``codes`` and a [area, member] matrix of rows in ``codes`` (padding
    and unknown peers point at len(codes), an all-NaN row). Members: self first (when included), then peers."""
    missing = [c for c in ("area_code", "peer_code") if c not in groups.columns]
    if missing:
        raise ValueError(f"groups: missing column(s) {', '.join(missing)}; expected an (area_code, peer_code) table")
    a_idx = codes.get_indexer(groups["area_code"])
    keep = a_idx >= 0
    a_idx = a_idx[keep]
    rank = (groups["rank"].to_numpy() if "rank" in groups.columns else np.arange(len(groups)))[keep]
    p_idx = codes.get_indexer(groups["peer_code"])[keep]
    order = np.lexsort((rank, a_idx))
    a_idx, p_idx = a_idx[order], p_idx[order]
    areas, first = np.unique(a_idx, return_index=True)
    slot = np.arange(len(a_idx)) - np.repeat(first, np.diff(np.append(first, len(a_idx))))
    width = int(slot.max()) + 1 if len(a_idx) else 0
    pad = len(codes)
    peers = np.full((len(areas), width), pad, dtype=np.int64)
    peers[np.searchsorted(areas, a_idx), slot] = np.where(p_idx < 0, pad, p_idx)
    full = np.concatenate([areas[:, None], peers], axis=1)            # self + peers, for ranking
    bench = full if include_self else peers
    return areas, full, bench


def _bench_weights(groups: pd.DataFrame, codes: pd.Index, a_pos: np.ndarray, bench: np.ndarray,
                   include_self: bool) -> np.ndarray | None:
    """Member weights aligned with ``bench`` ([area, member], self first when included), or None when the
    groups carry no ``weight`` column or every group's weights are equal (the plain benchmark).

    Weights are normalised to sum to 1 over each area's peers; with the area itself included it counts as one
    more member of a group of k (weight 1/(k+1), the peers' weights scaled by k/(k+1)), exactly as in an
    unweighted group. Scaled so that an equal-weight group has weight 1 everywhere."""
    if "weight" not in groups.columns:
        return None
    w = pd.to_numeric(groups["weight"], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    if np.isnan(w).any() or (w < 0).any():
        raise ValueError("groups: column 'weight' must hold numbers >= 0 (members' weights)")
    a_idx = codes.get_indexer(groups["area_code"])
    p_idx = codes.get_indexer(groups["peer_code"])
    keep = a_idx >= 0
    frame = pd.DataFrame({"a": a_idx[keep], "p": p_idx[keep], "w": w[keep]})
    frame["w"] = frame["w"] / frame.groupby("a")["w"].transform("sum")
    frame["k"] = frame.groupby("a")["w"].transform("size")
    if np.allclose(frame["w"] * frame["k"], 1.0, rtol=0, atol=1e-12):
        return None
    grp = np.searchsorted(a_pos, frame["a"].to_numpy())
    lookup = {(g, q): wk for g, q, wk in zip(grp, frame["p"], frame["w"] * frame["k"])}
    members = bench[:, 1:] if include_self else bench
    out = np.zeros(bench.shape)
    pad = len(codes)
    mw = np.array([[lookup.get((g, q), 0.0) if q != pad else 0.0 for q in row] for g, row in enumerate(members)])
    if include_self:
        out[:, 0] = 1.0
        out[:, 1:] = mw
    else:
        out[:] = mw
    return out


def _codes(values: pd.DataFrame) -> tuple[np.ndarray, pd.Index, np.ndarray, int]:
    """Integer area codes (and the area index) and cell codes (indicator x period x period end) of each row."""
    a, areas = pd.factorize(values["area_code"])
    i, _ = pd.factorize(values["indicator"])
    p, pu = pd.factorize(values["period"]) if "period" in values.columns else (np.zeros(len(values), int), [0])
    e, eu = pd.factorize(values["period_end"])
    cell, cells = pd.factorize((i.astype(np.int64) * len(pu) + p) * max(len(eu), 1) + e)
    return a, pd.Index(areas), cell, len(cells)


def compare(values: pd.DataFrame, groups: pd.DataFrame, benchmark: str = "pooled", include_self: bool = True,
            overdispersion: str = "none", min_peers: int = MIN_PEERS) -> pd.DataFrame:
    """Compare every area with its peer group, for every indicator and period in ``values``.

    ``values`` is an ``indicators()`` frame (any periods, any number of period ends); ``groups`` an
    (area, peer) table from ``most_similar`` or ``load_groups``. Returns the rows of ``values`` for areas that
    have a group, with:

    - ``peers_n`` (members with a value that enter the benchmark), ``peers_with_data`` (peers other than the area
      with a value) of ``group_k``; with fewer than ``min_peers`` peers with data (default 5; the area is never
      its own benchmark) there is no benchmark, band or rank test: ``peer_judgement`` "too few peers with data";
    - ``benchmark``, ``benchmark_method``;
    - ``band_mean``, ``band_lower``, ``band_upper`` (mean +/- 1 sample SD of members' values, iQuanta style,
      descriptive) and ``band_method``;
    - ``significance`` (PHE label), ``peer_judgement`` (better / worse / similar, higher / lower for
      polarity none; "incomplete" without a value) and ``significance_method``;
    - ``group_rank`` (1 = best given polarity, 1 = highest for polarity none; the area and all its peers,
      ties share the better rank), ``group_size``, ``quartile`` (1 = best quarter), ``best_quartile`` (the
      25th percentile of the group for low-is-good, 75th for high-is-good), ``gap_to_benchmark`` and
      ``gap_to_best_quartile`` (value minus the reference; positive = above it);
    - with ``overdispersion`` "auto" or "always": ``od_applied`` and ``tau2`` (Spiegelhalter's additive
      random-effects variance estimated within each group, on the scale of ``stats.overdispersion``; 0 where
      not applied). Where it is applied the significance is read against normal limits widened to
      sqrt(s^2 + tau^2); everywhere else it is exactly the plain comparison (the area's own 95%/99.8% limits,
      as with "none"). "auto" applies it when k*phi exceeds the chi-squared 95% point on k-1 degrees of
      freedom, "always" whenever tau^2 > 0. ``significance_method`` says, row by row, which test was used.
    """
    mask, cols = compare_arrays(values, groups, benchmark, include_self, overdispersion, min_peers)
    out = values[mask].reset_index(drop=True) if not mask.all() else values.reset_index(drop=True)
    for c, v in cols.items():
        out[c] = v
    out.attrs["method"] = cols["benchmark_method"] if isinstance(cols["benchmark_method"], str) else ""
    return out


def compare_arrays(values: pd.DataFrame, groups: pd.DataFrame, benchmark: str = "pooled", include_self: bool = True,
                   overdispersion: str = "none", min_peers: int = MIN_PEERS) -> tuple[np.ndarray, dict]:
    """The work of ``compare``: (mask of the rows of ``values`` compared, {column: array for those rows}).

    Long on purpose: one vectorised pass whose [group, member, cell] arrays feed the benchmark, band, rank and
    significance alike.
    """
    if benchmark not in BENCHMARKS:
        raise ValueError(f"benchmark {benchmark!r}: expected one of {', '.join(BENCHMARKS)}")
    if overdispersion not in OVERDISPERSION:
        raise ValueError(f"overdispersion {overdispersion!r}: expected one of {', '.join(OVERDISPERSION)}")
    missing = [c for c in ("area_code", "indicator", "period_end", "numerator", "denominator", "value", "kind",
                           "polarity", "multiplier") if c not in values.columns]
    if missing:
        raise ValueError(f"values: missing column(s) {', '.join(missing)}; expected an indicators() table")
    a_row, codes, c_row, n_cells = _codes(values)
    a_pos, full, bench = _member_index(groups, codes, include_self)
    grp_of_area = np.full(len(codes) + 1, -1)
    grp_of_area[a_pos] = np.arange(len(a_pos))
    g_row = grp_of_area[a_row]
    mask = g_row >= 0
    g_row, c_row_m = g_row[mask], c_row[mask]

    def num(col):
        return pd.to_numeric(values[col], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)

    def dense(x):
        out = np.full((len(codes) + 1, n_cells), np.nan)
        out[a_row, c_row] = x
        return out

    first = np.zeros(n_cells, dtype=np.int64)
    first[c_row[::-1]] = np.arange(len(c_row))[::-1]              # a row of each cell, for its indicator's facts
    kind_all = as_object(values["kind"])
    pol_all = as_object(values["polarity"])
    kind_c, pol = kind_all[first], pol_all[first]
    is_count = kind_c == "count"
    mult = np.where(is_count, 1.0, num("multiplier")[first])

    V, N, D = dense(num("value")), dense(num("numerator")), dense(num("denominator"))
    # a count's exposure: 1, or the share of its months with data when annualised (indicators(partial=))
    D[:, is_count] = np.where(np.isnan(N[:, is_count]), np.nan, np.where(np.isnan(D[:, is_count]), 1.0,
                                                                          D[:, is_count]))
    ok = ~np.isnan(V) & ~np.isnan(N) & ~np.isnan(D)
    V = np.where(ok, V, np.nan)
    N = np.where(ok, N, 0.0)
    D = np.where(ok, D, 0.0)

    # [group, member, cell] arrays through the (area, peer) index matrix.
    vb, nb, db = V[bench], N[bench], D[bench]
    wb = _bench_weights(groups, codes, a_pos, bench, include_self)
    if wb is not None:
        wb = wb[:, :, None]
    n_members = (~np.isnan(vb)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        s1 = np.where(np.isnan(vb), 0.0, vb).sum(axis=1)
        s2 = np.where(np.isnan(vb), 0.0, vb ** 2).sum(axis=1)
        b_mean = np.where(n_members > 0, s1 / n_members, np.nan)
        b_sd = np.where(n_members > 1, np.sqrt(np.maximum(s2 - n_members * b_mean ** 2, 0) / (n_members - 1)), np.nan)
        if wb is None and benchmark == "pooled":
            bm = nb.sum(axis=1) / db.sum(axis=1) * mult
        elif wb is None:
            bm = b_mean
        elif benchmark == "pooled":                                   # weighted: sum w x / sum w n
            bm = (nb * wb).sum(axis=1) / (db * wb).sum(axis=1) * mult
        else:
            wv = np.where(np.isnan(vb), 0.0, wb)
            bm = (np.where(np.isnan(vb), 0.0, vb) * wv).sum(axis=1) / wv.sum(axis=1)
        bm = np.where(n_members > 0, bm, np.nan)

    # Too few peers with data (the area itself never counts): no benchmark, band or comparison at all.
    with_data = (~np.isnan(V[full[:, 1:]])).sum(axis=1)           # [group, cell]
    group_k = (full[:, 1:] < len(codes)).sum(axis=1)              # [group]
    few = with_data < max(int(min_peers), 1)
    bm = np.where(few, np.nan, bm)
    b_mean, b_sd = np.where(few, np.nan, b_mean), np.where(few, np.nan, b_sd)

    vf = V[full]                                         # self + peers
    own = V[a_pos]                                       # [group, cell]
    low_good = pol == "low_is_good"
    better_than = np.where(low_good[None, None, :], vf < own[:, None, :], vf > own[:, None, :])
    size = (~np.isnan(vf)).sum(axis=1)
    with np.errstate(invalid="ignore"):
        rank = np.where(np.isnan(own), np.nan, 1 + better_than.sum(axis=1))
        quartile = np.ceil(4 * rank / size)
        q25, q75 = _quantiles(vf, size, (0.25, 0.75))
    best_q = np.where(low_good[None, :], q25, np.where((pol == "high_is_good")[None, :], q75, np.nan))
    best_q, quartile, rank = (np.where(few, np.nan, x) for x in (best_q, quartile, rank))

    take = lambda arr: arr[g_row, c_row_m]  # noqa: E731
    cols: dict = {}
    value = num("value")[mask]
    cols["peers_n"] = take(n_members).astype("int64")
    cols["peers_with_data"] = take(with_data).astype("int64")
    cols["group_k"] = group_k[g_row]
    cols["benchmark"] = take(bm)
    gtxt = short_groups_method(groups)
    bench_txt = (("pooled MSG benchmark" if benchmark == "pooled" else "mean of MSG members' values")
                 + (" incl. self" if include_self else " excl. self") + f", {gtxt}")
    if wb is not None:
        bench_txt = "weighted " + bench_txt + (" (members' weights: sum w x numerator / sum w x denominator"
                                               if benchmark == "pooled" else " (members' weights: sum w x value")
        bench_txt += ", the area itself one member of k+1)" if include_self else ")"
    cols["benchmark_method"] = bench_txt
    sd = take(b_sd)
    cols["band_mean"] = take(b_mean)
    cols["band_lower"] = cols["band_mean"] - sd
    cols["band_upper"] = cols["band_mean"] + sd
    cols["band_method"] = ("iQuanta-style band: MSG mean +/- 1 SD of members' values "
                           f"({'incl.' if include_self else 'excl.'} self; descriptive, not a significance test)")
    cols["group_rank"] = pd.array(take(rank), dtype="Int64")
    cols["group_size"] = take(size).astype("int64")
    cols["quartile"] = pd.array(take(quartile), dtype="Int64")
    cols["best_quartile"] = take(best_q)
    cols["gap_to_benchmark"] = value - cols["benchmark"]
    cols["gap_to_best_quartile"] = value - cols["best_quartile"]

    rows = {"numerator": num("numerator")[mask], "denominator": num("denominator")[mask],
            "kind": kind_all[mask], "multiplier": num("multiplier")[mask], "benchmark": cols["benchmark"]}
    tau2 = None
    if overdispersion != "none":
        prop = np.broadcast_to(kind_c == "proportion", bm.shape)
        tau2_g, applied_g = _spiegelhalter(nb, db, bm, mult, prop, overdispersion)
        tau2, applied = take(tau2_g), take(applied_g)
        cols["od_applied"] = applied
        cols["tau2"] = tau2
    sig = _significance(rows, tau2)
    too_few = take(few) & ~np.isnan(value)
    sig = np.where(too_few, None, sig)
    cols["significance"] = sig
    cols["peer_judgement"] = np.where(too_few, PeerJudgement.TOO_FEW_PEERS.value, judge(sig, pol_all[mask]))
    if "method" in values.columns:
        ci_code, ci_uni = pd.factorize(values["method"])
        ci_code = ci_code[mask]
        ci_txt = np.array([str(u).replace(" 95%", "") for u in ci_uni] + ["no value"], dtype=object)[ci_code]
    else:
        ci_txt = np.full(int(mask.sum()), "no value", dtype=object)
    method = ci_txt + (" 95%/99.8% CI vs " + bench_txt)
    if overdispersion != "none":
        why = ("no excess variation in the group" if overdispersion == "always" else
               "k phi within the chi-squared 95% point: no significant excess variation in the group")
        method = method + f", Spiegelhalter overdispersion {overdispersion}: not applied ({why})"
        if applied.any():
            # one text per (scale, tau2): formatting only the distinct values keeps long histories fast
            prop_row = rows["kind"][applied] == "proportion"
            t_code, t_uni = pd.factorize(tau2[applied] * np.where(prop_row, -1.0, 1.0))
            scale = np.where(t_uni < 0, "normal", "normal (square-root scale)")
            texts = np.array([f"{sc} 95%/99.8% limits vs {bench_txt}, Spiegelhalter overdispersion applied "
                              f"({overdispersion}), tau2={abs(t):.4g} estimated within the group"
                              for sc, t in zip(scale, t_uni)], dtype=object)
            method[applied] = texts[t_code]
    if too_few.any():
        method = np.where(too_few, np.array([f"too few peers with data ({n} of {k}; at least {max(int(min_peers), 1)} "
                                             f"needed, the area itself not counted): no benchmark"
                                             for n, k in zip(cols["peers_with_data"], cols["group_k"])],
                                            dtype=object), method)
    cols["significance_method"] = method
    return mask, cols


def _quantiles(x: np.ndarray, n: np.ndarray, qs) -> list[np.ndarray]:
    """Quantiles along axis 1 ignoring NaN (numpy's default 'linear' rule), vectorised: ``np.nanquantile``
    loops over columns. ``n`` = non-NaN count per column."""
    srt = np.sort(x, axis=1)                                       # NaN sort last
    out = []
    for q in qs:
        pos = q * np.maximum(n - 1, 0)
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, np.maximum(n - 1, 0))
        a = np.take_along_axis(srt, lo[:, None, :], axis=1)[:, 0, :]
        b = np.take_along_axis(srt, hi[:, None, :], axis=1)[:, 0, :]
        out.append(np.where(n > 0, a + (b - a) * (pos - lo), np.nan))
    return out


def _od_scale(num, den, theta, proportion):
    """Spiegelhalter's scale, as ``stats.overdispersion``: (y, target, s^2) with proportions y = x / n, target
    p0, s^2 = p0 (1 - p0) / n; rates and counts y = sqrt(x / n), target sqrt(r0), s^2 = 1 / (4 n). ``theta``
    is the benchmark per unit (p0 or r0). Used for the tau^2 estimate and for the adjusted test alike."""
    with np.errstate(invalid="ignore", divide="ignore"):
        y = np.where(proportion, num / den, np.sqrt(num / den))
        target = np.where(proportion, theta, np.sqrt(theta))
        s2 = np.where(proportion, theta * (1 - theta) / den, 1.0 / (4.0 * den))
    return y, target, s2


def _spiegelhalter(nb, db, bm, mult, proportion, mode):
    """tau^2 and whether it is applied, per [group, cell], from the members' z-scores against the group
    benchmark (METHODS §2), on the scale of ``stats.overdispersion`` (``_od_scale``).

    This is ``stats.overdispersion`` vectorised over every group and cell at once, and the only tau^2 estimate
    in this module: stats' function takes one set of units per call, and a full history has hundreds of
    thousands of (group, indicator, period end) sets, far too many for one call each. The tests check that the
    two agree."""
    from scipy.stats import chi2

    prop = proportion[:, None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        theta = (bm / mult)[:, None, :]                               # benchmark per unit
        y, target, s2 = _od_scale(nb, db, theta, prop)
        used = (db > 0) & (s2 > 0)
        z2 = np.where(used, (y - target) ** 2 / s2, 0.0)
        k = used.sum(axis=1)
        kphi = z2.sum(axis=1)
        w = np.where(used, 1.0 / s2, 0.0)
        sw, sw2 = w.sum(axis=1), (w ** 2).sum(axis=1)
        tau2 = np.maximum((kphi - (k - 1)) / (sw - sw2 / sw), 0.0)
        crit = chi2.ppf(0.95, np.maximum(k - 1, 1))
        applied = (k > 1) & (tau2 > 0) & ((kphi > crit) if mode == "auto" else True)
    return np.where(applied, tau2, 0.0), applied


def _significance(rows: dict, tau2: np.ndarray | None = None) -> np.ndarray:
    """PHE labels from ``stats.compare_to_benchmark``: 95% and 99.8% limits against each row's benchmark.

    Rows without an overdispersion adjustment (``tau2`` None or 0) use the area's own limits (Byar / exact
    Poisson for rates and counts, Wilson for proportions), exactly as with ``overdispersion="none"``. Rows with
    tau^2 > 0 use normal limits on the ``_od_scale`` scale, value -/+ z sqrt(s^2 + tau^2) with
    z = ``stats.z_value`` (s^2 from the benchmark, as the funnel), transformed back; reading them against the
    benchmark is the z-test (y - target) / sqrt(s^2 + tau^2) beyond 1.96 / 3.09."""
    num = np.asarray(rows["numerator"], dtype="float64")
    kind = np.asarray(rows["kind"], dtype=object)
    den = np.where(kind == "count", 1.0, np.asarray(rows["denominator"], dtype="float64"))
    bm = np.asarray(rows["benchmark"], dtype="float64")
    mult = np.where(kind == "count", 1.0, np.asarray(rows["multiplier"], dtype="float64"))
    ok = ~np.isnan(num) & ~np.isnan(den) & (den > 0) & ~np.isnan(bm)
    adjusted = ok & (tau2 > 0) if tau2 is not None else np.zeros(len(num), dtype=bool)
    is_prop = kind == "proportion"
    lim = np.full((4, len(num)), np.nan)
    for mask, fn in ((ok & ~adjusted & is_prop, stats.proportion_ci), (ok & ~adjusted & ~is_prop, stats.rate_ci)):
        if not mask.any():
            continue
        for j, level in enumerate(stats.SIGNIFICANCE_LEVELS):
            ci = fn(num[mask], den[mask], multiplier=1.0, level=level)
            lim[2 * j, mask] = ci["lower"].to_numpy() * mult[mask]
            lim[2 * j + 1, mask] = ci["upper"].to_numpy() * mult[mask]
    if adjusted.any():
        a = adjusted
        prop = is_prop[a]
        y, _, s2 = _od_scale(num[a], den[a], bm[a] / mult[a], prop)
        se = np.sqrt(s2 + tau2[a])
        for j, level in enumerate(stats.SIGNIFICANCE_LEVELS):
            half = stats.z_value(level) * se
            lo, hi = y - half, y + half
            lim[2 * j, a] = np.where(prop, lo, np.maximum(lo, 0.0) ** 2) * mult[a]
            lim[2 * j + 1, a] = np.where(prop, hi, hi ** 2) * mult[a]
    lab = stats.compare_to_benchmark(lim[0], lim[1], lim[2], lim[3], np.where(ok, bm, np.nan))
    out = np.full(len(num), None, dtype=object)
    out[ok] = np.asarray(lab.astype(object))[ok]
    return out


def judge(significance, polarity) -> np.ndarray:
    """PHE label + polarity -> better / worse / similar (higher / lower / similar for polarity none), by
    ``stats.significance_reading``; 'incomplete' where there is no label. Vectorised: the reading is looked up
    once per (polarity, label) pair."""
    sig = pd.Series(significance, dtype="object")
    s_code, s_uni = pd.factorize(sig)                                  # no label -> -1: the last column
    pol = np.broadcast_to(np.asarray(polarity, dtype=object), (len(sig),))
    p_code, p_uni = pd.factorize(pd.Series(pol, dtype="object"), use_na_sentinel=False)
    incomplete = PeerJudgement.INCOMPLETE.value
    table = np.full((len(p_uni), len(s_uni) + 1), incomplete, dtype=object)
    for i, p in enumerate(p_uni):
        reading = stats.significance_reading(pd.Series(s_uni, dtype="object"), None if pd.isna(p) else p)
        table[i, :-1] = reading.astype(object).where(reading.notna(), incomplete).to_numpy()
    return table[p_code, s_code]


# ---------------------------------------------------------------------------------------------------- spread
def spread(values: pd.DataFrame, members) -> pd.DataFrame:
    """The range and quartiles of a group's values, per indicator (for spine charts): ``values`` an
    ``indicators()`` or assessment frame at one period end, ``members`` the area codes of the group (the area
    and its peers). Columns indicator, n, min, q25, median, q75, max: numpy's linear rule, as ``compare``'s best
    quartile; descriptive, not a test."""
    v = values[values["area_code"].isin(list(members)) & values["value"].notna()]
    g = v.groupby("indicator", sort=False)["value"]
    out = pd.DataFrame({"n": g.size(), "min": g.min(), "q25": g.quantile(0.25), "median": g.median(),
                        "q75": g.quantile(0.75), "max": g.max()})
    return out.reset_index()
