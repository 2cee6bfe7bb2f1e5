"""The managers' dashboard: pick an area, read what needs attention, look at the charts, take the numbers away.

    app = Dashboard(open_snapshot(None))      # widgets for the first area
    app.apply(request)                        # ?area=CODE&indicator=ID from the viewer's link
    app.widget                                # display it

Everything shown comes from the stored national assessment (``snapshot``), ``perfwork.charts`` and
``perfwork.report``; choosing an area or an indicator updates the widgets in place.
"""

from __future__ import annotations

import html

import ipywidgets as w
import pandas as pd

from .download import DownloadButton
from .offline import chart_widget, redraw
from .request import MAX_VALUE, Request

ALL = "__all__"
TABS = [("peer", "Against peers"), ("trend", "Over time"), ("spc", "SPC"), ("target", "Target")]


def _html(text: str, cls: str) -> w.HTML:
    return w.HTML(text, layout=w.Layout(width="100%"), _dom_classes=(cls,))


class AreaPicker:
    """Force, then area; the search box narrows both by area name or code (or force name)."""

    def __init__(self, areas: pd.DataFrame, forces: dict[str, str]):
        a = areas.assign(force=areas["parent_code"].map(forces).fillna("Other areas"))
        self.areas = a.sort_values(["force", "area_name", "area_code"]).reset_index(drop=True)
        self.codes = set(self.areas["area_code"])
        self.search = w.Text(placeholder="Name or code, then Enter", description="Search", continuous_update=False)
        self.force = w.Dropdown(description="Force", options=self._force_options(self.areas))
        self.area = w.Dropdown(description="Area", layout=w.Layout(width="28rem"))
        self._set_area_options()
        self.search.observe(lambda _: self._set_area_options(), "value")
        self.force.observe(lambda _: self._set_area_options(), "value")

    @staticmethod
    def _force_options(a: pd.DataFrame) -> list[tuple[str, str]]:
        forces = a.drop_duplicates("force")
        return [("All forces", ALL)] + [(f, f) for f in forces["force"]]

    def _matching(self) -> pd.DataFrame:
        a = self.areas
        if self.force.value not in (ALL, None):
            a = a[a["force"] == self.force.value]
        q = self.search.value.strip().lower()[:MAX_VALUE]
        if q:
            hit = (a["area_name"].str.lower().str.contains(q, regex=False)
                   | a["area_code"].str.lower().str.contains(q, regex=False)
                   | a["force"].str.lower().str.contains(q, regex=False))
            a = a[hit]
        return a

    def _set_area_options(self) -> None:
        a = self._matching()
        keep = self.area.value
        opts = [(f"{r.area_name} ({r.area_code}) · {r.force}", r.area_code) for r in a.itertuples()]
        self.area.options = opts or [("No area matches the search", None)]
        if keep in set(a["area_code"]):
            self.area.value = keep

    def select(self, code: str) -> None:
        """Show ``code`` (a known code) whatever the search and force say."""
        self.search.value = ""
        self.force.value = ALL
        self.area.value = code

    @property
    def widget(self) -> w.Widget:
        return w.HBox([self.search, self.force, self.area], layout=w.Layout(flex_flow="row wrap"))


class Dashboard:
    """The dashboard's widgets over one stored assessment (see the module docstring)."""

    def __init__(self, snap, area: str | None = None, indicator: str | None = None):
        self.snap = snap
        table = snap.table
        self.fw = snap.framework
        self.ids = [i.id for i in self.fw.indicators]
        self.labels = dict(zip(table["indicator"], table["label"]))
        forces = dict(zip(snap.all_areas["area_code"], snap.all_areas["area_name"]))
        self.picker = AreaPicker(snap.areas, forces)
        self.domain = w.Dropdown(description="Domain", options=[("All domains", ALL)] + [
            (d, d) for d in dict.fromkeys(i.domain for i in self.fw.indicators)])
        self.indicator = w.Dropdown(description="Indicator", layout=w.Layout(width="28rem"))
        self.period = _html("", "pw-period")
        self.message = _html("", "pw-message")
        self.message.layout.display = "none"
        self.headline = _html("", "pw-headline")
        self.exceptions = _html("", "pw-exceptions-box")
        self.overview = None
        self.tab_charts: dict[str, object] = {}
        self.tabs = w.Tab(layout=w.Layout(width="100%"))
        self._rows = None
        self._drawn: dict[str, tuple] = {}
        self.viewer: str | None = None
        self.panel = None
        self.decisions = w.Box(layout=w.Layout(width="100%"), _dom_classes=("pw-decisions",))
        self.header = _html("", "pw-top")
        self._set_header(None)
        self._build(area or snap.areas["area_code"].iloc[0], indicator)
        self.widget = self._layout()

    # ------------------------------------------------------------------------------------------ building
    def _build(self, area: str, indicator: str | None) -> None:
        self.picker.select(area)
        self._set_indicator_options(indicator)
        self._area_changed()
        self.tabs.children = [self._tab_box(key) for key, _ in TABS]
        for i, (_, title) in enumerate(TABS):
            self.tabs.set_title(i, title)
        self._draw_current_tab()
        self.picker.area.observe(lambda ch: ch["new"] and self._area_changed(redraw_tab=True), "value")
        self.domain.observe(lambda _: self._set_indicator_options(self.indicator.value), "value")
        self.indicator.observe(lambda ch: ch["new"] and self._indicator_changed(), "value")
        self.tabs.observe(lambda _: self._draw_current_tab(), "selected_index")

    def _tab_box(self, key: str) -> w.Box:
        self.tab_charts[key] = w.Box(layout=w.Layout(width="100%"), _dom_classes=("pw-chart",))
        return self.tab_charts[key]

    def _set_indicator_options(self, keep: str | None) -> None:
        dom = self.domain.value
        ids = [i.id for i in self.fw.indicators if dom in (ALL, None) or i.domain == dom]
        self.indicator.options = [(self.labels.get(i, i), i) for i in ids]
        self.indicator.value = keep if keep in ids else (ids[0] if ids else None)

    # ------------------------------------------------------------------------------------------ updating
    @property
    def area(self) -> str:
        return self.picker.area.value

    def _area_changed(self, redraw_tab: bool = False) -> None:
        from .. import charts, report

        rows = self.snap.for_area(self.area)
        self._rows = rows
        # the charts first: the browser redraws them while the kernel writes the words and the panel
        spine = charts.spine_spec(self.snap, self.area)
        if self.overview is None:
            self.overview = chart_widget(spine)
            self.overview.add_class("pw-overview")
        else:
            redraw(self.overview, spine)
        self._drawn.clear()
        if redraw_tab:
            self._draw_current_tab()
        self.message.value = ""
        self.message.layout.display = "none"
        end = pd.Timestamp(rows["period_end"].iloc[0]) if len(rows) else self.snap.period_end
        k = self.snap.peers(self.area)["peer_code"].size
        self.period.value = (f"<p><strong>Period:</strong> the 12 months to {end:%B %Y}, against the area's {k} most "
                             f"similar {self.snap.level.upper()}s</p>" if end is not None else "")
        self.headline.value = f"<p>{html.escape(report.headline(rows))}</p>"
        sentences = report.exception_sentences(rows)
        items = "".join(f"<li>{html.escape(s)}{m}</li>" for s, m in zip(sentences, _action_marks(rows)))
        self.exceptions.value = (f"<ul class='pw-exceptions'>{items}</ul>" if items else
                                 "<p class='pw-none'>No indicator is an exception for this area.</p>")
        self._decisions_panel()

    def _decisions_panel(self) -> None:
        """The "Decisions and actions" panel for the area (the log: $PERFWORK_LOG, else the demo log), made once
        and turned to each area in place."""
        from ..decisions import LogError
        from .decisions import DecisionsPanel

        if self.panel is not None:
            self.panel.show(self.area)
            return
        try:
            self.panel = DecisionsPanel(self.area, self.snap, None, user=self.viewer)
        except LogError as exc:
            self.decisions.children = [_html(f"<p class='pw-none'>{html.escape(str(exc))}</p>", "pw-note")]
            return
        self.decisions.children = [self.panel.widget]

    def _indicator_changed(self) -> None:
        self._draw_current_tab()
        if self.panel is not None:
            self.panel.select(self.indicator.value)

    def _draw_current_tab(self) -> None:
        if self.indicator.value is None or not self.tabs.children:
            return
        key = TABS[self.tabs.selected_index or 0][0]
        want = (self.area, self.indicator.value)
        if self._drawn.get(key) == want:
            return
        chart = self._chart(key, *want)
        box = self.tab_charts[key]
        if chart is None:
            label = html.escape(self.labels.get(want[1], want[1]))
            box.children = [_html(f"<p class='pw-none'>{html.escape(self.snap.area_name(want[0]))} has no target "
                                  f"for {label}.</p>", "pw-note")]
        elif box.children and hasattr(box.children[0], "spec"):
            redraw(box.children[0], chart)
        else:
            box.children = [chart_widget(chart)]
        self._drawn[key] = want

    def _chart(self, key: str, area: str, indicator: str):
        from .. import charts

        if key == "target":
            row = self._rows[self._rows["indicator"] == indicator]
            target = row["target"].iloc[0] if len(row) else None
            if target is None or pd.isna(target) or not str(target).strip():
                return None
        draw = {"peer": charts.peer_spec, "trend": charts.trend_spec, "spc": charts.spc_spec,
                "target": charts.target_spec}[key]
        return draw(self.snap, area, indicator)

    def current_chart(self):
        """The chart (Vega-Lite spec) on the selected tab: what the SVG/PNG buttons download."""
        key = TABS[self.tabs.selected_index or 0][0]
        return self._chart(key, self.area, self.indicator.value) or self._chart("peer", self.area, self.indicator.value)

    # ------------------------------------------------------------------------------------------ the link
    def apply(self, request: Request) -> None:
        """Preselect ``?area=CODE`` and ``?indicator=ID``; anything else is ignored with a visible message. The
        values are only ever compared with the known codes, never used to look anything up."""
        notes = []
        area = (request.get("area") or "").strip()
        if area:
            code = area.upper() if len(area) <= MAX_VALUE else None
            if code in self.picker.codes:
                self.picker.select(code)
            else:
                notes.append(f"The link asked for the area “{_shown(area)}”, which is not a "
                             f"{self.snap.level.upper()} here; showing {html.escape(self.snap.area_name(self.area))} "
                             f"({html.escape(self.area)}).")
        ind = (request.get("indicator") or "").strip()
        if ind:
            if ind.lower() in self.ids:
                self.domain.value = ALL
                self.indicator.value = ind.lower()
            else:
                notes.append(f"The link asked for the indicator “{_shown(ind)}”, which this framework does not "
                             f"have; showing {html.escape(self.labels.get(self.indicator.value, ''))}.")
        self.message.value = "".join(f"<p>{n}</p>" for n in notes)
        self.message.layout.display = "block" if notes else "none"
        self._set_header(request.viewer)
        if request.viewer and request.viewer != self.viewer:
            self.viewer = request.viewer          # decisions recorded from here carry the signed-on name
            if self.panel is not None:
                self.panel.set_user(self.viewer)

    # ------------------------------------------------------------------------------------------ downloads
    def _csv(self) -> tuple[str, str, bytes]:
        from ..provenance import with_run_columns

        rows = self.snap.for_area(self.area)
        run = self.snap.run
        rows = with_run_columns(rows, run) if run is not None else rows
        return f"assessment-{self.area}.csv", "text/csv", rows.to_csv(index=False).encode("utf-8")

    def _xlsx(self) -> tuple[str, str, bytes]:
        import tempfile
        from pathlib import Path

        from ..judgement import to_xlsx

        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / f"assessment-{self.area}.xlsx"
            to_xlsx(self.snap.for_area(self.area), path, run=self.snap.run)
            data = path.read_bytes()
        return path.name, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", data

    def _image(self, fmt: str) -> tuple[str, str, bytes]:
        import tempfile
        from pathlib import Path

        from .. import charts

        key = TABS[self.tabs.selected_index or 0][0]
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / f"{key}-{self.area}-{self.indicator.value}.{fmt}"
            charts.save_chart(self.current_chart(), path)
            data = path.read_bytes()
        return path.name, {"svg": "image/svg+xml", "png": "image/png"}[fmt], data

    # ------------------------------------------------------------------------------------------ layout
    def _layout(self) -> w.Widget:
        downloads = w.HBox([DownloadButton("Assessment (CSV)", self._csv),
                            DownloadButton("Assessment (Excel)", self._xlsx),
                            DownloadButton("Chart (SVG)", lambda: self._image("svg")),
                            DownloadButton("Chart (PNG)", lambda: self._image("png"))],
                           _dom_classes=("pw-downloads",))
        controls = w.VBox([self.picker.widget, w.HBox([self.domain, self.indicator],
                                                      layout=w.Layout(flex_flow="row wrap"))],
                          _dom_classes=("pw-controls",))
        return w.VBox([
            self.header, controls, self.message, self.period,
            _html("<h2>What needs attention</h2>", "pw-section"), self.headline, self.exceptions,
            _html("<h2>Every indicator against its most similar areas</h2>", "pw-section"), self.overview,
            _html("<h2>The selected indicator</h2>", "pw-section"), self.tabs, downloads,
            self.decisions,
        ], layout=w.Layout(width="100%"))

    def _set_header(self, viewer: str | None) -> None:
        who = f"<span class='pw-who'>Signed in as {html.escape(viewer)}</span>" if viewer else ""
        self.header.value = f"<div class='pw-header'><h1>Community safety performance</h1>{who}</div>"


def _action_marks(rows: pd.DataFrame) -> list[str]:
    """For each exception sentence (highest priority first), a mark when an open action stands against it."""
    from ..decisions import LogError, open_log, with_open_actions

    exc = rows[rows["exception"].astype(bool)].sort_values("priority", ascending=False, kind="stable")
    try:
        marked = with_open_actions(exc, open_log(None))
    except LogError:
        return [""] * len(exc)
    return [(f" <span class='pw-action-open'>[{n} open action{'s' if n > 1 else ''}"
             f"{f', {o} overdue' if o else ''}]</span>" if n else "")
            for n, o in zip(marked["open_actions"], marked["overdue_actions"])]


def _shown(value: str) -> str:
    """A query value as a message may show it: escaped and cut short."""
    v = value if len(value) <= 40 else value[:40] + "…"
    return html.escape(v)
