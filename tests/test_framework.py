"""Frameworks: the national set holds what the partnership expects, bad files fail clearly."""

from __future__ import annotations

import textwrap

import pytest

from perfwork.framework import FrameworkError, load_framework
from perfwork.measures import NOTIFIABLE_CATEGORIES


def test_national_framework_contents():
    fw = load_framework("national")
    ids = {i.id for i in fw}
    assert {"all_crime", "asb", "sac", "burglary", "violence", "positive_outcomes", "charge_rate"} <= ids
    assert set(fw.get("all_crime").numerator) == set(NOTIFIABLE_CATEGORIES)
    assert fw.get("sac").numerator == ("burglary", "robbery", "vehicle-crime")
    assert fw.get("burglary").denominator == "households"
    assert fw.get("positive_outcomes").kind == "proportion"
    assert len(fw.get("positive_outcomes").numerator) == 3 * len(NOTIFIABLE_CATEGORIES)
    assert not any(m.startswith("stop-and-search") for m in fw.get("positive_outcomes").numerator)
    # every police.uk category has a rate of its own or sits in one of the headline rates
    single = {i.numerator[0] for i in fw if i.kind == "rate" and len(i.numerator) == 1}
    assert set(NOTIFIABLE_CATEGORIES) | {"anti-social-behaviour"} <= single
    assert set(fw.domains) == {"Tackling crime", "Promoting safety", "Serious crime and protection", "Justice outcomes"}


def test_local_framework_extends_national():
    local = load_framework("local-example")
    assert local.get("burglary").weight == 5 and local.get("burglary").priority
    assert local.get("burglary").numerator == load_framework("national").get("burglary").numerator


def _write(tmp_path, body: str):
    path = tmp_path / "fw.yaml"
    path.write_text(textwrap.dedent(body))
    return path


GOOD = """
indicators:
  - id: x
    label: X
    domain: D
    numerator: [burglary]
    denominator: population
    multiplier: 1000
    kind: rate
    polarity: low_is_good
    description: d
"""


@pytest.mark.parametrize("old, new, expected", [
    ("[burglary]", "[burglarly]", r"fw.yaml, indicators\[0\] \(x\): 'numerator' names unknown measure 'burglarly'"),
    ("low_is_good", "lower", r"polarity 'lower' is not one of low_is_good, high_is_good, none"),
    ("    description: d\n", "", r"missing field\(s\) description"),
    ("kind: rate", "kind: ratio", r"kind 'ratio' is not one of rate, proportion, count"),
    ("denominator: population", "denominator: people", r"denominator 'people' is not"),
])
def test_bad_framework_files(tmp_path, old, new, expected):
    assert load_framework(_write(tmp_path, GOOD)).get("x").label == "X"
    with pytest.raises(FrameworkError, match=expected):
        load_framework(_write(tmp_path, GOOD.replace(old, new)))


def test_unknown_framework_name():
    with pytest.raises(FrameworkError, match=r"no framework 'nope'.*available: .*national"):
        load_framework("nope")


def test_a_local_override_with_a_bad_weight(tmp_path):
    path = tmp_path / "local.yaml"
    path.write_text("extends: national\nindicators:\n  - id: burglary\n    weight: lots\n")
    with pytest.raises(FrameworkError, match=r"local.yaml, indicators\[0\] \(burglary\): weight 'lots' is not a number"):
        load_framework(path)
