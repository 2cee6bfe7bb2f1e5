"""``perfwork ingest ...``: put police.uk and ONS files into a DuckDB store.

The subcommands ``perfwork ingest police-uk`` and ``perfwork ingest characteristics`` are registered on the
``perfwork`` command by :mod:`perfwork.cli` through :func:`add_ingest_commands`; this module has no entry point of
its own.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

POLICE_UK_HELP = """\
Read police.uk files into a perfwork DuckDB store, with every row accounted for.

PATH may be police.uk zip archives (YYYY-MM/YYYY-MM-<force>-street.csv, -outcomes.csv, -stop-and-search.csv
inside), folders (searched recursively), or loose .csv / .csv.gz files, in any mix. A file's force and month come
from its name (or, for a loose street/outcomes file with another name, from its 'Reported by' and 'Month').

--lookup takes ONS lookup CSVs, recognised by their column names: LSOA -> LAD (LSOA11CD + LAD20CD, or OA-level
LSOA + LAD), LAD -> CSP -> police force area (LAD19CD + CSP19CD + PFA19CD, any year), LAD code succession
(LADCD + LADCD_ACTIVE) and code/name lists. Lookups are kept in the store: later ingests need not repeat them.

--population takes the ONS mid-year estimates workbook (sheet 'MYE 5'), the ONS CMD 'v4' CSV or a CSV with
area_code, year, population[, households] (ONS names such as Code, Name, Year, Population or All ages, and wide
files with one column per year such as mid-2019, are recognised; quoted numbers may have thousands separators).
--households takes household estimates by district in the same CSV forms (area_code, year, households). CSP and
force populations and households are sums of their districts.

Every row lands in one bucket - counted, ASB, no location, LSOA not in the lookup, LAD not mapped to a CSP,
ambiguous LAD -> CSP, rejected (with the reason) - reported per file and kept in the store. Re-ingesting a file
with the same content does nothing; a file for the same force, month and kind with other content replaces it.
The ingest is one transaction: an error (naming file, line and column) or Ctrl-C leaves the store unchanged.

example:
  perfwork ingest police-uk 2019-archive.zip loose/ --lookup LSOA11_CCG20_LAD20_EN_LU_apr2020.csv \\
      --lookup LAD19_CSP19_PFA19_EW_LU_dec2019.csv --population ukmidyearestimates20192020ladcodes.xls \\
      --store crime.duckdb
"""

CHARACTERISTICS_HELP = """\
Read area characteristics for Most Similar Groups into a perfwork store: Indices of Deprivation LAD summaries
(2019: lad19cd, index_domain, average_score ...; 2025: area_code, index_domain ...), the ONS MYE workbook
(area and population -> population_density) or a CSV with area_code and numeric columns. District values are
averaged to CSPs and forces weighted by population (areas and counts are summed).

example:
  perfwork ingest characteristics IoD2019_LAD_summaries.csv ukmidyearestimates20192020ladcodes.xls \\
      --store crime.duckdb
"""


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", required=True, type=Path, metavar="STORE.duckdb",
                   help="the perfwork DuckDB store (created if absent)")
    p.add_argument("--lookup", action="append", default=[], type=Path, metavar="FILE",
                   help="ONS lookup CSV (repeat for several)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar and no report (for scripts)")


def add_ingest_commands(subparsers) -> argparse.ArgumentParser:
    """Register ``ingest police-uk`` and ``ingest characteristics`` on the ``perfwork`` CLI's subparsers.

    Each leaf parser sets ``func``: call ``args.func(args)``, which returns the exit status.
    """
    ingest = subparsers.add_parser("ingest", help="put police.uk and ONS files into a DuckDB store",
                                   description="Put real data into a perfwork DuckDB store; "
                                               "`perfwork ingest police-uk --help` for details.")
    sub = ingest.add_subparsers(dest="ingest_command", metavar="{police-uk,characteristics}")
    sub.required = True
    p = sub.add_parser("police-uk", help="police.uk street, outcomes and stop-and-search files (+ ONS lookups)",
                       description=POLICE_UK_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                   help="police.uk zip archives, folders, .csv or .csv.gz files")
    _common(p)
    p.add_argument("--population", action="append", default=[], type=Path, metavar="FILE",
                   help="ONS population estimates (MYE workbook or CSV; repeat for several)")
    p.add_argument("--households", action="append", default=[], type=Path, metavar="FILE",
                   help="household estimates by district (CSV: area_code, year, households; repeat for several)")
    p.set_defaults(func=run_police_uk)
    c = sub.add_parser("characteristics", help="area characteristics for Most Similar Groups",
                       description=CHARACTERISTICS_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    c.add_argument("files", nargs="+", type=Path, metavar="FILE", help="characteristics files")
    _common(c)
    c.set_defaults(func=run_characteristics)
    return ingest


def _command(args) -> str:
    return " ".join(sys.argv) if sys.argv else ""


def _ingest(args, run) -> int:
    """Run one ingest in a store; a data error or Ctrl-C rolls it back and says so."""
    from ..dataset import DataError
    from ..store import Store

    try:
        with Store(args.store) as st:
            report = run(st)
    except DataError as e:
        print(f"perfwork: error: {e}", file=sys.stderr)
        print("nothing was stored (the ingest was rolled back)", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: nothing was stored (the ingest was rolled back)", file=sys.stderr)
        return 130
    if not args.quiet:
        print(report)
    return 0


def run_police_uk(args) -> int:
    if not args.paths and not args.population and not args.lookup and not args.households:
        print("perfwork ingest police-uk: nothing to ingest (give PATHs, --lookup, --population or --households)",
              file=sys.stderr)
        return 2
    return _ingest(args, lambda st: st.ingest_police_uk(args.paths, lookups=args.lookup, population=args.population,
                                                         households=args.households, quiet=args.quiet,
                                                         command=_command(args)))


def run_characteristics(args) -> int:
    return _ingest(args, lambda st: st.ingest_characteristics(args.files, lookups=args.lookup, quiet=args.quiet,
                                                               command=_command(args)))
