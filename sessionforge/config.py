"""The one configuration mechanism: dataclasses, YAML/TOML files, ``--set`` overrides.

Every config in sessionforge is a (possibly nested) dataclass with defaults. A config
is built from, in order: the defaults, an optional YAML or TOML file, then
``key.sub=value`` overrides from the command line. Unknown keys and values of the
wrong type are rejected with a :class:`ConfigError` naming the key, so a typo never
silently trains the wrong model. :func:`to_dict` gives the plain dict that is saved
into every dataset and checkpoint, and :func:`from_dict` reads it back.

Example::

    @dataclass
    class Optim:
        lr: float = 3e-4

    @dataclass
    class TrainConfig:
        optim: Optim = field(default_factory=Optim)
        steps: int = 100

    cfg = load_config(TrainConfig, "configs/debug.yaml", ["optim.lr=1e-3"])
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
import types
import typing
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

import yaml

from sessionforge.errors import ConfigError

T = TypeVar("T")


def load_config(cls: type[T], path: str | Path | None = None, overrides: typing.Sequence[str] = (),
                named: dict[str, tuple[str, Any]] | None = None) -> T:
    """Build a ``cls`` config from its defaults, a YAML/TOML file, ``key=value`` overrides
    (``--set``) and then ``named`` values: ``{dotted key: (option name, value)}`` from
    dedicated command-line options such as ``--workers``.

    A rejected value's error names where it came from: the option (``--set a.b=...`` or
    ``--workers``) for a value given on the command line, else the config file.
    """
    data: dict[str, Any] = {}
    if path is not None:
        data = read_config_file(path)
    origins = Origins(str(path) if path else "config")
    for item in overrides:
        key, value = parse_override(item)
        _set_dotted(data, key, value)
        origins.by_key[key] = f"--set {item}"
    for key, (option, value) in (named or {}).items():
        if value is not None:
            _set_dotted(data, key, value)
            origins.by_key[key] = option
    return from_dict(cls, data, source=origins)


@dataclasses.dataclass
class Origins:
    """Where each config key came from, for error messages: the longest matching dotted prefix
    in ``by_key`` wins, else ``default`` (the file, or "config" for defaults)."""

    default: str
    by_key: dict[str, str] = dataclasses.field(default_factory=dict)

    def __call__(self, key: str) -> str:
        parts = key.split("[")[0].split(".")
        for n in range(len(parts), 0, -1):
            label = self.by_key.get(".".join(parts[:n]))
            if label is not None:
                return label
        return self.default


def _src(source: str | Origins, key: str) -> str:
    return source(key) if isinstance(source, Origins) else source


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Read a YAML (``.yaml``/``.yml``) or TOML (``.toml``) file into a dict."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix == ".toml":
            data = tomllib.loads(text)
        else:
            data = yaml.safe_load(text)
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot parse config: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config file must hold a mapping at the top level")
    return data


def parse_override(item: str) -> tuple[str, Any]:
    """Split ``"a.b=value"``; the value is read as YAML (``3`` -> int, ``[1, 2]`` -> list)."""
    if "=" not in item:
        raise ConfigError(f"override {item!r}: expected KEY=VALUE, e.g. model.integrator.hidden=256")
    key, raw = item.split("=", 1)
    key = key.strip()
    if not key:
        raise ConfigError(f"override {item!r}: empty key")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key, value


def _set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    parts = key.split(".")
    node = data
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[parts[-1]] = value


def from_dict(cls: type[T], data: dict[str, Any], source: str | Origins = "config", _prefix: str = "") -> T:
    """Build dataclass ``cls`` from ``data``, rejecting unknown keys and wrong types."""
    if not isinstance(data, dict):
        raise ConfigError(f"{_src(source, _prefix)}: {_prefix or 'config'} must be a mapping, "
                          f"got {type(data).__name__}")
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        where = f"{_prefix}." if _prefix else ""
        known = ", ".join(sorted(fields))
        raise ConfigError(f"{_src(source, where + unknown[0])}: unknown key {where}{unknown[0]!r} "
                          f"(known keys here: {known})")
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        key = f"{_prefix}.{name}" if _prefix else name
        kwargs[name] = _coerce(hints[name], value, source, key)
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{_src(source, _prefix)}: {_prefix or cls.__name__}: {exc}") from None


def _coerce(tp: Any, value: Any, source: str | Origins, key: str) -> Any:
    """Check ``value`` against annotation ``tp``; allow int -> float and list -> tuple."""
    origin = get_origin(tp)
    if tp is Any:
        return value
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, source, key)
    if origin in (Union, types.UnionType):
        args = get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(arg, value, source, key)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(f"{_src(source, key)}: {key}: {value!r} does not match {_type_name(tp)}")
    if origin is Literal:
        if value not in get_args(tp):
            choices = ", ".join(repr(a) for a in get_args(tp))
            raise ConfigError(f"{_src(source, key)}: {key}: {value!r} is not one of {choices}")
        return value
    if origin in (list, tuple, typing.Sequence) or tp in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{_src(source, key)}: {key}: expected a list, got {value!r}")
        args = get_args(tp)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(value):
                raise ConfigError(f"{_src(source, key)}: {key}: expected {len(args)} items, got {len(value)}")
            return tuple(_coerce(a, v, source, f"{key}[{i}]") for i, (a, v) in enumerate(zip(args, value)))
        item_tp = args[0] if args else Any
        items = [_coerce(item_tp, v, source, f"{key}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple or tp is tuple else items
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{_src(source, key)}: {key}: expected a mapping, got {value!r}")
        return dict(value)
    if tp is float:
        if isinstance(value, str):
            # YAML 1.1 reads "1e-3" (no dot) as a string; accept any float literal.
            try:
                return float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{_src(source, key)}: {key}: expected a number, got {value!r}")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{_src(source, key)}: {key}: expected an integer, got {value!r}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{_src(source, key)}: {key}: expected true or false, got {value!r}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{_src(source, key)}: {key}: expected a string, got {value!r}")
        return value
    if isinstance(tp, type) and not isinstance(value, tp):
        raise ConfigError(f"{_src(source, key)}: {key}: expected {tp.__name__}, got {value!r}")
    return value


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def to_dict(cfg: Any) -> dict[str, Any]:
    """A plain, msgpack/JSON/YAML-friendly dict of a config (tuples become lists)."""
    def plain(v: Any) -> Any:
        if dataclasses.is_dataclass(v):
            return {f.name: plain(getattr(v, f.name)) for f in dataclasses.fields(v)}
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {str(k): plain(x) for k, x in v.items()}
        return v
    return plain(cfg)


def parse_frame_size(text: str) -> tuple[int, int]:
    """``"48x160"`` -> (48, 160): rows x columns (the one parser of ``--frame-size``)."""
    m = re.fullmatch(r"\s*([0-9]+)\s*[xX]\s*([0-9]+)\s*", text)
    if not m or int(m.group(1)) < 1 or int(m.group(2)) < 1:
        raise ConfigError(f"frame size {text!r}: expected ROWSxCOLS, e.g. 48x160")
    return int(m.group(1)), int(m.group(2))


def flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    """A nested config dict as ``{"a.b.c": value}`` (for comparing and listing configs)."""
    if not isinstance(d, dict):
        return {prefix: d} if prefix else {}
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        out.update(flatten(v, key) if isinstance(v, dict) else {key: v})
    return out
