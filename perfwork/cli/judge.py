"""CLI commands for peers and the assessment: ``perfwork peers`` and ``perfwork assess``.

``perfwork.cli`` registers them with ``add_peers_commands(sub)`` and ``add_assess_commands(sub)``; each parser
sets ``func`` (a ``handler(args, dataset)``) and ``needs_data=True``, so the CLI loads the dataset (``--data DIR``,
``--store FILE`` or the demo) and calls the handler with it.
"""

from __future__ import annotations

import argparse

import pandas as pd

from ..dataset import Dataset
from ._common import add_data_options


def _shared_options(p: argparse.ArgumentParser, groups_help: str, k_help: str) -> None:
    """The options of both commands: --level, --groups, --k and the data source (--data / --store).

    When --level is not given, the CLI's main sets it from the first --area (``cli.main``)."""

    p.add_argument("--level", default=None, choices=["csp", "force"],
                   help="level of the areas and their groups (default: the level of the first --area, else csp)")
    p.add_argument("--groups", metavar="CSV", default=None, help=groups_help)
    p.add_argument("--k", type=int, default=None, help=k_help)
    p.add_argument("--method", default=None, choices=["nearest", "balanced", "synthetic"],
                   help="how Most Similar Groups are chosen: the k nearest, k chosen so that the group's mean "
                        "characteristics match the area's (balanced), or synthetic-control weights "
                        "(default: balanced)")
    add_data_options(p)


def add_peers_commands(subparsers) -> argparse.ArgumentParser:
    """Register ``perfwork peers``."""
    p = subparsers.add_parser(
        "peers", help="an area's Most Similar Group: peers, distances and why",
        description="Show an area's Most Similar Group: each peer's distance (weighted Euclidean on z-scores of "
                    "the area characteristics) and the characteristics that separate them most. Or load official "
                    "groups (e.g. CIPFA nearest neighbours) from a CSV with --groups.")
    p.add_argument("--area", required=True, action="append", help="area code or name (repeat for several)")
    p.add_argument("--weights", default=None,
                   help="a weight set in parameters/msg_weights.yaml (e.g. crime_drivers) or a YAML file")
    p.add_argument("--top", type=int, default=3, help="characteristics to name per peer (default: 3)")
    p.add_argument("--csv", metavar="FILE", help="also write the area's group to a CSV file")
    _shared_options(p, groups_help="load groups from a CSV (area_code,peer_code pairs, or one area's list of peers)",
                    k_help="peers per group (default: 15 for CSPs, 7 for forces)")
    p.set_defaults(func=cmd_peers, needs_data=True)
    return p


def add_assess_commands(subparsers) -> argparse.ArgumentParser:
    """Register ``perfwork assess``."""
    p = subparsers.add_parser(
        "assess", help="judge an area's indicators: peers, trend, SPC, targets, exceptions",
        description="The assessment table: every indicator against the area's Most Similar Group, its change on "
                    "the previous 12 months, SPC, the Fingertips trend and any target, with exceptions and the "
                    "reasons in words, ordered by priority. Without --area every area of the level is assessed.")
    p.add_argument("--area", default=None, action="append",
                   help="area code or name, repeat for several (default: every area of --level)")
    p.add_argument("--period-end", metavar="YYYY-MM", default=None,
                   help="last month of the 12 months judged (default: the latest; 'all' for every month)")
    p.add_argument("--framework", default="national", help="framework name or YAML path (default: %(default)s)")
    p.add_argument("--targets", default=None,
                   help="target YAML file, folder or name in parameters/targets ('demo' = all there; 'none' to skip; "
                        "default: the demo targets for the demo data, none otherwise)")
    p.add_argument("--benchmark", choices=["pooled", "mean"], default="pooled",
                   help="MSG benchmark: pooled sum/sum (default) or the mean of members' values")
    p.add_argument("--exclude-self", action="store_true", help="leave the area out of its own benchmark")
    p.add_argument("--overdispersion", choices=["none", "auto", "always"], default="none",
                   help="Spiegelhalter overdispersion adjustment of the peer comparison (default: none)")
    p.add_argument("--partial", choices=["annualise"], default=None,
                   help="give 12-month windows touching missing months a value from the months with data "
                        "(exposure scaled by months/12, flagged '11 of 12 months'); default: no value")
    p.add_argument("--min-peers", type=int, default=None, metavar="N",
                   help="peers with data a benchmark needs (default: 5; the area itself never counts)")
    p.add_argument("--peers", choices=["national", "within-data"], default="national",
                   help="Most Similar Groups among every area with characteristics (default) or only among the "
                        "areas with data")
    p.add_argument("--weights", default=None,
                   help="a weight set in parameters/msg_weights.yaml or a YAML file (for building MSGs)")
    p.add_argument("--all", action="store_true", help="show every indicator, not only the exceptions")
    p.add_argument("--csv", metavar="FILE", help="write the full table to a CSV file")
    p.add_argument("--xlsx", metavar="FILE", help="write the table to an Excel workbook (a sheet per domain + Method)")
    _shared_options(p, groups_help="peer groups from a CSV instead of building MSGs (pairs, or one area's list "
                                   "of peers with one --area)",
                    k_help="peers per Most Similar Group (default: 15 for CSPs, 7 for forces)")
    p.set_defaults(func=cmd_assess, needs_data=True)
    return p


def _areas(args, dataset: Dataset) -> list[str]:
    """The codes of --area (one or several, codes or names); [] for none."""
    raw = getattr(args, "area", None) or []
    raw = [raw] if isinstance(raw, str) else list(raw)
    return [str(dataset.area(a)["area_code"]) for a in raw]


def _level(args) -> str:
    """--level; ``cli.main`` has already set it from the first --area when it was not given."""
    return str(getattr(args, "level", None) or "csp")


def _groups(args, dataset: Dataset, level: str) -> pd.DataFrame:
    from .. import peers

    if args.groups:
        # One area's list of peers (no peer column) belongs to the one --area given; a pairs file to everyone.
        codes = _areas(args, dataset)
        one_list = peers.groups_layout(args.groups) == "list" and len(codes) == 1
        return peers.load_groups(args.groups, dataset=dataset, level=level, area=codes[0] if one_list else None,
                                 k=args.k)
    return peers.most_similar(dataset, k=args.k, weights=getattr(args, "weights", None), level=level,
                              method=args.method)


def peers_text(groups: pd.DataFrame, area: str, top: int = 3, with_data: set[str] | None = None) -> str:
    """A readable account of one area's group (``with_data``: the areas with crime data, to say which peers
    have none)."""
    from .. import peers

    ex = peers.explain(groups, area, top=top)
    rows = groups[groups["area_code"] == area]
    name = rows["area_name"].iloc[0] if "area_name" in rows.columns and rows["area_name"].notna().any() else area
    lines = [f"{name} ({area}): {len(ex)} peers", f"Method: {peers.groups_method(groups)}", ""]
    show = pd.DataFrame({
        "rank": ex["rank"],
        "peer": ex["peer_code"] + ((" " + ex["peer_name"].fillna("")) if "peer_name" in ex.columns else ""),
        "distance": ex["distance"].map(lambda d: "" if pd.isna(d) else f"{d:.2f}"),
        "differs most on": ex["differs_most_on"],
        "closest on": ex["closest_on"],
    })
    w = rows.sort_values("rank")["weight"].to_numpy() if "weight" in rows.columns else None
    if w is not None and not (abs(w - w.mean()) < 1e-12).all():
        show.insert(3, "weight", [f"{v:.0%}" for v in w])
    if with_data is not None:
        show.insert(2, "crime data", ex["peer_code"].map(lambda c: "yes" if c in with_data else "none"))
        lines.insert(2, f"{int(ex['peer_code'].isin(with_data).sum())} of {len(ex)} peers have crime data")
    lines.append(show.to_string(index=False))
    lines += ["", *balance_lines(groups, area)]
    summary = ex.attrs.get("summary")
    if summary is not None and len(summary):
        lines.append("")
        lines.append("Across the group, the characteristics that separate the peers most (share of squared distance): "
                     + ", ".join(f"{v} {s:.0%}" for v, s in zip(summary["variable"].head(top),
                                                                summary["share"].head(top))))
    return "\n".join(lines)


def balance_lines(groups: pd.DataFrame, area: str) -> list[str]:
    """The group's balance: the words, then each characteristic's gap (group mean minus area, in SD)."""
    from .. import peers

    bal = peers.balance_table(groups)
    bal = bal[bal["area_code"] == area]
    if bal.empty:
        return ["Balance: not measured (no characteristics for these areas)"]
    row = bal.iloc[0]
    gaps = {c.removeprefix("balance_gap_"): row[c] for c in bal.columns if c.startswith("balance_gap_")}
    worst = sorted(gaps, key=lambda v: -abs(gaps[v]))
    return [f"Balance: {row['balance_note']}",
            "Group mean minus area (SD): " + ", ".join(f"{v} {gaps[v]:+.2f}" for v in worst)]


def cmd_peers(args: argparse.Namespace, dataset: Dataset) -> int:
    from .. import peers, provenance

    level = _level(args)
    codes = _areas(args, dataset)
    groups = _groups(args, dataset, level)
    if args.csv:
        run = provenance.record(dataset, level=level, groups=groups, peer_method=peers.groups_method(groups),
                                options={"k": args.k, "weights": getattr(args, "weights", None),
                                         "groups": args.groups})
        provenance.to_csv(groups[groups["area_code"].isin(codes)], args.csv, run)
        print(f"wrote the group(s) of {', '.join(codes)} to {args.csv} (run record in "
              f"{provenance.sidecar(args.csv).name})")
    from ..peers import areas_with_data

    have = set(areas_with_data(dataset, level))
    print("\n\n".join(peers_text(groups, code, top=args.top, with_data=have) for code in codes))
    return 0


def cmd_assess(args: argparse.Namespace, dataset: Dataset) -> int:
    from .. import provenance
    from ..assessment import assess_all
    from ..judgement import exception_table, to_xlsx
    from ..targets import default_targets

    level = _level(args)
    codes = _areas(args, dataset)
    if args.targets is None:
        targets = default_targets(dataset)
    else:
        targets = None if str(args.targets).lower() in ("none", "") else args.targets
    peers_arg = _groups(args, dataset, level) if args.groups else None
    extra = {} if args.min_peers is None else {"min_peers": args.min_peers}
    a = assess_all(dataset, level=level, period_end=args.period_end, framework=args.framework,
                   peers=peers_arg if peers_arg is not None else args.peers, targets=targets, k=args.k,
                   benchmark=args.benchmark, include_self=not args.exclude_self, overdispersion=args.overdispersion,
                   partial=args.partial, weights=args.weights, method=args.method, cache=False, **extra)
    table = a.for_areas(codes or None)
    if args.csv:
        provenance.to_csv(table, args.csv, a.run)
        print(f"wrote {len(table)} rows to {args.csv} (run record in {provenance.sidecar(args.csv).name})")
    if args.xlsx:
        to_xlsx(table, args.xlsx, run=a.run)
        print(f"wrote {args.xlsx}")
    if not codes and not args.all:
        exc = table[table["exception"]]
        top = exc.head(30)
        print(f"{int(table['exception'].sum())} exceptions in {table['area_code'].nunique()} {level}s "
              f"(top {len(top)} by priority):")
        if len(top):
            print(pd.DataFrame({"area": top["area_code"] + " " + top["area_name"], "indicator": top["label"],
                                "priority": top["priority"].map("{:.0f}".format),
                                "why": top["reasons"]}).to_string(index=False))
        return 0
    print(exception_table(table, all_rows=args.all))
    print(f"Run: {a.run.summary()}")
    if codes and table["value"].isna().all():
        return 1  # nothing judged: the header says why and what to do
    return 0
