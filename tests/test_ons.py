"""ONS readers: lookups (recognised by column names), code vintages, populations, characteristics, PFA tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import perfwork as pw
from perfwork.dataset import DataError
from perfwork.sources import ons

FIX = Path(__file__).resolve().parent / "fixtures" / "policeuk"
LK = FIX / "lookups"
REAL = Path(__file__).resolve().parents[2] / "shared" / "realdata"
needs_real = pytest.mark.skipif(not REAL.is_dir(), reason=f"shared real data not found at {REAL}")


# ------------------------------------------------------------------------------------------------ lookups
def test_lsoa_lookup_recognised_by_columns():
    lk = ons.read_lookup(LK / "LSOA11_LAD20_EN_LU_test.csv")
    assert lk.roles == ["LSOA->LAD (LSOA11CD->LAD20CD)"]
    assert len(lk.lsoa_lad) == 9
    row = lk.lsoa_lad.set_index("lsoa_code").loc["E01017600"]
    assert row["lad_code"] == "E06000060" and row["vintage"] == "2020"
    assert lk.lsoa_columns == ("LSOA11CD", "LAD20CD", "LAD20NM", 2020, False)
    # the caller may load the rows itself
    assert ons.read_lookup(LK / "LSOA11_LAD20_EN_LU_test.csv", lsoa_frame=False).lsoa_lad.empty


def test_lad_csp_lookup_both_column_orders():
    a = ons.read_lookup(LK / "LAD19_CSP19_PFA19_EW_LU_test.csv")   # FID first
    b = ons.read_lookup(LK / "LAD18_CSP18_PFA18_EW_LU_test.csv")   # FID last, 2018 names
    assert a.roles == ["LAD->CSP->PFA (LAD19CD->CSP19CD->PFA19CD)"]
    assert set(a.lad_csp["vintage"]) == {"2019"} and set(b.lad_csp["vintage"]) == {"2018"}
    assert "E07000244 -> 2 CSPs" in a.notes[0] and "E06000058 -> 3 CSPs" in a.notes[0]
    assert b.lad_csp.set_index("lad_code").loc["E07000205", "csp_code"] == "E22000274"


def test_other_lookups_and_unrecognised():
    succ = ons.read_lookup(LK / "la_all_codes_test.csv")
    assert "LAD code succession" in succ.roles[0]
    assert succ.successors.set_index("lad_code").loc["E07000004", "active_code"] == "E06000060"
    oa = ons.read_lookup(LK / "gb_geog_lookup_OA_LSOA_LAD_test.csv.gz")
    assert len(oa.lsoa_lad) == 3  # 4 output areas, 3 LSOAs
    assert "W01001500" in set(oa.lsoa_lad["lsoa_code"])
    names = ons.read_lookup(LK / "CSP19_names_codes_test.csv")
    assert names.names.set_index("code").loc["E22000002", "name"] == "Bristol, City of"
    with pytest.raises(DataError, match="not a recognised ONS lookup.*LSOAyyCD"):
        ons.read_lookup(LK / "not_a_lookup.csv")


def _geo(*files, codes=()):
    lks = [ons.read_lookup(LK / f) for f in files]
    lad_csp = pd.concat([lk.lad_csp for lk in lks])
    succ = pd.concat([lk.successors for lk in lks])
    codes = set(codes) | set(lad_csp["lad_code"])
    return ons.resolve_lads(lad_csp, succ, codes).lads.set_index("lad_code")


def test_vintage_buckinghamshire_lad20_against_lad19_lookup():
    # without a succession lookup the April-2020 code is simply not in the Dec-2019 lookup
    plain = _geo("LAD19_CSP19_PFA19_EW_LU_test.csv", codes=["E06000060"])
    assert plain.loc["E06000060", "status"] == "unmapped"
    assert "code-succession lookup" in plain.loc["E06000060", "detail"]
    # with it, Buckinghamshire is known to cover four districts in four CSPs: ambiguous, not guessed
    succ = _geo("LAD19_CSP19_PFA19_EW_LU_test.csv", "la_all_codes_test.csv", codes=["E06000060"])
    assert succ.loc["E06000060", "status"] == "ambiguous"
    assert "Aylesbury Vale" in succ.loc["E06000060", "detail"] and "Wycombe" in succ.loc["E06000060", "detail"]
    # a successor whose predecessors all lie in one CSP maps (Somerset 2023 unitary -> Somerset CSP)
    som = _geo("LAD19_CSP19_PFA19_EW_LU_test.csv", "la_all_codes_test.csv", codes=["E06000066"])
    assert (som.loc["E06000066", "status"], som.loc["E06000066", "csp_code"]) == ("mapped", "E22000369")


def test_one_to_many_east_suffolk_and_bcp_are_ambiguous():
    g = _geo("LAD19_CSP19_PFA19_EW_LU_test.csv")
    for lad in ("E07000244", "E06000058"):
        assert g.loc[lad, "status"] == "ambiguous" and pd.isna(g.loc[lad, "csp_code"])
    assert "Suffolk Coastal, Waveney" in g.loc["E07000244", "detail"]
    assert g.loc["E07000246", "csp_code"] == "E22000369"  # Somerset West and Taunton, many-to-one is fine


def test_older_vintage_only_fills_gaps():
    g = _geo("LAD19_CSP19_PFA19_EW_LU_test.csv", "LAD18_CSP18_PFA18_EW_LU_test.csv")
    assert g.loc["E07000205", "csp_code"] == "E22000274" and "2018" in g.loc["E07000205", "detail"]
    assert g.loc["E06000028", "csp_code"] == "E22000063"  # old Bournemouth -> Bournemouth CSP
    assert g.loc["E07000244", "status"] == "ambiguous"   # the newest lookup still rules where it has the code


@pytest.mark.parametrize("a,b", [("avon-and-somerset", "Avon and Somerset Constabulary"),
                                 ("Avon & Somerset Constabulary", "Avon and Somerset"),
                                 ("city-of-london", "London, City of"), ("metropolitan", "Metropolitan Police Service"),
                                 ("dyfed-powys", "Dyfed-Powys Police"), ("devon-and-cornwall", "Devon & Cornwall")])
def test_force_names_normalise(a, b):
    assert ons.normalise_force_name(a) == ons.normalise_force_name(b)


# ------------------------------------------------------------------------------------------------ population
def test_mye5_workbook_layout():
    p = ons.read_mye5(FIX / "population" / "mye5_test.xlsx")
    codes = set(p.frame["area_code"])
    assert codes == {"E06000023", "E07000187", "E07000246", "E07000178", "E07000202", "E06000060", "E06000058"}
    assert "E10000027" not in codes  # the county of Somerset: a sum of districts, left out
    assert sorted(p.frame["year"].unique()) == [2018, 2019]
    assert p.frame.set_index(["area_code", "year"]).loc[("E07000187", 2019), "population"] == 115587
    assert "1 County" in p.notes[0] and "1 Council Area" in p.notes[0]
    assert p.extra.set_index("area_code").loc["E06000023", "area_sqkm"] == 110


def test_population_csv_forms():
    cmd = ons.read_population(FIX / "population" / "cmd_v4_test.csv")
    assert list(cmd.frame["area_code"]) == ["E07000004", "E07000005"]  # persons only, Scotland left out
    assert cmd.frame["population"].tolist() == [181733, 95000]
    tidy = ons.read_population(FIX / "population" / "tidy_csp_population_test.csv")
    assert tidy.frame.set_index("area_code").loc["E22000274", "population"] == 130000
    pfa = ons.read_population(FIX / "population" / "pfa_population_test.csv")
    assert list(pfa.frame["area_code"]) == ["E23000036"] and "Beds Cambs Herts" in pfa.notes[0]
    k = ons.read_population(FIX / "population" / "pfa_population_thousands_test.csv")
    got = k.frame.set_index(["area_name", "year"])["population"]
    assert got[("Avon and Somerset", 2010)] == pytest.approx(1623200)
    with pytest.raises(DataError, match="not a recognised population file"):
        ons.read_population(LK / "not_a_lookup.csv")


def test_characteristics_imd():
    c = ons.read_characteristics(FIX / "characteristics" / "IoD2019_LAD_test.csv")
    assert set(c.frame["variable"]) == {"imd2019_imd_score", "imd2019_imd_bottom_decile", "imd2019_crime_score"}
    assert set(c.frame["agg"]) == {"mean"}
    d = ons.read_characteristics(FIX / "population" / "mye5_test.xlsx")
    assert set(d.frame["variable"]) == {"area_sqkm", "population_mid2019"}


def test_pfa_table_reader():
    t = ons.read_pfa_table(FIX / "ons" / "pfa_tables_test.xlsx", "P1", "Total recorded crime").set_index("area_code")
    assert t.loc["E23000036", "value"] == 138730
    assert t.loc["K04000001", "area_name"] == "ENGLAND AND WALES"  # footnote digits removed
    assert np.isnan(t.loc["E23000005", "value"])                   # '..' not available
    assert "British Transport Police" not in set(t["area_name"])   # no code


# ------------------------------------------------------------------------------------------------ real files
@needs_real
def test_real_lookups_roles_and_traps():
    L = REAL / "lookups"
    l1 = ons.read_lookup(L / "LSOA11_CCG20_LAD20_EN_LU_apr2020.csv")
    assert len(l1.lsoa_lad) == 32844 and not l1.lsoa_lad["lsoa_code"].str.startswith("W01").any()
    l2 = ons.read_lookup(L / "LAD19_CSP19_PFA19_EW_LU_dec2019.csv")
    l3 = ons.read_lookup(L / "LAD17_CSP17_PFA17_EW_LU_jan2017_v2.csv")
    assert l3.lad_csp["vintage"].unique().tolist() == ["2017"]
    l5 = ons.read_lookup(L / "la_all_codes_drkane.csv")
    l6 = ons.read_lookup(L / "gb_geog_lookup_OA_LSOA_MSOA_LAD.csv.gz")
    assert l6.lsoa_lad["lsoa_code"].str.startswith("W01").sum() > 1900
    codes = set(l1.lsoa_lad["lad_code"]) | set(l6.lsoa_lad["lad_code"])
    g = ons.resolve_lads(pd.concat([l2.lad_csp, l3.lad_csp]), l5.successors, codes).lads.set_index("lad_code")
    assert g.loc["E06000060", "status"] == "ambiguous"          # Buckinghamshire: 4 CSPs in 2019
    assert g.loc["E07000244", "status"] == "ambiguous"          # East Suffolk
    assert g.loc["E06000058", "status"] == "ambiguous"          # BCP
    assert g.loc["E07000004", "csp_code"] == "E22000303"        # Aylesbury Vale (L6's older code)
    assert g.loc["E07000190", "status"] == "mapped"             # Taunton Deane via the 2017 lookup


@needs_real
def test_real_population_and_pfa_table():
    p = ons.read_population(REAL / "population" / "ukmidyearestimates20192020ladcodes.xls")
    assert p.frame["area_code"].nunique() == 336 and p.frame["year"].nunique() == 19
    codes = set(p.frame["area_code"])
    assert "E06000060" in codes and "E07000004" not in codes   # April-2020 codes
    assert ons.read_population(REAL / "population" / "ons_cmd_mid-year-pop-est_2018_v4.csv").frame[
        "area_code"].nunique() == 339
    t = ons.read_pfa_table(REAL / "recorded_crime" / "ons_pfa_tables" / "pfatablesdec19.xlsx").set_index("area_code")
    assert t.loc["E23000004", "value"] == 135821 and t.loc["E23000036", "value"] == 138730
    assert np.isnan(t.loc["E23000005", "value"])


# ------------------------------------------------------------------------------------------------ population errors
CMD_HEADER = "v4_0,calendar_years,time,admin_geography,geography,mid_year_pop_sex,sex,mid_year_pop_age,age\n"


def test_cmd_population_error_names_the_real_line_column_and_value(tmp_path):
    # line 2 (a Male row) is left out before the check: the bad value is still reported on its own line, 4
    f = tmp_path / "cmd.csv"
    f.write_text(CMD_HEADER + "90000,2018,2018,E07000004,Aylesbury Vale,1,Male,total,Total\n"
                 "181733,2018,2018,E07000004,Aylesbury Vale,0,All,total,Total\n"
                 "n/a,2018,2018,E07000005,Chiltern,0,All,total,Total\n")
    with pytest.raises(DataError) as err:
        ons.read_population(f)
    assert str(err.value) == (f"{f}, line 4, column 'v4_0': 'n/a' is not a population; expected a number greater "
                              f"than 0")
    f.write_text(CMD_HEADER + "181733,2018,2018,E07000004,Aylesbury Vale,0,All,total,Total\n"
                 "95000,20l8,2018,E07000005,Chiltern,0,All,total,Total\n")
    with pytest.raises(DataError, match=r"line 3, column 'calendar_years': '20l8' is not a year; expected a whole "
                                        r"number such as 2019"):
        ons.read_population(f)


def test_tidy_population_error_lines_count_blank_lines_and_quoted_line_breaks(tmp_path):
    f = tmp_path / "tidy.csv"
    f.write_text('area_code,year,population,households,note\n'
                 'E22000274,2019,130000,,"two\nlines"\n'
                 '\n'
                 'E22000278,2019,0,,\n')
    with pytest.raises(DataError, match=r"tidy.csv, line 5, column 'population': '0' is not a population; "
                                        r"expected a number greater than 0"):
        ons.read_population(f)
    f.write_text("area_code,year,population,households\nE22000274,2019,130000,\nE22000278,2019,118000,many\n")
    with pytest.raises(DataError, match=r"line 3, column 'households': 'many' is not a household count"):
        ons.read_population(f)
    f.write_text("area_code,year,population\nE22000274,2019,130000\nE22000278,2019,\n")
    with pytest.raises(DataError, match=r"line 3, column 'population': a blank value is not a population"):
        ons.read_population(f)


@pytest.mark.parametrize("text,message", [
    ("code,name,MYE2018\nE23000036,Avon and Somerset,-5\n", r"line 2, column 'MYE2018': '-5' is not a population"),
    ("code,name,MYE2018\n,Beds Cambs Herts,unknown\nE23000036,Avon and Somerset,1711500\nE23000025,Suffolk,x\n",
     r"line 4, column 'MYE2018': 'x' is not a population"),  # the row without a code is left out, not checked
    ("year,Avon and Somerset,Suffolk\n2018,1711500,758556\n2019,1719029,0\n",
     r"line 3, column 'Suffolk': '0' is not a population; expected a number greater than 0"),
    ("year,Avon and Somerset,Suffolk\n2018,1711500,758556\n,1719029,761350\n",
     r"line 3, column 'year': a blank value is not a year"),
    ("Police Force,Mid 2009,Mid 2010,\nAvon and Somerset,1605.6,1623.2,\nSuffolk,718.2,n/a,\n",
     r"line 3, column 'Mid 2010': 'n/a' is not a population in thousands; expected a number greater than 0"),
])
def test_force_population_tables_need_positive_numbers(tmp_path, text, message):
    f = tmp_path / "force_population.csv"
    f.write_text(text)
    with pytest.raises(DataError, match=message):
        ons.read_population(f)


def test_force_population_tables_read(tmp_path):
    f = tmp_path / "wide.csv"
    f.write_text("year,Avon and Somerset,Suffolk\n2018,1711500,758556\n2019,1719029,761350\n")
    got = ons.read_population(f).frame
    assert list(got.columns) == ["area_name", "year", "population", "households"]
    assert got.set_index(["area_name", "year"]).loc[("Suffolk", 2019), "population"] == 761350


@needs_real
def test_real_force_population_tables_read():
    for name, n in (("pfa_population_2009-2019_wide_derived.csv", 39 * 11),
                    ("pfa_population_mid2001-2010_thousands.csv", None),
                    ("pfa_population_MYE2018_households_SNHP2017.csv", None)):
        p = ons.read_population(REAL / "population" / name)
        assert (p.frame["population"] > 0).all() and len(p.frame) == (n or len(p.frame))


# ------------------------------------------------------------------------------------------------ tidy files
def test_tidy_population_thousands_separators_and_ons_headers(tmp_path):
    """Issue case 2: an unquoted thousands separator is an error naming the line (never stored as garbage); the
    quoted form is read; ONS headers (Code, Name, Year, Population; mid-2019 columns) are recognised."""
    f = tmp_path / "pop.csv"
    f.write_text("area_code,year,population\nE08000012,2020,498042\nE08000011,2020,154,517\n")
    with pytest.raises(DataError, match=r"pop.csv, line 3: 4 fields, but the header has 3 \(area_code, year, "
                                        r"population\); a number with an unquoted thousands separator"):
        ons.read_population(f)
    f.write_text('area_code,year,population\nE08000011,2020,"154,517"\n')
    assert ons.read_population(f).frame["population"].tolist() == [154517.0]
    f.write_text('Code,Name,Year,Population\nE08000011,Knowsley,2020,"154,517"\n')
    got = ons.read_population(f).frame
    assert got[["area_code", "year", "population"]].values.tolist() == [["E08000011", 2020, 154517.0]]
    f.write_text('Code,Name,mid-2019,mid-2020\nE08000011,Knowsley,"150,862","154,517"\n')
    got = ons.read_population(f).frame.sort_values("year")
    assert got["year"].tolist() == [2019, 2020] and got["population"].tolist() == [150862.0, 154517.0]
    f.write_text("Place,When,People\nE08000011,2020,154517\n")
    with pytest.raises(DataError, match=r"not a recognised population file; found columns Place, When, People; "
                                        r"expected .*area_code \(area_code, code.*year \(year.*population"):
        ons.read_population(f)


def test_households_file(tmp_path):
    f = tmp_path / "hh.csv"
    f.write_text('Code,Name,Year,Households\nE08000012,Liverpool,2019,"221,000"\n')
    got = ons.read_population(f, want="households").frame
    assert got["households"].tolist() == [221000.0] and got["population"].isna().all()
    f.write_text("Code,Name,Year,Population\nE08000012,Liverpool,2019,498042\n")
    with pytest.raises(DataError, match="not a recognised households file"):
        ons.read_population(f, want="households")


def test_every_tidy_reader_rejects_extra_fields_naming_the_line(tmp_path):
    f = tmp_path / "chars.csv"
    f.write_text('area_code,density\nE08000012,"4,347.3"\nE08000011,1,809\n')
    with pytest.raises(DataError, match=r"chars.csv, line 3: 3 fields, but the header has 2"):
        ons.read_characteristics(f)
    f.write_text('Code,density\nE08000012,"4,347.3"\n')
    assert ons.read_characteristics(f).frame["value"].tolist() == [4347.3]
    g = tmp_path / "groups.csv"
    g.write_text("area_code,peer_code\nA,B\nA,C,D\n")
    with pytest.raises(DataError, match=r"groups.csv, line 3: 3 fields, but the header has 2"):
        pw.load_groups(g)
