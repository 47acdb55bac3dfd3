"""Triton LSTM kernels for sessionforge (import name ``sessionforge_kernels``).

``lstm_sequence`` (Triton; CUDA, or ``TRITON_INTERPRET=1`` on a CPU) and
``reference.lstm_reference`` (plain torch) share one signature:
``(x_proj (T, B, 4H), w_hh (4H, H), bias (4H,), h0 (B, H), c0 (B, H)) -> (y (T, B, H), (h_T, c_T))``.
Design notes: ``kernels/README.md``.
"""

from .common import LSTMKernelConfig
from .function import lstm_sequence
from .reference import lstm_reference

__all__ = ["lstm_sequence", "lstm_reference", "LSTMKernelConfig"]
