"""police.uk files: discovery (zip archives, folders, loose .csv / .csv.gz), header checks, reading with DuckDB.

police.uk publishes one file per force, month and kind, named ``YYYY-MM-<force>-<kind>.csv`` (kind ``street``,
``outcomes`` or ``stop-and-search``), inside ``YYYY-MM/`` folders of the zip archive its download page builds.
A file's force and month come from its name; a loose file with another name is recognised by its header, its
month by its ``Month`` column and its force by ``Reported by``.

Reading is done by DuckDB over all files of a kind at once (explicit column list, strict mode, every value as
text); the values are then checked in bulk (months, crime types, outcome texts). When DuckDB rejects a file or a
value is wrong, the file is read again with Python's csv module to name the line and column - so a malformed file
costs nothing on the fast path and still gets a precise error.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

import duckdb

from ..dataset import DataError
from ..measures import CRIME_LABELS, OUTCOME_GROUPS_BY_TEXT, STOP_SEARCH_RESULTS

STREET_COLUMNS = ("Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location",
                  "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context")
OUTCOMES_COLUMNS = ("Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location",
                    "LSOA code", "LSOA name", "Outcome type")
STOP_SEARCH_COLUMNS = ("Type", "Date", "Part of a policing operation", "Policing operation", "Latitude",
                       "Longitude", "Gender", "Age range", "Self-defined ethnicity", "Officer-defined ethnicity",
                       "Legislation", "Object of search", "Outcome", "Outcome linked to object of search",
                       "Removal of more than just outer clothing")
STREET_UNUSED = tuple(c for c in STREET_COLUMNS
                      if c not in ("Crime ID", "Month", "LSOA code", "Crime type", "Last outcome category"))
STOP_SEARCH_REQUIRED = ("Type", "Date", "Outcome", "Outcome linked to object of search")
KINDS = ("street", "outcomes", "stop-and-search")
EXPECTED = {"street": STREET_COLUMNS, "outcomes": OUTCOMES_COLUMNS, "stop-and-search": STOP_SEARCH_COLUMNS}

NAME_RE = re.compile(r"^(?P<month>\d{4}-\d{2})-(?P<force>[a-z0-9-]+?)-(?P<kind>street|outcomes|stop-and-search)"
                     r"(?:\.[^/\\]*?)?\.csv(?:\.gz)?$", re.IGNORECASE)
MONTH_RE = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
TRUE_FALSE = {"True", "False", "true", "false", "TRUE", "FALSE"}


@dataclass
class PoliceFile:
    """One police.uk CSV ready to read: where it came from, where it is on disk, what it is."""

    source: str            # as the user knows it: a path, or 'archive.zip!2019-01/2019-01-x-street.csv'
    path: Path             # readable file on disk (zip members are extracted to a work folder)
    kind: str              # street | outcomes | stop-and-search
    month: str | None      # YYYY-MM from the file name (None: taken from the Month column)
    force: str | None      # force slug from the file name (None: taken from 'Reported by')
    sha256: str
    size: int
    header: tuple[str, ...]
    pfa: str | None = None  # the police force area code the force resolves to (set by the store)
    first: dict[str, str] | None = None  # the first data row (street and outcomes files), by column

    @property
    def key(self) -> str:
        """What the file is: kind, force (its PFA code when known, so 'avon-and-somerset' and 'Avon and Somerset
        Constabulary' are one force) and month."""
        return f"{self.kind}:{self.pfa or self.force}:{self.month}"

    @property
    def name(self) -> str:
        return self.source.replace("\\", "/").rsplit("/", 1)[-1].rsplit("!", 1)[-1]


@dataclass
class Discovery:
    files: list[PoliceFile] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)   # (source, reason)


# ------------------------------------------------------------------------------------------------ discovery
def normalise_force_name(name: str) -> str:
    """'Avon & Somerset Constabulary', 'avon-and-somerset' and 'Avon and Somerset' all give 'avon and somerset';
    'London, City of' and 'City of London Police' both give 'city of london'."""
    text = str(name).strip().lower()
    if "," in text:  # ONS inverted names: 'London, City of' -> 'City of London'
        head, _, tail = text.partition(",")
        text = f"{tail.strip()} {head.strip()}"
    text = text.replace("&", " and ")
    text = re.sub(r"[^a-z0-9]+", " ", text)
    words = [w for w in text.split() if w not in {"constabulary", "police", "service", "force", "the"}]
    return " ".join(words)


def same_force(a: str, b: str) -> bool:
    """Whether two force identities (a file-name slug, a 'Reported by' name) name the same force."""
    x, y = set(normalise_force_name(a).split()), set(normalise_force_name(b).split())
    if x and y and (x <= y or y <= x):
        return True
    initials = lambda t: "".join(w[0] for w in re.split(r"[^a-z0-9]+", t.lower()) if w)  # noqa: E731 ('btp')
    return a.lower() == initials(b) or b.lower() == initials(a)


def check_identity(pf: "PoliceFile") -> None:
    """A file named for one force must hold that force's rows: its first row's 'Reported by' (or 'Falls within')
    names the force of its name, else the file is someone else's under the wrong name."""
    if pf.force is None or not pf.first or "Reported by" not in pf.first:
        return
    names = [pf.first.get(c) or "" for c in ("Reported by", "Falls within")]
    if not any(names) or any(n and same_force(pf.force, n) for n in names):
        return
    raise DataError(f"{pf.source}: its name says force {pf.force!r} but its rows say 'Reported by' {names[0]!r} "
                    f"(line 2); a file renamed for another force would be counted twice: rename it "
                    f"YYYY-MM-<force>-{pf.kind}.csv for the force it holds, or leave it out")


def _hash_copy(src, dst: Path | None) -> tuple[str, int]:
    """SHA-256 hex digest and size of a binary stream, copying it to ``dst`` on the way when given."""
    h = hashlib.sha256()
    n = 0
    out = open(dst, "wb") if dst is not None else None
    try:
        while chunk := src.read(1 << 20):
            h.update(chunk)
            n += len(chunk)
            if out is not None:
                out.write(chunk)
    finally:
        if out is not None:
            out.close()
    return h.hexdigest(), n


def file_sha256(path: str | Path) -> tuple[str, int]:
    """SHA-256 hex digest and size in bytes of a file (what the store's ledger keys content by)."""
    with open(path, "rb") as f:
        return _hash_copy(f, None)


def _read_head(path: Path, source: str) -> tuple[tuple[str, ...], list[str] | None]:
    """The header and the first data row (None when there is none, or it does not parse on its own)."""
    try:
        if str(path).lower().endswith(".gz"):
            with gzip.open(path, "rb") as f:
                line, second = f.readline(1 << 16), f.readline(1 << 16)
        else:
            with open(path, "rb") as f:
                line, second = f.readline(1 << 16), f.readline(1 << 16)
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"{source}, line 1: cannot read the header ({e})") from None
    if not line.strip():
        raise DataError(f"{source}, line 1: the file is empty; expected a police.uk header row")
    try:
        text = line.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        col = _column_at(line[: e.start].decode("utf-8", "replace"), None)
        raise DataError(f"{source}, line 1, column {col}: byte 0x{line[e.start]:02x} is not UTF-8; police.uk files "
                        f"are UTF-8") from None
    header = tuple(next(csv.reader([text.rstrip("\r\n")])))
    first = None
    try:
        if second.strip():
            first = next(csv.reader([second.decode("utf-8").rstrip("\r\n")]))
    except (UnicodeDecodeError, csv.Error, StopIteration):
        first = None  # the full read names the problem
    return header, first


def _kind_from_header(header: tuple[str, ...]) -> str | None:
    for kind in ("street", "outcomes"):
        if header == EXPECTED[kind]:
            return kind
    if set(STOP_SEARCH_REQUIRED) <= set(header):
        return "stop-and-search"
    return None


def check_header(kind: str, header: tuple[str, ...], source: str) -> None:
    """A wrong header is an error naming the first column that differs."""
    if kind == "stop-and-search":
        lacking = [c for c in STOP_SEARCH_REQUIRED if c not in header]
        if lacking:
            raise DataError(f"{source}, line 1: stop-and-search header lacks column(s) {', '.join(lacking)}; "
                            f"found {', '.join(header)}")
        return
    want = EXPECTED[kind]
    if header == want:
        return
    for i, (a, b) in enumerate(zip(header, want)):
        if a != b:
            raise DataError(f"{source}, line 1, column {i + 1}: header says {a!r}, expected {b!r} "
                            f"(police.uk {kind} files have columns {', '.join(want)})")
    raise DataError(f"{source}, line 1: header has {len(header)} columns, expected {len(want)} "
                    f"({', '.join(want)})")


def _classify(name: str) -> tuple[str | None, str | None, str | None]:
    m = NAME_RE.match(name)
    if not m:
        return None, None, None
    return m.group("kind").lower(), m.group("month"), m.group("force").lower()


def _add(found: Discovery, source: str, disk: Path, sha: str, size: int, name: str, explicit: bool) -> None:
    """One CSV: its kind, month and force from its name, else from its header and columns (as for any loose file);
    a CSV that is no police.uk file is an error when named explicitly, else skipped with the reason."""
    kind, month, force = _classify(name)
    if month is not None and not MONTH_RE.fullmatch(month):
        raise DataError(f"{source}: the file name's month {month!r} is not a month (expected YYYY-MM)")
    header, first = _read_head(disk, source)
    if kind is None:
        kind = _kind_from_header(header)
        if kind is None:
            if not explicit:
                found.skipped.append((source, "not a police.uk file (neither its name nor its header is a street, "
                                              "outcomes or stop-and-search file's)"))
                return
            raise DataError(f"{source}, line 1: not a police.uk file: the name is not YYYY-MM-<force>-<kind>.csv "
                            f"and the header ({', '.join(header)}) is not a street, outcomes or stop-and-search header")
        if kind == "stop-and-search":
            raise DataError(f"{source}: stop-and-search files carry no force or month column, so the file name must "
                            f"be YYYY-MM-<force>-stop-and-search.csv")
    check_header(kind, header, source)
    row = dict(zip(header, first)) if first and len(first) == len(header) else None
    pf = PoliceFile(source, disk, kind, month, force, sha, size, header, first=row)
    check_identity(pf)
    found.files.append(pf)


def discover(paths: Iterable[str | Path], workdir: Path, on_file: Callable[[int], None] | None = None) -> Discovery:
    """Find police.uk CSVs in zip archives (zips inside them too), folders (recursively) and loose files; hash them,
    check headers and identities.

    Zip members are extracted into ``workdir``. A file is identified by its name, else by its header and columns.
    Files that are not police.uk CSVs are listed in ``Discovery.skipped`` with the reason (a loose file named
    explicitly must be one). No police.uk file at all among ``paths`` is an error saying why.
    """
    found = Discovery()
    workdir = Path(workdir)
    n_extract = 0

    def extract(zf: zipfile.ZipFile, info: zipfile.ZipInfo, source: str) -> tuple[Path, str, int]:
        nonlocal n_extract
        n_extract += 1
        disk = workdir / f"{n_extract:05d}-{info.filename.rsplit('/', 1)[-1]}"
        try:
            with zf.open(info) as src:
                sha, size = _hash_copy(src, disk)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError) as e:
            raise DataError(f"{source}: cannot be extracted ({e}); the archive is damaged, truncated or "
                            f"encrypted") from None
        return disk, sha, size

    def visit_zip(p: Path, label: str) -> None:
        try:
            zf = zipfile.ZipFile(p)
        except zipfile.BadZipFile as e:
            raise DataError(f"{label}: not a readable zip archive ({e})") from None
        with zf:
            members = [i for i in sorted(zf.infolist(), key=lambda i: i.filename) if not i.is_dir()]
            if not members:
                found.skipped.append((label, "an empty zip archive"))
            for info in members:
                base = info.filename.rsplit("/", 1)[-1]
                source = f"{label}!{info.filename}"
                low = base.lower()
                if low.endswith(".zip"):
                    disk, _, _ = extract(zf, info, source)
                    visit_zip(disk, source)
                    continue
                if not low.endswith((".csv", ".csv.gz")):
                    found.skipped.append((source, "not a CSV file"))
                    continue
                disk, sha, size = extract(zf, info, source)
                _add(found, source, disk, sha, size, base, False)
                if on_file:
                    on_file(size)

    def visit(p: Path, explicit: bool) -> None:
        if p.is_dir():
            inside = [q for q in sorted(p.rglob("*")) if q.is_file()]
            if not inside:
                found.skipped.append((str(p), "an empty folder"))
            for q in inside:
                visit(q, False)
            return
        low = p.name.lower()
        if not p.exists():
            raise DataError(f"{p}: no such file or folder")
        if low.endswith(".zip"):
            visit_zip(p, str(p))
            return
        if not low.endswith((".csv", ".csv.gz")):
            if explicit:
                raise DataError(f"{p}: expected a police.uk .zip archive, a folder, or a .csv / .csv.gz file")
            found.skipped.append((str(p), "not a CSV or zip file"))
            return
        sha, size = file_sha256(p)
        _add(found, str(p), p, sha, size, p.name, explicit)
        if on_file:
            on_file(size)

    paths = list(paths)
    for p in paths:
        visit(Path(p), True)
    if paths and not found.files:
        why = "; ".join(f"{src}: {reason}" for src, reason in found.skipped[:5]) or "nothing inside"
        raise DataError(f"no police.uk street, outcomes or stop-and-search file in {', '.join(map(str, paths))} "
                        f"({why}); nothing was stored")
    return found


# ------------------------------------------------------------------------------------------------ slow, precise checks
def _column_at(prefix: str, header: tuple[str, ...] | None) -> str:
    """The column a character position falls in, from the text of the line before it."""
    try:
        idx = len(next(csv.reader([prefix]))) - 1 if prefix else 0
    except (csv.Error, StopIteration):
        idx = prefix.count(",")
    if header and 0 <= idx < len(header):
        return f"{idx + 1} ('{header[idx]}')"
    return str(idx + 1)


def _raw_lines(path: Path) -> Iterator[bytes]:
    """Raw lines of a plain or gzip file. A gzip stream that ends early yields every complete line it holds, then
    the partial last line, then raises EOFError (Python's gzip module raises before handing out buffered lines)."""
    if not str(path).lower().endswith(".gz"):
        with open(path, "rb") as f:
            yield from f
        return
    pending = b""
    d = zlib.decompressobj(wbits=31)
    fed = False  # has the current gzip member received any bytes?
    with open(path, "rb") as f:
        while chunk := f.read(1 << 16):
            while chunk:
                if d is None:  # another gzip member follows a complete one
                    d, fed = zlib.decompressobj(wbits=31), False
                pending += d.decompress(chunk)
                fed = True
                *complete, pending = pending.split(b"\n")
                for line in complete:
                    yield line + b"\n"
                chunk = b""
                if d.eof:
                    chunk, d = d.unused_data, None
    if d is not None and fed:
        err = EOFError("the compressed stream ends before its end marker")
        err.partial = pending  # type: ignore[attr-defined]
        raise err
    if pending:
        yield pending


def _lines(pf: PoliceFile) -> Iterator[tuple[int, str]]:
    """Decoded physical lines with their numbers; non-UTF-8 bytes and truncated gzip streams are DataErrors."""
    n = 0
    try:
        for raw in _raw_lines(pf.path):
            n += 1
            try:
                text = raw.decode("utf-8-sig" if n == 1 else "utf-8")
            except UnicodeDecodeError as e:
                col = _column_at(raw[: e.start].decode("utf-8", "replace"), pf.header)
                raise DataError(f"{pf.source}, line {n}, column {col}: byte 0x{raw[e.start]:02x} is not UTF-8 "
                                f"(police.uk files are UTF-8); nothing from this file was stored") from None
            yield n, text
    except (EOFError, zlib.error, gzip.BadGzipFile) as e:
        partial = getattr(e, "partial", b"")
        col = _column_at(partial.decode("utf-8", "replace"), pf.header)
        line = n + 1
        raise DataError(f"{pf.source}, line {max(line, 1)}, column {col}: the file is truncated ({e}); nothing "
                        f"from this file was stored") from None


def rows(pf: PoliceFile) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) for every data row, checking the field count; errors name line and column."""
    width = len(pf.header)
    lines = _lines(pf)
    since: list[str] = []  # the text of the row being read

    def text() -> Iterator[str]:
        for _, t in lines:
            since.append(t)
            yield t

    reader = csv.reader(text(), strict=True)
    start = 1
    try:
        next(reader)  # header
        start = reader.line_num + 1
        since.clear()
        for row in reader:
            since.clear()
            if len(row) != width:
                if len(row) < width:
                    col = f"{len(row) + 1} ('{pf.header[len(row)]}')"
                    what = f"has {len(row)} fields, expected {width}: the row is truncated"
                else:
                    col = f"{width + 1}"
                    what = f"has {len(row)} fields, expected {width}: extra field(s) after '{pf.header[-1]}'"
                raise DataError(f"{pf.source}, line {start}, column {col}: {what}; nothing from this file was stored")
            yield start, row
            start = reader.line_num + 1
    except csv.Error as e:
        field_no = _open_quote_field("".join(since))
        if field_no is not None:
            name = f" ('{pf.header[field_no]}')" if field_no < width else ""
            raise DataError(f"{pf.source}, line {start}, column {field_no + 1}{name}: a quoted field is never closed "
                            f"(the quote runs to the end of the file); nothing from this file was stored") from None
        raise DataError(f"{pf.source}, line {start}: {e}; nothing from this file was stored") from None


def _open_quote_field(text: str) -> int | None:
    """The 0-based field in which a quote opens and never closes, if any."""
    field_no, quoted, opened, i = 0, False, None, 0
    while i < len(text):
        ch = text[i]
        if quoted:
            if ch == '"':
                if text[i + 1:i + 2] == '"':
                    i += 1
                else:
                    quoted = False
        elif ch == '"':
            quoted, opened = True, field_no
        elif ch == ",":
            field_no += 1
        elif ch == "\n":
            field_no = 0
        i += 1
    return opened if quoted else None


def locate(pf: PoliceFile, column: str, bad: Callable[[str], bool], expected: str) -> DataError:
    """The first row of ``pf`` whose ``column`` value is bad, as a DataError naming line and column."""
    idx = pf.header.index(column)
    for line, row in rows(pf):
        if bad(row[idx]):
            return DataError(f"{pf.source}, line {line}, column {idx + 1} ('{column}'): {row[idx]!r} {expected}; "
                             f"nothing from this file was stored")
    return DataError(f"{pf.source}, column '{column}': a value {expected}; nothing from this file was stored")


def diagnose(pf: PoliceFile) -> None:
    """Read the whole file with Python's csv module; raise the first structural problem found."""
    for _ in rows(pf):
        pass


def _file_in_error(message: str, files: list[PoliceFile]) -> list[PoliceFile]:
    m = re.search(r"file = (.+)", message)
    if m:
        named = m.group(1).strip()
        hit = [f for f in files if str(f.path) == named or str(f.path).endswith(named)]
        if hit:
            return hit + [f for f in files if f not in hit]
    return files


# ------------------------------------------------------------------------------------------------ fast DuckDB scans
def sql_quote(text: str, mark: str = "'") -> str:
    """``text`` quoted for DuckDB SQL: a string literal by default, an identifier (column name) with ``mark='"'``.
    The one SQL quoting helper of the store and its sources."""
    return mark + str(text).replace(mark, mark * 2) + mark


def _read_csv(files: list[PoliceFile], columns: tuple[str, ...]) -> str:
    paths = "[" + ", ".join(sql_quote(str(f.path)) for f in files) + "]"
    cols = "{" + ", ".join(f"{sql_quote(c)}: 'VARCHAR'" for c in columns) + "}"
    return (f"read_csv({paths}, columns={cols}, header=true, auto_detect=false, strict_mode=true, "
            f"null_padding=false, delim=',', quote='\"', escape='\"', filename=true, encoding='utf-8')")


def _touch(columns: Iterable[str], alias: str = "r") -> str:
    """An expression reading every column in ``columns``: DuckDB only decodes (and checks as UTF-8) the columns a
    query uses, so the columns perfwork does not keep are counted as blank / not blank to have them checked too."""
    names = [sql_quote(c, '"') for c in columns]
    if not names:
        return "0::TINYINT"
    return "(" + " + ".join(f"({alias}.{n} IS NULL)::INTEGER" for n in names) + ")::TINYINT"


def crime_key(column: str) -> str:
    """SQL for a crime's key: the first 128 bits of its police.uk Crime ID (a SHA-256 hex digest), or the MD5 of
    an ID that is not hex. Kept instead of the 64-character text because it is all outcome linking needs and
    makes the scan about a quarter faster; two crimes share a key with negligible probability (n^2 / 2^129)."""
    return (f"CASE WHEN {column} IS NULL THEN NULL ELSE coalesce(try_cast('0x' || left({column}, 32) AS UHUGEINT), "
            f"md5_number({column})) END")


_CRIME_KEY = crime_key('r."Crime ID"')


def _execute(con: duckdb.DuckDBPyConnection, sql: str, progress: Callable[[float], None] | None) -> None:
    """Run one statement; with ``progress``, run it in a thread and report DuckDB's own progress (0-100) while
    it runs, so one query over all files still moves a progress bar. Ctrl-C interrupts the query."""
    if progress is None:
        con.execute(sql)
        return
    import threading
    failed: list[BaseException] = []

    def work() -> None:
        try:
            con.execute(sql)
        except BaseException as e:  # re-raised in the calling thread
            failed.append(e)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.1)
            try:
                pct = con.query_progress()
            except duckdb.Error:
                pct = -1
            if pct is not None and pct >= 0:
                progress(min(float(pct), 99.0))
    except KeyboardInterrupt:
        con.interrupt()
        worker.join()
        raise
    if failed:
        raise failed[0]
    progress(100.0)


def _run_scan(con: duckdb.DuckDBPyConnection, sql: str, files: list[PoliceFile],
              progress: Callable[[float], None] | None = None) -> None:
    try:
        _execute(con, sql, progress)
    except duckdb.InterruptException:
        raise KeyboardInterrupt from None
    except RuntimeError as e:
        if "interrupted" in str(e).lower():  # Ctrl-C during the query
            raise KeyboardInterrupt from None
        raise
    except duckdb.Error as e:
        raise _read_error(e, files) from None


def _read_error(e: duckdb.Error, files: list[PoliceFile]) -> DataError:
    """The DataError for a DuckDB read that failed: the first file whose Python read finds a problem names its
    line and column (``diagnose`` raises it); otherwise DuckDB's own words and the files."""
    message = str(e)
    for pf in _file_in_error(message, files):
        diagnose(pf)
    first = message.splitlines()[0] if message else type(e).__name__
    return DataError(f"DuckDB could not read the police.uk files ({first}); files: "
                     f"{', '.join(f.source for f in files[:5])}{' ...' if len(files) > 5 else ''}")


def register_files(con: duckdb.DuckDBPyConnection, files: list[PoliceFile], ids: list[int] | None = None,
                   table: str = "_pf") -> None:
    """A temp table path -> id (the store's file_id, or the position in ``files``)."""
    ids = list(range(len(files))) if ids is None else ids
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table}(idx INTEGER, path VARCHAR)")
    con.executemany(f"INSERT INTO {table} VALUES (?, ?)", [(i, str(f.path)) for i, f in zip(ids, files)])


def scan_street(con: duckdb.DuckDBPyConnection, files: list[PoliceFile], ids: list[int], table: str,
                progress: Callable[[float], None] | None = None) -> dict[int, int]:
    """Read street files straight into ``table`` (file_id, crime_key, month, lsoa_code, crime_type, outcome,
    blank_fields: how many of the other columns are blank) in one pass, then check every month, crime type and
    outcome text (:func:`check_street`); the caller's transaction makes a failed check leave nothing behind.
    Returns the number of rows read per file id."""
    if not files:
        return {}
    register_files(con, files, ids, "_pf_street")
    sql = (f'INSERT INTO {table} SELECT p.idx, {_CRIME_KEY}, r."Month", r."LSOA code", '
           f'r."Crime type", r."Last outcome category", {_touch(STREET_UNUSED)} '
           f'FROM {_read_csv(files, STREET_COLUMNS)} r '
           f'LEFT JOIN _pf_street p ON p.path = r.filename')
    _run_scan(con, sql, files, progress)
    lost = con.execute(f"SELECT count(*) FROM {table} WHERE file_id IS NULL").fetchall()[0][0]
    if lost:
        raise RuntimeError(f"{lost} rows read from a file DuckDB names differently from the path given; "
                           f"nothing was stored")
    return check_street(con, files, ids, table)


def check_street(con: duckdb.DuckDBPyConnection, files: list[PoliceFile], ids: list[int], table: str
                 ) -> dict[int, int]:
    """Months, crime types and outcome texts of the rows just read; a bad value raises a DataError naming the
    file, line and column of its first occurrence. Returns the number of rows per file id."""
    by_id = dict(zip(ids, files))
    got = con.execute(f"SELECT file_id, month, crime_type, outcome, count(*) FROM {table} "
                      f"WHERE file_id >= ? GROUP BY ALL", [min(ids)]).fetchall()
    got = [g for g in got if g[0] in by_id]
    months = [(by_id[g[0]], g[1]) for g in got]
    _months_ok(months)
    _values_ok([(by_id[g[0]], g[2]) for g in got], "Crime type", set(CRIME_LABELS), "is not a police.uk crime type",
               allow_blank=False)
    _values_ok([(by_id[g[0]], g[3]) for g in got], "Last outcome category", set(OUTCOME_GROUPS_BY_TEXT),
               "is not a police.uk outcome category", allow_blank=True)
    rows = dict.fromkeys(ids, 0)
    for g in got:
        rows[g[0]] += int(g[4])
    return rows


def _months_ok(pairs: list[tuple[PoliceFile, str | None]]) -> None:
    """Every row's Month must be YYYY-MM and, when the file name gives one, that month; a file without a month
    in its name takes its single Month value."""
    per: dict[int, tuple[PoliceFile, set]] = {}
    for pf, m in pairs:
        per.setdefault(id(pf), (pf, set()))[1].add(m)
    for pf, months in per.values():
        want = pf.month
        bad = {m for m in months if m is None or not MONTH_RE.fullmatch(m)}
        if bad:
            blank = None in bad
            raise locate(pf, "Month", lambda v: v in bad or (blank and v == ""),
                         "is not a month; expected YYYY-MM (e.g. 2019-08)")
        other = {m for m in months if want is not None and m != want}
        if other:
            raise locate(pf, "Month", lambda v: v in other,
                         f"is not this file's month; expected {want}, the month in its name")
        if want is None:
            if len(months) > 1:
                raise DataError(f"{pf.source}: rows for several months ({', '.join(sorted(months))}); a police.uk "
                                f"file holds one month - name it YYYY-MM-<force>-<kind>.csv or split it")
            pf.month = next(iter(months))


def _values_ok(pairs: list[tuple[PoliceFile, str | None]], label: str, allowed: set[str], expected: str,
               allow_blank: bool) -> None:
    for pf, v in pairs:
        if (v is None and not allow_blank) or (v is not None and v not in allowed):
            if v is None:
                raise locate(pf, label, lambda x: x == "", "is blank; expected a value")
            close = [a for a in allowed if a.lower() == v.strip().lower()]
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise locate(pf, label, lambda x: x == v, f"{expected}{hint}")


def scan_outcomes(con: duckdb.DuckDBPyConnection, files: list[PoliceFile],
                  progress: Callable[[float], None] | None = None) -> None:
    """Outcomes files into ``_outcomes`` (idx, crime_key, month, reported_by, outcome), idx being the file's
    position in ``files``; ``progress`` gets DuckDB's progress (0-100) while the files are read."""
    con.execute("CREATE OR REPLACE TEMP TABLE _outcomes(idx INTEGER, crime_key UHUGEINT, month VARCHAR, "
                "reported_by VARCHAR, outcome VARCHAR, blank_fields TINYINT)")
    if not files:
        return
    register_files(con, files, None, "_pf_outcomes")
    unused = [c for c in OUTCOMES_COLUMNS if c not in ("Crime ID", "Month", "Reported by", "Outcome type")]
    sql = (f'INSERT INTO _outcomes SELECT p.idx, {_CRIME_KEY}, r."Month", '
           f'r."Reported by", r."Outcome type", '
           f'{_touch(unused)} FROM {_read_csv(files, OUTCOMES_COLUMNS)} r JOIN _pf_outcomes p ON p.path = r.filename')
    _run_scan(con, sql, files, progress)
    got = con.execute("SELECT idx, month, outcome FROM _outcomes GROUP BY ALL").fetchall()
    _months_ok([(files[i], m) for i, m, _ in got])
    _values_ok([(files[i], o) for i, _, o in got], "Outcome type", set(OUTCOME_GROUPS_BY_TEXT),
               "is not a police.uk outcome type", allow_blank=False)


def uk_month(column: str) -> str:
    """SQL for the month (YYYY-MM) in UK local time (Europe/London) of an ISO-8601 date-time text, read as UTC when
    it carries no offset; NULL when the text is not a date-time. It does not depend on the connection's TimeZone
    setting (a text without an offset is given one before the cast), so nothing is SET on the caller's connection."""
    t = f"trim({column})"
    instant = (f"coalesce(try_cast({t} || '+00:00' AS TIMESTAMPTZ), "
               f"try_cast({t} || ' 00:00:00+00:00' AS TIMESTAMPTZ), try_cast({column} AS TIMESTAMPTZ))")
    return f"strftime(timezone('Europe/London', {instant}), '%Y-%m')"


def scan_stop_search(con: duckdb.DuckDBPyConnection, files: list[PoliceFile],
                     progress: Callable[[float], None] | None = None) -> None:
    """Stop-and-search files into ``_stop_search`` (idx, month, outcome, linked, n) grouped; idx is the file's
    position in ``files``. ``progress`` gets the share of the files' bytes read so far (0-100).

    ``Date`` is ISO-8601 in UTC ('2024-05-31T23:02:00+00:00'); a search's month is its month in UK local time
    (Europe/London), which is the month of the file it is published in (23:02 UTC on 31 May is 00:02 BST on 1 June).
    """
    con.execute("CREATE OR REPLACE TEMP TABLE _stop_search(idx INTEGER, month VARCHAR, outcome VARCHAR, "
                "linked VARCHAR, n BIGINT, blank_fields BIGINT)")
    if not files:
        return
    groups: dict[tuple[str, ...], list[PoliceFile]] = {}
    for f in files:
        groups.setdefault(f.header, []).append(f)
    register_files(con, files, None, "_pf_ss")
    total = sum(f.size for f in files) or 1
    done = 0
    month = uk_month('r."Date"')
    for header, part in groups.items():
        sql = (f"INSERT INTO _stop_search SELECT p.idx, "
               f"CASE WHEN r.\"Date\" IS NULL THEN NULL ELSE coalesce({month}, '!' || r.\"Date\") END, "
               f"r.\"Outcome\", r.\"Outcome linked to object of search\", count(*), "
               f"sum({_touch([c for c in header if c not in STOP_SEARCH_REQUIRED[1:]])}) "
               f"FROM {_read_csv(part, header)} r JOIN _pf_ss p ON p.path = r.filename "
               f"GROUP BY p.idx, 2, r.\"Outcome\", r.\"Outcome linked to object of search\"")
        size = sum(f.size for f in part)
        _run_scan(con, sql, part, _share(progress, done / total, size / total))
        done += size
    bad = con.execute("SELECT idx, month FROM _stop_search WHERE month IS NULL OR month LIKE '!%' LIMIT 1").fetchall()
    if bad:
        pf = files[bad[0][0]]
        raise locate(pf, "Date", lambda v: not _is_timestamp(v), "is not a date and time (expected ISO-8601, e.g. "
                     "2024-05-31T23:02:00+00:00)")
    got = con.execute("SELECT idx, outcome, linked FROM _stop_search GROUP BY ALL").fetchall()
    _values_ok([(files[i], o) for i, o, _ in got], "Outcome", set(STOP_SEARCH_RESULTS),
               "is not a police.uk stop-and-search outcome", allow_blank=True)
    _values_ok([(files[i], k) for i, _, k in got], "Outcome linked to object of search", TRUE_FALSE,
               "is not True or False", allow_blank=True)


def _share(progress: Callable[[float], None] | None, start: float, part: float
           ) -> Callable[[float], None] | None:
    """A progress callback for one query that covers ``part`` (a fraction) of the work from ``start`` on."""
    if progress is None:
        return None
    return lambda pct: progress(100.0 * (start + part * pct / 100.0))


def _is_timestamp(v: str) -> bool:
    from datetime import datetime
    try:
        datetime.fromisoformat(v.strip())
        return True
    except ValueError:
        return False


def identify_loose(con: duckdb.DuckDBPyConnection, files: list[PoliceFile]) -> None:
    """Files whose name is not YYYY-MM-<force>-<kind>.csv: their month is their single 'Month' value and their
    force their single 'Reported by' value (checked; a mixed file is an error)."""
    need = [f for f in files if f.force is None or f.month is None]
    for kind in ("street", "outcomes"):
        part = [f for f in need if f.kind == kind]
        if not part:
            continue
        register_files(con, part, None, "_pf_loose")
        try:
            got = con.execute(f'SELECT p.idx, list(DISTINCT r."Reported by"), list(DISTINCT r."Month") '
                              f'FROM {_read_csv(part, EXPECTED[kind])} r JOIN _pf_loose p ON p.path = r.filename '
                              f'GROUP BY p.idx').fetchall()
        except duckdb.Error as e:
            raise _read_error(e, part) from None
        seen = set()
        for idx, forces, months in got:
            pf = part[idx]
            seen.add(idx)
            forces = sorted(x for x in forces if x)
            if len(forces) != 1:
                raise DataError(f"{pf.source}: column 'Reported by' names {len(forces)} forces "
                                f"({', '.join(forces[:4])}); expected one force per file")
            pf.force = forces[0]
            _months_ok([(pf, m) for m in months])
        for i, pf in enumerate(part):
            if i not in seen:
                raise DataError(f"{pf.source}: no data rows, and its name is not YYYY-MM-<force>-{kind}.csv, so its "
                                f"force and month are unknown")
