"""optim.name muon: which parameters Muon takes, and a Muon run resumes exactly."""

from __future__ import annotations

import shutil

import pytest
import torch

from sessionforge.config import load_config
from sessionforge.errors import ConfigError
from sessionforge.model.fbam import FBAM
from sessionforge.train.checkpoint import list_checkpoints
from sessionforge.train.config import TrainConfig
from sessionforge.train.loop import train
from sessionforge.train.optim import MuonAdamW, build_optimizer, muon_names
from trainkit import tiny_model_config, tiny_run_config

pytestmark = pytest.mark.skipif(not hasattr(torch.optim, "Muon"), reason="torch.optim.Muon needs torch >= 2.9")


def test_muon_takes_the_hidden_matrices_and_adamw_the_rest():
    model = FBAM(tiny_model_config(8, 32, layers=2), 50)
    names = set(muon_names(model))
    assert {"frame_head.lift.weight", "frame_head.out.weight", "frame_head.blocks.0.qkv.weight",
            "frame_head.blocks.0.proj.weight", "frame_head.blocks.0.ffn.0.weight", "frame_head.blocks.0.ffn.2.weight",
            "integrator.w_ih.0", "integrator.w_hh.0", "integrator.w_ih.1", "integrator.w_hh.1"} == names
    opt = build_optimizer(model, TrainConfig().optim.__class__(name="muon"))
    assert isinstance(opt, MuonAdamW)
    in_muon = {id(p) for g in opt.muon.param_groups for p in g["params"]}
    in_adamw = {id(p) for g in opt.adamw.param_groups for p in g["params"]}
    assert not in_muon & in_adamw and in_muon | in_adamw == {id(p) for p in model.parameters()}
    for kind in ("transformer", "linear-rnn"):  # the baselines' projections are hidden matrices too
        cfg = tiny_model_config(8, 32, layers=1)
        cfg.integrator.kind, cfg.integrator.heads = kind, 2
        picked = muon_names(FBAM(cfg, 50))
        assert any(n.startswith("integrator.") for n in picked)
        assert all(p.ndim == 2 for n, p in FBAM(cfg, 50).named_parameters() if n in picked)


def test_optimizer_name_is_checked():
    with pytest.raises(ConfigError, match="optim.name"):
        load_config(TrainConfig, "configs/debug.yaml", ["optim.name=sgd"])


def _muon_config(**loop):
    cfg = tiny_run_config(**loop)
    cfg.optim.name = "muon"
    cfg.optim.lr = 2e-2
    return cfg


def test_muon_run_resumes_to_the_same_next_losses(tiny_data, tmp_path):
    run = tmp_path / "run"
    straight = train(_muon_config(steps=5, checkpoint_every=2), tiny_data, run).losses
    state = torch.load(list_checkpoints(run)[0] / "optimizer.pt", weights_only=True)
    assert set(state) == {"muon", "adamw"} and state["muon"]["state"]  # momentum buffers saved
    for p in list_checkpoints(run)[1:]:
        shutil.rmtree(p)
    resumed = train(_muon_config(steps=5, checkpoint_every=2), tiny_data, run, resume=True).losses
    assert resumed == straight[2:]


def test_muon_trains_and_differs_from_adamw(tiny_data, tmp_path):
    muon = train(_muon_config(steps=6, checkpoint_every=100), tiny_data, tmp_path / "muon").losses
    adamw_cfg = tiny_run_config(steps=6, checkpoint_every=100)
    adamw_cfg.optim.lr = 2e-2
    adamw = train(adamw_cfg, tiny_data, tmp_path / "adamw").losses
    assert muon[0] == adamw[0]  # the same first step: the optimizers act after it
    assert muon != adamw and all(x == x for x in muon)
