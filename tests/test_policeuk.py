"""police.uk files: discovery in zips/folders/loose files, header checks, and malformed files named to the line and
column with nothing stored."""

from __future__ import annotations

import gzip
from pathlib import Path

import duckdb
import pytest

from perfwork.dataset import DataError
from perfwork.sources import policeuk
from perfwork.store import Store

FIX = Path(__file__).resolve().parent / "fixtures" / "policeuk"
LOOKUPS = [FIX / "lookups" / "LSOA11_LAD20_EN_LU_test.csv", FIX / "lookups" / "LAD19_CSP19_PFA19_EW_LU_test.csv"]
BAD = FIX / "malformed"
LOOSE = FIX / "loose" / "2020-07-avon-and-somerset-street.csv.gz"


# ------------------------------------------------------------------------------------------------ discovery
def test_discover_zip_folder_and_loose_files_in_a_mix(tmp_path):
    found = policeuk.discover([FIX / "archive", FIX / "loose" / "2020-07-avon-and-somerset-street.csv.gz",
                               FIX / "loose" / "suffolk-june-export.csv"], tmp_path)
    got = {(f.kind, f.force, f.month) for f in found.files}
    assert got == {("street", "avon-and-somerset", "2019-06"), ("stop-and-search", "avon-and-somerset", "2019-06"),
                   ("street", "thames-valley", "2019-06"), ("street", "avon-and-somerset", "2019-08"),
                   ("outcomes", "avon-and-somerset", "2019-08"), ("street", "avon-and-somerset", "2020-07"),
                   ("street", None, None)}  # the export: force and month come from its columns
    zipped = [f for f in found.files if "!" in f.source]
    assert len(zipped) == 5 and all(f.path.is_file() and f.path.parent == tmp_path for f in zipped)
    assert [s for s, _ in found.skipped] == [f"{FIX / 'archive' / 'police-uk-2019-06-to-2019-08.zip'}!README.txt"]
    assert all(len(f.sha256) == 64 for f in found.files)


def test_loose_file_identity_from_its_columns(tmp_path):
    found = policeuk.discover([FIX / "loose" / "suffolk-june-export.csv"], tmp_path)
    con = duckdb.connect()
    policeuk.identify_loose(con, found.files)
    f = found.files[0]
    assert (f.force, f.month, f.key) == ("Suffolk Constabulary", "2019-06", "street:Suffolk Constabulary:2019-06")
    f.pfa = "E23000025"  # once the store knows the force's police force area, that is its identity
    assert f.key == "street:E23000025:2019-06"


@pytest.mark.parametrize("name,expected", [
    ("2019-01-merseyside-street.csv.gz", ("street", "2019-01", "merseyside")),
    ("2024-04-metropolitan-street.burglary-only.csv.gz", ("street", "2024-04", "metropolitan")),
    ("2024-06-metropolitan-stop-and-search.csv", ("stop-and-search", "2024-06", "metropolitan")),
    ("2019-08-avon-and-somerset-outcomes.csv", ("outcomes", "2019-08", "avon-and-somerset")),
    ("2019-08-btp-street.csv", ("street", "2019-08", "btp")),
    ("crimes.csv", (None, None, None)),
])
def test_file_names(name, expected):
    assert policeuk._classify(name) == expected


def test_folder_skips_other_files_but_an_explicit_unknown_csv_is_an_error(tmp_path):
    found = policeuk.discover([BAD / "unknown_header", LOOSE], tmp_path)
    assert len(found.files) == 1 and "not a police.uk" in found.skipped[0][1]
    with pytest.raises(DataError, match=r"no police.uk street, outcomes or stop-and-search file in .*unknown_header "
                                        r"\(.*crimes.csv: not a police.uk file.*nothing was stored"):
        policeuk.discover([BAD / "unknown_header"], tmp_path)
    with pytest.raises(DataError, match=r"crimes.csv, line 1: not a police.uk file"):
        policeuk.discover([BAD / "unknown_header" / "crimes.csv"], tmp_path)
    with pytest.raises(DataError, match="no such file or folder"):
        policeuk.discover([tmp_path / "nowhere.zip"], tmp_path)


def test_damaged_zip(tmp_path):
    z = tmp_path / "broken.zip"
    z.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DataError, match="not a readable zip archive"):
        policeuk.discover([z], tmp_path)


# ------------------------------------------------------------------------------------------------ malformed files
MALFORMED = [
    # folder, line, column text, what
    ("wrong_header", 1, "column 10", "header says 'Crime Type', expected 'Crime type'"),
    ("truncated_row", 4, "column 7 ('Location')", "has 6 fields, expected 12: the row is truncated"),
    ("extra_field", 3, "column 13", "has 13 fields, expected 12"),
    ("bad_month", 3, "column 2 ('Month')", "'2019-13' is not a month"),
    ("wrong_month", 4, "column 2 ('Month')", "'2019-09' is not this file's month; expected 2019-08"),
    ("not_utf8", 3, "column 7 ('Location')", "byte 0xe9 is not UTF-8"),
    ("unknown_crime_type", 3, "column 10 ('Crime type')", "'Criminal Damage & Arson' is not a police.uk crime type"),
    ("unknown_outcome", 3, "column 11 ('Last outcome category')", "'Sent to the moon' is not a police.uk outcome"),
    ("unterminated_quote", 6, "column 7 ('Location')", "a quoted field is never closed"),
    ("truncated_gzip", 3, "column 11 ('Last outcome category')", "the file is truncated"),
    ("bad_date", 3, "column 2 ('Date')", "'31/06/2019 10:00' is not a date and time"),
    ("empty", 1, "", "the file is empty"),
]


@pytest.fixture
def good_store(tmp_path):
    """A store holding the fixture archive, to check that a failed ingest leaves it exactly as it was."""
    path = tmp_path / "good.duckdb"
    with Store(path) as st:
        st.ingest_police_uk([FIX / "archive"], lookups=LOOKUPS)
    return path


def _snapshot(path: Path) -> dict:
    with Store(path, read_only=True) as st:
        out = {t: st._q(f"SELECT * FROM {t} ORDER BY ALL") for t in
               ("ledger", "street", "outcomes", "stop_search", "accounting", "ingests", "lsoa_lad", "lad_csp")}
    return out


@pytest.mark.parametrize("folder,line,column,what", MALFORMED)
def test_malformed_file_named_to_line_and_column_and_nothing_stored(good_store, folder, line, column, what):
    before = _snapshot(good_store)
    bad = next((BAD / folder).iterdir())
    # the bad file goes in together with a good new one: neither may be stored
    with pytest.raises(DataError) as err:
        with Store(good_store) as st:
            st.ingest_police_uk([FIX / "loose" / "2020-07-avon-and-somerset-street.csv.gz", bad])
    msg = str(err.value)
    assert bad.name in msg and f"line {line}" in msg and column in msg and what in msg, msg
    assert _snapshot(good_store) == before


def test_bad_month_in_file_name(tmp_path):
    with pytest.raises(DataError, match=r"2019-13-avon-and-somerset-street.csv: the file name's month '2019-13' is not "
                                        r"a month"):
        policeuk.discover([BAD / "bad_file_month"], tmp_path)


def test_slow_path_reader_units(tmp_path):
    assert policeuk._open_quote_field('a,b,"c,d\n') == 2
    assert policeuk._open_quote_field('a,"b""x",c\n') is None
    multi = tmp_path / "m.csv.gz"
    multi.write_bytes(gzip.compress(b"a,b\n1,2\n") + gzip.compress(b"3,4\n"))
    assert list(policeuk._raw_lines(multi)) == [b"a,b\n", b"1,2\n", b"3,4\n"]
    empty = tmp_path / "e.csv.gz"
    empty.write_bytes(gzip.compress(b""))
    assert list(policeuk._raw_lines(empty)) == []


def test_quoted_newlines_and_crlf_are_fine(tmp_path):
    src = (FIX / "changed" / "2019-08-avon-and-somerset-street.csv").read_text()
    lines = src.splitlines()
    lines[1] = lines[1].replace("On or near Somewhere Road", '"On or near\nSomewhere, Road"')
    f = tmp_path / "2019-08-avon-and-somerset-street.csv"
    f.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    pf = policeuk.discover([f], tmp_path).files[0]
    got = list(policeuk.rows(pf))
    assert [n for n, _ in got] == [2, 4, 5, 6, 7]  # the quoted newline makes row 1 span lines 2-3
    with Store(tmp_path / "s.duckdb") as st:
        rep = st.ingest_police_uk([f], lookups=LOOKUPS)
    assert rep.files.loc[rep.files["kind"] == "street", "rows"].tolist() == [5]


# ------------------------------------------------------------------------------------------------ scans
def _stop_search_files(tmp_path):
    found = policeuk.discover([FIX / "archive"], tmp_path)
    ss = [f for f in found.files if f.kind == "stop-and-search"]
    # the same searches with dates without an offset: read as UTC whatever the connection's time zone
    text = ss[0].path.read_text().replace("+00:00", "")
    (tmp_path / "loose").mkdir()
    bare = tmp_path / "loose" / "2019-06-avon-and-somerset-stop-and-search.csv"
    bare.write_text(text)
    return ss + policeuk.discover([bare], tmp_path).files


@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Tokyo", "UTC"])
def test_stop_search_months_neither_depend_on_nor_change_the_time_zone(tmp_path, zone):
    files = _stop_search_files(tmp_path)
    con = duckdb.connect()
    con.execute(f"SET TimeZone = '{zone}'")
    seen: list[float] = []
    policeuk.scan_stop_search(con, files, progress=seen.append)
    assert con.execute("SELECT current_setting('TimeZone')").fetchone()[0] == zone
    got = con.execute("SELECT idx, month, sum(n)::INTEGER FROM _stop_search GROUP BY ALL ORDER BY ALL").fetchall()
    assert got == [(0, "2019-06", 3), (0, "2019-07", 1), (1, "2019-06", 3), (1, "2019-07", 1)]
    assert seen and seen[-1] == 100.0 and seen == sorted(seen)


def test_store_ingest_leaves_the_connection_time_zone_alone(tmp_path):
    with Store(tmp_path / "s.duckdb") as st:
        st.con.execute("SET TimeZone = 'America/New_York'")
        st.ingest_police_uk([FIX / "archive"], lookups=LOOKUPS)
        assert st.con.execute("SELECT current_setting('TimeZone')").fetchone()[0] == "America/New_York"
        assert st._q("SELECT count(*) FROM stop_search WHERE month = DATE '2019-06-01'") != [(0,)]


def test_outcomes_scan_reports_progress(tmp_path):
    found = policeuk.discover([FIX / "archive"], tmp_path)
    seen: list[float] = []
    policeuk.scan_outcomes(duckdb.connect(), [f for f in found.files if f.kind == "outcomes"], progress=seen.append)
    assert seen and seen[-1] == 100.0


def test_one_sql_quoting_and_one_file_hash(tmp_path):
    assert policeuk.sql_quote("it's") == "'it''s'"
    assert policeuk.sql_quote('a "b"', '"') == '"a ""b"""'
    value, name = policeuk.sql_quote("'x\""), policeuk.sql_quote('c"', '"')
    assert duckdb.connect().execute(f"SELECT {value} AS {name}").df().to_dict("records") == [{'c"': "'x\""}]
    f = tmp_path / "f.bin"
    f.write_bytes(b"abc")
    assert policeuk.file_sha256(f) == ("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", 3)


def test_a_truncated_file_is_named_whether_identified_by_its_name_or_its_columns(tmp_path):
    """The fixture's free name makes perfwork read its columns to identify it (covered above); named the
    police.uk way it goes straight to the scan: both get the same clear error, never DuckDB's own."""
    bad = tmp_path / "2019-08-avon-and-somerset-street.csv.gz"
    bad.write_bytes((FIX / "malformed" / "truncated_gzip" / "truncated-avon-and-somerset-street.csv.gz").read_bytes())
    with pytest.raises(DataError, match=r"2019-08-avon-and-somerset-street.csv.gz, line 3, column .*the file is truncated"):
        with Store(tmp_path / "s.duckdb") as st:
            st.ingest_police_uk([bad], lookups=LOOKUPS, quiet=True)
