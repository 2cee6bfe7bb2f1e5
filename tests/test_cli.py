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


# ---------------------------------------------------------------------------------------------------- errors
def _run(capsys, argv) -> tuple[int, str]:
    code = main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


def test_usage_errors_exit_2_with_what_is_allowed(small, tmp_path, capsys):
    folder = str(small.to_dir(tmp_path / "d"))
    cases = [
        (["indicators", "--area", "B", "--data", folder, "--period-end", "2025-13"],
         "period end '2025-13': month 13 is not 1 to 12"),
        (["indicators", "--area", "B", "--data", folder, "--period-end", "2019-01"],
         "no rolling12 period ends in 2019-01; available 2023-12 to 2025-03"),
        (["indicators", "--area", "B", "--data", folder, "--framework", "nosuch"], "no framework 'nosuch'"),
        (["assess", "--area", "B", "--data", folder, "--k", "9"], "k=9: expected 1 to 2"),
        (["assess", "--area", "B", "--data", folder, "--level", "force"], "B (Beeton) is a csp, not a force"),
        (["peers", "--area", "B", "--data", folder, "--weights", "nosuch"], "no weight set 'nosuch'"),
        (["assess", "--area", "B", "--data", folder, "--targets", "nosuch"], "no target file or folder 'nosuch'"),
        (["indicators", "--area", "B", "--data", str(tmp_path / "absent")], "no dataset folder at"),
    ]
    for argv, message in cases:
        code, err = _run(capsys, argv)
        assert (code, message in err) == (2, True), (argv, err)
    with pytest.raises(SystemExit) as done:          # argparse's own usage errors: exit 2 as well
        main(["indicators"])
    assert done.value.code == 2


def test_data_errors_exit_1_naming_file_row_and_column(small, tmp_path, capsys):
    folder = small.to_dir(tmp_path / "d", format="csv")
    counts = folder / "counts.csv"
    lines = counts.read_text().splitlines()
    lines[3] = ",".join(lines[3].split(",")[:3] + ["-4"])
    counts.write_text("\n".join(lines) + "\n")
    code, err = _run(capsys, ["indicators", "--area", "B", "--data", str(folder)])
    assert code == 1 and f"{counts}" in err and "row 3" in err and "column 'count'" in err
    fw = tmp_path / "fw.yaml"
    text = (pw_framework_text()).replace("polarity: low_is_good", "polarity: lowish", 1)
    fw.write_text(text)
    code, err = _run(capsys, ["indicators", "--area", "DK-C0001", "--framework", str(fw)])
    assert code == 1 and str(fw) in err and "polarity 'lowish' is not one of" in err


def pw_framework_text() -> str:
    from perfwork import _paths

    return (_paths.shipped_parameters() / "frameworks" / "national.yaml").read_text()


def test_a_fault_is_not_dressed_up_as_a_usage_error(small, tmp_path, monkeypatch):
    from perfwork.cli import data

    def broken(*args, **kwargs):
        return {}["no such key"]

    monkeypatch.setattr("perfwork.values.indicators", broken)
    with pytest.raises(KeyError, match="no such key"):
        main(["indicators", "--area", "B", "--data", str(small.to_dir(tmp_path / "d"))])
    assert data.cmd_indicators  # the command module reads indicators at call time
