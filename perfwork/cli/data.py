"""``perfwork demo-data`` and ``perfwork indicators``."""

from __future__ import annotations

import argparse

import pandas as pd

from ..dataset import Dataset
from ..values import PERIODS
from ._common import add_data_options


def cmd_demo_data(args: argparse.Namespace) -> int:
    from ..sources import demo

    path = demo.write(args.out or demo.DEFAULT_PATH, seed=args.seed)
    ds = Dataset.from_dir(path)
    print(f"wrote {ds!r} to {path}")
    return 0


def _fmt(v: float) -> str:
    return "" if pd.isna(v) else (f"{v:,.1f}" if abs(v) >= 100 else f"{v:,.2f}")


def indicator_table(table: pd.DataFrame) -> str:
    """A readable text table of one area's indicators at one period end."""
    lines = []
    for (code, name), rows in table.groupby(["area_code", "area_name"], sort=False):
        first = rows.iloc[0]
        span = f"{first['period_start']:%b %Y} to {first['period_end']:%b %Y}"
        lines.append(f"{name} ({code}), {first['level']}: {first['period']} {span}")
        show = pd.DataFrame({
            "indicator": rows["label"],
            "value": rows["value"].map(_fmt),
            "95% limits": [f"{_fmt(lo)} to {_fmt(hi)}" if pd.notna(lo) else ""
                           for lo, hi in zip(rows["lower"], rows["upper"])],
            "numerator": rows["numerator"].map(lambda v: "" if pd.isna(v) else f"{v:,.0f}"),
            "denominator": rows["denominator"].map(lambda v: "" if pd.isna(v) else f"{v:,.0f}"),
            "note": ["" if c else f"incomplete: {m} month(s) missing" if m else "not recorded in this dataset"
                     for c, m in zip(rows["complete"], rows["months_missing"])],
        })
        lines.append(show.to_string(index=False))
        methods = ", ".join(sorted(set(rows["method"].dropna())))
        years = ", ".join(map(str, sorted(set(rows["pop_year"].dropna()))))
        lines.append(" ".join(filter(None, [methods and f"Limits: {methods}.",
                                            years and f"Population year: {years}."])))
        lines.append("")
    return "\n".join(lines)


def cmd_indicators(args: argparse.Namespace, dataset: Dataset) -> int:
    from .. import provenance
    from ..framework import load_framework
    from ..values import indicators

    fw = load_framework(args.framework)
    table = indicators(dataset, framework=fw, period=args.period, level=args.level,
                       areas=args.area, period_end=args.period_end or "latest")
    if args.csv:
        run = provenance.record(dataset, fw, level=args.level, period=args.period,
                                period_end=pd.DatetimeIndex(table["period_end"].unique()),
                                options={"areas": args.area})
        provenance.to_csv(table, args.csv, run)
        print(f"wrote {len(table)} rows to {args.csv} (run record in {provenance.sidecar(args.csv).name})")
    print(indicator_table(table))
    return 0


def add_data_commands(sub) -> None:
    """Register ``perfwork demo-data`` and ``perfwork indicators``."""
    p = sub.add_parser("demo-data", help="regenerate the synthetic Demo Kingdom dataset",
                       description="Generate the Demo Kingdom deterministically and write it as Parquet tables.")
    p.add_argument("--out", default=None, help="folder to write (default: data/demo in the repository)")
    p.add_argument("--seed", type=int, default=20240401, help="random seed (default: %(default)s)")
    p.set_defaults(func=cmd_demo_data)

    p = sub.add_parser("indicators", help="indicator values and 95%% limits for an area",
                       description="Print an area's indicators at one period end (default: the latest).")
    p.add_argument("--area", required=True, action="append", help="area code or name (repeat for several)")
    p.add_argument("--period", default="rolling12", choices=PERIODS, help="period kind (default: %(default)s)")
    p.add_argument("--period-end", metavar="YYYY-MM", help="the period's last month (default: the latest)")
    p.add_argument("--level", default=None, choices=["csp", "force", "region", "nation"],
                   help="level of the areas (default: the level of the first --area)")
    p.add_argument("--framework", default="national", help="framework name or YAML path (default: %(default)s)")
    p.add_argument("--csv", metavar="FILE", help="also write the table to a CSV file")
    add_data_options(p)
    p.set_defaults(func=cmd_indicators, needs_data=True)
