"""The DuckDB store: ingest, row accounting, ledger (idempotent, replacing), transactions, the canonical Dataset,
and the real Merseyside + Avon & Somerset data against an independent count and the ONS force tables."""

from __future__ import annotations

import gzip
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import perfwork as pw
from perfwork import cli
from perfwork.dataset import DataError, Dataset
from perfwork.measures import CRIME_CATEGORIES, CRIME_LABELS, known_measures, stop_search_measure
from perfwork.sources import ons
from perfwork.store import BUCKETS, Store, accounting, open_store

FIX = Path(__file__).resolve().parent / "fixtures" / "policeuk"
LK = FIX / "lookups"
LOOKUPS = [LK / "LSOA11_LAD20_EN_LU_test.csv", LK / "LAD19_CSP19_PFA19_EW_LU_test.csv"]
POP = [FIX / "population" / "mye5_test.xlsx"]
INPUTS = [FIX / "archive", FIX / "loose" / "2020-07-avon-and-somerset-street.csv.gz",
          FIX / "loose" / "suffolk-june-export.csv"]
REAL = Path(__file__).resolve().parents[2] / "shared" / "realdata"

BRISTOL, SOMERSET, OXFORD, IPSWICH, AYLESBURY = "E22000002", "E22000369", "E22000302", "E22000276", "E22000303"
AS, TV, SUFFOLK = "E23000036", "E23000029", "E23000025"

EXPECTED_COUNTS = {
    (BRISTOL, "2019-06"): {"anti-social-behaviour": 1, "bicycle-theft": 1, "bicycle-theft:no_suspect": 1,
                           "burglary": 2, "burglary:caution": 1, "burglary:charged": 1, "vehicle-crime": 1,
                           "vehicle-crime:unavailable": 1},
    (BRISTOL, "2019-08"): {"anti-social-behaviour": 1, "burglary": 1, "burglary:no_suspect": 1},
    (BRISTOL, "2020-07"): {"public-order": 1, "public-order:under_investigation": 1},
    (OXFORD, "2019-06"): {"robbery": 1},
    (SOMERSET, "2019-06"): {"anti-social-behaviour": 1, "violent-crime": 2, "violent-crime:charged": 1},
    (SOMERSET, "2019-08"): {"criminal-damage-arson": 1, "criminal-damage-arson:unavailable": 1},
    (SOMERSET, "2020-07"): {"anti-social-behaviour": 1},
    (IPSWICH, "2019-06"): {"burglary": 1},
    (AS, "2019-06"): {"stop-and-search": 3, "stop-and-search/arrest": 1, "stop-and-search/no_further_action": 1,
                      "stop-and-search/object_found": 1},
}
EXPECTED_BUCKETS = {  # file name -> bucket -> rows
    "2019-06-avon-and-somerset-street.csv": {"counted": 5, "asb": 2, "no_location": 1, "lsoa_not_in_lookup": 1,
                                             "lad_not_mapped": 1, "ambiguous_lad_csp": 2},
    "2019-06-thames-valley-street.csv": {"counted": 2, "lad_not_mapped": 1},
    "2019-08-avon-and-somerset-street.csv": {"counted": 2, "asb": 1, "rejected": 1},
    "2020-07-avon-and-somerset-street.csv.gz": {"counted": 1, "asb": 1, "lsoa_not_in_lookup": 1},
    "suffolk-june-export.csv": {"counted": 1, "ambiguous_lad_csp": 1},
    "2019-06-avon-and-somerset-stop-and-search.csv": {"counted": 3, "rejected": 1},
    "2019-08-avon-and-somerset-outcomes.csv": {"counted": 2, "rejected": 1},
}


def ingest(path, inputs=INPUTS, lookups=LOOKUPS, population=POP, characteristics=(), households=()):
    with Store(path) as st:
        return st.ingest_police_uk(inputs, lookups=lookups, population=population, characteristics=characteristics,
                                   households=households)


def as_dict(counts: pd.DataFrame) -> dict:
    out: dict = {}
    for a, m, k, n in zip(counts["area_code"], counts["month"], counts["measure"].astype(str), counts["count"]):
        out.setdefault((a, f"{m:%Y-%m}"), {})[k] = int(n)
    return out


@pytest.fixture
def store(tmp_path):
    path = tmp_path / "fixture.duckdb"
    ingest(path, characteristics=[FIX / "characteristics" / "IoD2019_LAD_test.csv", FIX / "population" /
                                  "mye5_test.xlsx"])
    return path


# ------------------------------------------------------------------------------------------------ counts & buckets
def test_counts_are_exactly_the_designed_ones(store):
    ds = open_store(store)
    assert isinstance(ds, Dataset)
    assert as_dict(ds.counts) == EXPECTED_COUNTS


def test_every_measure_is_in_the_package_vocabulary(store):
    measures = set(open_store(store).counts["measure"].astype(str))
    assert measures <= set(known_measures()), measures - set(known_measures())
    assert {stop_search_measure("arrest"), stop_search_measure("object_found")} <= measures
    assert not any(m.startswith("stop-and-search:") for m in measures)  # outcome patterns like '*:x' never match


def test_every_row_in_exactly_one_bucket(store):
    with Store(store, read_only=True) as st:
        acc = st.accounting()
        ledger = st.ledger()
    acc["file"] = acc["source"].str.replace("\\", "/").str.rsplit("/", n=1).str[-1].str.rsplit("!", n=1).str[-1]
    got = {f: {b: int(n) for b, n in g.groupby("bucket")["rows"].sum().items()} for f, g in acc.groupby("file")}
    assert got == EXPECTED_BUCKETS
    police = ledger[ledger["kind"].isin(["street", "outcomes", "stop-and-search"])]
    per_file = acc.groupby("source")["rows"].sum()
    assert (police.set_index("source")["rows"] == per_file.reindex(police["source"]).to_numpy()).all()
    assert set(acc["bucket"]) <= set(BUCKETS)


def test_trap_reasons_are_spelt_out(store):
    with Store(store, read_only=True) as st:
        why = st.accounting(by_file=False)
    text = dict(zip(why["detail"], why["bucket"]))
    assert text["Welsh LSOA; the LSOA lookups cover England only"] == "lsoa_not_in_lookup"
    assert text["2021 LSOA code (not in the 2011 LSOA lookup); add an LSOA21 lookup"] == "lsoa_not_in_lookup"
    assert text["blank LSOA code"] == "no_location"
    bucks = [d for d in text if d.startswith("LAD E06000060 Buckinghamshire is in no LAD -> CSP lookup")]
    assert bucks and text[bucks[0]] == "lad_not_mapped"
    assert any("East Suffolk is split between CSPs Suffolk Coastal, Waveney" in d for d in text)
    assert any("Bournemouth, Christchurch and Poole is split between CSPs" in d for d in text)
    assert text["LSOA lies in another force's CSP (Avon and Somerset)"] == "counted"       # Thames Valley row
    assert text["LSOA lies in Thames Valley, which has no street file ingested for the month"] == "rejected"
    assert text["search dated 2019-07 (UK time), not the month of its file"] == "rejected"
    assert text["outcome for a crime in no ingested street file"] == "rejected"


def test_duplicate_crime_ids_are_rows(store):
    # a2 appears twice in June (a burglary and a vehicle crime): both rows count, as police.uk means them
    ds = open_store(store)
    c = as_dict(ds.counts)[(BRISTOL, "2019-06")]
    assert c["burglary"] == 2 and c["vehicle-crime"] == 1


def test_stop_and_search_months_are_uk_local_time(store):
    # 2019-05-31T23:30Z is 00:30 BST on 1 June: a June search, as its file says; 2019-06-30T23:30Z is July
    assert as_dict(open_store(store).counts)[(AS, "2019-06")]["stop-and-search"] == 3


def test_outcomes_files_update_the_crimes_month(store):
    # a1 (June burglary, 'no suspect' in the street file) got a caution in August: counted in June as a caution
    c = as_dict(open_store(store).counts)
    assert c[(BRISTOL, "2019-06")]["burglary:caution"] == 1 and "burglary:no_suspect" not in c[(BRISTOL, "2019-06")]
    assert c[(SOMERSET, "2019-06")]["violent-crime:charged"] == 1  # a4: under investigation -> charged
    # blank outcome (a5, recent crime) counts as a crime with no outcome measure
    assert c[(SOMERSET, "2019-06")]["violent-crime"] == 2


STREET_HEAD = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,"
               "Last outcome category,Context\n")
OUTCOMES_HEAD = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
                 "Outcome type\n")


def _street_row(crime: str, month: str, lsoa: str) -> str:
    return (f"{crime * 64},{month},Avon and Somerset Constabulary,Avon and Somerset Constabulary,-2.5,51.4,"
            f"On or near Somewhere Road,{lsoa},,Burglary,Under investigation,\n")


def test_outcome_rows_follow_the_crimes_latest_street_row_whatever_the_ingest_order(tmp_path):
    # crime b is in the June file (Bristol: counted) and the August file (a Welsh LSOA: not in the lookup);
    # crime c is listed twice in August, in Bristol and in the Welsh LSOA. Each outcome row is accounted by one
    # street row of its crime - the latest file's, then the greatest LSOA code - not by whichever DuckDB meets first.
    june, aug = tmp_path / "2019-06-avon-and-somerset-street.csv", tmp_path / "2019-08-avon-and-somerset-street.csv"
    june.write_text(STREET_HEAD + _street_row("b", "2019-06", "E01014500"))
    aug.write_text(STREET_HEAD + _street_row("b", "2019-08", "W01001500") + _street_row("c", "2019-08", "E01014500")
                   + _street_row("c", "2019-08", "W01001500"))
    outc = tmp_path / "2019-08-avon-and-somerset-outcomes.csv"
    outc.write_text(OUTCOMES_HEAD + "".join(f"{k * 64},2019-08,Avon and Somerset Constabulary,Avon and Somerset "
                                            f"Constabulary,-2.5,51.4,On or near Somewhere Road,,,Suspect charged\n"
                                            for k in "bc"))
    got = []
    for order in ([[june], [aug, outc]], [[aug, outc], [june]], [[outc, aug, june]]):
        path = tmp_path / f"s{len(got)}.duckdb"
        for part in order:
            ingest(path, inputs=part, population=[])
        with Store(path, read_only=True) as st:
            acc = st.accounting()
        got.append(acc[acc["kind"] == "outcomes"][["bucket", "detail", "rows"]].to_dict("records"))
    assert got[0] == got[1] == got[2] == [
        {"bucket": "lsoa_not_in_lookup", "detail": "Welsh LSOA; the LSOA lookups cover England only", "rows": 2}]


# ------------------------------------------------------------------------------------------------ dataset
def test_missing_months_are_missing_not_zero(store):
    ds = open_store(store)
    every = ds.missing.assign(m=ds.missing["month"].dt.strftime("%Y-%m"))
    miss = every[every["measure"].isna()]
    jul = miss[miss["m"] == "2019-07"].set_index("area_code")["reason"]
    for code in (AS, BRISTOL, SOMERSET):
        assert jul[code] == "no police.uk street file for Avon and Somerset for 2019-07"
    # Thames Valley only has June: every other month of the span is missing for it and its CSPs
    tv = miss[miss["area_code"].isin([TV, OXFORD])]
    assert set(tv["m"]) == {"2019-07", "2019-08", "2019-09", "2019-10", "2019-11", "2019-12", "2020-01", "2020-02", "2020-03", "2020-04", "2020-05", "2020-06", "2020-07"}
    assert "outside the months of Thames Valley street files" in tv["reason"].iloc[0]
    # a month with a file is never missing
    assert not ((miss["area_code"] == AS) & (miss["m"].isin(["2019-06", "2019-08", "2020-07"]))).any()
    # a force-month with street data but no stop-and-search file is missing for the search measures only
    searches = every[every["measure"].notna()]
    assert set(searches["measure"]) == {m for m in known_measures() if m.startswith("stop-and-search")}
    tv_june = searches[(searches["area_code"] == TV) & (searches["m"] == "2019-06")]
    assert len(tv_june) and tv_june["reason"].iloc[0] == "no police.uk stop-and-search file for Thames Valley for 2019-06"
    assert not ((searches["area_code"] == AS) & (searches["m"] == "2019-06")).any()


def test_areas_population_and_carry_forward(store):
    ds = open_store(store)
    areas = ds.areas.set_index("area_code")
    assert areas.loc[SOMERSET, "parent_code"] == AS and areas.loc[AS, "parent_code"] == "E92000001"
    assert areas.loc["E92000001", "level"] == "region" and areas.loc["K04000001", "level"] == "nation"
    assert {SUFFOLK, TV, AS} == set(ds.level("force")["area_code"])
    pop = ds.population.set_index(["area_code", "year"])["population"]
    assert pop[(SOMERSET, 2019)] == 115587 + 155115                  # sum of its districts
    assert pop[(AS, 2019)] == 463405 + 115587 + 155115                # force = sum of its CSPs
    assert pop[(BRISTOL, 2020)] == pop[(BRISTOL, 2019)]               # carried forward
    assert any("population for 2020 carried forward from the mid-2019 estimate" in n for n in ds.notes)
    assert ds.name == str(store)                                       # errors name the store by its path
    ind = pw.indicators(ds, areas=BRISTOL, period_end="2020-06")        # the 12 months to June 2020: mid-2020
    assert set(ind["pop_year"].dropna()) == {2019}                             # shown as the estimate it really is
    assert ds.population["households"].isna().all()


def test_characteristics_for_msgs(store):
    ch = open_store(store).characteristics.set_index("area_code")
    w = np.array([115587, 155115])
    assert ch.loc[SOMERSET, "imd2019_imd_score"] == pytest.approx(np.average([16.0, 20.0], weights=w))
    assert ch.loc[BRISTOL, "imd2019_crime_score"] == pytest.approx(0.6)
    assert ch.loc[BRISTOL, "population_density"] == pytest.approx(463405 / 110)
    assert ch.loc[SOMERSET, "population_density"] == pytest.approx((115587 + 155115) / (739 + 1150))
    assert set(ch.columns) == {"imd2019_imd_score", "imd2019_imd_bottom_decile", "imd2019_crime_score",
                               "population_density"}
    assert np.isnan(ch.loc[AYLESBURY, "imd2019_imd_score"])  # no value for its district: blank, not invented


def test_missing_population_is_an_error_or_dropped_on_request(tmp_path):
    # the old-vintage GB lookup places the Buckinghamshire LSOA in Aylesbury Vale, whose district the
    # April-2020 population workbook no longer has
    path = tmp_path / "s.duckdb"
    ingest(path, lookups=LOOKUPS + [LK / "gb_geog_lookup_OA_LSOA_LAD_test.csv.gz"])
    with pytest.raises(DataError, match=r"E22000303 Aylesbury Vale \(2019\).*no population for district"):
        open_store(path)
    ds = open_store(path, missing_population="drop")
    assert AYLESBURY not in set(ds.counts["area_code"])
    assert any("left out" in n and "E22000303" in n for n in ds.notes)
    # the CMD file (April-2019 codes) has Aylesbury Vale for mid-2018: carried forward to 2019
    ingest(path, inputs=[], population=[FIX / "population" / "cmd_v4_test.csv"])
    ds = open_store(path)
    assert as_dict(ds.counts)[(AYLESBURY, "2019-06")] == {"burglary": 1, "burglary:under_investigation": 1,
                                                         "other-theft": 1, "other-theft:unavailable": 1}
    assert ds.population.set_index(["area_code", "year"]).loc[(AYLESBURY, 2019), "population"] == 181733
    assert any("2019 carried forward from the mid-2018" in n for n in ds.notes)


def test_successor_lookup_turns_unmapped_into_ambiguous_and_welsh_lookup_finds_gwent(tmp_path):
    path = tmp_path / "s.duckdb"
    ingest(path, lookups=LOOKUPS + [LK / "la_all_codes_test.csv"])
    with Store(path, read_only=True) as st:
        t = st.bucket_totals()
    assert t["lad_not_mapped"] == 0 and t["ambiguous_lad_csp"] == 3 + 2  # + two Buckinghamshire rows
    ingest(path, inputs=[], lookups=[LK / "gb_geog_lookup_OA_LSOA_LAD_test.csv.gz"],
           population=[FIX / "population" / "cmd_v4_test.csv"])
    with Store(path, read_only=True) as st:
        why = st.accounting(by_file=False)
    # the Welsh LSOA now resolves to Gwent, which has no file ingested: rejected with that reason
    assert ("rejected", "LSOA lies in Gwent, which has no street file ingested for the month") in set(
        zip(why["bucket"], why["detail"]))


def test_csp_population_given_directly(tmp_path):
    path = tmp_path / "s.duckdb"
    ingest(path, population=POP + [FIX / "population" / "tidy_csp_population_test.csv"])
    ds = open_store(path)
    # Suffolk Coastal has no counts, but a directly given CSP figure is used for it all the same
    assert ds.population.set_index(["area_code", "year"]).loc[("E22000274", 2019), "population"] == 130000


def test_households_by_district_give_burglary_per_1000_households(store, tmp_path):
    """Without household estimates burglary per 1,000 households has no value and says why; a tidy CSV of
    households by district (ingested with --households) gives CSPs and forces theirs."""
    pair = pd.DataFrame({"area_code": [BRISTOL], "peer_code": [SOMERSET], "rank": [1]})
    t = pw.assess(open_store(store), area=BRISTOL, period_end="2020-07", peers=pair, min_peers=1)
    row = t.set_index("indicator").loc["burglary"]
    assert np.isnan(row["value"]) and "no household estimates for this area" in row["notes"] and not row["exception"]
    hh = tmp_path / "households.csv"
    hh.write_text('Code,Name,Year,Households\nE06000023,"Bristol, City of",2019,"195,000"\n'
                  "E07000187,Mendip,2019,48000\nE07000246,Somerset West and Taunton,2019,69000\n")
    rep = ingest(store, inputs=[], population=[], households=[hh])
    assert rep.files.set_index("kind").loc["households", "status"] == "new"
    ds = open_store(store)
    got = ds.population.set_index(["area_code", "year"])["households"]
    assert got[(BRISTOL, 2019)] == 195000 and got[(SOMERSET, 2019)] == 48000 + 69000
    assert got[(AS, 2019)] == 195000 + 48000 + 69000 and got[(BRISTOL, 2020)] == 195000      # carried forward
    assert ds.population.set_index(["area_code", "year"])["population"][(BRISTOL, 2019)] == 463405   # kept
    ind = pw.indicators(ds, areas=BRISTOL, period_end="2020-07").set_index("indicator")
    assert ind.loc["burglary", "denominator"] == 195000 and ind.loc["burglary", "pop_year"] == 2019


# ------------------------------------------------------------------------------------------------ ledger
def test_reingest_is_a_no_op(store):
    with Store(store, read_only=True) as st:
        before = {t: st._q(f"SELECT * FROM {t} ORDER BY ALL") for t in ("ledger", "street", "accounting")}
    counts = open_store(store).counts
    rep = ingest(store, characteristics=[FIX / "characteristics" / "IoD2019_LAD_test.csv"])
    assert set(rep.files["status"]) == {"unchanged"} and rep.totals == {}
    with Store(store, read_only=True) as st:
        after = {t: st._q(f"SELECT * FROM {t} ORDER BY ALL") for t in ("ledger", "street", "accounting")}
        assert len(st.ingests()) == 2
    assert after == before
    pd.testing.assert_frame_equal(open_store(store).counts, counts)


def test_changed_file_replaces_its_force_month(store):
    rep = ingest(store, inputs=[FIX / "changed" / "2019-08-avon-and-somerset-street.csv"])
    assert rep.files.set_index("kind").loc["street", "status"] == "replaced"
    with Store(store, read_only=True) as st:
        keys = st.ledger()["file_key"]
    assert (keys == "street:E23000036:2019-08").sum() == 1
    c = as_dict(open_store(store).counts)
    assert c[(BRISTOL, "2019-08")]["burglary"] == 2                 # one more burglary in the new file
    assert c[(SOMERSET, "2019-08")]["criminal-damage-arson"] == 1   # the rest as before


def test_same_file_twice_in_one_ingest(tmp_path):
    rep = ingest(tmp_path / "s.duckdb", inputs=INPUTS + [FIX / "changed" / "2019-06-avon-and-somerset-street.csv"])
    assert any("same content as" in why for _, why in rep.skipped)
    assert as_dict(open_store(tmp_path / "s.duckdb").counts) == EXPECTED_COUNTS
    with pytest.raises(DataError, match="two different files for street avon-and-somerset 2019-08"):
        ingest(tmp_path / "t.duckdb",
               inputs=[FIX / "archive", FIX / "changed" / "2019-08-avon-and-somerset-street.csv"])
    # a force is one force whether named by its file name or its 'Reported by' column
    export = tmp_path / "export.csv"
    export.write_bytes((FIX / "changed" / "2019-08-avon-and-somerset-street.csv").read_bytes())
    with pytest.raises(DataError, match="two different files for street Avon and Somerset Constabulary 2019-08"):
        ingest(tmp_path / "u.duckdb", inputs=[FIX / "archive", export])


def test_renamed_copy_is_an_error_and_changes_no_count(store, tmp_path):
    """Issue case 1: a file copied under another force's name, or another month's, is an error naming both
    identities; nothing is stored and no count changes."""
    before = open_store(store).counts
    src = FIX / "changed" / "2019-08-avon-and-somerset-street.csv"
    other_force = tmp_path / "2019-08-thames-valley-street.csv"
    other_force.write_bytes(src.read_bytes())
    with pytest.raises(DataError, match=r"2019-08-thames-valley-street.csv: its name says force 'thames-valley' but "
                                        r"its rows say 'Reported by' 'Avon and Somerset Constabulary'"):
        ingest(store, inputs=[other_force])
    archived = tmp_path / "2019-09-avon-and-somerset-street.csv"  # same bytes as the archive's August file
    with zipfile.ZipFile(FIX / "archive" / "police-uk-2019-06-to-2019-08.zip") as z:
        archived.write_bytes(z.read("2019-08/2019-08-avon-and-somerset-street.csv"))
    with pytest.raises(DataError, match=r"same bytes as .*2019-08-avon-and-somerset-street.csv, already ingested as "
                                        r"street:E23000036:2019-08 \(this file would be street:E23000036:2019-09\)"):
        ingest(store, inputs=[archived])
    with Store(store, read_only=True) as st:
        assert len(st.ingests()) == 1
    pd.testing.assert_frame_equal(open_store(store).counts, before)


def test_renamed_reference_file_is_not_read_twice(store, tmp_path):
    copy = tmp_path / "IoD_copy.csv"
    copy.write_bytes((FIX / "characteristics" / "IoD2019_LAD_test.csv").read_bytes())
    rep = ingest(store, inputs=[], characteristics=[copy])
    assert set(rep.files["status"]) == {"unchanged"}
    assert any("same bytes as" in n for n in rep.notes)


def test_ingest_that_finds_nothing_fails_with_the_reason(tmp_path, capsys):
    """Issue case 7: an empty zip or folder is an error; a zip inside a zip and files whose names say nothing are
    read (identified by their columns, as loose files are)."""
    empty = tmp_path / "empty.zip"
    zipfile.ZipFile(empty, "w").close()
    with pytest.raises(DataError, match=r"no police.uk street, outcomes or stop-and-search file in .*empty.zip "
                                        r"\(.*empty.zip: an empty zip archive\); nothing was stored"):
        ingest(tmp_path / "e.duckdb", inputs=[empty])
    args = ["ingest", "police-uk", str(empty), *sum((["--lookup", str(p)] for p in LOOKUPS), []),
            "--store", str(tmp_path / "e.duckdb")]
    assert cli.main(args) == 1
    assert "an empty zip archive" in capsys.readouterr().err
    nested = tmp_path / "nested.zip"
    with zipfile.ZipFile(nested, "w") as z:
        z.write(FIX / "archive" / "police-uk-2019-06-to-2019-08.zip", "download/police-uk.zip")
    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / "avon-and-somerset-street.csv").write_bytes(gzip.decompress(INPUTS[1].read_bytes()))
    (odd / "2020-07-avon-and-somerset-street - Copy.csv").write_bytes(gzip.decompress(INPUTS[1].read_bytes()))
    rep = ingest(tmp_path / "n.duckdb", inputs=[nested, odd, INPUTS[2]])
    assert as_dict(open_store(tmp_path / "n.duckdb").counts) == EXPECTED_COUNTS
    assert any("same content as" in why for _, why in rep.skipped)  # the copy: same file, same force-month


def test_interrupted_ingest_leaves_the_store_as_it_was(store, monkeypatch):
    with Store(store, read_only=True) as st:
        before = {t: st._q(f"SELECT * FROM {t} ORDER BY ALL") for t in ("ledger", "street", "accounting", "ingests")}

    def boom(con):
        raise KeyboardInterrupt

    monkeypatch.setattr(accounting, "rebuild", boom)  # after the new rows are written, before the commit
    with pytest.raises(KeyboardInterrupt):
        ingest(store, inputs=[FIX / "changed" / "2019-08-avon-and-somerset-street.csv"])
    with Store(store, read_only=True) as st:
        after = {t: st._q(f"SELECT * FROM {t} ORDER BY ALL") for t in ("ledger", "street", "accounting", "ingests")}
    assert after == before


def test_first_ingest_needs_lookups(tmp_path):
    with pytest.raises(DataError, match="no LAD -> CSP -> PFA lookup yet"):
        ingest(tmp_path / "s.duckdb", lookups=[], population=[])


def test_unknown_force_rows_are_rejected_with_the_reason(tmp_path):
    src = (FIX / "changed" / "2019-08-avon-and-somerset-street.csv").read_text()
    f = tmp_path / "2019-08-btp-street.csv"
    f.write_text(src.replace("Avon and Somerset Constabulary", "British Transport Police"))
    rep = ingest(tmp_path / "s.duckdb", inputs=INPUTS + [f])
    d = rep.details[rep.details["source"] == str(f)]
    assert d["bucket"].unique().tolist() == ["rejected"] and d["rows"].sum() == 5
    assert "reported by btp, which is not a police force area" in d["detail"].iloc[0]


# ------------------------------------------------------------------------------------------------ CLI
def test_cli(tmp_path, capsys):
    store = tmp_path / "cli.duckdb"
    args = ["ingest", "police-uk", *map(str, INPUTS), *sum((["--lookup", str(p)] for p in LOOKUPS), []),
            "--population", str(POP[0]), "--store", str(store)]
    assert cli.main(args) == 0
    out = capsys.readouterr().out
    assert "row accounting for this ingest (31 rows)" in out and "LAD not mapped to a CSP" in out
    assert "counted        ASB  no location  LSOA unknown  LAD unmapped  ambiguous   rejected" in out  # whole
    assert "0.00B" not in capsys.readouterr().err
    assert cli.main(args + ["--quiet"]) == 0
    assert capsys.readouterr().out == ""
    bad = ["ingest", "police-uk", str(FIX / "malformed" / "not_utf8"), "--store", str(store), "-q"]
    assert cli.main(bad) == 1
    err = capsys.readouterr().err
    assert "line 3, column 7 ('Location')" in err and "nothing was stored" in err
    assert cli.main(["ingest", "characteristics", str(FIX / "characteristics" / "IoD2019_LAD_test.csv"),
                            "--store", str(store), "-q"]) == 0
    assert "imd2019_imd_score" in open_store(store).characteristics.columns
    with pytest.raises(SystemExit):
        cli.main(["ingest", "police-uk", "--help"])
    assert "every row accounted for" in capsys.readouterr().out


# ------------------------------------------------------------------------------------------------ real data
needs_real = pytest.mark.skipif(not (REAL / "police_uk" / "street" / "merseyside").is_dir(),
                                reason=f"shared real data not found at {REAL} (see ../shared/realdata/MANIFEST.md)")
FORCES = {"merseyside": "E23000004", "avon-and-somerset": "E23000036"}


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    if not (REAL / "police_uk" / "street" / "merseyside").is_dir():
        pytest.skip(f"shared real data not found at {REAL}")
    files = [f for force in FORCES for f in sorted((REAL / "police_uk" / "street" / force).glob("*.csv.gz"))]
    path = tmp_path_factory.mktemp("real") / "real.duckdb"
    t = time.perf_counter()
    with Store(path) as st:
        report = st.ingest_police_uk(
            files, lookups=[REAL / "lookups" / "LSOA11_CCG20_LAD20_EN_LU_apr2020.csv",
                            REAL / "lookups" / "LAD19_CSP19_PFA19_EW_LU_dec2019.csv"],
            population=[REAL / "population" / "ukmidyearestimates20192020ladcodes.xls"])
    seconds = time.perf_counter() - t
    return {"path": path, "files": files, "report": report, "seconds": seconds, "ds": open_store(path)}


def _raw(files) -> pd.DataFrame:
    parts = []
    for f in files:
        d = pd.read_csv(f, usecols=["Month", "LSOA code", "Crime type"], dtype=str, keep_default_na=False)
        parts.append(d)
    return pd.concat(parts, ignore_index=True)


@needs_real
def test_real_counts_equal_an_independent_count(real):
    raw = _raw(real["files"])
    l1 = pd.read_csv(REAL / "lookups" / "LSOA11_CCG20_LAD20_EN_LU_apr2020.csv", usecols=["LSOA11CD", "LAD20CD"])
    l2 = pd.read_csv(REAL / "lookups" / "LAD19_CSP19_PFA19_EW_LU_dec2019.csv",
                     usecols=["LAD19CD", "CSP19CD", "PFA19CD"])
    n_csp = l2.groupby("LAD19CD")["CSP19CD"].nunique()
    single = l2[l2["LAD19CD"].map(n_csp) == 1]                      # one-to-many LADs count nowhere
    lsoa_csp = l1.merge(single, left_on="LAD20CD", right_on="LAD19CD")
    m = raw.merge(lsoa_csp, left_on="LSOA code", right_on="LSOA11CD")
    m = m[m["PFA19CD"].isin(FORCES.values())]                       # both forces have every month ingested
    m["measure"] = m["Crime type"].map(CRIME_LABELS)
    expected = m.groupby(["CSP19CD", "Month", "measure"]).size()
    got = real["ds"].counts
    got = got[got["measure"].astype(str).isin(CRIME_CATEGORIES)]
    got = dict(zip(zip(got["area_code"].astype(str), got["month"].dt.strftime("%Y-%m"), got["measure"].astype(str)),
                   got["count"].astype(int)))
    want = {k: int(v) for k, v in expected.items()}
    assert len(got) == len(want) > 2000
    assert got == want
    assert set(real["ds"].level("csp")["area_code"]) == set(single.loc[single["PFA19CD"].isin(FORCES.values()),
                                                                      "CSP19CD"]) | {"E22000369"}


@needs_real
def test_real_bucket_totals_equal_the_input_rows(real):
    n_rows = 0
    for f in real["files"]:
        with gzip.open(f, "rt", encoding="utf-8", newline="") as fh:
            n_rows += sum(1 for _ in fh) - 1  # no quoted newlines in these files (checked in the MANIFEST)
    with Store(real["path"], read_only=True) as st:
        totals = st.bucket_totals()
        ledger = st.ledger()
    assert sum(totals.values()) == n_rows == 472_630
    assert sum(real["report"].totals.values()) == n_rows
    assert ledger.loc[ledger["kind"] == "street", "rows"].sum() == n_rows
    assert totals["no_location"] == 23_270 and totals["lsoa_not_in_lookup"] == 36   # A&S blank and Welsh LSOAs


@needs_real
def test_real_july_2019_is_missing(real):
    miss = real["ds"].missing
    jul = miss[miss["month"] == pd.Timestamp("2019-07-01")]
    assert set(FORCES.values()) <= set(jul["area_code"])
    assert len(jul) == 2 + 10  # two forces and their ten CSPs
    assert not (real["ds"].counts["month"] == pd.Timestamp("2019-07-01")).any()


@needs_real
def test_real_annualised_2019_totals_within_3pc_of_ons(real):
    ons_p1 = ons.read_pfa_table(REAL / "recorded_crime" / "ons_pfa_tables" / "pfatablesdec19.xlsx", "P1",
                                "Total recorded crime").set_index("area_code")["value"]
    with Store(real["path"], read_only=True) as st:
        fc = st.force_counts()
    y2019 = fc[(fc["month"].dt.year == 2019) & (fc["measure"] != "anti-social-behaviour")]
    months = y2019.groupby("area_code")["month"].nunique()
    assert (months == 11).all()                                       # July 2019 is missing at source
    annual = y2019.groupby("area_code")["count"].sum() * 12 / 11
    for code in FORCES.values():
        assert abs(annual[code] / ons_p1[code] - 1) < 0.03, (code, annual[code], ons_p1[code])


@needs_real
def test_real_ctrl_c_mid_ingest_leaves_the_store_as_it_was(tmp_path):
    import signal
    import subprocess
    import sys
    store = tmp_path / "int.duckdb"
    with Store(store) as st:
        st.ingest_police_uk([], lookups=[REAL / "lookups" / "LSOA11_CCG20_LAD20_EN_LU_apr2020.csv",
                                         REAL / "lookups" / "LAD19_CSP19_PFA19_EW_LU_dec2019.csv"])
    cmd = [sys.executable, "-m", "perfwork.cli", "ingest", "police-uk",
           str(REAL / "police_uk" / "street" / "merseyside"), str(REAL / "police_uk" / "street" / "avon-and-somerset"),
           "--store", str(store)]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=Path(__file__).parents[1])
    seen = b""
    while b"reading police.uk files" not in seen and p.poll() is None:
        seen += p.stderr.read1(4096)
    p.send_signal(signal.SIGINT)  # Ctrl-C while DuckDB reads the files
    err = seen + p.communicate(timeout=60)[1]
    with Store(store, read_only=True) as st:
        files, rows = st._q("SELECT count(*), coalesce(sum(rows), 0) FROM ledger WHERE kind = 'street'")[0]
        stored = st._q("SELECT count(*) FROM street")[0][0]
    if p.returncode == 130:
        assert b"nothing was stored" in err and (files, rows, stored) == (0, 0, 0)
    else:  # the signal came too late: then everything is in, never a part
        assert p.returncode == 0 and (files, rows, stored) == (34, 472_630, 472_630)


@needs_real
def test_real_reingest_changes_nothing(real):
    with Store(real["path"], read_only=True) as st:
        before = st._q("SELECT count(*), sum(rows) FROM accounting") + st._q("SELECT count(*) FROM ledger")
    with Store(real["path"]) as st:
        rep = st.ingest_police_uk(real["files"])
    assert set(rep.files["status"]) == {"unchanged"}
    with Store(real["path"], read_only=True) as st:
        after = st._q("SELECT count(*), sum(rows) FROM accounting") + st._q("SELECT count(*) FROM ledger")
    assert after == before


def test_pw_load_opens_a_store_a_folder_or_the_demo(store, tmp_path):
    import perfwork as pw

    ds = pw.load(store)
    assert ds.counts.equals(open_store(store).counts)
    folder = ds.to_dir(tmp_path / "tables")
    assert pw.load(folder).counts["count"].sum() == ds.counts["count"].sum()
    assert pw.load().name == "demo"
