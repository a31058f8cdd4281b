"""A ModelSource evaluates its network on row slices of EVAL_CELLS (maths/budgets.py): a sampler step
on 200k particles at width 1024 held 2.6 GB of activations at once. The slices must not change a
single output: plain, with one label, with a label per row (guidance's doubled batch)."""
import torch

from playground.learning.model import ModelConfig, build_model
from playground.maths import sources
from playground.maths.guidance import GuidedSource
from playground.maths.sources import ModelSource


def _model(**config):
    torch.manual_seed(0)
    model = build_model(ModelConfig(hidden=32, **config))
    with torch.no_grad():           # a non-zero last layer: the network's part of the output is compared too
        model.net[-1].weight.normal_(std=0.5)
    return model


def _calls(model) -> list[int]:
    sizes = []
    model.register_forward_hook(lambda module, args, out: sizes.append(len(args[0])))
    return sizes


def test_a_large_batch_runs_in_slices_and_gives_the_whole_batch_answer(monkeypatch):
    model = _model(data_mean=[0.5, -0.25])
    y = torch.randn(1000, 2) * 2
    whole = ModelSource(model).denoise(y, 0.7)
    monkeypatch.setattr(sources, "EVAL_CELLS", 32 * 128)          # 128 rows a slice
    source = ModelSource(model)
    sizes = _calls(source.model)
    sliced = source.denoise(y, 0.7)
    assert sizes == [128] * 7 + [104]
    assert torch.allclose(sliced, whole, atol=1e-6) and source.nfe == 1


def test_a_small_batch_is_one_call(monkeypatch):
    monkeypatch.setattr(sources, "EVAL_CELLS", 32 * 128)
    source = ModelSource(_model())
    sizes = _calls(source.model)
    source.denoise(torch.randn(128, 2), 1.0)
    assert sizes == [128]


def test_labels_follow_their_rows_through_the_slices(monkeypatch):
    model = _model(n_classes=3)
    y = torch.randn(300, 2)
    labels = torch.randint(0, 4, (300,), generator=torch.Generator().manual_seed(1))    # 3: the null label
    whole = ModelSource(model).evaluate(y, 0.5, labels)
    one_class = ModelSource(model, label=1).denoise(y, 0.5)
    guided = GuidedSource(model, label=2, scale=3.0).denoise(y, 0.5)
    monkeypatch.setattr(sources, "EVAL_CELLS", 32 * 64)
    assert torch.allclose(ModelSource(model).evaluate(y, 0.5, labels), whole, atol=1e-6)
    assert torch.allclose(ModelSource(model).evaluate(y, 0.5, labels.tolist()), whole, atol=1e-6)
    assert torch.allclose(ModelSource(model, label=1).denoise(y, 0.5), one_class, atol=1e-6)
    assert torch.allclose(GuidedSource(model, label=2, scale=3.0).denoise(y, 0.5), guided, atol=1e-6)
    # and the per-row labels really matter: the null label everywhere gives another answer
    assert not torch.allclose(ModelSource(model).evaluate(y, 0.5, torch.full((300,), 3)), whole, atol=1e-3)


def test_the_learned_classifiers_gradient_runs_in_slices_and_is_the_whole_gradient(monkeypatch):
    """Classifier guidance's backward pass kept every activation of all particles (300 MB at 200k)."""
    from playground.learning import classifier
    torch.manual_seed(0)
    net = classifier.NoisyClassifier(classifier.ClassifierConfig(n_classes=3, hidden=32))
    learned = classifier.LearnedClassifier(net)
    y = torch.randn(500, 2, dtype=torch.float64) * 2
    whole = learned.grad_log_posterior(y, 0.4, 2)
    monkeypatch.setattr(classifier, "EVAL_CELLS", 32 * 128)
    sizes = _calls(net)
    sliced = learned.grad_log_posterior(y, 0.4, 2)
    assert sizes == [128, 128, 128, 116] and sliced.dtype == torch.float64
    assert torch.allclose(sliced, whole, atol=1e-6) and float(whole.abs().max()) > 1e-3
