"""Shared fixtures: a small hand-made dataset whose every number can be checked by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from perfwork.dataset import Dataset

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or a skip saying why the test cannot run here."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: this test reads the shared reference/real data beside the project")
    return path


def small_tables(months=("2023-01", "2025-03"), seed=7) -> dict[str, pd.DataFrame]:
    """Nation N > region R > forces F1 (csps A, B), F2 (csp C); random Poisson counts for a few measures."""
    areas = pd.DataFrame({
        "area_code": ["N", "R", "F1", "F2", "A", "B", "C"],
        "area_name": ["Nation", "Region", "Force One", "Force Two", "Aville", "Beeton", "Ceeford"],
        "level": ["nation", "region", "force", "force", "csp", "csp", "csp"],
        "parent_code": [None, "N", "R", "R", "F1", "F1", "F2"],
    })
    chars = pd.DataFrame({"area_code": ["A", "B", "C"], "density": [100.0, 2500.0, 900.0],
                          "deprivation": [12.0, 30.5, 21.0]})
    years = range(int(months[0][:4]), int(months[1][:4]) + 1)
    base = {"A": (10_000, 4_000), "B": (25_000, 11_000), "C": (40_000, 16_500)}
    pop = pd.DataFrame([(a, y, p + 100 * (y - 2023), h) for a, (p, h) in base.items() for y in years],
                       columns=["area_code", "year", "population", "households"])
    rng = np.random.default_rng(seed)
    span = pd.date_range(months[0], months[1], freq="MS")
    rows = []
    for a, mean in (("A", 4), ("B", 9), ("C", 15)):
        for m in span:
            for measure, k in (("burglary", 1.0), ("violent-crime", 3.0), ("anti-social-behaviour", 2.0),
                               ("shoplifting", 0.7)):
                n = int(rng.poisson(mean * k))
                rows.append((a, m.strftime("%Y-%m"), measure, n))
                if measure != "anti-social-behaviour" and n:
                    rows.append((a, m.strftime("%Y-%m"), f"{measure}:charged", int(rng.binomial(n, 0.2))))
    counts = pd.DataFrame(rows, columns=["area_code", "month", "measure", "count"])
    return {"areas": areas, "characteristics": chars, "population": pop, "counts": counts}


@pytest.fixture
def tables() -> dict[str, pd.DataFrame]:
    return small_tables()


@pytest.fixture
def small(tables) -> Dataset:
    return Dataset(**tables, name="small")
