"""The dashboard's "Decisions and actions" panel (ipywidgets): an area's open actions (overdue marked), a form to
record a decision against one of its exceptions, buttons to close actions, and the review of past decisions.

    panel = DecisionsPanel("DK-C0123", assessment, log, user=None)   # user: the proxy's user header, if any
    panel.widget                                                     # display it, or embed it in the dashboard
    panel.select("burglary")                                         # follow the dashboard's selected exception

It takes everything it shows as arguments and calls the package for everything it does (``perfwork.decisions``):
no logic of its own. All log text is escaped before display (``decisions.render``).
"""

from __future__ import annotations

from datetime import date
from html import escape

import ipywidgets as w

from .. import decisions as dec
from ..decisions import render

AREA_WIDE = "Area-wide (no single indicator)"


class DecisionsPanel:
    """The panel for one area of an Assessment; ``user`` (when the server knows who is signed in) is the author
    of what is recorded, otherwise the form asks for a name."""

    def __init__(self, area: str, assessment, log, user: str | None = None, today: date | None = None):
        self.assessment, self.log, self.user, self.today = assessment, dec.open_log(log), user, today
        self.exception = w.Dropdown(description="Exception", layout=w.Layout(width="95%"))
        self.text = w.Textarea(description="Decision", placeholder="What the board decided",
                               layout=w.Layout(width="95%", height="5em"))
        self.meeting = w.Text(description="Meeting", placeholder="e.g. Board, October 2025")
        self.decided_on = w.DatePicker(description="Date", value=self.today or date.today())
        self.name = w.Text(description="Your name", placeholder="who records this")
        self.action = w.Text(description="Action", placeholder="optional: what will be done",
                             layout=w.Layout(width="95%"))
        self.owner = w.Text(description="Owner", placeholder="who does it")
        self.due = w.DatePicker(description="Due")
        self.record_button = w.Button(description="Record decision", button_style="primary",
                                      tooltip="Record the decision and its action in the log")
        self.record_button.on_click(lambda _: self._record())
        self.message = w.HTML()
        self.pick_action = w.Dropdown(description="Action", layout=w.Layout(width="60%"))
        self.done_button = w.Button(description="Mark done", tooltip="Record the selected action as done")
        self.drop_button = w.Button(description="Drop", tooltip="Record the selected action as dropped")
        self.done_button.on_click(lambda _: self._status("done"))
        self.drop_button.on_click(lambda _: self._status("dropped"))
        self.heading, self.actions_view, self.review_view = w.HTML(), w.HTML(), w.HTML()
        self.form = w.VBox([w.HTML("<h4>Record a decision</h4>"), self.exception, self.text,
                            w.HBox([self.meeting, self.decided_on]), self.name, self.action,
                            w.HBox([self.owner, self.due]), self.record_button])
        close = w.VBox([w.HTML("<h4>Close an action</h4>"), w.HBox([self.pick_action, self.done_button,
                                                                    self.drop_button])])
        self.widget = w.VBox([self.heading, self.actions_view, close, self.form, self.message, self.review_view])
        self.set_user(user)
        self.show(area)

    def show(self, area: str) -> None:
        """Turn the panel to another area, in place: its exceptions, actions and review. What was being typed
        is cleared, so that a decision is never recorded against an area it was not written for."""
        row = self.assessment.dataset.area(area)
        self.area, self.area_name = str(row["area_code"]), str(row["area_name"])
        rows = self.assessment.for_area(self.area)
        self.labels = dict(zip(rows["indicator"], rows["label"]))
        exc = rows[rows["exception"]]
        choices = [(f"{lab}: {why}", ind) for ind, lab, why in zip(exc["indicator"], exc["label"], exc["reasons"])]
        self.exception.options = choices + [(AREA_WIDE, None)]
        self.heading.value = f"<h3>Decisions and actions: {escape(self.area_name)} ({escape(self.area)})</h3>"
        for field in (self.text, self.action, self.owner, self.message):
            field.value = ""
        self.due.value = None
        self.refresh()

    def set_user(self, user: str | None) -> None:
        """The signed-on viewer (the proxy's user header) records from now on; without one the form asks."""
        self.user = user
        who = w.HTML(f"<p>Recorded as <strong>{escape(user)}</strong></p>") if user else self.name
        self.form.children = self.form.children[:4] + (who,) + self.form.children[5:]

    def select(self, indicator: str | None) -> None:
        """Point the form at an exception (the dashboard's selection); an indicator that is not an exception of
        the area leaves the form as it is."""
        if indicator in [v for _, v in self.exception.options]:
            self.exception.value = indicator

    def refresh(self) -> None:
        acts = dec.open_actions(self.log, self.area, today=self.today)
        self.actions_view.value = render.actions_html(acts, self.labels)
        choices = [(f"A{int(r.action_id)}: {r.action}", int(r.action_id)) for r in acts.itertuples()]
        self.pick_action.options = choices
        self.pick_action.value = choices[0][1] if choices else None
        review = dec.review(self.assessment, self.log, area=self.area)
        self.review_view.value = render.review_html(review)

    def _author(self) -> str | None:
        return self.user or (self.name.value.strip() or None)

    def _say(self, text: str, ok: bool) -> None:
        role = "status" if ok else "alert"
        self.message.value = f'<p role="{role}"><strong>{"Done" if ok else "Not recorded"}:</strong> {escape(text)}</p>'

    def _record(self) -> None:
        acts = ([{"action": self.action.value, "owner": self.owner.value, "due": self.due.value}]
                if self.action.value.strip() else [])
        try:
            did = dec.record(self.assessment, self.log, area=self.area, indicator=self.exception.value,
                             decision=self.text.value, author=self._author(), decided_on=self.decided_on.value,
                             meeting=self.meeting.value or None, actions=acts, today=self.today)
        except dec.EntryError as exc:
            self._say(str(exc), ok=False)
            return
        for field in (self.text, self.action, self.owner):
            field.value = ""
        self.due.value = None
        self._say(f"decision D{did} recorded", ok=True)
        self.refresh()

    def _status(self, status: str) -> None:
        if self.pick_action.value is None:
            self._say("choose an action first", ok=False)
            return
        try:
            dec.update_action(self.log, self.pick_action.value, by=self._author(), status=status)
        except dec.EntryError as exc:
            self._say(str(exc), ok=False)
            return
        self._say(f"action A{self.pick_action.value} marked {status}", ok=True)
        self.refresh()


def decisions_panel(area: str, assessment, log, user: str | None = None, today: date | None = None) -> w.VBox:
    """The panel's widget (see ``DecisionsPanel``)."""
    return DecisionsPanel(area, assessment, log, user=user, today=today).widget
