"""The canonical model: every validation error names table, row, column and what was expected."""

from __future__ import annotations

import pandas as pd
import pytest

from perfwork.dataset import DataError, Dataset


def test_valid_tables_are_normalised(small):
    assert str(small.counts["month"].dtype) == "datetime64[ns]"
    assert small.counts["count"].dtype == "int64"
    assert list(small.areas.columns) == ["area_code", "area_name", "level", "parent_code"]
    assert len(small.months) == 27
    assert small.months[0] == pd.Timestamp("2023-01-01")
    assert set(small.ancestors("force").query("area_code in ['A', 'B']")["ancestor"]) == {"F1"}


def test_round_trip_parquet_and_csv(small, tmp_path):
    for fmt in ("parquet", "csv"):
        back = Dataset.from_dir(small.to_dir(tmp_path / fmt, format=fmt))
        pd.testing.assert_frame_equal(back.counts.assign(measure=back.counts["measure"].astype(str)),
                                      small.counts.assign(measure=small.counts["measure"].astype(str)))
        pd.testing.assert_frame_equal(back.population, small.population)
        pd.testing.assert_frame_equal(back.areas.astype(str), small.areas.astype(str))


def test_negative_count_in_a_file_is_rejected_naming_its_row(small, tmp_path):
    folder = small.to_dir(tmp_path / "d", format="csv")
    counts = pd.read_csv(folder / "counts.csv")
    counts.loc[5, "count"] = -3
    counts.to_csv(folder / "counts.csv", index=False)
    with pytest.raises(DataError) as err:
        Dataset.from_dir(folder)
    msg = str(err.value)
    assert "counts.csv" in msg and "row 6 (line 7)" in msg and "column 'count'" in msg and "0 or more" in msg


@pytest.mark.parametrize("change, expected", [
    (lambda t: t["counts"].rename(columns={"count": "cnt"}), r"missing column\(s\) count"),
    (lambda t: t["counts"].rename(columns={"measure": "Measure"}), r"'Measure' should be spelt 'measure'"),
    (lambda t: t["counts"].assign(area_code=["Z"] + list(t["counts"]["area_code"][1:])),
     r"counts, row 1, column 'area_code': unknown area code 'Z'"),
    (lambda t: pd.concat([t["counts"], t["counts"].iloc[[3]]]), r"duplicate key \(area_code=A, month=2023-01"),
    (lambda t: t["counts"].assign(count=[2.5] + list(t["counts"]["count"][1:])), r"row 1, column 'count': 2.5 is not a whole number"),
    (lambda t: t["counts"].assign(count=[None] + list(t["counts"]["count"][1:])), r"row 1, column 'count': value is missing"),
    (lambda t: t["counts"].assign(month=["2023-13"] + list(t["counts"]["month"][1:])), r"row 1, column 'month': '2023-13' is not a month"),
])
def test_counts_errors(tables, change, expected):
    tables["counts"] = change(tables)
    with pytest.raises(DataError, match=expected):
        Dataset(**tables)


def test_population_must_be_positive(tables):
    tables["population"].loc[2, "population"] = 0
    with pytest.raises(DataError, match=r"population, row 3, column 'population': 0 is not allowed; expected greater than 0"):
        Dataset(**tables)


def test_counts_in_a_year_with_no_population(tables):
    tables["population"] = tables["population"][tables["population"]["year"] != 2024]
    with pytest.raises(DataError, match=r"counts for A in 2024 but population has no row for A in 2024"):
        Dataset(**tables)


def test_csp_whose_force_is_not_an_area(tables):
    tables["areas"].loc[tables["areas"]["area_code"] == "C", "parent_code"] = "F9"
    with pytest.raises(DataError, match=r"areas, row 7, column 'parent_code': the parent of csp C, 'F9', is not an area"):
        Dataset(**tables)


def test_parent_of_the_wrong_level(tables):
    tables["areas"].loc[tables["areas"]["area_code"] == "C", "parent_code"] = "R"
    with pytest.raises(DataError, match=r"the parent of csp C is R \(a region\); expected a force"):
        Dataset(**tables)


def test_bad_level_and_duplicate_area(tables):
    bad = dict(tables, areas=tables["areas"].assign(level=["nation", "region", "force", "force", "csp", "csp", "ward"]))
    with pytest.raises(DataError, match=r"'ward' is not a level"):
        Dataset(**bad)
    dup = dict(tables, areas=pd.concat([tables["areas"], tables["areas"].iloc[[4]]]))
    with pytest.raises(DataError, match=r"duplicate key \(area_code=A\)"):
        Dataset(**dup)


def test_a_month_cannot_be_both_counted_and_missing(tables):
    tables["missing"] = pd.DataFrame({"area_code": ["A"], "month": ["2023-02"], "reason": ["no file"]})
    with pytest.raises(DataError, match=r"missing, row 1, column .month.: A 2023-02 is marked missing but counts has 'burglary' rows"):
        Dataset(**tables)


def test_a_measure_lives_at_one_level(tables):
    extra = pd.DataFrame({"area_code": ["F1"], "month": ["2023-01"], "measure": ["burglary"], "count": [1]})
    tables["counts"] = pd.concat([tables["counts"], extra])
    tables["population"] = pd.concat([tables["population"], pd.DataFrame(
        {"area_code": ["F1"], "year": [2023], "population": [35_000], "households": [15_000]})])
    with pytest.raises(DataError, match=r"measure 'burglary' is recorded at several levels \(csp, force\)"):
        Dataset(**tables)


def test_missing_table_file_and_unknown_area(small, tmp_path):
    folder = small.to_dir(tmp_path / "d")
    (folder / "population.parquet").unlink()
    with pytest.raises(DataError, match=r"no population.parquet or population.csv"):
        Dataset.from_dir(folder)
    with pytest.raises(KeyError, match=r"no area with code or name 'Nowhere'"):
        small.area("Nowhere")
    assert small.area("beeton")["area_code"] == "B"


def test_an_ambiguous_name_asks_for_the_code(tables):
    tables["areas"].loc[tables["areas"]["area_code"] == "C", "area_name"] = "Force Two"
    ds = Dataset(**tables)
    with pytest.raises(KeyError, match=r"'force two' names several areas .*: C \(csp\), F2 \(force\); give the code"):
        ds.area("force two")
    assert ds.area("C")["area_name"] == "Force Two"


def test_a_month_missing_for_one_measure(tables):
    tables["missing"] = pd.DataFrame({"area_code": ["A"], "month": ["2023-02"], "measure": ["stop-and-search"],
                                      "reason": ["no stop-and-search file"]})
    ds = Dataset(**tables)
    assert ds.missing["measure"].tolist() == ["stop-and-search"]
    tables["missing"]["measure"] = "burglary"
    with pytest.raises(DataError, match=r"A 2023-02 is marked missing for its measure but counts has 'burglary' rows"):
        Dataset(**tables)
