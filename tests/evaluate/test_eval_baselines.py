"""The count baselines against probabilities written out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sessionforge.evaluate.baselines import NGramBaseline, topk_ids

V = 3  # ids 0, 1, 2; BOS (context only) is 3
STREAM = [1, 2, 1, 2]


def test_unigram_is_add_one_over_counts():
    # counts: c(0)=0, c(1)=2, c(2)=2; N=4 -> P = (c + 1) / (N + V) = [1/7, 3/7, 3/7]
    uni = NGramBaseline(V, 1).fit([np.array(STREAM)])
    assert uni.tokens == 4
    np.testing.assert_allclose(uni.distribution(np.zeros(0)), [1 / 7, 3 / 7, 3 / 7])
    s = uni.score([np.array([0, 1, 2])])
    np.testing.assert_allclose(s.nats, [-math.log(1 / 7), -math.log(3 / 7), -math.log(3 / 7)])
    # 1 and 2 tie: the tie goes to the lower id, so only 1 is a top-1 hit
    assert s.top1.tolist() == [False, True, False]
    assert s.top5.tolist() == [True, True, True]


# Interpolated Witten-Bell, written out. Targets and their contexts (B = BOS):
#   i=0: w=1 after (B,B,B)   i=1: w=2 after (B,B,1)   i=2: w=1 after (B,1,2)   i=3: w=2 after (1,2,1)
# P0 = [1/7, 3/7, 3/7].
# History ...,1,2,1:
#   order 1, context (1):     after it 2, 2     -> C=2, T=1: P1 = (c + P0)/3 = [1/21, 3/21, 17/21]
#   order 2, context (2,1):   after it 2        -> C=1, T=1: P2 = (c + P1)/2 = [1/42, 3/42, 38/42]
#   order 3, context (1,2,1): after it 2        -> C=1, T=1: P3 = (c + P2)/2 = [1/84, 3/84, 80/84]
# History ...,2,2,2 (orders 2 and 3 never seen, so they back off to order 1):
#   order 1, context (2):     after it 1        -> C=1, T=1: P1 = (c + P0)/2 = [1/14, 10/14, 3/14]
# History empty (B,B,B):
#   order 1, (B):     after it 1 -> P1 = (c + P0)/2 = [1/14, 10/14, 3/14]
#   order 2, (B,B):   after it 1 -> P2 = (c + P1)/2 = [1/28, 24/28, 3/28]
#   order 3, (B,B,B): after it 1 -> P3 = (c + P2)/2 = [1/56, 52/56, 3/56]
BOS = V
HAND = {
    (1, 2, 1): [1 / 84, 3 / 84, 80 / 84],
    (2, 2, 2): [1 / 14, 10 / 14, 3 / 14],
    (BOS, BOS, BOS): [1 / 56, 52 / 56, 3 / 56],
}


@pytest.mark.parametrize("context", list(HAND))
def test_four_gram_matches_hand_computed_witten_bell(context):
    ngram = NGramBaseline(V, 4).fit([np.array(STREAM)])
    want = HAND[context]
    np.testing.assert_allclose(ngram.distribution(np.array(context)), want)
    got = ngram.probabilities(np.arange(V), np.array([context] * V))
    np.testing.assert_allclose(got, want)


def test_four_gram_scores_a_stream_from_an_empty_history():
    ngram = NGramBaseline(V, 4).fit([np.array(STREAM)])
    s = ngram.score([np.array([1, 2, 1, 2, 0])])  # target 0 after (B,B,B), target 3 after (1,2,1)
    assert s.nats[0] == pytest.approx(-math.log(52 / 56))
    assert s.nats[3] == pytest.approx(-math.log(80 / 84))
    # 0 after (2,1,2): (2,1,2) unseen; (1,2) followed by 1 once: P2(0) = (0 + P1(0)) / 2 = (1/14) / 2
    assert s.nats[4] == pytest.approx(-math.log(1 / 28))
    assert s.top1[:4].all() and not s.top1[4]


def test_histories_restart_at_every_stream():
    streams = [np.array([1, 2]), np.array([1, 2])]
    ngram = NGramBaseline(V, 4).fit(streams)
    # Nothing ever follows 2 (each stream ends there; joined, 2 would be followed by 1), so after
    # 2 every order backs off to the unigram.
    np.testing.assert_allclose(ngram.distribution(np.array([BOS, 1, 2])),
                               NGramBaseline(V, 1).fit(streams).distribution(np.zeros(0)))


def test_every_distribution_sums_to_one():
    rng = np.random.default_rng(0)
    vocab = 40
    streams = [rng.integers(0, vocab, size=rng.integers(1, 200)) for _ in range(20)]
    ngram = NGramBaseline(vocab, 4).fit(streams)
    for _ in range(50):
        ctx = rng.integers(0, vocab + 1, size=3)
        assert ngram.distribution(ctx).sum() == pytest.approx(1.0)
    # the whole vocabulary, one context at a time, equals the dense distribution
    ctx = streams[0][:3]
    np.testing.assert_allclose(ngram.probabilities(np.arange(vocab), np.tile(ctx, (vocab, 1))),
                               ngram.distribution(ctx))


def test_topk_breaks_ties_towards_the_lower_id():
    assert topk_ids(np.array([0.1, 0.3, 0.3, 0.2, 0.1]), 3).tolist() == [1, 2, 3]
    assert topk_ids(np.array([0.25, 0.25, 0.25, 0.25]), 2).tolist() == [0, 1]


def test_vocabulary_limit_is_clear():
    with pytest.raises(ValueError, match="65535"):
        NGramBaseline(70000, 4)
