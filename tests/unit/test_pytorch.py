"""from_pytorch: torch modules compile to code that matches torch's own output."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import xtvm
from xtvm.errors import XTVMError


def test_missing_torch_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` fail
    with pytest.raises(XTVMError, match="pip install torch"):
        xtvm.from_pytorch(object(), ())


torch = pytest.importorskip("torch")
nn = torch.nn


class SmallCnn(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1),
            nn.BatchNorm2d(8),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1),
            nn.ReLU(),
            nn.AvgPool2d(2),
        )
        self.fc = nn.Linear(16 * 4 * 4, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.features(x), 1))


class Recognizer(nn.Module):
    """A CRNN-style head: a bidirectional LSTM over a sequence, then a per-step classifier."""

    def __init__(self) -> None:
        super().__init__()
        self.rnn = nn.LSTM(12, 16, bidirectional=True)
        self.fc = nn.Linear(32, 5)

    def forward(self, x):
        y, _ = self.rnn(x)
        return self.fc(y)


def _randomize(module: nn.Module) -> nn.Module:
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.3)
        for m in module.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
    return module.eval()


@pytest.mark.parametrize(
    "module,shape", [(SmallCnn(), (2, 3, 16, 16)), (Recognizer(), (9, 1, 12))], ids=["cnn", "lstm"]
)
def test_matches_torch(module, shape):
    module = _randomize(module)
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        want = module(x).numpy()
    mod = xtvm.from_pytorch(module, (x,), input_names=["x"])
    got = xtvm.build(mod)(x=x.numpy())
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
