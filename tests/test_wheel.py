"""Installable anywhere: a wheel of perfwork, installed into a fresh virtual environment outside the checkout,
finds its demo, frameworks and demo targets, assesses an area and runs the perfwork command.

To stay fast the fresh environment borrows the project environment's installed dependencies through a path file
(never its editable perfwork: path files inside a borrowed folder are not run), and the wheel goes in with
``--no-deps --no-index``; the test checks that the perfwork it imports is the one in the fresh environment.
"""

from __future__ import annotations

import os
import site
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = r"""
import sys, pathlib
import perfwork as pw
from perfwork import _paths
here = pathlib.Path(pw.__file__).resolve()
assert here.is_relative_to(pathlib.Path(sys.prefix).resolve()), here
for p in (_paths.demo_dir(), _paths.shipped_parameters()):
    assert not p.resolve().is_relative_to(pathlib.Path(sys.argv[1]).resolve()), p
ds = pw.load_demo()
fw = pw.load_framework("national")
tg = pw.load_targets("demo", framework=fw, dataset=ds)
table = pw.assess(ds, area="DK-C0001", framework=fw, targets=tg)
print(f"{len(ds.level('csp'))} csps; {len(fw)} indicators; {len(tg)} targets; {len(table)} rows; "
      f"{int(table['exception'].sum())} exceptions; from {here.parent}")
"""


def _run(cmd, cwd, env) -> str:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"{' '.join(map(str, cmd))}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wheel")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp / "dist"),
          str(ROOT)], cwd=tmp, env=env)
    wheel = next((tmp / "dist").glob("perfwork-*.whl"))
    target = tmp / "venv"
    venv.EnvBuilder(with_pip=False).create(target)
    py = target / "bin" / "python"
    purelib = Path(_run([str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], tmp, env).strip())
    (purelib / "borrowed-dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    _run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index", "-q", str(wheel)],
         cwd=tmp, env=env)
    return target, tmp, env


def test_the_wheel_carries_its_data(installed):
    import zipfile

    target, tmp, env = installed
    names = zipfile.ZipFile(next((tmp / "dist").glob("perfwork-*.whl"))).namelist()
    for shipped in ("perfwork/_data/parameters/frameworks/national.yaml", "perfwork/_data/parameters/msg_weights.yaml",
                    "perfwork/_data/parameters/targets/DK-C0001.yaml", "perfwork/_data/demo/counts.parquet"):
        assert shipped in names


def test_installed_perfwork_loads_demo_framework_targets_and_assesses(installed):
    target, tmp, env = installed
    out = _run([str(target / "bin" / "python"), "-c", SCRIPT, str(ROOT)], cwd=tmp, env=env)
    assert "314 csps; 21 indicators;" in out and "21 rows" in out and str(target) in out


def test_installed_command_prints_indicators(installed):
    target, tmp, env = installed
    out = _run([str(target / "bin" / "perfwork"), "indicators", "--area", "DK-C0001"], cwd=tmp, env=env)
    assert "(DK-C0001), csp: rolling12 Apr 2025 to Mar 2026" in out and "Burglary per 1,000 households" in out


def test_installed_perfwork_keeps_the_demo_decisions_outside_the_package(installed):
    target, tmp, env = installed
    data_home = tmp / "xdg-data"
    env = {**env, "XDG_DATA_HOME": str(data_home)}
    env.pop("PERFWORK_LOG", None)
    out = _run([str(target / "bin" / "perfwork"), "decisions", "seed-demo"], cwd=tmp, env=env)
    assert (data_home / "perfwork" / "decisions-demo.sqlite").exists(), out
    assert not list(target.rglob("decisions-demo.sqlite*"))
