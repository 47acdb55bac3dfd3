"""sessionforge: git history -> terminal-session datasets -> recurrent frame-based action models.

The data side (``replay``, ``formats``, ``pipeline``, ``dataset``, ``view``) needs no torch; the
training side (``model``, ``train``, ``tasks``) is installed with the ``train`` extra.
"""

__version__ = "0.1.0"
