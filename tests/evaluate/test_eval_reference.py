"""Eval's streamed numbers equal a plain full forward pass over the same frames."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from sessionforge.dataset import ShardSet, read_manifest
from sessionforge.dataset.splits import select_split
from sessionforge.evaluate.runner import EvalSettings, evaluate
from sessionforge.formats import open_shard
from sessionforge.model.config import IntegratorConfig
from sessionforge.model.embedding import FrameInputs
from sessionforge.model.fbam import FBAM
from sessionforge.model.tokenizer import build_tokenizer
from sessionforge.train.bptt import chunk_loss
from train.trainkit import tiny_model_config

L = 12


def _model(kind: str, vocab: int) -> FBAM:
    cfg = tiny_model_config(8, 32, layers=1)
    cfg.integrator = IntegratorConfig(kind=kind, hidden=8, layers=1, heads=2, lstm_impl="torch")
    torch.manual_seed(0)
    return FBAM(cfg, vocab).double().eval()


def _settings(**kw) -> EvalSettings:
    base = dict(window=L, stream_windows=3, chunk=5, frame_chunk=2, batch=3, carry=True, frames=20 * L, seed=0,
                buckets=4)
    base.update(kw)
    return EvalSettings(**base)


def _reference(model: FBAM, shards: ShardSet, tok, units, carry: bool):
    """Per-target nats, top-1, top-5, the targets and the action bytes: one plain forward per unit
    (or per window without carry), each session's frames read straight from its shard."""
    nats, top1, top5, targets, nbytes = [], [], [], [], 0
    for u in units:
        with open_shard(shards.paths[u.ref.shard]) as r:
            fr = r.read_frames(u.ref.session, u.start, u.start + u.windows * L + 1)
        acts = [fr.action(t) for t in range(len(fr))]
        T = u.windows * L
        x = FrameInputs(*(torch.from_numpy(np.ascontiguousarray(a[:T])).unsqueeze(1) for a in (
            fr.chars.view(np.int32), fr.fg, fr.bg, fr.attrs, fr.cursor)),
            torch.from_numpy(shards.palette(u.ref)).unsqueeze(0))  # (T, 1, R, C)
        with torch.no_grad():
            if carry:
                logits, _ = model(x)  # (T, 1, V): the whole unit in one pass
            else:
                logits = torch.cat([model(x.slice(w * L, (w + 1) * L))[0] for w in range(u.windows)])
        tgt = np.concatenate([tok.frame_targets(acts[w * L : w * L + L + 1])[0] for w in range(u.windows)])
        logp = torch.log_softmax(logits[:, 0].double(), dim=-1)  # (T, V)
        nats.append(-logp[torch.arange(T), torch.from_numpy(tgt)].numpy())
        best = logits[:, 0].topk(5, dim=-1).indices.numpy()  # (T, 5)
        top1.append(best[:, 0] == tgt)
        top5.append((best == tgt[:, None]).any(axis=1))
        targets.append(tgt)
        nbytes += sum(len(a) for w in range(u.windows) for a in acts[w * L + 1 : w * L + L + 1])
    return (np.concatenate(nats), np.concatenate(top1), np.concatenate(top5), np.concatenate(targets), nbytes)


@pytest.mark.parametrize("kind, carry", [("lstm", True), ("lstm", False), ("linear-rnn", True),
                                         ("transformer", False)])
def test_streamed_eval_equals_a_full_forward(split_data, kind, carry):
    shards = ShardSet(split_data)
    manifest = read_manifest(split_data)
    train = select_split(shards, manifest, "train")
    tok = build_tokenizer(shards.action_streams(), 420)
    model = _model(kind, tok.vocab_size)
    res = evaluate(model, tok, shards, select_split(shards, manifest, "val"), train, _settings(carry=carry),
                   chunk_loss, split="val")
    # some groups of 3 lanes hold units of different lengths: lanes drop out mid-group
    groups = [{u.windows for u in res.units[g : g + 3]} for g in range(0, len(res.units), 3)]
    assert any(len(g) > 1 for g in groups) and res.report["windows"] == 20
    nats, top1, top5, targets, nbytes = _reference(model, shards, tok, res.units, carry)
    np.testing.assert_array_equal(res.targets, targets)
    np.testing.assert_allclose(res.scores["model"].nats, nats, rtol=1e-10, atol=1e-10)
    np.testing.assert_array_equal(res.scores["model"].top1, top1)
    np.testing.assert_array_equal(res.scores["model"].top5, top5)
    got = res.report["predictors"]["model"]
    assert res.report["action_bytes"] == nbytes
    assert got["cross_entropy"] == pytest.approx(nats.mean(), rel=1e-10)
    assert got["bits_per_byte"] == pytest.approx(nats.sum() / math.log(2) / nbytes, rel=1e-10)
    assert got["top1"] == pytest.approx(top1.mean()) and got["top5"] == pytest.approx(top5.mean())
    pos = np.tile(np.arange(L), len(targets) // L)
    assert got["loss_by_position"][0] == pytest.approx(nats[pos < 3].mean(), rel=1e-10)


def test_baselines_score_the_same_targets_and_fit_on_train_only(split_data):
    shards = ShardSet(split_data)
    manifest = read_manifest(split_data)
    tok = build_tokenizer(shards.action_streams(), 420)
    res = evaluate(_model("lstm", tok.vocab_size), tok, shards, select_split(shards, manifest, "val"),
                   select_split(shards, manifest, "train"), _settings(), chunk_loss)
    n = len(res.targets)
    assert all(len(s.nats) == n for s in res.scores.values())
    # train: 4 sessions of 160 frames -> 13 windows of 12 each
    assert res.report["baselines"]["train_targets"] == 4 * 13 * L
    uni = res.report["predictors"]["unigram"]
    assert uni["cross_entropy"] == pytest.approx(res.scores["unigram"].nats.mean())
    # a typist's keys are predictable from the keys before them: the 4-gram beats the unigram
    assert res.report["predictors"]["ngram"]["cross_entropy"] < uni["cross_entropy"]
    assert sum(res.report["class_counts"].values()) == n


def test_same_seed_same_numbers_other_seed_other_frames(split_data):
    shards = ShardSet(split_data)
    manifest = read_manifest(split_data)
    tok = build_tokenizer(shards.action_streams(), 420)
    val, train = select_split(shards, manifest, "val"), select_split(shards, manifest, "train")
    model = _model("lstm", tok.vocab_size)
    a = evaluate(model, tok, shards, val, train, _settings(frames=5 * L, seed=1), chunk_loss)
    b = evaluate(model, tok, shards, val, train, _settings(frames=5 * L, seed=1), chunk_loss)
    c = evaluate(model, tok, shards, val, train, _settings(frames=5 * L, seed=2), chunk_loss)
    assert a.report == b.report
    np.testing.assert_array_equal(a.scores["model"].nats, b.scores["model"].nats)
    assert a.units != c.units
