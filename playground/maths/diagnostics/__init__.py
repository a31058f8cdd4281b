"""Diagnostics of a denoiser against the exact answers: loss by noise level (loss_by_level) and
memorisation of a finite training set (memorisation). GUI-free; the views and the CLI call these."""
