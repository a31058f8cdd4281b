"""The fixed training set of "roll the dice N times": one function, so that the trainer and
whoever inspects what it trained on (`memorisation`, the memorisation sweep) draw the same points.
"""
from __future__ import annotations

import torch

DATASET_SEED_OFFSET = 7     # the training set's draw stays apart from the weights' and batches' seeds


def training_set(target, size: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The `size` exact samples a Trainer with dataset_size=size and this seed trains on, float32
    (size, 2) on the CPU, and the mixture component each was drawn from (size,)."""
    size = int(size)
    if size < 1:
        raise ValueError("training-set size must be at least 1")
    return target.mixture.sample_with_labels(size, seed=int(seed) + DATASET_SEED_OFFSET)
