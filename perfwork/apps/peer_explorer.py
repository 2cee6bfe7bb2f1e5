"""The peer explorer: who an area's Most Similar Group is and why, and where the group sits on a funnel plot —
for the group perfwork built or for an official list (e.g. CIPFA nearest neighbours) loaded from a CSV.

    app = PeerExplorer(open_snapshot(None), groups="cipfa.csv")
    app.widget
"""

from __future__ import annotations

import dataclasses
import html
import tempfile
from pathlib import Path

import ipywidgets as w
import pandas as pd

from .dashboard import AreaPicker, _html, _shown
from .offline import chart_widget, redraw
from .request import Request

BUILT, OFFICIAL = "built", "official"


class PeerExplorer:
    """Area picker, group source (built MSG or an official list), the group's table and "why" chart, and the
    funnel plot of a chosen indicator with the group highlighted."""

    def __init__(self, snap, area: str | None = None, indicator: str | None = None, groups=None):
        self.snap = snap
        forces = dict(zip(snap.all_areas["area_code"], snap.all_areas["area_name"]))
        self.picker = AreaPicker(snap.areas, forces)
        kinds = snap.table.drop_duplicates("indicator").set_index("indicator")
        self.ids = [i.id for i in snap.framework.indicators if kinds.loc[i.id, "kind"] in ("rate", "proportion")]
        self.indicator = w.Dropdown(description="Indicator", layout=w.Layout(width="28rem"),
                                    options=[(kinds.loc[i, "label"], i) for i in self.ids])
        self.source = w.ToggleButtons(description="Peer group", options=[("Built by perfwork", BUILT)],
                                      style={"button_width": "12rem"})
        self.upload = w.FileUpload(accept=".csv", multiple=False, description="Load an official list (CSV)",
                                   layout=w.Layout(width="16rem"))
        self.message = _html("", "pw-message")
        self.message.layout.display = "none"
        self.table = _html("", "pw-peers")
        self.why = w.Box(layout=w.Layout(width="100%"), _dom_classes=("pw-chart",))
        self.official: pd.DataFrame | None = None
        self.funnel = None
        self.picker.select(area or snap.areas["area_code"].iloc[0])
        if indicator in self.ids:
            self.indicator.value = indicator
        if groups is not None:
            self._load(Path(groups), Path(groups).name)
        self._update()
        self.picker.area.observe(lambda ch: ch["new"] and self._update(), "value")
        self.indicator.observe(lambda _: self._draw_funnel(), "value")
        self.source.observe(lambda _: self._update(), "value")
        self.upload.observe(self._uploaded, "value")
        self.widget = self._layout()

    @property
    def area(self) -> str:
        return self.picker.area.value

    def view(self):
        """The assessment as the chosen group sees it: the snapshot, with the official groups when chosen."""
        if self.source.value == OFFICIAL and self.official is not None:
            return dataclasses.replace(self.snap, groups=self.official)
        return self.snap

    # ------------------------------------------------------------------------------------------ official lists
    def _uploaded(self, change) -> None:
        files = change["new"]
        if not files:
            return
        f = files[0]
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "groups.csv"
            path.write_bytes(bytes(f["content"]))
            self._load(path, f["name"])
        self._update()

    def _load(self, path: Path, name: str) -> None:
        from ..peers import groups_layout, load_groups

        try:
            one = groups_layout(path) == "list"
            groups = load_groups(path, dataset=self.snap.dataset, level=self.snap.level,
                                 area=self.area if one else None)
        except (ValueError, KeyError, FileNotFoundError) as exc:
            text = str(exc.args[0] if exc.args else exc).replace(str(path), name)
            self._say(html.escape(text))
            return
        self.official = groups
        self.source.options = [("Built by perfwork", BUILT), (f"Official list ({name[:30]})", OFFICIAL)]
        self.source.value = OFFICIAL
        self._say("")

    def _say(self, text: str) -> None:
        self.message.value = f"<p>{text}</p>" if text else ""
        self.message.layout.display = "block" if text else "none"

    # ------------------------------------------------------------------------------------------ drawing
    def _update(self) -> None:
        from .. import charts

        a = self.view()
        try:
            members = a.peers(self.area)
        except KeyError:
            members = pd.DataFrame()
        if members.empty:
            self.table.value = (f"<p class='pw-none'>The official list has no group for "
                                f"{html.escape(self.snap.area_name(self.area))}.</p>")
            self.why.children = []
        elif self.source.value == OFFICIAL:
            self.table.value = self._official_table(members)
            self.why.children = [_html("<p class='pw-none'>An official list carries no characteristics, so there is "
                                       "no breakdown of why each member is similar.</p>", "pw-note")]
        else:
            from ..peers import explain
            from ..report import peers_table

            self.table.value = _as_html(peers_table(explain(a.groups, self.area)))
            chart = charts.why_peers_spec(a, self.area)
            if self.why.children and hasattr(self.why.children[0], "spec"):
                redraw(self.why.children[0], chart)
            else:
                self.why.children = [chart_widget(chart)]
        self._draw_funnel()

    def _official_table(self, members: pd.DataFrame) -> str:
        built = set(self.snap.peers(self.area)["peer_code"])
        rows = "".join(f"<tr><td>{int(r.rank)}</td><td>{html.escape(str(r.peer_name))} ({html.escape(r.peer_code)})"
                       f"</td><td>{'yes' if r.peer_code in built else 'no'}</td></tr>" for r in members.itertuples())
        n = len(members)
        both = len(built & set(members["peer_code"]))
        return (f"<table class='pw-table'><caption>The official list: {n} peers, {both} of them also in the group "
                f"perfwork built</caption><thead><tr><th scope='col'>Rank</th><th scope='col'>Peer</th>"
                f"<th scope='col'>Also in the built group</th></tr></thead><tbody>{rows}</tbody></table>")

    def _draw_funnel(self) -> None:
        from .. import charts

        if self.indicator.value is None:
            return
        chart = charts.funnel_spec(self.view(), self.area, self.indicator.value)
        if self.funnel is None:
            self.funnel = chart_widget(chart)
            self.funnel.add_class("pw-funnel")
        else:
            redraw(self.funnel, chart)

    def apply(self, request: Request) -> None:
        """``?area=CODE&indicator=ID`` as on the dashboard: known codes only, anything else noted."""
        area = (request.get("area") or "").strip()
        if area and area.upper() in self.picker.codes:
            self.picker.select(area.upper())
        elif area:
            self._say(f"The link asked for the area “{_shown(area)}”, which is not a {self.snap.level.upper()} here.")
        ind = (request.get("indicator") or "").strip().lower()
        if ind in self.ids:
            self.indicator.value = ind

    def _layout(self) -> w.Widget:
        header = _html("<div class='pw-header'><h1>Peer explorer</h1></div>", "pw-top")
        controls = w.VBox([self.picker.widget, w.HBox([self.source, self.upload],
                                                      layout=w.Layout(flex_flow="row wrap"))],
                          _dom_classes=("pw-controls",))
        return w.VBox([header, controls, self.message,
                       _html("<h2>Who the peers are and why</h2>", "pw-section"), self.table, self.why,
                       _html("<h2>Where the group sits among all areas</h2>", "pw-section"), self.indicator,
                       self.funnel], layout=w.Layout(width="100%"))


def _as_html(table) -> str:
    """A formatted table (great-tables or a pandas Styler) as HTML."""
    for method in ("as_raw_html", "to_html"):
        if hasattr(table, method):
            return getattr(table, method)()
    return html.escape(str(table))



