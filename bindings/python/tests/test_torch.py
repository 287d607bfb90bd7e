"""Parity with PyTorch: every supported module and function, composite
models, float64, and the cases the exporter must refuse."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import mle_runtime
from mle_runtime import MLEUnsupportedError

RTOL32, ATOL32 = 1e-5, 1e-6
RTOL64, ATOL64 = 1e-12, 1e-12
BATCHES = (1, 7, 0)


def randomize(module: nn.Module, seed: int = 0) -> nn.Module:
    """Random weights everywhere (LayerNorm starts at ones/zeros, which would
    hide a swapped scale and bias)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64).to(p.dtype))
    return module


def roundtrip(module: nn.Module, tmp_path, shape: tuple[int, ...], *, dtype: Any = np.float32,
              batches: tuple[int, ...] = BATCHES, example_input: Any = None) -> mle_runtime.Model:
    """Exports, loads, and compares with module(x) on random batches."""
    path = tmp_path / "m.mle"
    kw = {} if dtype is np.float32 else {"dtype": dtype}
    mle_runtime.dump(module.eval(), path, example_input=example_input, **kw)
    m = mle_runtime.load(path)
    rtol, atol = (RTOL32, ATOL32) if dtype is np.float32 else (RTOL64, ATOL64)
    rng = np.random.default_rng(1)
    for n in batches:
        x = rng.standard_normal((n, *shape)).astype(dtype)
        with torch.no_grad():
            want = module(torch.from_numpy(x))
        got = m(x)
        want = want if isinstance(want, tuple) else (want,)
        got = got if isinstance(got, tuple) else (got,)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert g.dtype == np.dtype(dtype) and g.shape == tuple(w.shape)
            np.testing.assert_allclose(g, w.numpy(), rtol=rtol, atol=atol)
    return m


class Fn(nn.Module):
    """Linear(6, 5) followed by a function: covers the functional forms in a plain forward()."""

    def __init__(self, fn: Callable[[torch.Tensor], Any]) -> None:
        super().__init__()
        self.fc = nn.Linear(6, 5)
        self.fn = fn

    def forward(self, x: torch.Tensor) -> Any:
        return self.fn(self.fc(x))


# ------------------------------------------------------------------ layers

LAYERS = {
    "Identity": nn.Identity(),
    "ReLU": nn.ReLU(),
    "ReLU-inplace": nn.ReLU(inplace=True),
    "LeakyReLU": nn.LeakyReLU(0.2),
    "GELU": nn.GELU(),
    "GELU-tanh": nn.GELU(approximate="tanh"),
    "Sigmoid": nn.Sigmoid(),
    "Tanh": nn.Tanh(),
    "Softmax": nn.Softmax(dim=1),
    "Softmax-neg": nn.Softmax(dim=-1),
    "LogSoftmax": nn.LogSoftmax(dim=1),
    "LayerNorm": nn.LayerNorm(5, eps=1e-3),
    "LayerNorm-no-affine": nn.LayerNorm(5, elementwise_affine=False),
    "LayerNorm-no-bias": nn.LayerNorm(5, bias=False),
    "Dropout": nn.Dropout(0.5),
    "Flatten": nn.Flatten(),
    "Linear": nn.Linear(5, 3),
    "Linear-no-bias": nn.Linear(5, 3, bias=False),
}


@pytest.mark.parametrize("name", LAYERS)
def test_layer(name: str, tmp_path) -> None:
    model = randomize(nn.Sequential(nn.Linear(6, 5), LAYERS[name]))
    m = roundtrip(model, tmp_path, (6,))
    assert [(s.name, s.shape) for s in m.inputs] == [("input", (-1, 6))]
    assert [s.name for s in m.outputs] == ["output"]


FUNCTIONS = {
    "torch.relu": torch.relu,
    "F.relu": F.relu,
    "F.relu-inplace": lambda x: F.relu(x, inplace=True),
    "Tensor.relu": lambda x: x.relu(),
    "torch.sigmoid": torch.sigmoid,
    "F.sigmoid": F.sigmoid,
    "torch.tanh": torch.tanh,
    "F.tanh": F.tanh,
    "F.gelu": F.gelu,
    "F.gelu-tanh": lambda x: F.gelu(x, approximate="tanh"),
    "F.leaky_relu": lambda x: F.leaky_relu(x, 0.3),
    "F.softmax": lambda x: F.softmax(x, dim=1),
    "F.log_softmax": lambda x: F.log_softmax(x, dim=-1),
    "torch.softmax": lambda x: torch.softmax(x, 1),
    "Tensor.log_softmax": lambda x: x.log_softmax(-1),
    "F.dropout-eval": lambda x: F.dropout(x, 0.3, training=False),
    "add-scalar": lambda x: x + 1.5,
    "rsub-scalar": lambda x: 2 - x,
    "mul-self": lambda x: x * x,
    "div-scalar": lambda x: x / 4,
    "rdiv": lambda x: 3 / (x * x + 1),
    "torch.add": lambda x: torch.add(x, x),
    "torch.sub": lambda x: torch.sub(x, 0.5),
    "torch.mul": lambda x: torch.mul(x, 2),
    "torch.div": lambda x: torch.div(x, 3),
    "Tensor.add": lambda x: x.add(1),
    "Tensor.sub-mul-div": lambda x: x.sub(x.mul(2)).div(3),
    "torch.cat": lambda x: torch.cat([x, x * 2], dim=1),
    "torch.cat-tuple-neg": lambda x: torch.cat((torch.relu(x), x), -1),
    "flatten-noop": lambda x: x.flatten(1),
    "tuple-out": lambda x: (x, torch.sigmoid(x)),
    # refused by the torch.fx exporter, exact through torch.export
    "torch.sin": torch.sin,
    "add-alpha": lambda x: torch.add(x, x, alpha=2),
    "indexing": lambda x: x[:, 1:4:2],
    "view-merges-batch": lambda x: x.view(-1, 1),
    "flatten-batch": lambda x: torch.flatten(x),
    "softmax-implicit-dim": lambda x: nn.Softmax()(x),
}


@pytest.mark.parametrize("name", FUNCTIONS)
def test_function(name: str, tmp_path) -> None:
    roundtrip(randomize(Fn(FUNCTIONS[name])), tmp_path, (6,))


# ------------------------------------------------------------ composites

def test_mlp_classifier(tmp_path) -> None:
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 3), nn.LogSoftmax(dim=1))
    m = roundtrip(model, tmp_path, (8,))
    props = m.metadata["properties"]
    assert props["mle.task"] == "torch" and props["mle.torch_module"] == "Sequential"
    assert props["mle.methods"] == "{}"
    assert m.metadata["producer"] == {"name": "pytorch", "version": torch.__version__}


class Block(nn.Module):
    """Pre-norm transformer-style MLP block with a residual, then a head."""

    def __init__(self, d: int = 8) -> None:
        super().__init__()
        self.ln = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, 4 * d)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(4 * d, d)
        self.drop = nn.Dropout(0.1)
        self.head = nn.Linear(d, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x + self.drop(self.fc2(self.act(self.fc1(self.ln(x)))))
        return self.head(F.relu(h))


def test_gelu_layernorm_residual_block(tmp_path) -> None:
    roundtrip(randomize(Block()), tmp_path, (8,))


def test_nested_sequential(tmp_path) -> None:
    model = nn.Sequential(
        nn.Sequential(nn.Linear(6, 8), nn.Tanh()),
        nn.Sequential(nn.Sequential(nn.Linear(8, 4), nn.Sigmoid()), nn.Identity()),
        nn.Linear(4, 2),
    )
    roundtrip(model, tmp_path, (6,))


def test_flatten_with_example_input(tmp_path) -> None:
    model = nn.Sequential(nn.Flatten(), nn.Linear(6, 4), nn.ReLU())
    m = roundtrip(model, tmp_path, (2, 3), example_input=np.zeros((1, 2, 3), np.float32))
    assert m.inputs[0].shape == (-1, 2, 3)


def test_partial_flatten_and_3d_linear(tmp_path) -> None:
    # Flatten(2, 3) becomes a Reshape; Linear on a 3-D tensor becomes MatMul + Add.
    model = randomize(nn.Sequential(nn.Flatten(2, 3), nn.Linear(12, 3), nn.LayerNorm(3), nn.Flatten()))
    roundtrip(model, tmp_path, (2, 3, 4), example_input=torch.zeros(5, 2, 3, 4))


class TwoBranches(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(6, 3)
        self.b = nn.Linear(6, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([F.relu(self.a(x)), torch.tanh(self.b(x))], dim=1)


def test_cat_of_branches(tmp_path) -> None:
    roundtrip(TwoBranches(), tmp_path, (6,))


class Views(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(6, 12)
        self.scale = nn.Parameter(torch.randn(4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.fc(x).view(-1, 3, 4) * self.scale  # a parameter used directly
        h = F.softmax(h, dim=-1)
        h = h.reshape(x.size(0), -1) + h.view(x.shape[0], 3 * 4)
        return torch.reshape(h, (-1, 2, 6)).flatten(1)


def test_view_reshape(tmp_path) -> None:
    # torch itself cannot view a 0-row batch as (-1, ...), so no 0 rows here.
    m = roundtrip(Views(), tmp_path, (6,), batches=(1, 7))
    assert m(np.zeros((0, 6), np.float32)).shape == (0, 12)


def test_tuple_outputs(tmp_path) -> None:
    model = Fn(lambda x: (x, F.softmax(x, dim=1), F.log_softmax(x, dim=1)))
    m = roundtrip(model, tmp_path, (6,))
    assert [s.name for s in m.outputs] == ["output_0", "output_1", "output_2"]


def test_training_mode_is_exported_as_eval(tmp_path) -> None:
    model = nn.Sequential(nn.Linear(6, 5), nn.Dropout(0.9), nn.ReLU()).train()
    mle_runtime.dump(model, tmp_path / "m.mle")
    assert model.training and model[1].training  # modes restored
    x = np.random.default_rng(0).standard_normal((4, 6)).astype(np.float32)
    with torch.no_grad():
        want = model.eval()(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(mle_runtime.load(tmp_path / "m.mle")(x), want, rtol=RTOL32, atol=ATOL32)


def test_float64(tmp_path) -> None:
    model = randomize(nn.Sequential(nn.Linear(8, 16), nn.GELU(), nn.LayerNorm(16), nn.Linear(16, 4),
                                    nn.Tanh(), nn.Linear(4, 3), nn.Softmax(dim=1))).double()
    m = roundtrip(model, tmp_path, (8,), dtype=np.float64)
    assert m.inputs[0].dtype == np.float64
    roundtrip(randomize(Block()).double(), tmp_path, (8,), dtype=np.float64)


def test_export_pytorch(tmp_path) -> None:
    model = nn.Sequential(nn.Flatten(), nn.Linear(6, 2))
    info = mle_runtime.export_pytorch(model.eval(), tmp_path / "m.mle", torch.zeros(1, 2, 3))
    assert info.inputs[0].shape == (-1, 2, 3) and info.outputs[0].shape == (-1, 2)
    x = np.ones((3, 2, 3), np.float32)
    with torch.no_grad():
        want = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(mle_runtime.load(info.path)(x), want, rtol=RTOL32, atol=ATOL32)
    with pytest.raises(MLEUnsupportedError):
        mle_runtime.export_pytorch(object(), tmp_path / "x.mle")


class ScaledLinear(nn.Linear):
    """A user subclass: fx traces into its forward() (F.linear, then Mul)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x) * 2


def test_inplace_updates_through_aliases(tmp_path) -> None:
    # torch.export functionalizes: what torch computes, aliasing included.
    roundtrip(randomize(ModifiesShared()), tmp_path, (3,))
    roundtrip(randomize(AliasedUpdate()), tmp_path, (3,))


def test_two_inputs(tmp_path) -> None:
    model = randomize(TwoInputs())
    rng = np.random.default_rng(0)
    x, y = (rng.standard_normal((4, 3)).astype(np.float32) for _ in range(2))
    mle_runtime.dump(model.eval(), tmp_path / "m.mle", example_input=(x, y))
    m = mle_runtime.load(tmp_path / "m.mle")
    assert [s.name for s in m.inputs] == ["x", "y"]
    with torch.no_grad():
        want = model(torch.from_numpy(x), torch.from_numpy(y)).numpy()
    np.testing.assert_allclose(m(x, y), want, rtol=RTOL32, atol=ATOL32)


def test_user_subclass_is_traced_through(tmp_path) -> None:
    roundtrip(nn.Sequential(ScaledLinear(6, 3), nn.ReLU()), tmp_path, (6,))


# ----------------------------------------------------------- unsupported

class TwoInputs(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 3)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.fc(x) + y


class ModifiesShared(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.fc(x)
        return a + F.relu(a, inplace=True)  # torch adds relu(a) to itself


class AliasedUpdate(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.fc(x)
        y = nn.functional.dropout(h, 0.1, self.training)  # the same tensor as h in eval
        y += 1  # fx records y = y + 1, torch updates h too
        return h + y


UNSUPPORTED = {
    "torch.sort": (Fn(lambda x: torch.sort(x, 1).values), None, "torch op aten.sort (node 'sort'"),
    "two-inputs-no-example": (TwoInputs(), None, "takes 2 inputs"),
    "no-Linear-no-example": (nn.Sequential(nn.ReLU()), None, "example_input"),
    "dropout-training": (Fn(lambda x: F.dropout(x, 0.5)), None, "train=True"),
    "softmax-dtype": (Fn(lambda x: F.softmax(x, 1, dtype=torch.float64)), None, "softmax.int(dtype=torch.float64)"),
    "mixed-dtypes": (nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 3).double()), None, "mixes parameter dtypes"),
}


@pytest.mark.parametrize("name", UNSUPPORTED)
def test_unsupported(name: str, tmp_path) -> None:
    model, example, words = UNSUPPORTED[name]
    with pytest.raises(MLEUnsupportedError, match=words.replace("(", r"\(").replace(")", r"\)")) as e:
        mle_runtime.dump(model.eval(), tmp_path / "m.mle", example_input=example)
    assert e.value.status == 8 | 3 << 8 and e.value.status_name == "MLE_ERR_UNSUPPORTED_FEATURE"
    assert not (tmp_path / "m.mle").exists()


def test_unsupported_dtype(tmp_path) -> None:
    with pytest.raises(MLEUnsupportedError, match="float16"):
        mle_runtime.dump(nn.Linear(3, 3), tmp_path / "m.mle", dtype=np.float16)
