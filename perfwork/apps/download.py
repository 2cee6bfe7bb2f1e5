"""A download button that works in Voilà: the file is made in the kernel only when clicked and handed to the
browser as a Blob (no file on the server, nothing served from disk)."""

from __future__ import annotations

from collections.abc import Callable

import anywidget
import traitlets

_ESM = """
function render({ model, el }) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "pw-download";
  const label = () => { button.textContent = model.get("label"); button.disabled = model.get("disabled"); };
  label();
  model.on("change:label", label);
  model.on("change:disabled", label);
  button.addEventListener("click", () => model.send({ event: "download" }));
  model.on("msg:custom", (msg, buffers) => {
    if (msg.event !== "file") return;
    const url = URL.createObjectURL(new Blob([buffers[0]], { type: msg.mime }));
    const a = document.createElement("a");
    a.href = url;
    a.download = msg.filename;
    a.textContent = msg.filename;
    a.hidden = true;
    document.body.appendChild(a);
    a.click();
    setTimeout(() => { URL.revokeObjectURL(url); a.remove(); }, 2000);
  });
  el.appendChild(button);
}
export default { render };
"""


class DownloadButton(anywidget.AnyWidget):
    """``DownloadButton("Assessment (CSV)", make)``: ``make()`` returns (filename, mime type, bytes)."""

    _esm = _ESM
    label = traitlets.Unicode("Download").tag(sync=True)
    disabled = traitlets.Bool(False).tag(sync=True)

    def __init__(self, label: str, make: Callable[[], tuple[str, str, bytes]], **kwargs):
        super().__init__(label=label, **kwargs)
        self._make = make
        self.on_msg(self._on_msg)

    def _on_msg(self, _widget, content, _buffers):
        if isinstance(content, dict) and content.get("event") == "download":
            filename, mime, data = self._make()
            self.send({"event": "file", "filename": filename, "mime": mime}, buffers=[data])
