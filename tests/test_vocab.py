"""The judgement vocabularies: every word the assessment writes is in one, in an order charts can rely on."""

from __future__ import annotations

import pandas as pd
import pytest

import perfwork as pw
from perfwork import spc, stats, targets, vocab
from perfwork.sources import demo


@pytest.fixture(scope="module")
def table():
    return pw.assess_all(demo.load(), period_end="all", targets="demo", cache=False).table


def test_every_word_the_assessment_writes_is_in_its_vocabulary(table):
    cat = vocab.categorize(table)
    for column in vocab.COLUMNS:
        assert isinstance(cat[column].dtype, pd.CategoricalDtype) and cat[column].dtype.ordered
        assert (cat[column].isna() == table[column].isna()).all(), column
    # the demo's stories reach the judgements that matter
    assert {"better", "worse", "similar"} <= set(table["peer_judgement"])
    assert {"improving", "deteriorating"} <= set(table["travel"])
    assert {"on track", "at risk", "off track"} <= set(table["target_status"])
    assert "special_cause_concern" in set(table["spc_variation"])


def test_orders_are_best_first():
    assert list(vocab.PeerJudgement.dtype().categories[:3]) == ["better", "similar", "worse"]
    assert vocab.TargetStatus.categorical(["off track", "on track"]).sort_values().tolist() == ["on track",
                                                                                                   "off track"]
    assert vocab.Significance.words()[0] == "High (0.001)" and vocab.Significance.words()[-1] == "Low (0.001)"


def test_a_word_outside_the_vocabulary_is_refused():
    with pytest.raises(ValueError, match="TargetStatus: 'on trak' is not one of on track, at risk"):
        vocab.TargetStatus.categorical(["on track", "on trak"])


def test_the_statistics_read_their_words_from_the_vocabularies():
    assert set(stats.LABELS) == set(vocab.Significance.words())
    assert set(spc.POINT_TYPES) | {"incomplete"} == set(vocab.SpcVariation.words())
    assert set(spc.RULES) - {""} == set(vocab.SpcRule.words())
    assert targets.RAG == ("on track", "at risk", "off track")
    assert vocab.PeerJudgement.WORSE == "worse"
