"""ONS files: geography lookups, population estimates, area characteristics and the PFA crime tables.

Every reader recognises its file by the ONS column names (``LSOA11CD``/``LAD20CD``, ``LAD19CD``/``CSP19CD``/
``PFA19CD`` ...), not by the file name, and returns small pandas frames; the store keeps them, resolves every LAD
code with :func:`resolve_lads` and then every LSOA in SQL (an LSOA maps when its lookups' chains agree on one CSP).

Geography rules (see also the README, "Real data"):

* LSOA -> LAD comes from one or more LSOA lookups (``LSOAyyCD`` + ``LADyyCD``, or the OA-level ``LSOA``/``LAD``
  form, de-duplicated to LSOAs).
* LAD -> CSP -> police force area comes from ``LADyyCD``/``CSPyyCD``/``PFAyyCD`` lookups. The newest vintage
  defines the CSP geography; an older vintage is consulted only for LAD codes the newest one lacks, and only when
  the CSP it gives still exists.
* A LAD code in no LAD -> CSP lookup (e.g. Buckinghamshire E06000060, April 2020, against the Dec-2019 lookup) is
  resolved through a code-succession lookup (``LADCD``/``LADCD_ACTIVE``) when one is given: the code's family (all
  codes sharing its current successor) maps to a CSP only if every family member in the lookup maps to that same
  CSP; several CSPs make it ambiguous. Nothing is guessed.
* A LAD mapped to several CSPs (East Suffolk -> Suffolk Coastal + Waveney; BCP -> Bournemouth, Poole, Dorset) is
  ambiguous: its rows are counted nowhere and reported in their own bucket.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..dataset import DataError
from . import tidy
from .policeuk import normalise_force_name, sql_quote  # noqa: F401 (re-exported)

# ------------------------------------------------------------------------------------------------ small helpers
LAD_PREFIXES = ("E06", "E07", "E08", "E09", "W06")  # districts of England and Wales (unitary, shire, met, London)
LSOA11_MAX_ENGLAND = 33768  # E01033768 is the last 2011 LSOA code; higher E01 codes are 2021 LSOAs


def _open_text(path: Path):
    raw = open(path, "rb")
    if str(path).endswith(".gz"):
        raw = gzip.GzipFile(fileobj=raw)
    return io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")


def csv_header(path: str | Path) -> list[str]:
    """The header row of a CSV (plain or .gz)."""
    path = Path(path)
    try:
        with _open_text(path) as f:
            return [c.strip() for c in next(csv.reader([f.readline()]), [])]
    except UnicodeDecodeError as e:
        raise DataError(f"{path}, line 1: not UTF-8 text ({e.reason} at byte {e.start})") from None


def read_csv_strings(path: str | Path, usecols: list[str] | None = None) -> pd.DataFrame:
    """A small CSV as Python strings (blank cells are None), with a clear error for a bad file."""
    path = Path(path)
    try:
        df = pd.read_csv(path, dtype=object, keep_default_na=False, na_values=[""], encoding="utf-8-sig",
                         usecols=(lambda c: c.strip() in usecols) if usecols else None)
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise DataError(f"{path}: cannot be read as CSV: {e}") from None
    df.columns = [str(c).strip() for c in df.columns]
    return df


def csv_source(path: str | Path) -> str:
    """A DuckDB ``read_csv(...)`` of a comma-separated file with a header, every column as text, no sniffing."""
    cols = "{" + ", ".join(f"{sql_quote(c)}: 'VARCHAR'" for c in csv_header(path)) + "}"
    return (f"read_csv({sql_quote(path)}, columns={cols}, header=true, auto_detect=false, delim=',', quote='\"', "
            f"escape='\"', strict_mode=false, null_padding=true)")


def _read_columns(path: Path, columns: list[str]) -> pd.DataFrame:
    """Some columns of a CSV, trimmed, blanks as missing: pandas for small files, DuckDB for large ones."""
    import duckdb
    if not columns:
        return pd.DataFrame()
    if Path(path).stat().st_size < (1 << 20):
        df = read_csv_strings(path, columns)
        return pd.DataFrame({c: _strip(df[c]) for c in columns})
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        names = [sql_quote(c, '"') for c in columns]
        select = ", ".join(f"nullif(trim({n}), '') AS {n}" for n in names)
        return con.execute(f"SELECT {select} FROM {csv_source(path)}").df()
    except duckdb.Error as e:
        raise DataError(f"{path}: cannot be read as CSV ({str(e).splitlines()[0]})") from None
    finally:
        con.close()


def _find(columns, pattern: str) -> list[tuple[str, str]]:
    """Columns whose name matches ``pattern`` (case-insensitive, anchored); returns (column, first group)."""
    out = []
    for c in columns:
        m = re.fullmatch(pattern, str(c).strip(), flags=re.I)
        if m:
            out.append((c, m.group(1) if m.groups() else ""))
    return out


def _clean(s: pd.Series) -> pd.Series:
    """Already trimmed by DuckDB: missing values as None, strings as Python objects."""
    return s.astype(object).where(s.notna(), None)


def _strip(s: pd.Series) -> pd.Series:
    """Codes and names as stripped Python strings; blanks become None."""
    out = s.astype(object).str.strip()
    return out.where(out.notna() & (out != ""), None)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(text).lower()).strip("_")


# ------------------------------------------------------------------------------------------------ lookups
@dataclass
class Lookup:
    """What one lookup file contributes. Frames are empty when the file has no such columns."""

    path: str
    roles: list[str]
    lsoa_lad: pd.DataFrame      # lsoa_code, lad_code, lad_name, vintage
    lad_csp: pd.DataFrame       # vintage, lad_code, lad_name, csp_code, csp_name, pfa_code, pfa_name
    successors: pd.DataFrame    # lad_code, active_code, lad_name
    names: pd.DataFrame         # code, name
    notes: list[str] = field(default_factory=list)
    # LSOA -> LAD columns (lsoa, lad, lad name or None, vintage, output-area level?) for loading it in SQL
    lsoa_columns: tuple | None = None


_EMPTY = {
    "lsoa_lad": ("lsoa_code", "lad_code", "lad_name", "vintage"),
    "lad_csp": ("vintage", "lad_code", "lad_name", "csp_code", "csp_name", "pfa_code", "pfa_name"),
    "successors": ("lad_code", "active_code", "lad_name"),
    "names": ("code", "name"),
}


def _empty(kind: str) -> pd.DataFrame:
    return pd.DataFrame(columns=list(_EMPTY[kind]), dtype=object)


def _year(two: str) -> int:
    return 2000 + int(two) if two else 0


def read_lookup(path: str | Path, lsoa_frame: bool = True) -> Lookup:
    """Read an ONS lookup CSV and say what it provides, recognised by its column names:

    - LSOA -> LAD: ``LSOAyyCD`` + ``LADyyCD`` (e.g. LSOA11_CCG20_LAD20), or OA-level ``LSOA`` + ``LAD``
    - LAD -> CSP -> PFA: ``LADyyCD`` + ``CSPyyCD`` + ``PFAyyCD`` (names ``..NM`` used when present)
    - LAD code succession: ``LADCD`` + ``LADCD_ACTIVE`` (every LAD code since 2011 and its current successor)
    - names: any ``XXyyCD`` + ``XXyyNM`` pair (CSP, PFA, LAD names)

    ``lsoa_frame=False`` leaves the (large) LSOA -> LAD frame empty and only describes its columns in
    ``Lookup.lsoa_columns``, for a caller that loads it with SQL.
    """
    path = Path(path)
    header = csv_header(path)
    wanted = [c for c in header if re.fullmatch(r"LSOA\d\dCD|(LAD|CSP|PFA)\d\d(CD|NM)|LSOA|LAD|LAD_NAME|LADCD|LADNM|"
                                               r"LADCD_ACTIVE", c, flags=re.I)]
    lsoa_cols = _find(header, r"LSOA(\d\d)CD") or _find(header, r"LSOA()")
    if not lsoa_frame and lsoa_cols and not _find(header, r"CSP(\d\d)CD"):
        df = pd.DataFrame(columns=wanted)  # header only: the rows are loaded by the caller
    else:
        df = _read_columns(path, wanted)
    cols = list(df.columns)
    roles: list[str] = []
    notes: list[str] = []
    lsoa_lad, lad_csp, succ, names = _empty("lsoa_lad"), _empty("lad_csp"), _empty("successors"), _empty("names")
    lsoa_columns = None

    def name_col(prefix: str, yy: str) -> str | None:
        hit = _find(cols, rf"{prefix}{yy}NM")
        return hit[0][0] if hit else None

    lsoa = _find(cols, r"LSOA(\d\d)CD")
    lad = _find(cols, r"LAD(\d\d)CD")
    csp = _find(cols, r"CSP(\d\d)CD")
    pfa = _find(cols, r"PFA(\d\d)CD")
    if lsoa and lad:
        (lc, _), (dc, dyy) = lsoa[0], lad[0]
        nm = name_col("LAD", dyy)
        lsoa_columns = (lc, dc, nm, _year(dyy), False)
        if lsoa_frame:
            lsoa_lad = pd.DataFrame({"lsoa_code": _clean(df[lc]), "lad_code": _clean(df[dc]),
                                     "lad_name": _clean(df[nm]) if nm else None, "vintage": str(_year(dyy))})
        roles.append(f"LSOA->LAD ({lc}->{dc})")
    elif {"LSOA", "LAD"} <= {str(c).upper() for c in cols}:
        up = {str(c).upper(): c for c in cols}
        nm = up.get("LAD_NAME")
        lsoa_columns = (up["LSOA"], up["LAD"], nm, 0, True)
        if lsoa_frame:
            f = pd.DataFrame({"lsoa_code": _clean(df[up["LSOA"]]), "lad_code": _clean(df[up["LAD"]]),
                              "lad_name": _clean(df[nm]) if nm else None, "vintage": "0"})
            n0 = len(f)
            lsoa_lad = f.drop_duplicates(["lsoa_code", "lad_code"])
            if n0 != len(lsoa_lad):
                notes.append(f"{n0:,} rows (output areas) reduced to {len(lsoa_lad):,} distinct LSOA->LAD pairs")
        roles.append("LSOA->LAD (LSOA->LAD, code vintage unknown)")
    if lad and csp:
        (dc, dyy), (cc, cyy) = lad[0], csp[0]
        if not pfa:
            raise DataError(f"{path}: has {dc} and {cc} but no PFAyyCD column; perfwork needs the police force "
                            f"area of every CSP (use the ONS 'LAD to CSP to PFA' lookup)")
        pc, pyy = pfa[0]
        f = pd.DataFrame({
            "vintage": str(_year(cyy)),
            "lad_code": _clean(df[dc]), "lad_name": _clean(df[name_col("LAD", dyy)]) if name_col("LAD", dyy) else None,
            "csp_code": _clean(df[cc]), "csp_name": _clean(df[name_col("CSP", cyy)]) if name_col("CSP", cyy) else None,
            "pfa_code": _clean(df[pc]), "pfa_name": _clean(df[name_col("PFA", pyy)]) if name_col("PFA", pyy) else None,
        })
        for c in ("lad_code", "csp_code", "pfa_code"):
            blank = f[c].isna()
            if blank.any():
                i = int(np.flatnonzero(blank.to_numpy())[0])
                column = {"lad_code": dc, "csp_code": cc, "pfa_code": pc}[c]
                raise DataError(f"{path}, line {i + 2}, column '{column}': value is missing; expected a code")
        lad_csp = f.drop_duplicates()
        roles.append(f"LAD->CSP->PFA ({dc}->{cc}->{pc})")
        multi = lad_csp.groupby("lad_code")["csp_code"].nunique()
        if (multi > 1).any():
            notes.append("LADs mapped to several CSPs (rows in them are reported as ambiguous): "
                         + ", ".join(f"{c} -> {n} CSPs" for c, n in multi[multi > 1].items()))
    up = {str(c).upper(): c for c in cols}
    if "LADCD" in up and "LADCD_ACTIVE" in up:
        succ = pd.DataFrame({"lad_code": _clean(df[up["LADCD"]]), "active_code": _clean(df[up["LADCD_ACTIVE"]]),
                             "lad_name": _clean(df[up["LADNM"]]) if "LADNM" in up else None}).dropna(
            subset=["lad_code", "active_code"]).drop_duplicates()
        roles.append("LAD code succession (LADCD->LADCD_ACTIVE)")
    # names: every XXyyCD with a matching XXyyNM
    pairs = []
    for c, _ in _find(cols, r"((?:LAD|CSP|PFA)\d\d)CD"):
        stem = str(c).strip()[:-2]
        nm = next((x for x in cols if str(x).strip().upper() == f"{stem.upper()}NM"), None)
        if nm is not None:
            pairs.append(pd.DataFrame({"code": _clean(df[c]), "name": _clean(df[nm])}))
    if "LADCD" in up and "LADNM" in up:
        pairs.append(pd.DataFrame({"code": _clean(df[up["LADCD"]]), "name": _clean(df[up["LADNM"]])}))
    if pairs:
        names = pd.concat(pairs).dropna().drop_duplicates("code")
        if not roles:
            roles.append("names (" + ", ".join(sorted({str(c)[:-2] for c, _ in
                                                       _find(cols, r'((?:LAD|CSP|PFA)\d\d)CD')})) + ")")
    if not roles:
        raise DataError(f"{path}: not a recognised ONS lookup; found columns {', '.join(csv_header(path))}; expected "
                        f"LSOAyyCD + LADyyCD (LSOA -> LAD), LADyyCD + CSPyyCD + PFAyyCD (LAD -> CSP -> PFA), "
                        f"LADCD + LADCD_ACTIVE (code succession) or code/name pairs such as CSP19CD + CSP19NM")
    return Lookup(str(path), roles, lsoa_lad.reset_index(drop=True), lad_csp.reset_index(drop=True),
                  succ.reset_index(drop=True), names.reset_index(drop=True), notes, lsoa_columns)


# ------------------------------------------------------------------------------------------------ resolution
@dataclass
class Geography:
    """The CSP geography (newest LAD -> CSP vintage) and how every LAD code resolves to it."""

    csps: pd.DataFrame   # csp_code, csp_name, pfa_code, pfa_name
    lads: pd.DataFrame   # lad_code, csp_code (NA unless status == 'mapped'), status, detail
    vintage: int


def _names(codes, name_of) -> str:
    return ", ".join(f"{name_of.get(c, c)}" for c in sorted(codes))


def resolve_lads(lad_csp: pd.DataFrame, successors: pd.DataFrame, codes, names: dict[str, str] | None = None
                 ) -> Geography:
    """Resolve each LAD code in ``codes`` to one CSP of the newest-vintage geography.

    status is 'mapped' (csp_code set), 'ambiguous' (several CSPs) or 'unmapped' (in no lookup); detail says why.
    """
    names = dict(names or {})
    if lad_csp.empty:
        raise DataError("no LAD -> CSP -> PFA lookup in the store; pass one with --lookup "
                        "(e.g. LAD19_CSP19_PFA19_EW_LU_dec2019.csv)")
    lc = lad_csp.copy()
    lc["vintage"] = lc["vintage"].astype(int)
    newest = int(lc["vintage"].max())
    cur = lc[lc["vintage"] == newest]
    csps = (cur.sort_values(["csp_code"]).drop_duplicates("csp_code")[["csp_code", "csp_name", "pfa_code", "pfa_name"]]
            .reset_index(drop=True))
    csp_set = set(csps["csp_code"])
    for f in (lc,):
        names.update({k: v for k, v in zip(f["lad_code"], f["lad_name"]) if isinstance(v, str)})
    csp_name = dict(zip(csps["csp_code"], csps["csp_name"].fillna(csps["csp_code"])))
    by_vintage: dict[int, dict[str, set[str]]] = {}
    for v, lad, c in zip(lc["vintage"], lc["lad_code"], lc["csp_code"]):
        by_vintage.setdefault(int(v), {}).setdefault(lad, set()).add(c)
    vintages = sorted(by_vintage, reverse=True)
    newest_map = by_vintage[newest]

    active: dict[str, str] = {}
    family: dict[str, set[str]] = {}
    if not successors.empty:
        for lad, act, nm in zip(successors["lad_code"], successors["active_code"], successors["lad_name"]):
            active[lad] = act
            family.setdefault(act, set()).update({lad, act})
            if isinstance(nm, str):
                names.setdefault(lad, nm)

    rows = []
    for code in sorted({c for c in codes if isinstance(c, str)}):
        label = f"{code} {names[code]}" if code in names else code
        status, csp, detail = "unmapped", None, ""
        if code in newest_map:
            hit = newest_map[code]
            if len(hit) == 1:
                status, csp = "mapped", next(iter(hit))
            else:
                status = "ambiguous"
                detail = f"LAD {label} is split between CSPs {_names(hit, csp_name)} in the {newest} lookup"
        else:
            for v in vintages[1:]:
                hit = by_vintage[v].get(code)
                if not hit:
                    continue
                if not hit <= csp_set:
                    detail = (f"LAD {label} maps (in the {v} lookup) to CSP(s) {', '.join(sorted(hit))} that are not "
                              f"in the {newest} CSP geography")
                    continue
                if len(hit) == 1:
                    status, csp, detail = "mapped", next(iter(hit)), f"via the {v} lookup"
                else:
                    status = "ambiguous"
                    detail = f"LAD {label} is split between CSPs {_names(hit, csp_name)} in the {v} lookup"
                break
            if status == "unmapped" and code in active:
                fam = family.get(active[code], {code}) - {code}
                hit = set().union(*(newest_map.get(x, set()) for x in fam)) if fam else set()
                members = sorted(x for x in fam if x in newest_map)
                if len(hit) == 1:
                    status, csp = "mapped", next(iter(hit))
                    detail = f"via successor codes ({', '.join(members)})"
                elif len(hit) > 1:
                    status = "ambiguous"
                    detail = (f"LAD {label} (code vintage differs from the {newest} lookup) covers "
                              f"{', '.join(members)}, which lie in CSPs {_names(hit, csp_name)}")
            if status == "unmapped" and not detail:
                detail = (f"LAD {label} is in no LAD -> CSP lookup (code vintage differs from the {newest} lookup"
                          f"{'' if active else '; a code-succession lookup such as la_all_codes.csv may resolve it'})")
        rows.append((code, csp, status, detail))
    lads = pd.DataFrame(rows, columns=["lad_code", "csp_code", "status", "detail"])
    return Geography(csps=csps, lads=lads, vintage=newest)


def force_codes(identities, csps: pd.DataFrame) -> dict[str, str | None]:
    """Map police.uk force identities (file-name slugs such as 'avon-and-somerset' or names such as
    'Avon and Somerset Constabulary') to PFA codes by normalised name; None where no PFA matches."""
    by_name: dict[str, str] = {}
    for code, name in zip(csps["pfa_code"], csps["pfa_name"]):
        if isinstance(name, str):
            by_name[normalise_force_name(name)] = code
    return {i: by_name.get(normalise_force_name(i)) for i in identities}


# ------------------------------------------------------------------------------------------------ population
@dataclass
class PopulationFile:
    """Population rows from one file. ``frame``: area_code, year, population, households (NaN when not given);
    ``level`` says what kind of areas the codes are ('lad' districts, or 'area' for codes used as given);
    ``by_name`` rows (force names without codes) carry area_name instead of area_code."""

    path: str
    layout: str
    frame: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    extra: pd.DataFrame | None = None  # area_sqkm per district (MYE 5 only)


def _mye_sheet(path: Path, wanted: str) -> pd.DataFrame | None:
    engine = "xlrd" if path.suffix.lower() == ".xls" else "openpyxl"
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        book = pd.ExcelFile(path, engine=engine)
        sheet = next((s for s in book.sheet_names if re.sub(r"\s+", "", s).lower() == wanted), None)
        if sheet is None:
            return None
        return book.parse(sheet, header=None, dtype=object)


def _header_row(raw: pd.DataFrame, first: str, limit: int = 30) -> int | None:
    for i in range(min(limit, len(raw))):
        if str(raw.iat[i, 0]).strip().lower() == first.lower():
            return i
    return None


def read_mye5(path: str | Path) -> PopulationFile:
    """The ONS mid-year estimates workbook, sheet 'MYE 5' (population and area for every area, mid-2001 onwards).

    The header is found by its 'Code' cell (title and blank rows above it, footnotes below the table); counties,
    metropolitan counties, regions and countries are left out (they are sums of districts, so keeping them would
    double-count) and so are Scottish and Northern Irish areas; the report says how many of each.
    """
    path = Path(path)
    raw = _mye_sheet(path, "mye5")
    if raw is None:
        raise DataError(f"{path}: no 'MYE 5' sheet; expected the ONS mid-year estimates workbook "
                        f"(sheets MYE1 ... MYE 5 ...)")
    h = _header_row(raw, "Code")
    if h is None:
        raise DataError(f"{path}, sheet 'MYE 5': no header row starting with 'Code' in the first 30 rows")
    header = [str(x).strip() for x in raw.iloc[h]]
    body = raw.iloc[h + 1:].copy()
    body.columns = header
    need = ["Code", "Name", "Geography1"]
    lacking = [c for c in need if c not in header]
    if lacking:
        raise DataError(f"{path}, sheet 'MYE 5', row {h + 1}: missing column(s) {', '.join(lacking)}")
    code = body["Code"].astype("string").str.strip()
    is_area = code.str.fullmatch(r"[A-Z]\d{8}").fillna(False).astype(bool)
    body = body[is_area.to_numpy()]
    code = code[is_area]
    geog = body["Geography1"].astype("string").str.strip()
    keep = code.str[:3].isin(LAD_PREFIXES).to_numpy()
    dropped = geog[~keep].value_counts()
    notes = [f"kept {int(keep.sum())} districts of England and Wales; left out "
             + ", ".join(f"{n} {g}" for g, n in dropped.items())
             + " rows (aggregates of districts, or outside England and Wales)"]
    body, code = body[keep], code[keep]
    frames = []
    for c in header:
        m = re.fullmatch(r"Estimated Population mid-(\d{4})", c)
        if m:
            vals = pd.to_numeric(body[c], errors="coerce")
            bad = vals.isna() | (vals <= 0)
            if bad.any():
                i = int(np.flatnonzero(bad.to_numpy())[0])
                raise DataError(f"{path}, sheet 'MYE 5', area {code.iloc[i]}, column '{c}': "
                                f"{body[c].iloc[i]!r} is not a population; expected a number greater than 0")
            frames.append(pd.DataFrame({"area_code": code.to_numpy(), "year": int(m.group(1)),
                                        "population": vals.to_numpy(dtype=float)}))
    if not frames:
        raise DataError(f"{path}, sheet 'MYE 5': no 'Estimated Population mid-YYYY' columns")
    pop = pd.concat(frames, ignore_index=True)
    pop["households"] = np.nan
    extra = None
    area_col = next((c for c in header if c.lower().startswith("area (sq km)")), None)
    if area_col:
        extra = pd.DataFrame({"area_code": code.to_numpy(),
                              "area_sqkm": pd.to_numeric(body[area_col], errors="coerce").to_numpy(dtype=float)})
    years = sorted(pop["year"].unique())
    notes.append(f"mid-{years[0]} to mid-{years[-1]} estimates")
    return PopulationFile(str(path), "ONS MYE 5 workbook", pop, notes, extra)


def read_population(path: str | Path, want: str = "population") -> PopulationFile:
    """Population estimates (``want="households"``: household estimates) in any of the forms perfwork knows:

    - the ONS mid-year estimates workbook (.xls/.xlsx with an 'MYE 5' sheet): districts, every year
    - the ONS CMD 'v4' CSV (``v4_0``, ``calendar_years``, ``admin_geography``, ``sex``, ``age``): persons, all ages
    - a tidy CSV, long (``area_code, year, population[, households]``, or the ONS names ``Code, Name, Year,
      Population`` / ``All ages`` / ``Households``) or wide (``Code`` + one column per year: ``mid-2019``, ``2019``
      ...); districts, CSPs or forces. A households file has ``households`` (or wide columns) instead
    - force tables: ``code, name, MYEyyyy[, SNHPyyyy]``; ``year`` + one column per force name; ``Police Force`` +
      ``Mid yyyy`` columns in thousands. Force figures are kept as a cross-check only: CSP and force populations
      are sums of their districts.

    Every population (and household count) used must be a number greater than 0 (thousands separators in quoted
    fields are read) and every year a whole number: the first value that is not is a DataError naming the file,
    its line, the file's own column name and the value. CSV rules: :mod:`perfwork.sources.tidy`.
    """
    path = Path(path)
    if path.suffix.lower() in (".xls", ".xlsx"):
        if want == "households":
            raise DataError(f"{path}: household estimates are read from a CSV (area_code, year, households)")
        return read_mye5(path)
    df = tidy.read_frame(path)
    cols = {c.lower(): c for c in df.columns}
    what = "a household count" if want == "households" else "a population"
    if "v4_0" in cols and "admin_geography" in cols:
        return _cmd_v4(df, path, cols)
    code, year = tidy.find(df.columns, "area_code"), tidy.find(df.columns, "year")
    value = tidy.find(df.columns, want)
    if code and year and value:
        other = "households" if want == "population" else "population"
        extra = tidy.find(df.columns, other)
        frame = pd.DataFrame({"area_code": df[code], "year": _year_column(df, year)})
        frame[want] = _population_column(df, value, what=what)
        frame[other] = (_population_column(df, extra, what="a household count" if other == "households" else
                                           "a population", blank_ok=True) if extra else np.nan)
        return PopulationFile(str(path), f"tidy {want} CSV ({code}, {year}, {value})", frame.reset_index(drop=True),
                              [])
    mye = [(c, int(m.group(1))) for c in df.columns if (m := re.fullmatch(r"MYE(\d{4})", c.strip()))]
    if "code" in cols and mye and want == "population":
        return _force_table(df, path, cols, mye)
    wide = [(c, y) for c, y in tidy.wide_years(df.columns) if c not in (code, year)]
    if code and wide:
        parts = [pd.DataFrame({"area_code": df[code], "year": y, want: _population_column(df, c, what=what)})
                 for c, y in wide]
        frame = pd.concat(parts, ignore_index=True)
        frame["households" if want == "population" else "population"] = np.nan
        return PopulationFile(str(path), f"wide {want} CSV ({code} + {len(wide)} year columns)",
                              frame.dropna(subset=["area_code"]).reset_index(drop=True), [])
    if "year" in cols and len(df.columns) > 2 and want == "population":
        years = _year_column(df, cols["year"])
        rows = [pd.DataFrame({"area_name": str(c).strip(), "year": years, "households": np.nan,
                              "population": _population_column(df, c)})
                for c in df.columns if c != cols["year"]]
        frame = pd.concat(rows, ignore_index=True)[["area_name", "year", "population", "households"]]
        return PopulationFile(str(path), "force population table (names)", frame, ["forces given by name"])
    if "police force" in cols and want == "population":
        mids = [(c, int(m.group(1))) for c in df.columns if (m := re.fullmatch(r"Mid (\d{4})", c.strip()))]
        if mids:
            named = df[cols["police force"]].notna()
            rows = [pd.DataFrame({"area_name": df.loc[named, cols["police force"]], "year": y,
                                  "population": _population_column(df, c, named,
                                                                   what="a population in thousands") * 1000,
                                  "households": np.nan})
                    for c, y in mids]
            return PopulationFile(str(path), "force population table (thousands)", pd.concat(rows, ignore_index=True),
                                  ["values in thousands, multiplied by 1,000"])
    forms = ("the ONS MYE workbook (sheet 'MYE 5'), the ONS CMD v4 CSV, " if want == "population" else "")
    raise DataError(f"{path}: not a recognised {want} file; found columns {', '.join(df.columns)}; expected "
                    f"{forms}a column for area_code ({tidy.expected('area_code')} ...), year "
                    f"({tidy.expected('year')} ...) and {want} ({tidy.expected(want)} ...), or area_code and one "
                    f"column per year (mid-2019, 2019 ...)")


def _cmd_v4(df: pd.DataFrame, path: Path, cols: dict[str, str]) -> PopulationFile:
    sex = df[cols["sex"]].str.lower() if "sex" in cols else pd.Series("all", index=df.index)
    age = df[cols["age"]].str.lower() if "age" in cols else pd.Series("total", index=df.index)
    keep = (sex == "all") & (age.isin(["total", "all ages"]))
    if not keep.any():
        raise DataError(f"{path}: ONS CMD file has no rows with sex 'All' and age 'Total'")
    yearcol = cols.get("calendar_years") or cols.get("time")
    if yearcol is None:
        raise DataError(f"{path}: ONS CMD file without a 'calendar_years' or 'time' column")
    frame = pd.DataFrame({"area_code": df.loc[keep, cols["admin_geography"]],
                          "year": _year_column(df, yearcol, keep),
                          "population": _population_column(df, cols["v4_0"], keep),
                          "households": np.nan})
    lad = frame["area_code"].str[:3].isin(LAD_PREFIXES)
    notes = [f"{int(keep.sum())} persons/all-ages rows of {len(df)}; kept {int(lad.sum())} districts of England "
             f"and Wales, left out {int((~lad).sum())} areas outside England and Wales"]
    return PopulationFile(str(path), "ONS CMD v4 CSV", frame[lad.to_numpy()].reset_index(drop=True), notes)


def _force_table(df: pd.DataFrame, path: Path, cols: dict[str, str], mye: list[tuple[str, int]]) -> PopulationFile:
    rows, notes = [], []
    blank = df[cols["code"]].isna()
    if blank.any():
        notes.append(f"left out {int(blank.sum())} row(s) without a code: "
                     + ", ".join(df.loc[blank, cols.get('name', cols['code'])].astype(str)))
    for c, y in mye:
        rows.append(pd.DataFrame({"area_code": df.loc[~blank, cols["code"]], "year": y,
                                  "population": _population_column(df, c, ~blank), "households": np.nan}))
    if any(re.fullmatch(r"SNHP\d{4}", c.strip()) for c in df.columns):
        notes.append("household projections (SNHP) not used: a projection, and only for forces")
    return PopulationFile(str(path), "force population table", pd.concat(rows, ignore_index=True), notes)


def _population_column(df: pd.DataFrame, column: str, rows=None, what: str = "a population",
                       blank_ok: bool = False) -> pd.Series:
    return tidy.number_column(df, column, rows, what, "a number greater than 0", blank_ok=blank_ok)


def _year_column(df: pd.DataFrame, column: str, rows=None) -> pd.Series:
    return tidy.number_column(df, column, rows, "a year", "a whole number such as 2019", whole=True).astype(int)


# ------------------------------------------------------------------------------------------------ characteristics
@dataclass
class CharacteristicsFile:
    """Characteristics from one file: ``frame`` has area_code, variable, value, agg ('mean': population-weighted
    mean over districts; 'sum': summed over districts)."""

    path: str
    layout: str
    frame: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def _domain_slug(text: str) -> str:
    s = slug(text)
    return {"index_of_multiple_deprivation": "imd"}.get(s, s.removesuffix("_deprivation"))


def read_characteristics(path: str | Path) -> CharacteristicsFile:
    """Area characteristics for Most Similar Groups:

    - Indices of Deprivation LAD summaries, 2019 (``lad19cd``, ``index_domain``, ``average_score``,
      ``proportion_bottom_decile``) or 2025 (``area_code``, ``index_domain`` ...): one variable per domain,
      ``imd2019_<domain>_score``, plus ``imd2019_imd_bottom_decile`` (share of LSOAs in the most deprived tenth)
    - the ONS MYE workbook: area and the latest population of each district, giving ``population_density``
      (people per sq km; CSPs and forces: their population over their area)
    - a tidy CSV ``area_code`` + numeric columns (districts are averaged, weighted by population; CSP and force
      codes are used as given)
    """
    path = Path(path)
    if path.suffix.lower() in (".xls", ".xlsx"):
        pop = read_mye5(path)
        if pop.extra is None:
            raise DataError(f"{path}, sheet 'MYE 5': no 'Area (sq km)' column")
        latest = int(pop.frame["year"].max())
        p = pop.frame[pop.frame["year"] == latest]
        frame = pd.concat([
            pd.DataFrame({"area_code": pop.extra["area_code"], "variable": "area_sqkm",
                          "value": pop.extra["area_sqkm"], "agg": "sum"}),
            pd.DataFrame({"area_code": p["area_code"], "variable": f"population_mid{latest}",
                          "value": p["population"], "agg": "sum"}),
        ], ignore_index=True)
        return CharacteristicsFile(str(path), "ONS MYE 5 density", frame,
                                   pop.notes + [f"population_density from mid-{latest} population and area"])
    df = tidy.read_frame(path)
    cols = {c.lower(): c for c in df.columns}
    if "index_domain" in cols and "average_score" in cols:
        code_col = cols.get("lad19cd") or cols.get("area_code") or next(
            (c for c in df.columns if re.fullmatch(r"lad\d\dcd", c.lower())), None)
        if code_col is None:
            raise DataError(f"{path}: Indices of Deprivation file without a LAD code column (lad19cd or area_code)")
        year = None
        for yc in ("year", "deprivation_data_year"):
            if yc in cols:
                y = pd.to_numeric(df[cols[yc]], errors="coerce").dropna()
                if len(y):
                    year = int(y.mode().iloc[0])
                    break
        tag = f"imd{year}" if year else "imd"
        dom = df[cols["index_domain"]].map(_domain_slug)
        parts = [pd.DataFrame({"area_code": _strip(df[code_col]), "variable": tag + "_" + dom + "_score",
                               "value": pd.to_numeric(df[cols["average_score"]], errors="coerce"), "agg": "mean"})]
        if "proportion_bottom_decile" in cols:  # the share of LSOAs in the most deprived tenth: overall IMD only
            imd = (dom == "imd").to_numpy()
            parts.append(pd.DataFrame({"area_code": _strip(df.loc[imd, code_col]),
                                       "variable": f"{tag}_imd_bottom_decile",
                                       "value": pd.to_numeric(df.loc[imd, cols["proportion_bottom_decile"]],
                                                              errors="coerce"), "agg": "mean"}))
        frame = pd.concat(parts, ignore_index=True)
        return CharacteristicsFile(str(path), f"Indices of Deprivation LAD summaries ({year})",
                                   frame.dropna(subset=["area_code"]),
                                   [f"{frame['area_code'].nunique()} districts, {dom.nunique()} domains; ranks not "
                                    f"used (they do not aggregate)"])
    code = tidy.find(df.columns, "area_code")
    if code is not None:
        name = tidy.find(df.columns, "area_name")
        num = [c for c in df.columns if c not in (code, name)]
        parts = [pd.DataFrame({"area_code": df[code], "variable": slug(c), "agg": "mean",
                               "value": tidy.number_column(df, c, what="a number", expected_text="a number",
                                                           positive=False, blank_ok=True)}) for c in num]
        if not parts:
            raise DataError(f"{path}: no numeric columns besides {code}")
        return CharacteristicsFile(str(path), "tidy characteristics CSV", pd.concat(parts, ignore_index=True), [])
    raise DataError(f"{path}: not a recognised characteristics file; found columns {', '.join(df.columns)}; expected "
                    f"an Indices of Deprivation LAD summary, the ONS MYE workbook, or an area code column "
                    f"({tidy.expected('area_code')} ...) and numeric columns")


# ------------------------------------------------------------------------------------------------ ONS PFA tables
def read_pfa_table(path: str | Path, table: str = "P1", column: str = "Total recorded crime") -> pd.DataFrame:
    """One column of an ONS 'Police force area data tables' workbook: area_code, area_name, value (NaN for '..').

    Handles the title rows, multi-row headers, sheet names with trailing spaces and footnote digits glued to names
    ('ENGLAND AND WALES7,8', 'Total recorded crime (excluding fraud3)').
    """
    path = Path(path)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        book = pd.ExcelFile(path, engine="openpyxl")
        sheet = next((s for s in book.sheet_names if s.strip().lower() == f"table {table.lower()}"), None)
        if sheet is None:
            raise DataError(f"{path}: no sheet 'Table {table}'; sheets are {', '.join(map(repr, book.sheet_names))}")
        raw = book.parse(sheet, header=None, dtype=object)
    h = next((i for i in range(min(30, len(raw))) if str(raw.iat[i, 0]).strip().lower() == "area code"), None)
    if h is None:
        raise DataError(f"{path}, sheet {sheet!r}: no 'Area Code' header row")
    col = None
    for j in range(raw.shape[1]):
        for i in range(max(0, h - 3), h + 1):
            cell = raw.iat[i, j]
            if isinstance(cell, str) and cell.strip().lower().startswith(column.lower()):
                col = j
                break
        if col is not None:
            break
    if col is None:
        raise DataError(f"{path}, sheet {sheet!r}: no column headed {column!r}")
    body = raw.iloc[h + 1:]
    code = body.iloc[:, 0].astype("string").str.strip()
    keep = code.str.fullmatch(r"[A-Z]\d{8}").fillna(False).astype(bool).to_numpy()
    name = body.iloc[:, 1].astype("string").str.strip().str.replace(r"[\d,]+$", "", regex=True)
    value = pd.to_numeric(body.iloc[:, col], errors="coerce")
    return pd.DataFrame({"area_code": code[keep].to_numpy(), "area_name": name[keep].to_numpy(),
                         "value": value[keep].to_numpy(dtype=float)})
