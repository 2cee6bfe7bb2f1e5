"""The pieces of the reports, so notebooks stay thin: a partnership profile, a force overview, a peer deep dive.

Each reads one cached ``Assessment`` (``perfwork.report.assessment``): a kernel that reports on many areas does
the national work once, and each area costs only lookups, chart specs and display.
"""

from __future__ import annotations

import pandas as pd

from .. import charts
from .. import peers as _peers
from . import tables, words
from .cache import assessment, dataset

# What a notebook says about its area for a batch index (``perfwork batch`` reads the last such output)
BATCH_MIME = "application/vnd.perfwork.batch+json"


class Markdown:
    """Text for the reader as a notebook output (markdown; HTML-escaped when exported). ``record``: a JSON-able
    dict (``headline``, ``exceptions``) carried beside it as ``BATCH_MIME`` for ``perfwork batch``."""

    def __init__(self, text: str, record: dict | None = None):
        self.text = text
        self.record = record

    def _repr_markdown_(self):
        return self.text

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {BATCH_MIME: self.record} if self.record else None

    def __repr__(self):
        return self.text


class Html:
    """An HTML fragment built (and escaped) by the package, as a notebook output."""

    def __init__(self, html: str):
        self.html = html

    def _repr_html_(self):
        return self.html


def md_escape(text) -> str:
    """Text from the data shown literally in markdown (names are data, never markup)."""
    return "".join("\\" + c if c in "\\`*_[]<>#|" else c for c in str(text))


def heading(level: int, text: str) -> Markdown:
    return Markdown(f"{'#' * level} {md_escape(text)}")


class Report:
    """One area of one assessment: its rows, and the words, tables and charts about it."""

    def __init__(self, area: str, data=None, framework="national", period_end=None, targets=None,
                 level: str | None = None):
        level = level or dataset(data).area(area)["level"]
        self.assessment = assessment(data, framework=framework, level=level, period_end=period_end,
                                     targets=targets)
        self.rows = self.assessment.for_area(area)
        self.code = self.rows["area_code"].iloc[0]
        self.name = self.rows["area_name"].iloc[0]
        self.level = level

    @property
    def period(self) -> str:
        return f"12 months to {pd.Timestamp(self.rows['period_end'].iloc[0]):%B %Y}"

    def title(self, what: str = "Community safety performance") -> Markdown:
        ds = self.assessment.dataset
        return Markdown(f"# {md_escape(self.name)} ({self.code}): {md_escape(what)}\n\n"
                        f"{md_escape(self.period)}; compared with its {int(self.assessment.peers(self.code).shape[0])} "
                        f"most similar {charts.frames.NOUN[self.level][1]}; data: {md_escape(ds.name)}.")

    def summary(self) -> Markdown:
        """The headline in bold, then one sentence per exception."""
        lines = [f"**{md_escape(words.headline(self.rows))}**", ""]
        lines += [f"- {md_escape(s)}" for s in words.exception_sentences(self.rows)]
        record = {"headline": words.headline(self.rows), "exceptions": int(self.rows["exception"].sum())}
        return Markdown("\n".join(lines), record=record)

    def exceptions_table(self):
        if not self.rows["exception"].any():
            return Markdown("No indicator needs attention: none is worse than its peers beyond the usual range, "
                            "getting significantly worse, showing special-cause concern or off track.")
        return tables.exceptions_table(self.rows)

    def judgement_table(self):
        return tables.judgement_table(self.rows, title="Every indicator")

    def priorities(self, limit: int = 3) -> list[str]:
        """The indicators of the highest-priority exceptions (at most ``limit``)."""
        exc = self.rows[self.rows["exception"].astype(bool)]
        return exc.sort_values("priority", ascending=False, kind="stable")["indicator"].head(limit).tolist()

    def story(self, limit: int = 3) -> list:
        """For each priority exception: a heading, its sentence, and its peer, trend, SPC and target charts
        (displayed by ``charts.show``)."""
        out = []
        for ind in self.priorities(limit):
            r = self.rows[self.rows["indicator"] == ind].iloc[0]
            out += [heading(3, r["label"]), Markdown(md_escape(words.exception_sentence(r)))]
            out += [charts.show(c) for c in charts.indicator_specs(self.assessment, self.code, ind)]
        if not out:
            out.append(Markdown("No exceptions, so no indicator is drawn in detail; the overview above shows "
                                "every indicator against the group."))
        return out

    def decisions(self, log=None, since=None) -> list:
        """"Decisions and actions since the last review": the area's decisions (since ``since``, all when None)
        reviewed in words, its open actions, and the SPC chart of each indicator decided on, marked at each
        decision date. ``log``: a file or URL; None for $PERFWORK_LOG or the demo's log."""
        from .. import decisions as dec
        from ..decisions import render

        found = dec.find_log(log)
        if found is None:
            return [Markdown("No decision log is kept yet: record the board's decisions with "
                             "`perfwork decisions add`, or name a log with the LOG parameter.")]
        review = dec.review(self.assessment, found, area=self.code)
        out = [Html(render.section_html(review, dec.open_actions(found, self.code), self.name, since=since))]
        for ind in review["indicator"].dropna().unique():
            events = render.decision_events(review, ind)
            out.append(charts.show(charts.spc_chart(self.assessment, self.code, ind, events=events)))
        return out

    def overview(self):
        return charts.show(charts.spine_spec(self.assessment, self.code))

    def methods_note(self) -> Markdown:
        """Sources, period, missing months, every method, and the Open Government Licence attribution."""
        ds = self.assessment.dataset
        inside = set(ds.areas.loc[ds.areas["parent_code"] == self.code, "area_code"])
        inside |= {self.code, ds.area(self.code)["parent_code"]}
        missing = ds.missing[ds.missing["area_code"].isin(inside)]
        meth = self.rows.attrs.get("method", {})
        lines = [f"Data: {md_escape(ds.name)}, {md_escape(self.period)}. Months without data for this area: "
                 f"{md_escape(words.months_text(missing['month']))} (a 12-month window touching one has no value; "
                 "a missing month is never counted as zero).", ""]
        lines += [f"- {key.capitalize()}: {md_escape(meth[key])}" for key in
                  ("groups", "benchmark", "band", "change", "spc", "trend", "target", "exception", "priority")
                  if meth.get(key)]
        lines += ["", md_escape(LICENCE) if ds.name != "demo" else
                  "The Demo Kingdom is synthetic: its areas and numbers are made up for trying perfwork out."]
        return Markdown("\n".join(lines))

    # ------------------------------------------------------------------------------------ peer deep dive
    def peers_table(self):
        return tables.peers_table(_peers.explain(self.assessment.groups, self.code))

    def indicator_label(self, indicator: str) -> str:
        return self.assessment.framework.get(indicator).label


LICENCE = ("Contains public sector information licensed under the Open Government Licence v3.0: police.uk "
           "crime and outcome data, and Office for National Statistics population estimates and area lookups.")


def force_overview(force: str, data=None, framework="national", period_end=None, targets=None) -> dict:
    """A force's CSPs side by side: the CSP assessment, the force's row, its CSPs and their headlines."""
    a = assessment(data, framework=framework, level="csp", period_end=period_end, targets=targets)
    frow = a.dataset.area(force)
    if frow["level"] != "force":
        raise ValueError(f"{frow['area_code']} ({frow['area_name']}) is a {frow['level']}, not a force")
    csps = a.areas[a.areas["parent_code"] == frow["area_code"]].sort_values("area_name")
    return {"assessment": a, "force": frow, "csps": csps}


def force_headlines(o: dict) -> Markdown:
    """One headline per CSP of the force."""
    lines = []
    for code in o["csps"]["area_code"]:
        lines.append(f"- {md_escape(words.headline(o['assessment'].for_area(code)))}")
    return Markdown("\n".join(lines) or "This force has no CSPs in the data.")


def force_table(o: dict):
    a = o["assessment"]
    return tables.areas_table(a.table, o["csps"], f"Exceptions by CSP in {o['force']['area_name']}")
