"""Step-based training of the denoiser, so a GUI or CLI can drive it in chunks.

Score matching (dsm, Karras et al. 2022): with s ~ logNormal(p_mean, p_std) and y = x0 + s*eps,
    E || F(y, s) - (x0 - m - c_skip(s) (y - m)) / c_out(s) ||^2 (m the data's mean, learning/model),
i.e. the denoising error weighted to unit variance at every level. Flow matching (fm, Lipman et
al. 2023; Liu et al. 2022): with t ~ U(0, 1) (or logit-normal) and x_t = (1-t) x0 + t eps,
    E || v(x_t, t) - (eps - x0) ||^2 / c_v^2,
plain velocity regression (in x0 terms the denoising error weighted by 1/t^2). Reflow trains the
same loss on fixed couplings (x0, eps) instead of independent draws (set_couplings); `coupling`
instead reorders each fresh batch's noise to pair it with its data (minibatch OT, learning/couplings).
AdamW, EMA weights, gradient clipping; a non-finite or exploding loss restores the last good
weights and halves the learning rate instead of poisoning the model. One high loss is skipped, not
called a divergence: at batch 1 the loss is a single heavy-tailed draw, and only a run of
SPIKES_TO_DIVERGE in a row (or a non-finite loss) is a blow-up. The rate never goes below
MIN_LR; diverging there ends in one `stalled` event instead of halving forever.

Conditional training (classifier-free guidance, Ho & Salimans 2022): each sample carries the
class of the component it was drawn from (target.groups), replaced by the null label with
probability label_dropout, so one network learns both D(y, s, c) and the unconditional D(y, s).
"""
from __future__ import annotations

import copy
import math
from array import array
from dataclasses import asdict, dataclass, field

import torch

from playground.learning.couplings import DEFAULT_OT_BATCH, DEFAULT_OT_REG, check_coupling, pair_batch
from playground.learning.dataset import training_set
from playground.learning.devices import in_chunks, make_optimizer, resolve_device
from playground.learning.model import ModelConfig, build_model
from playground.learning.stable_target import StableTarget
from playground.maths.parametrization import eps_from_x0, velocity_from_x0_eps
from playground.maths.sources import ModelSource

T_SAMPLINGS = ("uniform", "logit-normal")
GOOD_SNAPSHOT_EVERY = 25
DIVERGED_LOSS = 1e6
DIVERGED_FACTOR = 20.0    # the weighted loss is O(1) at every level; 20x its running mean is a blow-up
SPIKES_TO_DIVERGE = 5     # consecutive losses above that before it counts (batch noise is never 5 in a row)
MEAN_SAMPLES = 256        # the running mean averages about this many samples, whatever the batch
MIN_LR = 1e-5             # the learning-rate floor (the window's smallest setting)


@dataclass
class TrainConfig:
    # 8e-3 with 100 warm-up steps: swiss_roll needed ~1000 steps to reach quality against ~1150 at
    # 4e-3 (6 seeds); 1.2e-2 and above lost seeds to instability (3700 steps).
    lr: float = 8e-3
    batch: int = 1024
    ema: float = 0.995
    # > 0: a power-function EMA (Karras et al. 2024) instead, decay (1 - 1/t)^(ema_power + 1) at step t:
    # it averages the last ~1/(ema_power + 1) of a run whatever its length (budgeted runs, train_loop).
    ema_power: float = 0.0
    weight_decay: float = 1e-5
    warmup: int = 100
    grad_clip: float = 1.0
    # Log-normal noise levels relative to sigma_data. Narrower than EDM's image setting (-1.2, 1.2):
    # swiss_roll reached 1.5x the SW2 floor in 4.7/6.2/6.3 s (seeds 0-2) with (-0.4, 1.0), against
    # 11-13 s with (-0.8, 1.6); the levels a 2D sampler depends on are within a decade of sigma_data.
    p_mean: float = -0.4
    p_std: float = 1.0
    seed: int = 0
    device: str = "auto"
    dataset_size: int | None = None   # None: fresh exact samples; N: "roll the dice N times"
    conditional: bool = False         # learn D(y, s, class) too (for classifier-free guidance)
    label_dropout: float = 0.1        # conditional: probability a label is replaced by the null one
    # fm: how t is drawn, "uniform" or "logit-normal" (logit t ~ N(0, 1), SD3's choice for images).
    # Uniform reached the floor in as few or fewer steps on spiral, eight_gaussians, loaded_dice
    # (SW2/floor 1.20 vs 1.56 on spiral and 1.14 vs 1.34 on eight_gaussians after 250 steps); the
    # samplers' Karras levels sit mostly near t = 0 and t = 1, which logit-normal rarely draws.
    t_sampling: str = "uniform"
    # fm: how each batch pairs noise with data (learning/couplings.py): "independent", "ot", "sinkhorn"
    # or "ot-global"; ot_batch bounds the pairs solved at once, ot_reg is sinkhorn's regularisation.
    coupling: str = "independent"
    ot_batch: int = DEFAULT_OT_BATCH
    ot_reg: float = DEFAULT_OT_REG
    # Regress on the batch's posterior mean of x0 instead of each point's own x0 (learning/
    # stable_target): less noisy targets where modes overlap. Off for open-ended training, whose
    # loss the window plots against the plain loss's exact floor; on in BUDGET_RECIPE.
    stable_target: bool = False
    model: ModelConfig = field(default_factory=ModelConfig)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        """A saved config (sessions, tours): a model saved before data_mean existed is uncentred, not
        "to be centred on the target", so the Trainer does not fill it in under weights that never had it."""
        data = dict(data)
        saved = dict(data.pop("model", {}))
        saved.setdefault("data_mean", [0.0, 0.0])
        model = ModelConfig(**{k: v for k, v in saved.items() if k in ModelConfig.__dataclass_fields__})
        return cls(model=model, **{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


class Trainer:
    def __init__(self, target, config: TrainConfig | None = None):
        self.config = config or TrainConfig()
        c = self.config
        if c.lr <= 0 or not math.isfinite(c.lr):
            raise ValueError("learning rate must be a positive number")
        if not (1 <= c.batch <= 1_000_000):
            raise ValueError("batch must be between 1 and 1000000")
        if c.dataset_size is not None and c.dataset_size < 1:
            raise ValueError("training-set size must be at least 1")
        if not (0.0 <= c.label_dropout <= 1.0):
            raise ValueError("label dropout must be between 0 and 1")
        if c.t_sampling not in T_SAMPLINGS:
            raise ValueError(f"t sampling must be one of {', '.join(T_SAMPLINGS)}, got {c.t_sampling!r}")
        check_coupling(c.coupling, c.model.objective, c.ot_batch, c.ot_reg)
        if c.conditional and c.model.n_classes < target.n_groups:
            c.model.n_classes = int(target.n_groups)
        self.device, note = resolve_device(c.device)
        self.events: list[str] = [note] if note else []
        torch.manual_seed(c.seed)
        if c.model.sigma_data <= 0 or c.model.sigma_data == ModelConfig.sigma_data:
            c.model.sigma_data = round(target.mixture.data_std(), 4)
        if c.model.data_mean is None and c.model.objective == "dsm":
            c.model.data_mean = [round(float(v), 4) for v in target.mixture.mean()]
        self.model = build_model(c.model).to(self.device)
        self.ema_model = copy.deepcopy(self.model).requires_grad_(False)
        # Listed once: walking the modules for .parameters() three times a step cost ~0.1 ms of ~2.7.
        self._params, self._ema_params = list(self.model.parameters()), list(self.ema_model.parameters())
        self.opt = make_optimizer(self._params, c.lr, c.weight_decay)
        self.lr = c.lr
        self.lr_scale = 1.0           # a caller with a known budget may anneal it towards the end
        self.step = 0
        self.losses = array("f")     # every step's loss: 4 bytes each, not a 32-byte Python float
        self._loss_mean = None        # running mean of recent good losses
        self._loss_best = math.inf    # lowest running mean: a slow blow-up cannot drag the yardstick up
        self._spikes = 0              # consecutive losses far above the yardstick
        self.stalled = False          # diverged again at MIN_LR: training is not making progress
        self._gen = torch.Generator(device="cpu").manual_seed(c.seed + 1)
        self._stable = StableTarget(c.model.sigma_data) if c.stable_target else None
        self._good = self._snapshot()
        self.set_target(target)

    # ----- data -----------------------------------------------------------------------------
    def set_target(self, target, dataset_size: int | None | str = "keep") -> None:
        """Train on a new target from the current weights (warm start)."""
        if dataset_size != "keep":
            self.config.dataset_size = dataset_size
        self.target = target
        self._loss_mean, self._loss_best = None, math.inf    # a new target has its own loss level
        self._spikes, self._since_reset, self.stalled = 0, 0, False
        n = self.config.dataset_size
        self.dataset = self.dataset_labels = self.couplings = None
        if n:
            x, k = training_set(target, n, self.config.seed)
            self.dataset = x.to(self.device)
            self.dataset_labels = self._labels(k) if self.config.conditional else None
        if self.config.conditional and target.n_groups > self.model.config.n_classes:
            self.events.append(f"the target has {target.n_groups} classes but the conditional model "
                               f"{self.model.config.n_classes}: the extra classes train as unlabelled; "
                               "reset to rebuild the model")

    def set_couplings(self, x0: torch.Tensor, noise: torch.Tensor) -> None:
        """Train on these fixed (x0, eps) pairs, row by row (reflow), instead of independent draws."""
        if self.model.config.objective != "fm":
            raise ValueError("couplings need a flow-matching model")
        if x0.shape != noise.shape or x0.ndim != 2 or len(x0) < 1:
            raise ValueError(f"couplings need two (N, 2) arrays of one shape, "
                             f"got {tuple(x0.shape)} and {tuple(noise.shape)}")
        self.couplings = (x0.to(self.device, torch.float32), noise.to(self.device, torch.float32))
        self._loss_mean, self._loss_best = None, math.inf

    def _labels(self, components: torch.Tensor) -> torch.Tensor:
        """Class of each sampled component; classes the model has no label for become null."""
        groups = torch.as_tensor(self.target.groups, dtype=torch.long)[components]
        n_classes = self.model.config.n_classes
        return torch.where(groups < n_classes, groups, torch.full_like(groups, n_classes)).to(self.device)

    def _training_batch(self) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """x0, labels (None unless conditional) and eps (None: drawn fresh by the loss)."""
        if self.couplings is None:
            return (*self._labelled_batch(), None)
        idx = torch.randint(len(self.couplings[0]), (self.config.batch,), generator=self._gen).to(self.device)
        return self.couplings[0][idx], None, self.couplings[1][idx]

    def _labelled_batch(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """A batch of x0 and, when conditional, their class labels (None otherwise)."""
        b = self.config.batch
        if self.dataset is not None:
            idx = torch.randint(len(self.dataset), (b,), generator=self._gen).to(self.device)
            return self.dataset[idx], (None if self.dataset_labels is None else self.dataset_labels[idx])
        seed = int(torch.randint(2**62, (1,), generator=self._gen))
        if not self.config.conditional:
            return self.target.sample(b, seed=seed).to(self.device), None
        x, k = self.target.mixture.sample_with_labels(b, seed=seed)
        return x.to(self.device), self._labels(k)

    def _batch(self) -> torch.Tensor:
        return self._labelled_batch()[0]

    # ----- weights ----------------------------------------------------------------------------
    def _snapshot(self) -> dict:
        return {"model": copy.deepcopy(self.model.state_dict()), "ema": copy.deepcopy(self.ema_model.state_dict()),
                "opt": copy.deepcopy(self.opt.state_dict())}

    def _restore(self, snap: dict) -> None:
        self.model.load_state_dict(snap["model"])
        self.ema_model.load_state_dict(snap["ema"])
        self.opt.load_state_dict(snap["opt"])

    def warm_start(self, weights: dict) -> None:
        """Start both the model and its EMA from these weights (a compatible network's state_dict)."""
        self.model.load_state_dict(weights)
        self.ema_model.load_state_dict(weights)
        self._good = self._snapshot()

    def set_lr(self, lr: float) -> None:
        if lr <= 0 or not math.isfinite(lr):
            raise ValueError("learning rate must be a positive number")
        self.lr = self.config.lr = float(lr)
        self.stalled, self._spikes = False, 0

    def _lr_now(self) -> float:
        return self.lr * self.lr_scale * min(1.0, (self.step + 1) / max(1, self.config.warmup))

    def loss_fn(self, x0: torch.Tensor, labels: torch.Tensor | None = None,
                noise: torch.Tensor | None = None) -> torch.Tensor:
        """The objective's loss on a batch; eps is drawn fresh unless given (reflow's couplings).
        Noise paired with its data (given, or by a coupling) keeps its own x0 as the target."""
        c = self.config
        stable = self._stable is not None and noise is None and c.coupling == "independent"
        if self.model.config.objective == "fm":
            t = self._flow_times(len(x0))
            noise = self._paired(x0, self._noise(x0), labels) if noise is None else noise
            return self._flow_loss(x0, noise, t, self._dropped(labels), (labels,) if stable else None)
        sd = self.model.config.sigma_data
        log_s = c.p_mean + math.log(sd) + c.p_std * torch.randn(len(x0), 1, generator=self._gen)
        s = torch.exp(log_s).to(self.device)
        y = x0 + s * (self._noise(x0) if noise is None else noise)
        rows = self._dropped(labels)
        aim = self._stable(x0, y, 1.0, s, labels, rows, self.model.config.n_classes) if stable else x0
        _, c_out, _ = self.model.precond(s)
        target = (aim - self.model.skip(y, s)) / c_out
        return ((in_chunks(self.model.raw, self.model.config.hidden, y, s, rows) - target) ** 2).sum(1).mean()

    def _noise(self, x0: torch.Tensor) -> torch.Tensor:
        return torch.randn(x0.shape, generator=self._gen).to(self.device)

    def _paired(self, x0: torch.Tensor, noise: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """The fresh noise reordered to pair with x0 by the configured coupling (as drawn: independent)."""
        c = self.config
        if c.coupling == "independent":
            return noise
        return noise[pair_batch(x0, noise, c.coupling, labels, c.ot_batch, c.ot_reg, self._gen)]

    def _dropped(self, labels: torch.Tensor | None) -> torch.Tensor | None:
        """Conditional training: each label becomes the null one with probability label_dropout."""
        if labels is None:
            return None
        drop = (torch.rand(len(labels), generator=self._gen) < self.config.label_dropout).to(labels.device)
        return torch.where(drop, torch.full_like(labels, self.model.config.n_classes), labels)

    def _flow_times(self, n: int) -> torch.Tensor:
        """t in (0, 1) for each sample, (n, 1): uniform, or logistic of a standard normal."""
        if self.config.t_sampling == "logit-normal":
            return torch.sigmoid(torch.randn(n, 1, generator=self._gen)).to(self.device)
        return torch.rand(n, 1, generator=self._gen).to(self.device)

    def _flow_loss(self, x0, noise, t, rows, stable=None) -> torch.Tensor:
        """|| v(x_t, t) - (eps - x0) ||^2 / c_v^2 on x_t = (1-t) x0 + t eps; stable = (classes,): with
        the batch's posterior means of x0 and eps instead (not below t = 1e-3, where eps = (x_t -
        (1-t) x0)/t would amplify rounding and only the own x0 has weight anyway)."""
        x_t = (1 - t) * x0 + t * noise
        if stable is not None:
            aim = self._stable(x0, x_t, 1 - t, t, stable[0], rows, self.model.config.n_classes)
            far = t >= 1e-3
            x0, noise = torch.where(far, aim, x0), torch.where(far, eps_from_x0(x_t, aim, 1 - t, t.clamp(min=1e-3)), noise)
        target = velocity_from_x0_eps(x0, noise, -1.0, 1.0)
        err = (in_chunks(self.model.velocity, self.model.config.hidden, x_t, t, rows) - target) / self.model.velocity_scale()
        return (err**2).sum(1).mean()

    def train(self, k: int = 1) -> list[float]:
        """Run k optimiser steps; returns their losses (a diverged step is reported in events)."""
        out = []
        self.model.train()
        for _ in range(int(k)):
            for g in self.opt.param_groups:
                g["lr"] = self._lr_now()
            loss = self.loss_fn(*self._training_batch())
            value = float(loss.detach())
            verdict = self._diverged(value)
            if verdict == "spike":            # one outlier: skip its update, keep going
                continue
            if verdict:
                self._recover(value)
                break
            # These weights just produced a healthy loss: they are the ones worth going back to.
            # (Snapshotting after opt.step() could keep an update that has already blown up.)
            if self.step % GOOD_SNAPSHOT_EVERY == 0 and self._healthy(value) and self._weights_finite():
                self._good = self._snapshot()
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(self._params, self.config.grad_clip)
            if not torch.isfinite(grad_norm):
                self._recover(float("nan"))
                break
            self.opt.step()
            self._update_ema()
            self.step += 1
            out.append(value)
            rate = min(0.05, self.config.batch / MEAN_SAMPLES)
            self._loss_mean = value if self._loss_mean is None else (1 - rate) * self._loss_mean + rate * value
            self._since_reset += 1
            if self._since_reset > max(50, 2 / rate):      # the mean has settled: it may be the yardstick
                self._loss_best = min(self._loss_best, self._loss_mean)
        self.losses.extend(out)
        return out

    def _diverged(self, value: float):
        """True for a blow-up, "spike" for one loss far above the yardstick, False for a normal one."""
        if not math.isfinite(value) or value > DIVERGED_LOSS:
            return True
        if self.step > 50 and value > DIVERGED_FACTOR * self._loss_best:
            self._spikes += 1
            return True if self._spikes >= SPIKES_TO_DIVERGE else "spike"
        self._spikes = 0
        return False

    def _healthy(self, value: float) -> bool:
        return self._loss_mean is None or value < 2.0 * self._loss_best

    def _weights_finite(self) -> bool:
        return all(torch.isfinite(p).all() for p in self.model.parameters())

    def _recover(self, value: float) -> None:
        self._restore(self._good)
        self._spikes = 0
        if self.lr <= MIN_LR:
            if not self.stalled:
                self.stalled = True
                self.events.append(f"step {self.step}: training stopped making progress: the loss keeps diverging "
                                   f"even at the smallest learning rate ({MIN_LR:g}); the last good weights are kept")
            return
        self.lr = max(MIN_LR, self.lr * 0.5)
        self.events.append(f"step {self.step}: loss {value:.3g} diverged; restored the last good weights "
                           f"and lowered the learning rate to {self.lr:.3g}")

    @torch.no_grad()
    def _update_ema(self) -> None:
        c = self.config
        decay = ((1 - 1 / (self.step + 1)) ** (c.ema_power + 1) if c.ema_power > 0
                 else min(c.ema, (1 + self.step) / (10 + self.step)))
        torch._foreach_lerp_(self._ema_params, self._params, 1 - decay)

    def source(self, device=None) -> ModelSource:
        """A frozen copy of the EMA weights for samplers (training may continue)."""
        return ModelSource(self.ema_model, device=device)

    # ----- persistence ----------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Everything the next step depends on: weights, optimiser, step, lr, the generator that draws
        every batch, noise level and label drop (`rng`), and the divergence guard (`guard`), so
        training resumed from it takes the very steps it would have taken (except a divergence
        before the next good snapshot, which restores the loaded weights rather than older ones)."""
        return {"config": self.config.to_dict(), "model": self.model.state_dict(),
                "ema": self.ema_model.state_dict(), "optimizer": self.opt.state_dict(),
                "step": self.step, "lr": self.lr, "rng": self._gen.get_state(), "guard": self.guard_state()}

    def guard_state(self) -> dict:
        """The divergence guard's scalars, JSON-able (an infinite yardstick is None)."""
        best = self._loss_best if math.isfinite(self._loss_best) else None
        return {"loss_mean": self._loss_mean, "loss_best": best, "spikes": self._spikes,
                "since_reset": self._since_reset, "stalled": self.stalled, "lr_scale": self.lr_scale}

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.ema_model.load_state_dict(state["ema"])
        if "optimizer" in state:
            self.opt.load_state_dict(state["optimizer"])
        self.step = int(state.get("step", 0))
        self.lr = float(state.get("lr", self.lr))
        if state.get("rng") is not None:          # older states have none: the seed's stream restarts
            self._gen.set_state(state["rng"])
        guard = state.get("guard") or {}
        if "loss_mean" in guard:
            self._loss_mean = None if guard["loss_mean"] is None else float(guard["loss_mean"])
        if "loss_best" in guard:
            self._loss_best = math.inf if guard["loss_best"] is None else float(guard["loss_best"])
        self._spikes = int(guard.get("spikes", self._spikes))
        self._since_reset = int(guard.get("since_reset", self._since_reset))
        self.stalled = bool(guard.get("stalled", self.stalled))
        self.lr_scale = float(guard.get("lr_scale", self.lr_scale))
        self._good = self._snapshot()
