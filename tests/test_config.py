"""The one config mechanism: defaults, files, overrides, strict keys and types."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Optional

import pytest

from sessionforge.config import from_dict, load_config, parse_override, to_dict
from sessionforge.errors import ConfigError


@dataclass
class Optim:
    lr: float = 3e-4
    betas: tuple[float, float] = (0.9, 0.95)


@dataclass
class Cfg:
    steps: int = 10
    name: str = "run"
    device: Literal["cpu", "cuda"] = "cpu"
    window: Optional[int] = None
    tags: list[str] = field(default_factory=list)
    flag: bool = False
    optim: Optim = field(default_factory=Optim)


def test_defaults_without_file_or_overrides():
    assert load_config(Cfg) == Cfg()


def test_yaml_file_then_overrides_win(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("steps: 5\noptim:\n  lr: 0.1\ntags: [a, b]\n")
    cfg = load_config(Cfg, path, ["optim.lr=1e-3", "window=128", "device=cuda"])
    assert cfg.steps == 5
    assert cfg.optim.lr == pytest.approx(1e-3)
    assert cfg.window == 128
    assert cfg.device == "cuda"
    assert cfg.tags == ["a", "b"]


def test_toml_file(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('steps = 7\n[optim]\nbetas = [0.8, 0.9]\n')
    cfg = load_config(Cfg, path)
    assert cfg.steps == 7 and cfg.optim.betas == (0.8, 0.9)


@pytest.mark.parametrize(
    "override, fragment",
    [
        ("stepz=3", "unknown key 'stepz'"),
        ("optim.lrr=3", "unknown key optim.'lrr'"),
        ("steps=abc", "steps: expected an integer"),
        ("steps=true", "steps: expected an integer"),
        ("flag=1", "flag: expected true or false"),
        ("device=tpu", "device: 'tpu' is not one of"),
        ("optim.betas=[1, 2, 3]", "expected 2 items"),
        ("optim=3", "optim must be a mapping"),
        ("no_equals_sign", "expected KEY=VALUE"),
    ],
)
def test_bad_overrides_are_rejected_with_the_key(override, fragment):
    with pytest.raises(ConfigError, match=None) as info:
        load_config(Cfg, None, [override])
    assert fragment in str(info.value)


def test_int_is_accepted_for_float_and_kept_numeric():
    cfg = load_config(Cfg, None, ["optim.lr=1"])
    assert isinstance(cfg.optim.lr, float) and cfg.optim.lr == 1.0


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(Cfg, tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("steps: [unclosed\n")
    with pytest.raises(ConfigError, match="cannot parse"):
        load_config(Cfg, bad)
    top_list = tmp_path / "list.yaml"
    top_list.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="mapping at the top level"):
        load_config(Cfg, top_list)


def test_round_trip_through_plain_dict():
    cfg = load_config(Cfg, None, ["tags=[x]", "optim.betas=[0.5, 0.6]", "window=9"])
    plain = to_dict(cfg)
    assert plain["optim"]["betas"] == [0.5, 0.6]  # tuples become lists: YAML/msgpack friendly
    assert from_dict(Cfg, plain) == cfg


def test_parse_override_types():
    assert parse_override("a=3") == ("a", 3)
    assert parse_override("a.b=hello") == ("a.b", "hello")
    assert parse_override("a=") == ("a", "")
    assert parse_override("a=[1, 2]") == ("a", [1, 2])
