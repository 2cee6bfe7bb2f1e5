"""Where perfwork finds its own files: frameworks, MSG weights, demo targets and the demo tables.

They ship inside the package (``perfwork/_data/parameters`` and ``perfwork/_data/demo``) and are found through
``importlib.resources``, so an installed wheel (a Voila server, a Dask worker) has them. In a checkout those two
entries are links to the top-level ``parameters/`` and ``data/demo/`` folders, so there is one copy of each file.

A project's own parameters come first: ``PERFWORK_PARAMETERS`` names one or more folders (separated like PATH)
laid out as ``parameters/`` is (``frameworks/<name>.yaml``, ``targets/<name>.yaml``, ``msg_weights.yaml``); a
name is looked up there before the shipped files. A path given directly (``load_framework("my/fw.yaml")``)
is always used as it is.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

PARAMETERS_ENV = "PERFWORK_PARAMETERS"


def _shipped(*parts: str) -> Path:
    # perfwork is a regular package on disk (never zipped), so its resources are plain paths.
    return Path(str(resources.files("perfwork").joinpath("_data", *parts)))


def shipped_parameters() -> Path:
    """The parameters folder that ships with perfwork (frameworks/, targets/, msg_weights.yaml)."""
    return _shipped("parameters")


def demo_dir() -> Path:
    """The folder holding the shipped Demo Kingdom tables."""
    return _shipped("demo").resolve()


def parameter_dirs() -> list[Path]:
    """The folders searched for a named framework, target file or weight set: the user's own
    (``PERFWORK_PARAMETERS``), then the shipped one."""
    user = [Path(p).expanduser() for p in os.environ.get(PARAMETERS_ENV, "").split(os.pathsep) if p.strip()]
    return [*user, shipped_parameters()]


def find(kind: str, name: str) -> Path | None:
    """``<dir>/<kind>/<name>.yaml`` in the first parameters folder that has it (kind: frameworks or targets)."""
    for d in parameter_dirs():
        path = d / kind / f"{name}.yaml"
        if path.is_file():
            return path
    return None


def available(kind: str) -> list[str]:
    """Names of the YAML files of ``kind`` across the parameters folders, user's first, without repeats."""
    names: list[str] = []
    for d in parameter_dirs():
        if (d / kind).is_dir():
            names += [p.stem for p in sorted((d / kind).glob("*.yaml")) if p.stem not in names]
    return names


def weights_file() -> Path:
    """``msg_weights.yaml`` of the first parameters folder that has one (the shipped one otherwise)."""
    for d in parameter_dirs():
        if (d / "msg_weights.yaml").is_file():
            return d / "msg_weights.yaml"
    return shipped_parameters() / "msg_weights.yaml"


def demo_targets() -> list[Path]:
    """The shipped demo targets (for the Demo Kingdom's areas)."""
    return sorted((shipped_parameters() / "targets").glob("*.yaml"))
