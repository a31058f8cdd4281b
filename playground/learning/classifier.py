"""A small noisy classifier p(class | y, level) for classifier guidance, and its step-based trainer.

Trained with cross-entropy on (y = x0 + s*eps, s) -> class of the component x0 was drawn from,
with levels s drawn as the denoiser's training draws them (log-normal around sigma_data). The
network sees y / sqrt(s^2 + sigma_data^2) (unit variance at every level, as the denoiser's c_in)
and Fourier features of log s; guidance takes ∇_y log p(c | y, s) from it by autograd.
"""
from __future__ import annotations

import math
from array import array
from dataclasses import asdict, dataclass

import torch
from torch import nn

from playground.learning.devices import make_optimizer, resolve_device
from playground.maths.budgets import EVAL_CELLS, by_rows, rows_per_pass


@dataclass
class ClassifierConfig:
    n_classes: int = 2
    hidden: int = 64
    depth: int = 3
    noise_freqs: int = 16
    x_freqs: int = 4
    sigma_data: float = 1.0     # set from the target when training starts
    lr: float = 3e-3
    batch: int = 512
    p_mean: float = -0.4        # log-normal levels relative to sigma_data, as the denoiser's TrainConfig
    p_std: float = 1.0
    grad_clip: float = 1.0
    seed: int = 0
    device: str = "auto"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ClassifierConfig":
        return cls(**{k: v for k, v in dict(d).items() if k in cls.__dataclass_fields__})


class NoisyClassifier(nn.Module):
    """Logits of p(class | y, level), y = x/alpha the scale-free noisy point."""

    def __init__(self, config: ClassifierConfig):
        super().__init__()
        self.config = c = config
        self.register_buffer("noise_basis", torch.linspace(0.25, 6.0, c.noise_freqs), persistent=True)
        self.register_buffer("x_octaves", 2.0 ** torch.arange(c.x_freqs, dtype=torch.float32), persistent=True)
        layers, width = [], 2 + 4 * c.x_freqs + 2 * c.noise_freqs
        for _ in range(c.depth):
            layers += [nn.Linear(width, c.hidden), nn.SiLU()]
            width = c.hidden
        layers.append(nn.Linear(width, c.n_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, y: torch.Tensor, level) -> torch.Tensor:
        level = torch.as_tensor(level, dtype=y.dtype, device=y.device).reshape(-1, 1).expand(y.shape[0], 1)
        xin = y / torch.sqrt(level**2 + self.config.sigma_data**2)
        ang = xin[..., None] * self.x_octaves * math.pi / 2
        noise = (torch.log(level) / 4.0) * self.noise_basis * math.pi
        feats = [xin, torch.sin(ang).flatten(1), torch.cos(ang).flatten(1), torch.sin(noise), torch.cos(noise)]
        return self.net(torch.cat(feats, dim=1))


class LearnedClassifier:
    """The guidance interface (log_posterior, grad_log_posterior) over a frozen NoisyClassifier."""
    name = "learned"

    def __init__(self, model: NoisyClassifier):
        self.model = model.eval().requires_grad_(False)
        self.n_classes = model.config.n_classes
        self.device = next(model.parameters()).device

    @torch.no_grad()
    def log_posterior(self, y: torch.Tensor, level: float) -> torch.Tensor:
        return torch.log_softmax(self.model(y.to(self.device).float(), float(level)), dim=1)

    def grad_log_posterior(self, y: torch.Tensor, level: float, label: int) -> torch.Tensor:
        """∇_y log p(label | y, level), on row slices of EVAL_CELLS (point, hidden unit) pairs: the
        backward pass keeps every activation, 300 MB for 200k particles at once (rows are independent)."""
        def grad_of(part):
            yy = part.clone().requires_grad_(True)
            lp = torch.log_softmax(self.model(yy, float(level)), dim=1)[:, int(label)].sum()
            return torch.autograd.grad(lp, yy)[0]
        with torch.enable_grad():
            grad = by_rows(grad_of, rows_per_pass(self.model.config.hidden, EVAL_CELLS),
                           y.detach().to(self.device).float())
        return grad.to(y.dtype)


class ClassifierTrainer:
    """Cross-entropy training in chunks: train(k) runs k steps and returns their losses."""

    def __init__(self, target, config: ClassifierConfig | None = None):
        self.config = c = config or ClassifierConfig()
        if c.lr <= 0 or not math.isfinite(c.lr):
            raise ValueError("learning rate must be a positive number")
        if target.n_groups < 2:
            raise ValueError("a classifier needs a target with at least two classes")
        c.n_classes = int(target.n_groups)
        c.sigma_data = round(target.mixture.data_std(), 4)
        self.target = target
        self.device, note = resolve_device(c.device)
        self.events: list[str] = [note] if note else []
        torch.manual_seed(c.seed)
        self.model = NoisyClassifier(c).to(self.device)
        self.opt = make_optimizer(self.model.parameters(), c.lr)
        self.lr_scale = 1.0
        self.step = 0
        self.losses = array("f")     # every step's loss: 4 bytes each, not a 32-byte Python float
        self._gen = torch.Generator().manual_seed(c.seed + 1)
        self._groups = torch.as_tensor(target.groups, dtype=torch.long)

    def noisy_batch(self, n: int, gen: torch.Generator):
        """(y, level, class): x0 from the target, level log-normal, y = x0 + level*eps."""
        c = self.config
        x0, k = self.target.mixture.sample_with_labels(n, seed=int(torch.randint(2**62, (1,), generator=gen)))
        level = torch.exp(c.p_mean + math.log(c.sigma_data) + c.p_std * torch.randn(n, 1, generator=gen))
        y = x0 + level * torch.randn(n, 2, generator=gen)
        return y.to(self.device), level.to(self.device), self._groups[k].to(self.device)

    def train(self, k: int = 1) -> list[float]:
        out = []
        self.model.train()
        for _ in range(int(k)):
            for g in self.opt.param_groups:
                g["lr"] = self.config.lr * self.lr_scale
            y, level, labels = self.noisy_batch(self.config.batch, self._gen)
            loss = nn.functional.cross_entropy(self.model(y, level), labels)
            if not torch.isfinite(loss):
                self.events.append(f"step {self.step}: non-finite loss; step skipped")
                continue
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
            self.opt.step()
            self.step += 1
            out.append(float(loss.detach()))
        self.losses.extend(out)
        return out

    @torch.no_grad()
    def accuracy(self, n: int = 4000, seed: int = 0) -> dict:
        """Accuracy on fresh noisy points, beside the Bayes-optimal accuracy of the exact posterior
        (the best any classifier can do at those levels: classes overlap once noised)."""
        from playground.maths.classifier_guidance import ExactClassifier
        self.model.eval()
        y, level, labels = self.noisy_batch(int(n), torch.Generator().manual_seed(int(seed) + 77))
        learned = self.model(y, level).argmax(1)
        bayes = ExactClassifier(self.target).log_posterior_per_point(y.cpu(), level.cpu()).argmax(1)
        return {"accuracy": float((learned == labels).float().mean()),
                "bayes_accuracy": float((bayes.to(labels.device) == labels).float().mean())}

    def classifier(self) -> LearnedClassifier:
        import copy
        return LearnedClassifier(copy.deepcopy(self.model))
