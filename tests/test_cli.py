"""The perfwork command: help on every command, readable tables, clear errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from perfwork.cli import build_parser, main


def test_every_command_has_help(capsys):
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    assert {"demo-data", "indicators"} <= set(commands)
    for name in commands:
        with pytest.raises(SystemExit) as done:
            main([name, "--help"])
        assert done.value.code == 0
        assert "usage: perfwork" in capsys.readouterr().out


def test_indicators_prints_a_readable_table_and_writes_csv(small, tmp_path, capsys):
    folder = small.to_dir(tmp_path / "d")
    out = tmp_path / "ind.csv"
    assert main(["indicators", "--area", "Beeton", "--data", str(folder), "--csv", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Beeton (B), csp: rolling12 Apr 2024 to Mar 2025" in text
    assert "Burglary per 1,000 households" in text and "95% limits" in text
    assert "Byars 95%" in text
    assert out.read_text().startswith("area_code,area_name,level,period")


def test_unknown_area_is_a_clear_error(small, tmp_path, capsys):
    folder = small.to_dir(tmp_path / "d")
    assert main(["indicators", "--area", "Nowhere", "--data", str(folder)]) == 2
    assert "perfwork: error: no area with code or name 'Nowhere'" in capsys.readouterr().err


def test_console_script_entry_point():
    done = subprocess.run([sys.executable, "-m", "perfwork.cli", "--help"], capture_output=True, text=True, check=True)
    assert "indicators" in done.stdout and "demo-data" in done.stdout


def test_demo_data_regenerates_the_shipped_files_byte_for_byte(tmp_path, capsys):
    from perfwork.sources import demo

    assert main(["demo-data", "--out", str(tmp_path)]) == 0
    assert "314 csp" in capsys.readouterr().out
    for shipped in sorted(demo.DEFAULT_PATH.iterdir()):
        assert (tmp_path / shipped.name).read_bytes() == shipped.read_bytes(), shipped.name
