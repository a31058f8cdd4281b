"""Cancelling long work: the exception a progress callback's False turns into, shared by every layer.

Long computations (likelihood, ELBO, quality sweeps, sampler runs) take `progress(fraction) -> bool`;
a False answer means "stop": they raise Cancelled, which the caller (a thread, the CLI) treats as
an ordinary end, not an error.
"""
from __future__ import annotations


class Cancelled(Exception):
    """The caller asked to stop (a progress callback returned False, or a stop event was set)."""
