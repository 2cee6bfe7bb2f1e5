"""The Demo Kingdom: a fictional England-and-Wales-like country, the embedded default dataset.

``generate(seed)`` builds it deterministically (same seed -> identical tables), ``write(path)`` saves it as Parquet
with ``Dataset.to_dir`` plus a README, and ``load()`` reads the copy shipped in ``data/demo`` at the repository root
(generating it afresh if that folder is absent).

What is in it (details in ``data/demo/README.md``):

- 1 nation (``DK-N``), 9 regions (``DK-R1``..``DK-R9``), 40 forces (``DK-F01``..``DK-F40``) and 314 CSPs
  (``DK-C0001``..``DK-C0314``) with made-up names; the geography is the same for every seed.
- ``characteristics``: ten demand drivers for every area (CSPs drawn from a latent urbanity / deprivation / student /
  visitor structure; forces, regions and the nation as population-weighted means of their CSPs).
- ``population``: every CSP, calendar years 2021..2026, with households.
- ``counts``: 60 months (2021-04..2026-03) for every CSP of the 14 police.uk crime categories and the outcome
  measures ``<category>:<group>`` (the outcomes of a month's crimes partition those crimes exactly), generated from
  the characteristics with over-dispersed area effects, seasonality and national trends calibrated on real
  police.uk street files; zero rows are omitted.
- five planted stories (``STORIES``) for the comparison, trend, SPC and missing-data features to find.

``truth()`` gives what only a generator knows: each CSP's demand-expected count per crime category (its
characteristics alone) and its true area effect, so methods (e.g. Most Similar Groups) can be measured.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .. import _paths
from ..dataset import MONTH_DTYPE, Dataset
from ..measures import ASB, CRIME_CATEGORIES, NOTIFIABLE_CATEGORIES, OUTCOME_GROUPS, outcome_measure

DEFAULT_SEED = 20240401
DEFAULT_PATH = _paths.demo_dir()  # data/demo in a checkout; shipped inside the package when installed
FIRST_MONTH = pd.Timestamp("2021-04-01")
N_MONTHS = 60  # financial years 2021/22 .. 2025/26
MONTHS = pd.date_range(FIRST_MONTH, periods=N_MONTHS, freq="MS").astype(MONTH_DTYPE)
YEARS = tuple(range(2021, 2027))
NATION = "DK-N"
NATION_NAME = "Demo Kingdom"

# The planted stories: which area carries each one. Fixed codes, the same for every seed.
STORIES: dict[str, str] = {
    "burglary_surge": "DK-C0123",
    "improving": "DK-C0201",
    "recording_change": "DK-C0067",
    "missing_months": "DK-C0258",
    "violence_force": "DK-F21",
}
BURGLARY_SURGE_FROM = pd.Timestamp("2025-04-01")
BURGLARY_SURGE_FACTOR = 1.5
IMPROVING_MONTHLY_FACTOR = 0.988  # about -1.2% a month, -13.5% a year, sustained for all 60 months
RECORDING_CHANGE_FROM = pd.Timestamp("2024-04-01")
RECORDING_CHANGE_FACTOR = 1.40
MISSING_MONTHS = (pd.Timestamp("2023-10-01"), pd.Timestamp("2023-11-01"))
MISSING_REASON = "force records system migration: no data supplied"
VIOLENCE_FORCE_FACTOR = 1.30

STORY_DETAILS: dict[str, dict] = {
    "burglary_surge": {
        "area_code": STORIES["burglary_surge"], "measure": "burglary",
        "what": "burglary up 50% from 2025-04 (FY 2025/26 about +45% on FY 2024/25 after the national fall), "
                "well above its most similar CSPs in the last 12 months",
    },
    "improving": {
        "area_code": STORIES["improving"], "measure": "all notifiable crime (every category but anti-social-behaviour)",
        "what": "every notifiable category falls about 1.2% a month for all 60 months (about -13.5% a year): "
                "last 12 months about 45% below the first 12; a sustained downward trend, SPC runs below the mean",
    },
    "recording_change": {
        "area_code": STORIES["recording_change"], "measure": "violent-crime",
        "what": "recording-practice change: violent-crime steps up 40% from 2024-04 and stays there (an SPC shift)",
    },
    "missing_months": {
        "area_code": STORIES["missing_months"], "measure": "all measures",
        "what": "no data for 2023-10 and 2023-11 (no count rows; listed in the missing table with reason "
                f"'{MISSING_REASON}')",
    },
    "violence_force": {
        "area_code": STORIES["violence_force"], "measure": "violent-crime",
        "what": "every CSP of this force records about 30% more violent-crime than its characteristics predict, "
                "so each sits above its most similar CSPs on violence all along",
    },
}

# ---------------------------------------------------------------------------------------------- geography
# (name, urbanity offset, deprivation offset, CSPs per force, welsh names). One fixed layout for every seed.
_REGIONS: tuple[tuple[str, float, float, tuple[int, ...], bool], ...] = (
    ("Lundmere Capital", 1.55, 0.25, (32,), False),
    ("Northwest Marches", 0.35, 0.55, (10, 6, 9, 5, 4), False),
    ("Northeast Dales", 0.05, 0.85, (6, 5, 4), False),
    ("Ridings of Orm", 0.10, 0.45, (7, 9, 4, 8), False),
    ("West Heartland", 0.20, 0.30, (7, 5, 4, 6, 3), False),
    ("East Heartland", -0.30, -0.05, (8, 7, 9, 7, 5), False),
    ("Fenmark", -0.50, -0.35, (9, 10, 12, 7, 6, 4), False),
    ("Southern Shires", -0.15, -0.75, (12, 10, 13, 11, 14, 6, 8), False),
    ("Gwerinydd", -0.60, 0.25, (4, 7, 5, 6), True),
)
_NAME_SEED = 1066  # names and layout never depend on the data seed

_EN_PRE = ("Ald", "Amber", "Ash", "Bar", "Bex", "Bick", "Bram", "Brock", "Cal", "Cather", "Chad", "Cold", "Crans",
           "Dal", "Dray", "Dun", "Eck", "Elder", "Elm", "Fal", "Fen", "Frith", "Gad", "Gar", "Grim", "Hals", "Harl",
           "Haw", "Hen", "Hob", "Ilm", "Kel", "Kest", "Ket", "Lang", "Lid", "Lod", "Lox", "Marl", "Mer", "Mold",
           "Nap", "Nether", "Ock", "Orm", "Ox", "Pad", "Pid", "Quar", "Rad", "Rib", "Rook", "Sax", "Scar", "Sel",
           "Shep", "Stan", "Stow", "Tad", "Thack", "Thorn", "Tib", "Uff", "Ul", "Ven", "Wal", "Wen", "Whit", "Wold",
           "Wyn", "Yar", "Yel")
_EN_SUF = ("borough", "bury", "by", "caster", "cliffe", "combe", "dale", "den", "field", "ford", "gate", "ham",
           "hampton", "haven", "holme", "hurst", "ington", "ley", "low", "marsh", "mere", "minster", "mouth", "ney",
           "ridge", "stead", "stoke", "stone", "thorpe", "ton", "wald", "well", "wick", "wood", "worth")
_CY_PRE = ("Aber", "Blaen", "Bod", "Bryn", "Caer", "Cefn", "Coed", "Cwm", "Dol", "Glyn", "Llan", "Llys", "Maes",
           "Nant", "Pen", "Pont", "Porth", "Rhos", "Tre", "Ystrad")
_CY_SUF = ("ddu", "fawr", "wen", "gwyn", "garth", "morfa", "eirin", "cynwyd", "ithon", "rhedyn", "fedw", "onnen",
           "celyn", "gwili", "derwen", "hafod", "meirig", "talog", "nedd", "crwys")
# Syllable pairs that spell real local-authority names (or famous towns): never used.
_REAL_NAMES = {"Bexley", "Bradford", "Barnsley", "Calderdale", "Elmbridge", "Harlow", "Kettering", "Redditch",
               "Ashford", "Stafford", "Stockton", "Swindon", "Wyre", "Wealden", "Whitby", "Ashby", "Thornton",
               "Langley", "Wickham", "Stanford", "Ripon", "Oxford", "Oxley", "Bury", "Marlow", "Henley", "Kelham",
               "Stanley", "Dunstable", "Dalton", "Elmley", "Gateshead", "Haworth", "Ilford", "Radford", "Ribble",
               "Scarborough", "Selby", "Stowmarket", "Walton", "Wenlock", "Whitley", "Yarmouth", "Amberley",
               "Brockley", "Lidford", "Oxton", "Kesteven", "Stoke", "Stone", "Wolds", "Shepton",
               "Fenton", "Barton", "Stanton", "Hawley", "Chadwell", "Chadwick", "Hendon", "Henbury", "Kelsey",
               "Saxby", "Walby", "Wenley", "Yarley", "Oxbridge", "Lodge", "Coldstream", "Penrhos", "Llandaff",
               "Pontypool", "Aberdare", "Trefor", "Cwmbran", "Brynmawr", "Penarth", "Llanelli", "Pencoed",
               "Maesteg", "Caerphilly", "Nantgarw", "Glyncorrwg", "Llanfair", "Bryngwyn", "Pontardawe",
               "Ystradgynlais", "Llanwern", "Porthcawl", "Abergele", "Coedpoeth", "Dolgellau", "Tredegar",
               "Aberdyfi", "Merton", "Harrow", "Hampton", "Grimsby", "Haverhill", "Stanmore", "Uffington",
               "Bickley", "Gadsby", "Gardale", "Padstow", "Wallington", "Wensleydale", "Ripley", "Brockhampton",
               "Oxhey", "Selsey", "Thornbury", "Elmstead", "Walsall", "Malton", "Marlborough", "Wallsend",
               "Dunwich", "Holme", "Kelford", "Lidstone", "Frithville", "Thackley", "Eckington",
               "Bramley", "Bramhall", "Brampton", "Bramford", "Calton", "Dalby", "Dunton", "Elmstone", "Garforth",
               "Halstead", "Hawkhurst", "Kettleby", "Langford", "Lodsworth", "Merstham", "Oxted", "Padworth",
               "Radley", "Ribbleton", "Rookwood", "Saxmundham", "Stanway", "Stowe", "Tadley", "Tadworth",
               "Thornaby", "Ulverston", "Walberton", "Wendover", "Whitstable", "Whitfield", "Yarm", "Tadcaster",
               "Netherby", "Whitney", "Drayton", "Henfield", "Catherham", "Caterham", "Hawton", "Coldford", "Elderley",
               "Rookhurst"}
_FORCE_FORMS = ("{}shire Constabulary", "{}shire Police", "{} Police", "{} Constabulary", "{} Valley Police",
                "{} and {} Constabulary", "{}shire Constabulary", "{} Police")
_SHIRE_ENDINGS = ("ham", "ford", "wick", "ton", "ley", "well", "worth", "den", "field", "dale")
_CY_FORCE_FORMS = ("Heddlu {}", "{} Police", "{} and {} Police")


def _place_name(rng: np.random.Generator, welsh: bool, used: set[str]) -> str:
    pre, suf = (_CY_PRE, _CY_SUF) if welsh else (_EN_PRE, _EN_SUF)
    while True:
        first, second = str(rng.choice(pre)), str(rng.choice(suf))
        name = first + second
        if first[-1] == second[0]:
            continue
        if name not in used and name not in _REAL_NAMES:
            used.add(name)
            return name


def _geography() -> pd.DataFrame:
    """The fixed hierarchy: one row per area with level, parent, region index and welshness."""
    rng = np.random.default_rng(_NAME_SEED)
    used: set[str] = set()
    rows = [(NATION, NATION_NAME, "nation", None, -1, -1, False)]
    f_no = c_no = 0
    for r_no, (r_name, _, _, sizes, welsh) in enumerate(_REGIONS, start=1):
        r_code = f"DK-R{r_no}"
        rows.append((r_code, r_name, "region", NATION, r_no - 1, -1, welsh))
        for size in sizes:
            f_no += 1
            f_code = f"DK-F{f_no:02d}"
            if r_no == 1:
                f_name = "Lundmere Metropolitan Police"
            else:
                forms = _CY_FORCE_FORMS if welsh else _FORCE_FORMS
                form = forms[int(rng.integers(len(forms)))]
                parts = [_place_name(rng, welsh, used) for _ in range(form.count("{}"))]
                if form.startswith("{}shire") and not parts[0].endswith(_SHIRE_ENDINGS):
                    form = "{} Constabulary"
                f_name = form.format(*parts)
            rows.append((f_code, f_name, "force", r_code, r_no - 1, f_no - 1, welsh))
            for _ in range(size):
                c_no += 1
                name = _place_name(rng, welsh, used)
                roll = rng.random()
                if r_no == 1:
                    name = name if roll < 0.7 else f"{('North', 'South', 'East', 'West')[int(rng.integers(4))]} {name}"
                elif roll < 0.07:
                    name = f"{name} and {_place_name(rng, welsh, used)}"
                elif roll < 0.12:
                    name = f"{('North', 'South', 'East', 'West', 'Mid')[int(rng.integers(5))]} {name}"
                elif roll < 0.15 and not welsh:
                    name = f"{name} Vale"
                rows.append((f"DK-C{c_no:04d}", name, "csp", f_code, r_no - 1, f_no - 1, welsh))
    return pd.DataFrame(rows, columns=["area_code", "area_name", "level", "parent_code", "region", "force", "welsh"])


# ---------------------------------------------------------------------------------------------- characteristics
CHARACTERISTICS: dict[str, str] = {
    "population_density": "residents per square kilometre (mid-year estimate / land area)",
    "imd_score": "deprivation: population-weighted average IMD-like score of the area's neighbourhoods "
                 "(higher = more deprived; about 5 to 45)",
    "pct_aged_16_24": "% of residents aged 16 to 24",
    "pct_students": "% of residents aged 16 and over in full-time education (students)",
    "pct_single_parent_households": "% of households that are lone-parent families with dependent children",
    "licensed_premises_per_1000": "night-time economy: premises licensed to sell alcohol on the premises "
                                  "per 1,000 residents",
    "visitor_index": "visitor pressure: day and overnight visits per resident, indexed so that the national "
                     "average is 100",
    "pct_long_term_unemployed": "% of residents aged 16 to 64 unemployed for 12 months or more",
    "pct_social_rented": "% of households renting from a council or housing association",
    "median_age": "median age of residents, years",
}


def _soft_clip(x: np.ndarray, lo: float, hi: float, width: float) -> np.ndarray:
    """Like np.clip, but smooth: values beyond a bound approach it without piling up on it."""
    soft = lambda y: width * np.logaddexp(0, y / width)  # noqa: E731
    return x - soft(x - hi) + soft(lo - x)


def _characteristics(geo: pd.DataFrame, rng: np.random.Generator) -> tuple[pd.DataFrame, np.ndarray]:
    """CSP characteristics and populations (2021) from latent urbanity, deprivation, student and visitor factors."""
    csp = geo[geo["level"] == "csp"].reset_index(drop=True)
    n = len(csp)
    n_forces = int(geo["force"].max()) + 1
    reg = csp["region"].to_numpy()
    frc = csp["force"].to_numpy()
    r_u = np.array([r[1] for r in _REGIONS])
    r_d = np.array([r[2] for r in _REGIONS])
    f_u = rng.normal(0, 0.45, n_forces)
    f_d = rng.normal(0, 0.35, n_forces)
    f_u[0] = 0.0  # the capital force is urban through its region
    u = r_u[reg] + f_u[frc] + rng.normal(0, 0.75, n)
    d = 0.45 * u + r_d[reg] + f_d[frc] + rng.normal(0, 0.7, n)
    s = rng.normal(0, 1, n)  # university towns
    t = 0.8 * rng.normal(0, 1, n) + 0.15 * u  # visitor destinations
    r_pop = np.array([0.45 if i == 0 else 0.0 for i in range(len(_REGIONS))])  # capital boroughs are big
    log_pop = np.log(135_000) + r_pop[reg] + 0.15 * u + rng.normal(0, 0.6, n)

    # Story areas are otherwise ordinary: mid-ranking on every factor, mid-size.
    story = csp["area_code"].isin([v for k, v in STORIES.items() if k != "violence_force"]).to_numpy()
    k = int(story.sum())
    u[story] = rng.normal(0.0, 0.3, k)
    d[story] = rng.normal(0.1, 0.3, k)
    s[story] = rng.normal(0.0, 0.3, k)
    t[story] = rng.normal(0.0, 0.3, k)
    log_pop[story] = np.log(rng.uniform(120_000, 200_000, k))

    pop = np.exp(log_pop)
    pop = np.clip(pop * 57_500_000 / pop.sum(), 38_000, 640_000)
    pop = np.round(pop * 57_500_000 / pop.sum())

    sp = np.log1p(np.exp(1.3 * s)) / 1.3  # softplus: only some places are student towns
    e = lambda sd: rng.normal(0, sd, n)  # noqa: E731
    cols = {
        "population_density": np.exp(_soft_clip(np.log(520) + 1.45 * u + e(0.2), np.log(28), np.log(16_000), 0.25)),
        "imd_score": 5 + 40 / (1 + np.exp(-(-0.55 + 0.9 * d + e(0.15)))),
        "pct_aged_16_24": _soft_clip(9.3 + 0.75 * u + 2.0 * sp + e(0.9), 6.0, 25.0, 0.5),
        "pct_students": np.exp(_soft_clip(np.log(4.2) + 0.22 * u + 0.55 * s + e(0.25), np.log(1.2), np.log(30), 0.15)),
        "pct_single_parent_households": _soft_clip(10.2 + 1.6 * d + 0.3 * u + e(1.1), 4.0, 19.0, 0.5),
        "licensed_premises_per_1000": np.exp(np.log(1.6) + 0.10 * u + 0.25 * t + 0.08 * s + e(0.2)),
        "visitor_index": np.exp(0.45 * t + 0.20 * u + e(0.2)),
        "pct_long_term_unemployed": np.exp(np.log(0.9) + 0.38 * d + 0.06 * u + e(0.2)),
        "pct_social_rented": _soft_clip(16.0 + 3.6 * u + 3.8 * d + e(3.0), 3.0, 48.0, 1.0),
        "median_age": _soft_clip(41.5 - 2.3 * u - 1.6 * sp + 0.2 * d + e(1.3), 28.0, 55.0, 0.5),
    }
    cols["visitor_index"] = 100 * cols["visitor_index"] / np.average(cols["visitor_index"], weights=pop)
    chars = pd.DataFrame({"area_code": csp["area_code"], **cols})
    return chars, pop


_DECIMALS = {"population_density": 1, "imd_score": 2, "visitor_index": 1, "licensed_premises_per_1000": 2,
             "pct_long_term_unemployed": 2}


def _roll_up(geo: pd.DataFrame, chars: pd.DataFrame, weight: np.ndarray) -> pd.DataFrame:
    """Characteristics of forces, regions and the nation: population-weighted means of their CSPs."""
    csp = geo[geo["level"] == "csp"].reset_index(drop=True)
    parent = dict(zip(geo["area_code"], geo["parent_code"]))
    force = csp["parent_code"].to_numpy()
    region = np.array([parent[f] for f in force])
    values = chars[list(CHARACTERISTICS)].to_numpy()
    out = [chars]
    for keys in (force, region, np.full(len(csp), NATION)):
        frame = pd.DataFrame(values * weight[:, None], columns=list(CHARACTERISTICS))
        frame["w"] = weight
        frame["area_code"] = keys
        sums = frame.groupby("area_code", sort=True).sum()
        means = sums[list(CHARACTERISTICS)].div(sums["w"], axis=0).reset_index()
        out.append(means)
    table = pd.concat(out, ignore_index=True)
    for col in CHARACTERISTICS:
        table[col] = table[col].round(_DECIMALS.get(col, 1))
    return table


# ---------------------------------------------------------------------------------------------- crime model
# Annual rate per 1,000 residents nationally in FY 2021/22, split by category (shares of notifiable crime
# calibrated on police.uk street files for Merseyside and Avon & Somerset, 2019).
_NOTIFIABLE_RATE = 86.0
_ASB_RATE = 27.0
_MIX = {
    "violent-crime": 0.385, "public-order": 0.115, "criminal-damage-arson": 0.105, "other-theft": 0.090,
    "vehicle-crime": 0.068, "burglary": 0.062, "shoplifting": 0.058, "drugs": 0.036, "other-crime": 0.026,
    "bicycle-theft": 0.017, "theft-from-the-person": 0.016, "robbery": 0.013, "possession-of-weapons": 0.009,
}
# Effects (log rate per standard deviation) of the characteristics on each category.
_Z_COLUMNS = ("population_density", "imd_score", "licensed_premises_per_1000", "visitor_index", "pct_students",
              "pct_aged_16_24", "pct_single_parent_households", "pct_long_term_unemployed", "pct_social_rented")
_LOGGED = {"population_density", "licensed_premises_per_1000", "visitor_index", "pct_students",
           "pct_long_term_unemployed"}
_BETA: dict[str, dict[str, float]] = {
    "violent-crime": {"population_density": 0.09, "imd_score": 0.20, "licensed_premises_per_1000": 0.07,
                      "pct_single_parent_households": 0.04, "pct_long_term_unemployed": 0.03},
    "public-order": {"population_density": 0.11, "imd_score": 0.17, "licensed_premises_per_1000": 0.10},
    "criminal-damage-arson": {"population_density": 0.04, "imd_score": 0.22, "pct_social_rented": 0.05,
                              "pct_aged_16_24": 0.03},
    "other-theft": {"population_density": 0.15, "visitor_index": 0.13, "licensed_premises_per_1000": 0.06,
                    "pct_students": 0.05},
    "vehicle-crime": {"population_density": 0.28, "imd_score": 0.08},
    "burglary": {"population_density": 0.17, "imd_score": 0.15, "pct_students": 0.07},
    "shoplifting": {"population_density": 0.08, "visitor_index": 0.16, "imd_score": 0.12},
    "drugs": {"population_density": 0.20, "imd_score": 0.20, "pct_aged_16_24": 0.07},
    "other-crime": {"population_density": 0.06, "imd_score": 0.14},
    "bicycle-theft": {"population_density": 0.22, "pct_students": 0.38},
    "theft-from-the-person": {"population_density": 0.50, "licensed_premises_per_1000": 0.22, "visitor_index": 0.18},
    "robbery": {"population_density": 0.52, "imd_score": 0.20},
    "possession-of-weapons": {"population_density": 0.30, "imd_score": 0.24},
    ASB: {"population_density": 0.05, "imd_score": 0.20, "licensed_premises_per_1000": 0.09, "pct_aged_16_24": 0.07,
          "pct_social_rented": 0.05},
}
# Seasonality: (amplitude, peak calendar month, {month: extra}) -> multiplicative factor averaging 1 over a year.
_SEASON: dict[str, tuple[float, int, dict[int, float]]] = {
    ASB: (0.17, 7, {10: 0.10, 11: 0.05, 12: -0.06}),
    "violent-crime": (0.07, 7, {12: 0.03}),
    "public-order": (0.08, 7, {}),
    "criminal-damage-arson": (0.06, 6, {11: 0.08, 10: 0.04}),
    "burglary": (0.10, 12, {}),
    "vehicle-crime": (0.07, 12, {}),
    "robbery": (0.09, 12, {}),
    "theft-from-the-person": (0.08, 12, {}),
    "bicycle-theft": (0.28, 7, {}),
    "shoplifting": (0.04, 12, {12: 0.05}),
    "other-theft": (0.06, 8, {}),
    "drugs": (0.05, 6, {}),
    "possession-of-weapons": (0.05, 7, {}),
    "other-crime": (0.02, 6, {}),
}
# National level by financial year relative to FY 2021/22 (anchored mid-year, interpolated month by month).
_TREND: dict[str, tuple[float, ...]] = {
    "violent-crime": (1.00, 1.04, 1.01, 0.98, 0.96),
    "public-order": (1.00, 1.00, 0.94, 0.89, 0.86),
    "criminal-damage-arson": (1.00, 1.00, 0.97, 0.94, 0.92),
    "other-theft": (1.00, 1.05, 1.03, 1.00, 0.97),
    "vehicle-crime": (1.00, 0.96, 0.91, 0.85, 0.80),
    "burglary": (1.00, 0.97, 0.95, 0.92, 0.90),
    "shoplifting": (1.00, 1.12, 1.40, 1.62, 1.72),
    "drugs": (1.00, 0.92, 0.90, 0.94, 0.96),
    "other-crime": (1.00, 1.03, 1.05, 1.06, 1.08),
    "bicycle-theft": (1.00, 0.95, 0.93, 0.92, 0.90),
    "theft-from-the-person": (1.00, 1.12, 1.25, 1.38, 1.42),
    "robbery": (1.00, 1.08, 1.14, 1.18, 1.15),
    "possession-of-weapons": (1.00, 1.04, 1.08, 1.12, 1.10),
    ASB: (1.00, 0.86, 0.80, 0.77, 0.74),
}

# Final outcomes (% of a category's crimes once resolved), calibrated on police.uk "Last outcome category".
_OUTCOME_MIX: dict[str, tuple[float, ...]] = {
    # charged, caution, community_resolution, no_suspect, unable_to_prosecute, other_agency, unavailable
    "violent-crime": (6.2, 1.5, 2.0, 12.0, 76.0, 1.3, 1.0),
    "public-order": (8.5, 1.2, 1.8, 27.0, 60.5, 0.4, 0.6),
    "criminal-damage-arson": (4.5, 1.0, 2.2, 65.0, 26.2, 0.3, 0.8),
    "other-theft": (2.5, 0.4, 1.2, 80.0, 15.1, 0.3, 0.5),
    "vehicle-crime": (2.8, 0.2, 0.2, 88.0, 8.2, 0.1, 0.5),
    "burglary": (3.0, 0.3, 0.4, 80.0, 15.0, 0.3, 1.0),
    "shoplifting": (19.0, 2.5, 3.5, 52.0, 21.8, 0.2, 1.0),
    "drugs": (25.0, 30.0, 14.0, 2.0, 25.5, 0.5, 3.0),
    "other-crime": (15.0, 1.0, 1.0, 14.0, 64.0, 3.0, 2.0),
    "bicycle-theft": (1.2, 0.1, 0.5, 90.0, 7.8, 0.1, 0.3),
    "theft-from-the-person": (2.0, 0.1, 0.2, 82.0, 15.0, 0.1, 0.6),
    "robbery": (11.0, 0.2, 0.2, 53.0, 35.0, 0.2, 0.4),
    "possession-of-weapons": (42.0, 3.0, 3.5, 8.0, 41.5, 0.6, 1.4),
}
_FINAL_GROUPS = tuple(g for g in OUTCOME_GROUPS if g != "under_investigation")
# Share of a month's crimes still under investigation when the data end, as (share at age 0, decay in months).
_OPEN: dict[str, tuple[float, float]] = {
    "violent-crime": (0.55, 5.0), "public-order": (0.40, 4.0), "criminal-damage-arson": (0.35, 2.5),
    "other-theft": (0.30, 2.0), "vehicle-crime": (0.25, 1.5), "burglary": (0.35, 2.0), "shoplifting": (0.35, 3.0),
    "drugs": (0.55, 6.0), "other-crime": (0.55, 6.0), "bicycle-theft": (0.20, 1.5),
    "theft-from-the-person": (0.25, 1.5), "robbery": (0.50, 4.0), "possession-of-weapons": (0.55, 5.0),
}
# How strongly each final group is still open in recent months (charges take longest, no-suspect closes fast).
_OPEN_WEIGHT = {"charged": 1.6, "caution": 1.0, "community_resolution": 0.5, "no_suspect": 0.5,
                "unable_to_prosecute": 1.2, "other_agency": 1.0, "unavailable": 1.0}


def _zscores(chars: pd.DataFrame) -> pd.DataFrame:
    z = {}
    for col in _Z_COLUMNS:
        x = chars[col].to_numpy(dtype="float64")
        if col in _LOGGED:
            x = np.log(x)
        z[col] = (x - x.mean()) / x.std()
    return pd.DataFrame(z)


def _season(cat: str) -> np.ndarray:
    amp, peak, extra = _SEASON[cat]
    months = np.arange(1, 13)
    f = 1 + amp * np.cos(2 * np.pi * (months - peak) / 12)
    for m, e in extra.items():
        f[m - 1] += e
    return f / f.mean()


def _trend(cat: str) -> np.ndarray:
    anchors = np.arange(5) * 12 + 5.5
    return np.exp(np.interp(np.arange(N_MONTHS), anchors, np.log(_TREND[cat])))


def _population(pop2021: np.ndarray, chars: pd.DataFrame, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Population by CSP and calendar year (mild growth, faster in student towns) and households."""
    n = len(pop2021)
    growth = rng.normal(0.006, 0.004, n) + 0.002 * _zscores(chars)["pct_students"].to_numpy()
    years = np.arange(len(YEARS))
    pop = np.round(pop2021[:, None] * (1 + growth[:, None]) ** years[None, :])
    z = _zscores(chars)
    size = np.clip(2.34 + 0.05 * z["pct_single_parent_households"].to_numpy()
                   - 0.04 * z["population_density"].to_numpy() + rng.normal(0, 0.06, n), 2.05, 2.75)
    shrink = 1 - 0.003 * years  # households get a little smaller every year
    households = np.round(pop / (size[:, None] * shrink[None, :]))
    return pop, households


def _plant_stories(lam: np.ndarray, idx: dict[str, int], cats: list[str], in_vf: np.ndarray) -> None:
    """The planted stories, in place on the (area, category, month) expected counts."""
    t = np.arange(N_MONTHS)
    v = cats.index("violent-crime")
    lam[idx[STORIES["burglary_surge"]], cats.index("burglary"), MONTHS >= BURGLARY_SURGE_FROM] *= BURGLARY_SURGE_FACTOR
    notifiable = [cats.index(c) for c in NOTIFIABLE_CATEGORIES]
    lam[idx[STORIES["improving"]], notifiable, :] *= IMPROVING_MONTHLY_FACTOR ** t[None, :]
    lam[idx[STORIES["recording_change"]], v, MONTHS >= RECORDING_CHANGE_FROM] *= RECORDING_CHANGE_FACTOR
    lam[in_vf, v, :] *= VIOLENCE_FORCE_FACTOR


def _crime_model(seed: int) -> dict:
    """The generator's model: geography, characteristics, populations and every CSP's expected monthly count
    per category, with (``lam``) and without (``demand``) its force and area effects and planted stories.
    Also the two random streams still to be drawn from (counts, outcomes) and the outcome-rate effects.

    Long on purpose: the recipe in order (geography, characteristics, population, effects, rates, stories), so
    the seed's random draws happen in one visible order; ``generate`` draws the counts and outcomes from it."""
    # Independent streams, so that changing one part of the model does not reshuffle the others.
    r_area, r_effects, r_counts, r_outcomes = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4))
    geo = _geography()
    csp = geo[geo["level"] == "csp"].reset_index(drop=True)
    codes = csp["area_code"].to_numpy()
    n = len(csp)
    n_forces = int(geo["force"].max()) + 1
    frc = csp["force"].to_numpy()
    idx = {c: i for i, c in enumerate(codes)}

    chars, pop2021 = _characteristics(geo, r_area)
    pop_year, households = _population(pop2021, chars, r_area)
    z = _zscores(chars)

    cats = list(CRIME_CATEGORIES)
    n_cat = len(cats)
    cal_month = MONTHS.month.to_numpy()
    year_of = MONTHS.year.to_numpy() - YEARS[0]
    days = MONTHS.days_in_month.to_numpy() / (365.25 / 12)
    pop_month = pop_year[:, year_of]  # (n, T)

    # Area effects: force recording/demand, area-wide and area-by-category, each over-dispersed.
    rng = r_effects
    force_eff = rng.normal(0, 0.07, n_forces)
    force_cat = rng.normal(0, 0.05, (n_forces, n_cat))
    area_eff = rng.normal(0, 0.10, n)
    area_cat = rng.normal(0, 0.11, (n, n_cat))
    area_slope = rng.normal(0, 0.02, (n, n_cat))  # log change per year
    national_shock = rng.normal(0, 0.02, (n_cat, N_MONTHS))
    pos_eff = rng.normal(0, 0.15, n_forces)[frc] + rng.normal(0, 0.08, n)  # force and CSP outcome rates
    wander = np.zeros((n, n_cat, N_MONTHS))
    step = rng.normal(0, 0.02, (n, n_cat, N_MONTHS))
    for m in range(N_MONTHS):
        wander[:, :, m] = (0.85 * wander[:, :, m - 1] if m else 0) + step[:, :, m]

    # Story areas are ordinary apart from their story: no area or force effects of their own.
    force_term = force_eff[frc, None] + force_cat[frc]  # (n, n_cat)
    story_rows = [idx[v] for k, v in STORIES.items() if k != "violence_force"]
    area_eff[story_rows] = 0.0
    area_cat[story_rows] = 0.0
    area_slope[story_rows] = 0.0
    wander[story_rows] *= 0.5
    force_term[story_rows] = 0.0
    # The violence force: its CSPs' violence is what their characteristics predict, times the story factor.
    vf = int(STORIES["violence_force"].removeprefix("DK-F")) - 1
    in_vf = frc == vf
    v = cats.index("violent-crime")
    force_term[in_vf, v] = 0.0
    area_cat[in_vf, v] = 0.0
    area_eff[in_vf] *= 0.4

    lam = np.empty((n, n_cat, N_MONTHS))
    demand = np.empty((n, n_cat, N_MONTHS))
    fy1 = slice(0, 12)
    for c, cat in enumerate(cats):
        lin = sum(b * z[col].to_numpy() for col, b in _BETA[cat].items())
        rel = np.exp(lin + force_term[:, c] + area_eff + area_cat[:, c])
        time = _season(cat)[cal_month - 1] * _trend(cat) * days * np.exp(national_shock[c])
        shape = rel[:, None] * time[None, :] * np.exp(area_slope[:, c, None] * np.arange(N_MONTHS)[None, :] / 12
                                                        + wander[:, c, :])
        target = (_ASB_RATE if cat == ASB else _NOTIFIABLE_RATE * _MIX[cat]) / 1000 * pop_year[:, 0].sum()
        base = target / (shape[:, fy1] * pop_month[:, fy1] / 12).sum()
        lam[:, c, :] = base * shape * pop_month / 12
        # What the characteristics alone predict: the same national level and time pattern, no effects.
        demand[:, c, :] = base * np.exp(lin)[:, None] * time[None, :] * pop_month / 12

    _plant_stories(lam, idx, cats, in_vf)
    return {"geo": geo, "codes": codes, "idx": idx, "chars": chars, "pop_year": pop_year, "households": households,
            "cats": cats, "lam": lam, "demand": demand, "pos_eff": pos_eff, "r_counts": r_counts,
            "r_outcomes": r_outcomes}


def generate(seed: int = DEFAULT_SEED) -> Dataset:
    """Build the Demo Kingdom; the same seed always gives identical tables."""
    m = _crime_model(seed)
    geo, codes, idx, chars, cats, lam = m["geo"], m["codes"], m["idx"], m["chars"], m["cats"], m["lam"]
    pop_year, households, pos_eff, r_counts, r_outcomes = (m[k] for k in ("pop_year", "households", "pos_eff",
                                                                          "r_counts", "r_outcomes"))
    n = len(codes)
    t = np.arange(N_MONTHS)
    notifiable = [cats.index(c) for c in NOTIFIABLE_CATEGORIES]
    k = 250.0  # month-to-month over-dispersion (gamma-Poisson)
    crimes = r_counts.poisson(lam * r_counts.gamma(k, 1 / k, lam.shape))

    # Outcomes: the crimes of each area, category and month split over the outcome groups.
    age = (N_MONTHS - 1 - t).astype("float64")
    out = np.zeros((n, len(notifiable), N_MONTHS, len(OUTCOME_GROUPS)), dtype="int64")
    ui = OUTCOME_GROUPS.index("under_investigation")
    final_pos = [OUTCOME_GROUPS.index(g) for g in _FINAL_GROUPS]
    for j, cat in enumerate(NOTIFIABLE_CATEGORIES):
        c = cats.index(cat)
        mix = np.array(_OUTCOME_MIX[cat][:6] + (0.0,) + _OUTCOME_MIX[cat][6:]) / 100  # in OUTCOME_GROUPS order
        mix = mix / mix.sum()
        p = np.broadcast_to(mix, (n, len(OUTCOME_GROUPS))).copy()
        pos = [OUTCOME_GROUPS.index(g) for g in ("charged", "caution", "community_resolution")]
        neg = [OUTCOME_GROUPS.index(g) for g in ("no_suspect", "unable_to_prosecute")]
        p[:, pos] *= np.exp(pos_eff)[:, None]
        rest = 1 - p[:, pos].sum(1) - p[:, [OUTCOME_GROUPS.index(g) for g in ("other_agency", "unavailable")]].sum(1)
        p[:, neg] *= (np.maximum(rest, 0.03) / p[:, neg].sum(1))[:, None]
        p0, tau = _OPEN[cat]
        open_share = p0 * np.exp(-age / tau) + 0.004
        probs = np.repeat(p[:, None, :], N_MONTHS, axis=1)  # (n, T, G)
        for g in final_pos:
            still = np.minimum(0.95, _OPEN_WEIGHT[OUTCOME_GROUPS[g]] * open_share)
            probs[:, :, ui] += probs[:, :, g] * still[None, :]
            probs[:, :, g] *= 1 - still[None, :]
        probs /= probs.sum(-1, keepdims=True)
        out[:, j] = r_outcomes.multinomial(crimes[:, c, :], probs)

    # Long tables, zeros omitted, the missing months dropped.
    measures = cats + [outcome_measure(c, g) for c in NOTIFIABLE_CATEGORIES for g in OUTCOME_GROUPS]
    crime_long = crimes.transpose(0, 2, 1)  # (area, month, category)
    out_long = out.transpose(0, 2, 1, 3).reshape(n, N_MONTHS, -1)  # (area, month, category x group)
    values = np.concatenate([crime_long, out_long], axis=2)  # (area, month, measure)
    a, mm, meas = np.indices(values.shape).reshape(3, -1)
    cnt = values.ravel()
    gap = idx[STORIES["missing_months"]]
    gap_months = np.flatnonzero(np.isin(MONTHS, pd.DatetimeIndex(MISSING_MONTHS)))
    keep = (cnt > 0) & ~((a == gap) & np.isin(mm, gap_months))
    counts = pd.DataFrame({"area_code": pd.Categorical.from_codes(a[keep], categories=codes),
                           "month": MONTHS[mm[keep]],
                           "measure": pd.Categorical.from_codes(meas[keep], categories=measures),
                           "count": cnt[keep].astype("int64")})

    missing = pd.DataFrame({"area_code": [STORIES["missing_months"]] * len(MISSING_MONTHS),
                            "month": pd.DatetimeIndex(MISSING_MONTHS).astype(MONTH_DTYPE),
                            "reason": [MISSING_REASON] * len(MISSING_MONTHS)})
    population = pd.DataFrame({"area_code": np.repeat(codes, len(YEARS)), "year": np.tile(np.array(YEARS), n),
                               "population": pop_year.ravel(), "households": households.ravel()})
    characteristics = _roll_up(geo, chars, pop_year[:, YEARS.index(2023)])
    areas = geo[["area_code", "area_name", "level", "parent_code"]]
    return Dataset(areas=areas, characteristics=characteristics, population=population, counts=counts,
                   missing=missing, name="demo")


def truth(seed: int = DEFAULT_SEED, period_end=None, months: int = 12) -> pd.DataFrame:
    """What the generator knows and real data never can: for every CSP and crime category, over the ``months``
    months ending ``period_end`` (default: the last month), the counts its characteristics alone predict and
    the counts it was generated around. Known only for this synthetic data (same seed -> same truth).

    Columns: area_code, measure, period_end, ``expected`` (demand-expected count: the national level, season
    and trend of the category times exp(sum of the characteristic effects), no force or area effects and no
    planted story), ``mean`` (the generator's expected count: with the force and area effects, the area's
    own drift and the stories; observed counts scatter around it), ``effect`` (the true area effect,
    mean / expected - 1), ``pop_year`` and ``expected_rate`` (expected per 1,000 residents of the mid-year
    estimate of the latest June on or before period_end, as ``indicators`` uses). Rates of other
    denominators: divide ``expected`` by them.
    """
    m = _crime_model(seed)
    end = MONTHS[-1] if period_end is None else pd.Timestamp(period_end).to_period("M").to_timestamp()
    last = MONTHS.get_indexer([end])[0]
    if last < 0 or last + 1 < months:
        raise ValueError(f"period_end {period_end!r}: expected a month from {MONTHS[months - 1]:%Y-%m} to "
                         f"{MONTHS[-1]:%Y-%m} (the demo's months, {months} months ending there)")
    window = slice(last + 1 - months, last + 1)
    expected = m["demand"][:, :, window].sum(axis=2)
    mean = m["lam"][:, :, window].sum(axis=2)
    year = end.year if end.month >= 6 else end.year - 1
    pop = m["pop_year"][:, min(max(year, YEARS[0]), YEARS[-1]) - YEARS[0]]
    n, n_cat = expected.shape
    return pd.DataFrame({
        "area_code": np.repeat(m["codes"], n_cat).astype(object),
        "measure": np.tile(np.array(m["cats"], dtype=object), n),
        "period_end": end,
        "expected": expected.ravel(),
        "mean": mean.ravel(),
        "effect": (mean / expected - 1).ravel(),
        "pop_year": year,
        "expected_rate": (expected / pop[:, None] * 1000).ravel(),
    })


# ---------------------------------------------------------------------------------------------- files
def write(path: str | Path = DEFAULT_PATH, seed: int = DEFAULT_SEED) -> Path:
    """Generate the Demo Kingdom and write it (Parquet tables plus README.md) to ``path``; safe to repeat."""
    ds = generate(seed)
    path = ds.to_dir(path)
    (path / "README.md").write_text(readme(ds, seed), encoding="utf-8")
    return path


def load(path: str | Path | None = None) -> Dataset:
    """The shipped Demo Kingdom (``data/demo`` at the repository root by default); generated if the folder is absent."""
    folder = Path(path) if path is not None else DEFAULT_PATH
    if (folder / "counts.parquet").exists():
        return Dataset.from_dir(folder, name="demo")
    if path is not None:
        raise FileNotFoundError(f"no Demo Kingdom at {folder}; write one with "
                                f"perfwork.sources.demo.write({str(folder)!r})")
    return generate()


def summary(ds: Dataset) -> dict[str, float]:
    """Calibration figures: national rates per 1,000, mixes and outcome shares (whole span unless stated)."""
    c = ds.counts
    last_fy = c["month"] >= c["month"].max() - pd.DateOffset(months=11)
    # Aggregate on the categorical first: string work only on the small result.
    by = (c.assign(last=last_fy).groupby(["area_code", "measure", "last"], observed=True)["count"].sum()
          .reset_index())
    by["measure"] = by["measure"].astype("str")
    total = by.groupby("measure")["count"].sum()
    crimes = total.reindex(list(CRIME_CATEGORIES), fill_value=0)
    notif = crimes.drop(ASB)
    pop = ds.population.set_index(["area_code", "year"])["population"]
    last_year = int(c["month"].max().year) - 1  # mid-year population of the financial year's first calendar year
    last_pop = pop.xs(last_year, level="year")
    recent = by[by["last"] & by["measure"].isin(NOTIFIABLE_CATEGORIES)].groupby("area_code")["count"].sum()
    out = {
        "notifiable_per_1000_last_fy": recent.sum() / last_pop.sum() * 1000,
        "asb_per_1000_last_fy": by.loc[by["last"] & (by["measure"] == ASB), "count"].sum() / last_pop.sum() * 1000,
        "asb_share_of_all": crimes[ASB] / crimes.sum(),
        "violence_share_of_notifiable": notif["violent-crime"] / notif.sum(),
    }
    # Metropolitan vs rural: top and bottom fifth of CSPs by density.
    chars = ds.characteristics.set_index("area_code")
    csps = ds.level("csp")["area_code"]
    dens = chars.loc[csps, "population_density"]
    rate = (recent / last_pop).reindex(csps) * 1000
    out["notifiable_per_1000_top_density_quintile"] = rate[(dens >= dens.quantile(0.8)).to_numpy()].median()
    out["notifiable_per_1000_bottom_density_quintile"] = rate[(dens <= dens.quantile(0.2)).to_numpy()].median()
    out["corr_imd_notifiable_rate"] = np.corrcoef(chars.loc[csps, "imd_score"], rate)[0, 1]
    group = total.index.str.split(":").str[1]
    out["charged_share"] = total[group == "charged"].sum() / notif.sum()
    out["positive_share"] = total[group.isin(["charged", "caution", "community_resolution"])].sum() / notif.sum()
    out["burglary_charged_share"] = total["burglary:charged"] / crimes["burglary"]
    mix = notif / notif.sum()
    out.update({f"mix:{m}": v for m, v in mix.sort_values(ascending=False).items()})
    return {k: float(v) for k, v in out.items()}


def story_figures(ds: Dataset) -> dict[str, str]:
    """What each planted story looks like in ``ds``, in words with its numbers (for the README)."""
    c = ds.counts

    def series(code: str, measures) -> pd.Series:
        sel = c[(c["area_code"] == code) & c["measure"].isin(list(measures))]
        return sel.groupby("month")["count"].sum().reindex(MONTHS)

    out = {}
    s = series(STORIES["burglary_surge"], ["burglary"])
    out["burglary_surge"] = f"last 12 months {s.iloc[-12:].sum():.0f} burglaries vs {s.iloc[-24:-12].sum():.0f} " \
                            f"in the previous 12 ({s.iloc[-12:].sum() / s.iloc[-24:-12].sum() - 1:+.0%})"
    s = series(STORIES["improving"], NOTIFIABLE_CATEGORIES)
    out["improving"] = f"notifiable crimes {s.iloc[:12].sum():.0f} in FY 2021/22, {s.iloc[-12:].sum():.0f} in " \
                       f"FY 2025/26 ({s.iloc[-12:].sum() / s.iloc[:12].sum() - 1:+.0%})"
    s = series(STORIES["recording_change"], ["violent-crime"])
    after = s.index >= RECORDING_CHANGE_FROM
    out["recording_change"] = f"mean {s[~after].mean():.0f} violent crimes a month before 2024-04, " \
                              f"{s[after].mean():.0f} from 2024-04 ({s[after].mean() / s[~after].mean() - 1:+.0%})"
    miss = ds.missing[ds.missing["area_code"] == STORIES["missing_months"]]
    out["missing_months"] = ", ".join(f"{m:%Y-%m}" for m in miss["month"]) + " missing"
    members = ds.areas.loc[ds.areas["parent_code"] == STORIES["violence_force"], "area_code"]
    out["violence_force"] = f"{len(members)} CSPs: " + ", ".join(members)
    return out


def readme(ds: Dataset, seed: int = DEFAULT_SEED) -> str:
    """The data/demo README: tables, characteristic definitions, stories and calibration figures."""
    n = ds.areas["level"].value_counts()
    s = summary(ds)
    mix = {k.removeprefix("mix:"): v * 100 for k, v in s.items() if k.startswith("mix:")}
    lines = [
        "# The Demo Kingdom",
        "",
        "A fictional country shaped like England and Wales: the default dataset of perfwork. Everything here is",
        "generated by `perfwork.sources.demo.generate(seed)` (this copy: seed "
        f"{seed}); rebuild it with `perfwork demo-data` or",
        "`python -c \"from perfwork.sources import demo; demo.write()\"`. Do not edit these files by hand: a test",
        "checks that they equal `generate()`. No real data are copied; magnitudes, category and outcome mixes and",
        "seasonality were calibrated against real police.uk street files and ONS tables.",
        "",
        "## Geography",
        "",
        f"{int(n.get('csp', 0))} CSPs (`DK-C0001`..) in {int(n.get('force', 0))} forces (`DK-F01`..) in "
        f"{int(n.get('region', 0))} regions (`DK-R1`..) of one nation (`DK-N`, {NATION_NAME}). Codes are deliberately",
        "unlike ONS codes. Names are made up from syllables (region DK-R9 sounds Welsh). DK-F01 (Lundmere",
        "Metropolitan Police, 32 CSPs) is the capital. The layout and names are the same for every seed.",
        "",
        "## Tables",
        "",
        "- `areas.parquet`: area_code, area_name, level (csp/force/region/nation), parent_code.",
        "- `characteristics.parquet`: one row per area at every level. CSP values are generated; forces, regions",
        "  and the nation carry the population-weighted (2023) mean of their CSPs (for density this is the",
        "  population-weighted density).",
        "- `population.parquet`: every CSP, calendar years 2021 to 2026 (mid-year), with households. Only CSPs: sum",
        "  them for forces, regions and the nation.",
        "- `counts.parquet`: CSP x month (2021-04 to 2026-03, financial years 2021/22 to 2025/26) x measure:",
        "  the 14 police.uk crime categories and, for the 13 notifiable ones, `<category>:<outcome group>`. The",
        "  outcome groups of a month's crimes partition them exactly (recent months have many",
        "  `under_investigation`). Rows with a zero count are omitted.",
        "- `missing.parquet`: area-months with no data at all (never zero).",
        "",
        "## Characteristics",
        "",
        "| column | unit and meaning |",
        "|---|---|",
    ]
    lines += [f"| `{c}` | {d} |" for c, d in CHARACTERISTICS.items()]
    csp = ds.characteristics[ds.characteristics["area_code"].isin(ds.level("csp")["area_code"])]
    lines += ["", "CSP spread (min / median / max): " + "; ".join(
        f"{c} {csp[c].min():g} / {csp[c].median():g} / {csp[c].max():g}" for c in CHARACTERISTICS) + ".",
        "", "They come from four latent factors (urbanity, deprivation, student town, visitor destination), so",
        "they correlate as in real places (dense areas are younger, more deprived, rent socially more).",
        "Crime rates depend on them, plus force and area effects, so Most Similar Groups have something to find.",
        "", "## Planted stories", "",
        "Deterministic, the same areas for every seed (`perfwork.sources.demo.STORIES`). The story CSPs are",
        "otherwise ordinary mid-size areas with middling characteristics, each in a different force.", "",
        "| story | area | measure | what |", "|---|---|---|---|"]
    figures = story_figures(ds)
    for key, det in STORY_DETAILS.items():
        name = ds.areas.set_index("area_code").loc[det["area_code"], "area_name"]
        lines.append(f"| `{key}` | `{det['area_code']}` {name} | {det['measure']} | {det['what']}. "
                     f"In this copy: {figures[key]} |")
    lines += ["", f"## Calibration (seed {seed})", "",
              f"- Notifiable crime (all but ASB), FY 2025/26: {s['notifiable_per_1000_last_fy']:.1f} per 1,000 "
              f"residents nationally; median CSP {s['notifiable_per_1000_top_density_quintile']:.1f} in the densest "
              f"fifth, {s['notifiable_per_1000_bottom_density_quintile']:.1f} in the sparsest fifth.",
              f"- ASB: {s['asb_per_1000_last_fy']:.1f} per 1,000 in FY 2025/26; {s['asb_share_of_all'] * 100:.1f}% "
              "of all rows (crimes + ASB) over the five years.",
              "- Correlation of CSP deprivation score with the notifiable crime rate: "
              f"{s['corr_imd_notifiable_rate']:.2f}.",
              f"- Outcomes over the five years: charged {s['charged_share'] * 100:.1f}%, positive (charged, caution, "
              f"community resolution) {s['positive_share'] * 100:.1f}%, burglary charged "
              f"{s['burglary_charged_share'] * 100:.1f}%.",
              "- Seasonality: summer peaks for violence, public order, ASB (plus Halloween/bonfire night) and bicycle",
              "  theft; winter peaks for burglary, robbery, vehicle crime and theft from the person. Counts scale",
              "  with the days in the month.",
              "- National trends: shoplifting up about 70% over five years (mostly 2023-2025), theft from the person",
              "  up, vehicle crime down about 20%, burglary and public order down, ASB down about a quarter.",
              "", "Notifiable crime mix (% over the five years): "
              + ", ".join(f"{m} {v:.1f}" for m, v in mix.items()) + ".", ""]
    return "\n".join(lines)
