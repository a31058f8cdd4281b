"""Ready-made comparisons of the Compare dock, one click each: learned vs exact, a reflow's base vs
its result, and the Pairing tab's independent and OT models beside a reflowed one. Each sets the
panels (sampler, steps, score) of the ComparisonView it is given."""
from __future__ import annotations

from playground.app.features.comparison.compare_panel import NO_EXACT


def learned_vs_exact(view) -> None:
    """Panels 1 and 2 get panel 1's sampler and steps, with the learned and the exact score (a
    reflowed model has no exact counterpart: its base goes beside it instead)."""
    spec = view.panels[0].spec()
    if spec.score == "reflowed model":
        view.panels[1].configure(spec.sampler, spec.steps, "base model")
        view.ui.show_message(f"the reflowed model has {NO_EXACT}; panel 2 shows its base model instead")
    else:
        view.panels[0].configure(spec.sampler, spec.steps, "learned")
        view.panels[1].configure(spec.sampler, spec.steps, "exact")
    if view.panel_count() < 2:
        view.count_spin.setValue(2)


def base_vs_reflowed(view, steps: int = 1) -> None:
    """Four panels from the same noise on the flow schedule: base and reflowed with 50 Euler steps
    (how straight their paths are) and with `steps` steps (what a few steps already give)."""
    if "reflowed model" not in view.models:
        view.ui.show_message("compare: no reflowed model yet (Tools > Reflow the model…)", error=True)
        return
    view.state.update_settings(origin="user", schedule="flow")
    for p, (n, score) in zip(view.panels, ((50, "base model"), (50, "reflowed model"),
                                           (int(steps), "base model"), (int(steps), "reflowed model"))):
        p.configure("ode-euler", n, score)
    view.count_spin.setValue(4)


def couplings_vs_reflow(view, steps: int = 1) -> None:
    """One click: independent, OT and (if any) reflowed models, `steps` Euler steps on the flow
    schedule from the same noise, run at once: does pairing straighten as much as reflow?"""
    scores = [s for s in ("independent model", "OT model", "reflowed model") if s in view.models]
    view.state.update_settings(origin="user", schedule="flow")
    for p, score in zip(view.panels, scores):
        p.configure("ode-euler", int(steps), score)
    view.count_spin.setValue(max(2, len(scores)))
    view.run()
