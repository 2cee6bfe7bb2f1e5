"""What a batch will run, checked before any kernel starts: the notebook's parameters (papermill's
``inspect_notebook``), the areas (against the dataset the notebook will read), and the fingerprints ``--resume``
compares."""

from __future__ import annotations

import ast
import difflib
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pandas as pd

from ..errors import UsageError

AREA_PARAMETERS = ("AREA", "FORCE")  # the parameter a notebook takes its area in, first found wins
AREA_LEVELS = ("csp", "force")  # what --areas all means: every CSP and every force


class BatchError(UsageError):
    """A batch that cannot start: a misspelt parameter, an unknown area, a notebook without parameters."""


@dataclass
class Plan:
    notebook: str  # the path as given (papermill records it as input_path)
    template: nbformat.NotebookNode
    parameters: dict  # shared by every area
    area_parameter: str
    areas: list[str]
    names: dict[str, str]  # area code -> name, for the index
    kernel_name: str
    warm_modules: list[str]
    fingerprint: str  # notebook + shared parameters + data

    def area_parameters(self, area: str) -> dict:
        return {**self.parameters, self.area_parameter: area}

    def area_fingerprint(self, area: str) -> str:
        return _sha(self.fingerprint, area)


def make_plan(notebook, areas="all", parameters=None, params_file=None, dataset=None) -> Plan:
    """Validate everything a batch needs; raises ``BatchError`` naming what is wrong and the close matches."""
    from papermill.inspection import inspect_notebook
    from papermill.iorw import load_notebook_node, read_yaml_file

    notebook = str(notebook)
    if not Path(notebook).is_file():
        raise BatchError(f"no notebook {notebook}")
    template = load_notebook_node(notebook)
    declared = inspect_notebook(notebook)
    if not declared:
        raise BatchError(f"{notebook} has no cell tagged 'parameters' (papermill injects the area after it)")
    params = dict(read_yaml_file(str(params_file)) or {}) if params_file else {}
    params.update(parameters or {})
    for name in params:
        if name not in declared:
            raise BatchError(f"{notebook} has no parameter {name!r}{_close(name, declared)}; its parameters: "
                             f"{', '.join(declared)}")
    area_parameter = next((p for p in AREA_PARAMETERS if p in declared), None)
    if area_parameter is None:
        raise BatchError(f"{notebook} has no area parameter ({' or '.join(AREA_PARAMETERS)}) in its parameters "
                         f"cell; its parameters: {', '.join(declared)}")
    if area_parameter in params:
        raise BatchError(f"give the areas with --areas, not as the parameter {area_parameter}")
    if dataset is None:
        dataset = _load_dataset(params.get("DATA", _default(declared.get("DATA"))))
    codes = expand_areas(areas, dataset)
    kernel_name = template.metadata.get("kernelspec", {}).get("name", "python3")
    fingerprint = _sha(_sha(Path(notebook).read_bytes()), json.dumps(params, sort_keys=True, default=str),
                       data_fingerprint(dataset))
    names = dict(zip(dataset.areas["area_code"], dataset.areas["area_name"]))
    return Plan(notebook, template, params, area_parameter, codes, {c: names[c] for c in codes}, kernel_name,
                notebook_imports(template), fingerprint)


def _default(info):
    """A parameter's default from its source text (``None``, a string, a number), as the notebook would set it."""
    if info is None:
        return None
    try:
        return ast.literal_eval(info["default"])
    except (ValueError, SyntaxError):
        return None


def _load_dataset(source):
    from .. import load

    return load(source)


def expand_areas(spec, dataset) -> list[str]:
    """``all`` | ``CODE,CODE`` | ``force:CODE`` (the force's CSPs) | ``level:LEVEL``, comma-separated, in order,
    without repeats."""
    areas = dataset.areas
    codes = list(areas["area_code"])
    tokens = spec if isinstance(spec, (list, tuple)) else [t.strip() for t in str(spec).split(",") if t.strip()]
    if not tokens:
        raise BatchError("no areas given")
    out: list[str] = []
    for token in tokens:
        kind, _, value = token.partition(":") if ":" in token else ("", "", token)
        if token == "all":
            picked = areas[areas["level"].isin(AREA_LEVELS)]["area_code"]
        elif kind == "level":
            levels = sorted(areas["level"].unique())
            if value not in levels:
                raise BatchError(f"no level {value!r}{_close(value, levels)}; levels: {', '.join(levels)}")
            picked = areas[areas["level"] == value]["area_code"]
        elif kind == "force":
            forces = list(areas[areas["level"] == "force"]["area_code"])
            if value not in forces:
                raise BatchError(f"no force {value!r} in {dataset.name}{_close(value, forces)}")
            picked = areas[(areas["level"] == "csp") & (areas["parent_code"] == value)]["area_code"]
        elif token in codes:
            picked = [token]
        else:
            raise BatchError(f"no area {token!r} in {dataset.name}{_close(token, codes, areas)}")
        out += [c for c in picked if c not in out]
    return out


def _close(word, choices, areas: pd.DataFrame | None = None) -> str:
    near = difflib.get_close_matches(str(word), list(choices), n=3, cutoff=0.6)
    if areas is not None and not near:  # a name typed where a code belongs
        by_name = dict(zip(areas["area_name"].str.lower(), areas["area_code"]))
        near = [by_name[n] for n in difflib.get_close_matches(str(word).lower(), list(by_name), n=3, cutoff=0.6)]
    return f" (did you mean {', '.join(near)}?)" if near else ""


def notebook_imports(nb) -> list[str]:
    """The modules the notebook's code cells import (top-level names), for the warm-up."""
    found: list[str] = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:  # IPython magics; the kernel will say what is wrong
            continue
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level
                     else [])
            found += [n for n in names if n not in found]
    return found


def data_fingerprint(dataset) -> str:
    """A content hash of the dataset's tables: one changed count changes it."""
    h = hashlib.sha256()
    for name in ("areas", "characteristics", "population", "counts", "missing"):
        table = getattr(dataset, name, None)
        if table is None:
            continue
        h.update(name.encode())
        h.update(",".join(map(str, table.columns)).encode())
        h.update(pd.util.hash_pandas_object(table, index=False).to_numpy().tobytes())
    return h.hexdigest()


def _sha(*parts) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part if isinstance(part, bytes) else str(part).encode())
        h.update(b"\0")
    return h.hexdigest()
