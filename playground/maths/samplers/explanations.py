"""The one sampler-info table: what each sampler is called, does and shows, in words. It feeds the
sampler combos' labels and tooltips, the explanation panel and the CLI; a new sampler adds one entry.
The ideas behind the training objectives and reflow are in CONCEPTS.

Notation shared by all entries, the scale-free frame of samplers.py: y = x/α = x₀ + s·ε with
noise level s = σ/α; D(y, s) is the denoised estimate E[x₀ | y]; the score is (D − y)/s²;
s → s' is one step to the next (lower) level; z ~ N(0, I) is fresh noise at each step.
"""
from __future__ import annotations

from dataclasses import dataclass

from playground.maths.samplers import SAMPLERS

NOTATION = ("y = x/α = x₀ + s·ε,  s = σ/α;  D = D(y, s) ≈ E[x₀ | y];  score = (D − y)/s²;  "
            "s → s' one step down;  z ~ N(0, I) fresh each step")


@dataclass(frozen=True)
class Explanation:
    """Everything said about one sampler, written once: the combo label, the one-line tooltip, the
    update rule and what to look for (the explanation panel, `explain`), and the eta flag."""
    label: str         # the name shown in combos and lists
    tooltip: str       # the update in one line (combo item tooltips)
    rule: str          # the update written out, one formula per line
    look_for: str      # one or two sentences: what this sampler shows on the canvas
    uses_eta: bool = False     # takes the DDIM noise knob η


EXPLANATIONS: dict[str, Explanation] = {
    "langevin": Explanation(
        'Langevin (one level)', 'y ← y + η·score_σ(y) + √(2η)·z at one small σ, from N(0, I)',
        "y ← y + η·score(y, σ) + √(2η)·z\n"
        "one small fixed σ (0.1), η = σ², started from N(0, I); steps = total updates",
        "Without annealing a particle falls into the mode nearest its start and almost never crosses "
        "the low-density gaps, so modes come out with the wrong weights (watch the weight bars); "
        "more steps barely help — it mixes between modes extremely slowly."),
    "annealed-langevin": Explanation(
        'Annealed Langevin', 'at each level s: 2× y ← y + η·score + √(2η)·z (η = 0.1·s²), then shrink the noise to the next level',
        "at each level s (high → low):  2 × [ y ← y + η·score(y, s) + √(2η)·z ],  η = 0.1·s²\n"
        "then move to the next level:  y ← D + (s'/s)·(y − D)",
        "Annealing fixes plain Langevin: at high noise the modes overlap, so particles are shared out "
        "by weight before the landscape sharpens, and the weights come out right. It is stochastic, "
        "so it needs a fair number of levels to look clean."),
    "ddpm": Explanation(
        'DDPM (ancestral)', "x_{s'} ~ q(x_{s'} | x_s, x0 = D(x_s)): posterior mean + posterior noise",
        "y' ~ q(y' | y, x₀ = D):  y' = D + √(s'² − c²)·(y − D)/s + c·z\n"
        "c = s'·√(1 − s'²/s²)   (DDIM with η = 1)",
        "Ancestral and stochastic: each step re-injects fresh noise, which forgives earlier errors but "
        "needs many steps — at 10 steps the cloud is still blurry; compare it with DDIM at the same steps."),
    "ddim": Explanation(
        'DDIM (η)', "y' = D + √(s'²−c²)·ε̂ + c·z,  c = η·s'·√(1−s'²/s²);  η=0 deterministic",
        "y' = D + √(s'² − c²)·ε̂ + c·z,   ε̂ = (y − D)/s\n"
        "c = η·s'·√(1 − s'²/s²);   η = 0: deterministic, η = 1: DDPM",
        "With η = 0 DDIM is exactly the probability-flow ODE's Euler step in this frame (identical "
        "paths to ode-euler); particles move along smooth deterministic curves and keep their starting colour order.",
        uses_eta=True),
    "gradient-estimation": Explanation(
        "Gradient estimation (γ, μ)",
        "ε̄ = γ·ε̂ + (1−γ)·ε̂_prev;  y' = y − (s−s_p)·ε̄ + √(s'²−s_p²)·z,  s_p = (s'/s^μ)^(1/(1−μ));  γ=1, μ=0 is DDIM",
        "ε̂ᵢ = (y − D(y, sᵢ))/sᵢ,   ε̄ = γ·ε̂ᵢ + (1 − γ)·ε̂ᵢ₋₁   (first step: ε̄ = ε̂₀)\n"
        "y' = y − (s − s_p)·ε̄ + √(s'² − s_p²)·z,   s_p = (s'/s^μ)^(1/(1−μ));   γ = 1, μ = 0: DDIM",
        "Read the denoiser as a projection: D(y, s) is roughly the nearest point of the data, so "
        "s·ε̂ = y − D points from the data to the particle and DDIM is gradient descent on the distance "
        "to the data, one step per level. Each ε̂ is a noisy estimate of that direction; γ = 2 "
        "extrapolates from the last one, like momentum, to cancel the part that lags behind. Watch "
        "the modes at 10 steps: sharper than DDIM's at the same cost."),
    "ode-euler": Explanation(
        'PF-ODE, Euler', "y' = y + (s'−s)·(y − D(y,s))/s",
        "y' = y + (s' − s)·(y − D(y, s))/s\n"
        "first-order step on dy/ds = (y − D)/s",
        "The plain first-order ODE step: error shrinks like 1/steps, so at few steps samples are pulled "
        "too far in or smeared between modes; it needs 50 or more steps for fine structure."),
    "ode-heun": Explanation(
        'PF-ODE, Heun (2nd order)', "Euler predictor, then average the slopes at s and s'",
        "ỹ = y + (s' − s)·d,   d = (y − D(y, s))/s\n"
        "y' = y + (s' − s)·(d + d̃)/2,   d̃ = (ỹ − D(ỹ, s'))/s'   (last step to 0: Euler)",
        "Second order (EDM's sampler): two evaluations per step but the error falls like 1/steps², so "
        "10–20 steps already look like the target; at very few steps the predictor can overshoot."),
    "ode-rk45": Explanation(
        'PF-ODE, adaptive RK45', 'Dormand–Prince with error control on dy/dlog s = y − D (steps ignored)',
        "Dormand–Prince 5(4) on dy/du = y − D(y, eᵘ),  u = log s\n"
        "adaptive step size from an error estimate; the steps setting is ignored",
        "The reference ODE solution: it picks its own steps to a set tolerance, so its quality does not "
        "change with the steps setting — read its NFE to see what accuracy costs."),
    "dpm-solver++": Explanation(
        'DPM-Solver++(2M)', "y' = (s'/s)·y − (e^{−h}−1)·D̃,  D̃ extrapolates the last two D's, h = log(s/s')",
        "y' = (s'/s)·y − (e^(−h) − 1)·D̃,   h = log(s/s')\n"
        "D̃ = (1 + 1/2r)·D − (1/2r)·D_prev,   r = h_prev/h   (2M: multistep)",
        "Solves the linear part exactly and extrapolates the denoised estimate from the last two steps, "
        "so it is second order at one evaluation per step: the best of these at 5–15 steps."),
    "sde-euler": Explanation(
        'Reverse SDE, Euler–Maruyama', "y' = y + (s²−s'²)·score + √(s²−s'²)·z",
        "y' = y + (s² − s'²)·score(y, s) + √(s² − s'²)·z\n"
        "Euler–Maruyama on the reverse SDE; last step jumps to D",
        "The reverse SDE drifts twice as hard as the ODE and adds noise back; it converges more slowly "
        "than the ODE solvers (weak order 1) and looks noisy at few steps, but corrects its own errors with many."),
}


DENOISED_LINE = ("x̂₀ (the faint dots) = E[x₀ | x_t], the denoiser's guess of the clean point behind each "
                 "particle; Tweedie: score = (α·x̂₀ − x)/σ², so the thin line points along the score.")


def info(name: str) -> Explanation:
    """The table entry; a sampler registered in maths.samplers without one is named only."""
    if name not in SAMPLERS:
        raise ValueError(f"unknown sampler {name!r} (one of {', '.join(SAMPLERS)})")
    return EXPLANATIONS.get(name) or Explanation(name, name, name, "")


def kind(name: str) -> str:
    return "stochastic" if SAMPLERS[name].stochastic else "deterministic"


def label(name: str) -> str:
    return info(name).label


def tooltip(name: str) -> str:
    """Label, stochastic or deterministic, and the one-line rule (combo items, the sampler combo)."""
    e = info(name)
    return f"{e.label} ({kind(name)})\n{e.tooltip}"


def explain(name: str) -> str:
    """Plain text: label, the update rule, what to look for."""
    e = info(name)
    return f"{e.label} ({kind(name)})\n\n{e.rule}\n\n{e.look_for}\n\nNotation: {NOTATION}"


def explain_html(name: str) -> str:
    """The same as rich text for a QLabel/QTextBrowser (rule in a monospace block)."""
    from html import escape

    e = info(name)
    rule = "<br>".join(escape(line) for line in e.rule.splitlines())
    return (f"<b>{escape(e.label)}</b> <i>({kind(name)})</i>"
            f"<p style='font-family:monospace'>{rule}</p>"
            f"<p>{escape(e.look_for)}</p>"
            f"<p>{escape(DENOISED_LINE)}</p>"
            f"<p style='color:gray'><small>{escape(NOTATION)}</small></p>")


@dataclass(frozen=True)
class Concept:
    label: str
    tooltip: str       # one line for a control
    rule: str          # the maths, one formula per line
    look_for: str      # the idea in plain words, and what the canvas shows


CONCEPTS: dict[str, Concept] = {
    "score-matching": Concept(
        "Score matching (dsm)",
        "Learn to denoise: the network guesses the clean point behind a noisy one, which gives the score.",
        "y = x₀ + s·ε,  s ~ log-normal\n"
        "loss: ‖D(y, s) − x₀‖², weighted to equal difficulty at every s;   score = (D − y)/s²",
        "The network never sees a path: it learns, level by level, which clean point a noisy point most "
        "likely came from. Samplers then turn that denoised guess into steps."),
    "flow-matching": Concept(
        "Flow matching (fm)",
        "Learn a velocity: which way, and how fast, a point on the line from data to noise is moving.",
        "x_t = (1 − t)·x₀ + t·ε,  t ~ U(0, 1)\n"
        "loss: ‖v(x_t, t) − (ε − x₀)‖²;   denoised = x_t − t·v",
        "Each training pair is joined by a straight line, and the network is asked for the direction of "
        "travel ε − x₀ at a point along it. One point lies on many such lines, so it learns their average "
        "direction: a velocity field whose flow carries the data distribution to noise and back. It is "
        "the same information as a denoiser (one line of algebra converts them), so every sampler runs "
        "on it unchanged."),
    "reflow": Concept(
        "Reflow (rectified flow)",
        "Retrain on the model's own noise → sample pairs, so the new paths are nearly straight.",
        "z ~ N(0, I),  x = ODE_base(z)   (the base model's deterministic sample from z)\n"
        "train fm on x_t = (1 − t)·x + t·z with target z − x",
        "The first model's lines are drawn between random noise and random data, so they cross; where "
        "they cross the learned velocity averages directions and the ODE paths bend. Reflow keeps the "
        "pairs the ODE actually produced: paths of an ODE never cross, so the new straight lines hardly "
        "do either, and the averaged velocity is nearly the line's own direction. The reflowed model "
        "copies its base's pairing (errors included), so it has no exact counterpart."),
    "straight-paths": Concept(
        "Why straight paths need fewer steps",
        "A straight path is followed exactly by one Euler step; curvature is what costs steps.",
        "Euler: x' = x + Δt·v(x, t);   error per step ∝ Δt² × (how fast v changes along the path)\n"
        "straightness = |x_K − x₀| / Σ|x_{k+1} − x_k|  (1 = a straight line)",
        "A solver assumes the velocity stays as it is for the length of a step. On a straight path it "
        "does, so one big step lands where many small ones would; on a bent path each step overshoots "
        "the bend and the errors add up. Watch the one-step sample: a curved model collapses towards "
        "the mean, a reflowed one already lands on the target's shape."),
}


def concept_html(name: str) -> str:
    """One concept as rich text (the maths in a monospace block), for the explanation panel."""
    from html import escape

    c = CONCEPTS[name]
    rule = "<br>".join(escape(line) for line in c.rule.splitlines())
    return f"<b>{escape(c.label)}</b><p style='font-family:monospace'>{rule}</p><p>{escape(c.look_for)}</p>"


def explain_concept(name: str) -> str:
    """Plain text of one concept: label, the maths, the idea."""
    if name not in CONCEPTS:
        raise ValueError(f"unknown concept {name!r} (one of {', '.join(CONCEPTS)})")
    c = CONCEPTS[name]
    return f"{c.label}\n\n{c.rule}\n\n{c.look_for}"
