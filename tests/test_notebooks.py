"""Notebooks: thin, stored without outputs, and runnable by papermill for any area."""

from __future__ import annotations

import json
from pathlib import Path

import papermill as pm
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_thin_and_without_outputs(path):
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert "parameters" in code[0]["metadata"].get("tags", []), "first code cell must be tagged 'parameters'"
    for cell in code:
        assert not cell.get("outputs") and cell.get("execution_count") is None, "stored with outputs"
        assert len("".join(cell["source"]).splitlines()) <= 10, "long cells belong in the package"


def test_papermill_runs_explore_for_another_area(tmp_path):
    out = tmp_path / "explore.ipynb"
    pm.execute_notebook(NOTEBOOKS[0].parent / "explore.ipynb", out, parameters={"AREA": "DK-C0123", "PERIOD": "fy"},
                        kernel_name="python3", progress_bar=False)
    nb = json.loads(out.read_text())
    text = json.dumps([c.get("outputs") for c in nb["cells"]])
    injected = [c for c in nb["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    assert injected and "DK-C0123" in "".join(injected[0]["source"])
    assert "Burglary per 1,000 households" in text and "DK-F" in text
    assert "2025-04-01" in text  # the latest financial year, 2025/26
