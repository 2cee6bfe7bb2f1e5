"""What a batch leaves in its folder, each file written atomically (a temporary file beside it, then
``os.replace``): the areas' notebooks and pages, ``summary.csv``, ``index.html`` and the manifest ``--resume`` reads."""

from __future__ import annotations

import csv
import hashlib
import html
import io
import json
import os
import tempfile
from pathlib import Path

MANIFEST = ".perfwork-batch.json"
_UMASK = os.umask(0o022)
os.umask(_UMASK)  # read once: files get the mode the user's umask gives, not mkstemp's 0600
SUMMARY_COLUMNS = ["area", "name", "status", "exceptions", "headline", "seconds", "error", "report"]


def write_atomic(path: Path, text: str) -> str:
    """Write ``text`` to ``path`` so that it is either complete or absent; returns its SHA-256."""
    data = text.encode("utf-8")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return hashlib.sha256(data).hexdigest()


def file_sha(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


def remove_temporaries(out: Path) -> None:
    """Temporary files of writes cut short (a killed process); never a complete output."""
    for tmp in out.glob(".*.tmp"):
        tmp.unlink(missing_ok=True)


class Manifest:
    """Per area: the inputs' fingerprint, the outcome, and the SHA-256 of each output file."""

    def __init__(self, out: Path):
        self.path = out / MANIFEST
        try:
            self.areas = json.loads(self.path.read_text())["areas"]
        except (FileNotFoundError, KeyError, json.JSONDecodeError):
            self.areas = {}

    def complete(self, area: str, fingerprint: str, out: Path) -> bool:
        """The area ran with these inputs, succeeded, and both its files are there, unchanged."""
        entry = self.areas.get(area)
        return bool(entry and entry["fingerprint"] == fingerprint and entry["status"] == "ok"
                    and all(file_sha(out / name) == sha for name, sha in entry["files"].items()))

    def record(self, row: dict, fingerprint: str, files: dict) -> None:
        self.areas[row["area"]] = {**row, "fingerprint": fingerprint, "files": files}
        write_atomic(self.path, json.dumps({"version": 1, "areas": self.areas}, indent=1, sort_keys=True))


def summary_csv(rows: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, SUMMARY_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in SUMMARY_COLUMNS})
    return buf.getvalue()


_STYLE = """
body { font-family: system-ui, sans-serif; color: #1a1a1a; background: #fff; margin: 0 auto; max-width: 72rem;
       padding: 1rem; line-height: 1.45; }
a { color: #0b57d0; } a:focus, button:focus { outline: 3px solid #1a1a1a; outline-offset: 2px; }
table { border-collapse: collapse; width: 100%; font-size: 0.95rem; }
th, td { border-bottom: 1px solid #767676; padding: 0.35rem 0.5rem; text-align: left; vertical-align: top; }
th button { font: inherit; font-weight: bold; background: none; border: 0; padding: 0; cursor: pointer;
            color: #1a1a1a; text-decoration: underline dotted; }
td.num, th.num { text-align: right; } tbody th { white-space: nowrap; }
.failed { color: #8a1c1c; font-weight: bold; } .ok { color: #1a1a1a; }
caption { text-align: left; font-weight: bold; padding: 0.3rem 0; }
"""

_SORT_JS = """
document.querySelectorAll('table.sortable th button').forEach(function (button) {
  button.addEventListener('click', function () {
    var th = button.parentElement, table = th.closest('table'), body = table.tBodies[0];
    var col = Array.prototype.indexOf.call(th.parentElement.children, th);
    var asc = th.getAttribute('aria-sort') !== 'ascending';
    table.querySelectorAll('th').forEach(function (h) { h.removeAttribute('aria-sort'); });
    th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
    var key = function (row) {
      var c = row.children[col];
      return c.dataset.sort !== undefined ? c.dataset.sort : c.textContent;
    };
    var num = th.classList.contains('num');
    Array.prototype.slice.call(body.rows).sort(function (a, b) {
      var x = key(a), y = key(b);
      var d = num ? (parseFloat(x) || -1) - (parseFloat(y) || -1) : x.localeCompare(y);
      return asc ? d : -d;
    }).forEach(function (row) { body.appendChild(row); });
  });
});
"""


def index_html(rows: list[dict], notebook: str, seconds: float, note: str = "") -> str:
    """The batch's front page: every area, its headline and exceptions, a link to its report; failures first."""
    e = html.escape
    failed = [r for r in rows if r["status"] != "ok"]
    ran = [r for r in rows if r["status"] in ("ok", "failed")]
    parts = [f"<h1>{e(Path(notebook).stem.replace('_', ' ').capitalize())}: every area</h1>",
             f"<p>{len(rows)} areas from <code>{e(notebook)}</code>: {len(ran) - len(failed)} reports, "
             f"{len(failed)} not made; {seconds:.0f} s. {e(note)}</p>"]
    if failed:
        parts.append('<h2 id="failures">Failures</h2><ul>')
        for r in failed:
            link = f' (<a href="{e(r["report"])}">its notebook as a page</a>)' if r.get("report") else ""
            parts.append(f"<li><strong>{e(r['area'])}</strong> {e(r.get('name', ''))}: {e(r['status'])}"
                         f"{': ' + e(r['error']) if r.get('error') else ''}{link}</li>")
        parts.append("</ul>")
    parts.append('<h2 id="areas">Every area</h2>')
    parts.append('<table class="sortable"><caption>Areas, their headline and the number of indicators needing '
                 'attention. Select a column heading to sort.</caption><thead><tr>')
    for label, num in (("Area", False), ("Name", False), ("Exceptions", True), ("Headline", False),
                       ("Status", False), ("Seconds", True)):
        parts.append(f'<th scope="col"{" class=num" if num else ""}><button type="button">{label}</button></th>')
    parts.append("</tr></thead><tbody>")
    for r in rows:
        area = (f'<a href="{e(r["report"])}">{e(r["area"])}</a>' if r.get("report") else e(r["area"]))
        exceptions = "" if r.get("exceptions") in (None, "") else str(r["exceptions"])
        seconds_ = "" if r.get("seconds") in (None, "") else f"{float(r['seconds']):.1f}"
        parts.append(f'<tr><th scope="row">{area}</th><td>{e(r.get("name", ""))}</td>'
                     f'<td class="num" data-sort="{e(exceptions)}">{e(exceptions) or "not recorded"}</td>'
                     f'<td>{e(r.get("headline") or "")}</td>'
                     f'<td class="{"ok" if r["status"] == "ok" else "failed"}">{e(r["status"])}</td>'
                     f'<td class="num">{seconds_}</td></tr>')
    parts.append("</tbody></table>")
    title = f"{Path(notebook).stem}: every area"
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>{e(title)}</title>\n'
            f"<style>{_STYLE}</style>\n</head>\n<body>\n<main>\n" + "\n".join(parts)
            + f"\n</main>\n<script>{_SORT_JS}</script>\n</body>\n</html>\n")
