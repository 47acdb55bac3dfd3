"""The optimizer (``optim.name``): AdamW, or Muon for the hidden weight matrices and AdamW for the rest.

Muon (``torch.optim.Muon``: momentum, then the update orthogonalised by a Newton-Schulz
iteration) takes the 2-D weights that map one hidden representation to another: the Linear
weights of the frame head (the lift, every Transformer block's qkv/proj/MLP, the output map)
and every 2-D weight of the integrator (the LSTM's input and recurrent gate matrices, each
taken whole with its four gates stacked; the baselines' projections). AdamW takes the rest:
the cell embedding's tables and maps (inputs), the conv kernels (the first one, or the
pointwise patch stem, reads the cell vectors: an input layer too, and 4-D), the position
table, norms, biases and the action head (an output layer). Muon's learning rate is
``optim.lr`` scaled per matrix by ``0.2 * sqrt(max(rows, cols))`` (``adjust_lr_fn=
"match_rms_adamw"``), so one schedule drives both; its weight decay is ``optim.weight_decay``.

``adamw`` is a plain ``torch.optim.AdamW`` (checkpoints as before); ``muon`` is a
:class:`MuonAdamW` whose state dict holds both optimizers' states.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from sessionforge.errors import ConfigError
from sessionforge.train.config import OptimConfig

# 2-D parameters of these parts go to Muon, but for these names (a table, not a map).
MUON_PARTS = ("frame_head.", "integrator.")
NOT_MUON = ("frame_head.pos",)


def muon_names(model: nn.Module) -> list[str]:
    """Names of the parameters Muon takes (see the module doc)."""
    return [name for name, p in model.named_parameters()
            if p.ndim == 2 and name.startswith(MUON_PARTS) and name not in NOT_MUON]


def _adamw(params: list[nn.Parameter], o: OptimConfig) -> torch.optim.AdamW:
    # Decay matrices (and embeddings); not biases, norm gains or the cursor vector.
    decay = [p for p in params if p.dim() >= 2]
    rest = [p for p in params if p.dim() < 2]
    return torch.optim.AdamW(
        [{"params": decay, "weight_decay": o.weight_decay}, {"params": rest, "weight_decay": 0.0}],
        lr=o.lr, betas=tuple(o.betas), eps=o.eps,
    )


class MuonAdamW:
    """Muon for some parameters and AdamW for the others, used as one optimizer.

    ``param_groups`` lists both optimizers' groups (the loop sets every group's ``lr``);
    ``state_dict()`` is ``{"muon": ..., "adamw": ...}``.
    """

    def __init__(self, muon: torch.optim.Optimizer, adamw: torch.optim.AdamW) -> None:
        self.muon, self.adamw = muon, adamw

    @property
    def param_groups(self) -> list[dict[str, Any]]:
        """Every parameter group of both optimizers."""
        return [*self.muon.param_groups, *self.adamw.param_groups]

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear both optimizers' gradients."""
        self.muon.zero_grad(set_to_none=set_to_none)
        self.adamw.zero_grad(set_to_none=set_to_none)

    def step(self) -> None:
        """One step of each."""
        self.muon.step()
        self.adamw.step()

    def state_dict(self) -> dict[str, Any]:
        """Both states (tensors and numbers only: loadable with ``weights_only=True``)."""
        return {"muon": self.muon.state_dict(), "adamw": self.adamw.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`'s output."""
        if not (isinstance(state, dict) and set(state) == {"muon", "adamw"}):
            raise ValueError("not a Muon + AdamW optimizer state (was the run trained with optim.name adamw?)")
        self.muon.load_state_dict(state["muon"])
        self.adamw.load_state_dict(state["adamw"])


def build_optimizer(model: nn.Module, o: OptimConfig) -> torch.optim.AdamW | MuonAdamW:
    """The optimizer ``o.name`` asks for, over every parameter of ``model``."""
    if o.name == "adamw":
        return _adamw(list(model.parameters()), o)
    muon_cls = getattr(torch.optim, "Muon", None)
    if muon_cls is None:
        raise ConfigError(f"optim.name muon needs torch.optim.Muon (torch >= 2.9; this is torch {torch.__version__})")
    names = set(muon_names(model))
    hidden = [p for n, p in model.named_parameters() if n in names]
    rest = [p for n, p in model.named_parameters() if n not in names]
    muon = muon_cls(hidden, lr=o.lr, weight_decay=o.weight_decay, momentum=o.muon_momentum,
                    adjust_lr_fn="match_rms_adamw")
    return MuonAdamW(muon, _adamw(rest, o))
