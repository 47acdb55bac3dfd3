"""Synthetic recurrence tasks and the reports that test FBAM's two claims.

- ``frjt`` / ``maze``: seeded generators of Forward-Referencing Jumps and Withheld
  Maze Position Tracking streams (exact definitions in ``TASKS.md``);
- ``runner`` / ``results``: train each backbone per stream size n, accuracy vs n
  (``sessionforge bench recurrence``);
- ``scaling`` / ``scaling_report``: fit loss(L) = A * L^-alpha over training runs that
  differ in window length (``sessionforge report scaling``).
"""
