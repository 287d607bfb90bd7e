"""Whole PyTorch architectures against torch: torchvision CNNs, transformer
encoders, a GPT block, recurrent nets, an EmbeddingBag classifier, a 1-D CNN
and a U-Net. Random weights (and random BatchNorm statistics), float32;
outputs within 1e-4 of torch relative to the output's scale."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

import mle_runtime
from mle_runtime import MLEUnsupportedError

TOL = 1e-4


def randomize(module: nn.Module, seed: int = 0) -> nn.Module:
    """Random parameters and BatchNorm statistics (fresh ones are 0 and 1,
    which would hide a swapped mean and variance)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, b in module.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(torch.randn(b.shape, generator=gen) * 0.1)
            elif name.endswith("running_var"):
                b.copy_(torch.rand(b.shape, generator=gen) + 0.5)
        for name, p in module.named_parameters():
            noise = torch.randn(p.shape, generator=gen, dtype=torch.float64).to(p.dtype)
            if p.dim() > 1:  # keep the layers' own scale, so deep nets stay finite
                p.mul_(1 + 0.1 * noise)
            elif name.endswith("weight"):  # norm scales
                p.copy_(1 + 0.2 * noise)
            else:
                p.copy_(0.1 * noise)
    return module.eval()


def close(got: Any, want: Any, tol: float = TOL) -> None:
    got = got if isinstance(got, tuple) else (got,)
    want = want if isinstance(want, (tuple, list)) else (want,)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        w = w.detach().numpy()
        assert g.shape == w.shape and g.dtype == w.dtype
        if w.dtype.kind != "f":
            np.testing.assert_array_equal(g, w)
            continue
        scale = max(float(np.abs(w).max()), 1e-12)
        err = float(np.abs(g - w).max())
        assert err <= tol * scale, f"max error {err:.3g} > {tol} x scale {scale:.3g}"


def export(module: nn.Module, tmp_path, example: Any) -> mle_runtime.Model:
    path = tmp_path / "m.mle"
    mle_runtime.dump(module, path, example_input=example)
    return mle_runtime.load(path)


def check(module: nn.Module, tmp_path, example: Any, *batches: Any, tol: float = TOL) -> mle_runtime.Model:
    m = export(module, tmp_path, example)
    for args in (example, *batches):
        args = args if isinstance(args, tuple) else (args,)
        with torch.no_grad():
            want = module(*[torch.as_tensor(a) for a in args])
        close(m(*[np.asarray(a) for a in args]), want, tol)
    return m


def images(n: int, size: int = 64, c: int = 3, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, c, size, size)).astype(np.float32)


def tokens(n: int, s: int, vocab: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, vocab, (n, s)).astype(np.int64)


# ------------------------------------------------------------------ torchvision

@pytest.mark.parametrize("arch", ["resnet18", "mobilenet_v3_small", "efficientnet_b0"])
def test_torchvision(arch: str, tmp_path) -> None:
    torch.manual_seed(0)
    model = randomize(getattr(torchvision.models, arch)(weights=None))
    m = check(model, tmp_path, images(2, 96), images(1, 96, seed=1), images(3, 96, seed=2))
    assert m.inputs[0].shape == (-1, 3, 96, 96)


# ------------------------------------------------------------------ transformers

class TextEncoder(nn.Module):
    def __init__(self, norm_first: bool, vocab: int = 50, d: int = 32, max_len: int = 24) -> None:
        super().__init__()
        self.emb = nn.Embedding(vocab, d)
        self.pos = nn.Parameter(torch.randn(1, max_len, d) * 0.1)
        layer = nn.TransformerEncoderLayer(d, 4, 64, dropout=0.1, batch_first=True, norm_first=norm_first)
        self.enc = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.head = nn.Linear(d, 3)

    def forward(self, ids: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        h = self.emb(ids) + self.pos[:, : ids.shape[1]]
        return self.head(self.enc(h, src_key_padding_mask=pad).mean(1))


@pytest.mark.parametrize("norm_first", [False, True], ids=["post-norm", "pre-norm"])
def test_transformer_encoder(norm_first: bool, tmp_path) -> None:
    torch.manual_seed(1)
    model = randomize(TextEncoder(norm_first))

    def batch(n: int, s: int, seed: int) -> tuple:
        pad = np.zeros((n, s), bool)
        pad[:, s - 2:] = True  # the last two positions are padding
        return tokens(n, s, 50, seed), pad

    m = check(model, tmp_path, batch(2, 10, 0), batch(1, 7, 1), batch(4, 24, 2))
    assert [i.shape for i in m.inputs] == [(-1, -1), (-1, -1)]


class GPTBlock(nn.Module):
    """A decoder block: causal self-attention written out by hand (a
    lower-triangular buffer sliced to the sequence, masked_fill, softmax) and
    a second one through scaled_dot_product_attention(is_causal=True)."""

    def __init__(self, vocab: int = 40, d: int = 32, heads: int = 4, max_len: int = 16) -> None:
        super().__init__()
        self.tok, self.posemb = nn.Embedding(vocab, d), nn.Embedding(max_len, d)
        self.ln1, self.ln2, self.ln3 = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.qkv2, self.proj2 = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(approximate="tanh"), nn.Linear(4 * d, d))
        self.lm = nn.Linear(d, vocab, bias=False)
        self.heads = heads
        self.register_buffer("causal", torch.tril(torch.ones(max_len, max_len, dtype=torch.bool)))

    def split(self, x: torch.Tensor) -> torch.Tensor:
        b, t, c = x.shape
        return x.view(b, t, self.heads, c // self.heads).transpose(1, 2)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        b, t = ids.shape
        pos = torch.arange(t, device=ids.device)
        x = self.tok(ids) + self.posemb(pos)
        q, k, v = self.qkv(self.ln1(x)).split(x.shape[-1], dim=2)
        q, k, v = self.split(q), self.split(k), self.split(v)
        att = (q @ k.transpose(-2, -1)) * (1.0 / (k.shape[-1] ** 0.5))
        att = att.masked_fill(~self.causal[:t, :t], float("-inf"))
        y = (F.softmax(att, dim=-1) @ v).transpose(1, 2).reshape(b, t, -1)
        x = x + self.proj(y)
        q, k, v = self.qkv2(self.ln2(x)).chunk(3, dim=-1)
        y = F.scaled_dot_product_attention(self.split(q), self.split(k), self.split(v), is_causal=True)
        x = x + self.proj2(y.transpose(1, 2).reshape(b, t, -1))
        x = x + self.mlp(self.ln3(x))
        return self.lm(x)


def test_gpt_block(tmp_path) -> None:
    torch.manual_seed(2)
    model = randomize(GPTBlock())
    check(model, tmp_path, tokens(2, 8, 40), tokens(1, 16, 40, 1), tokens(3, 3, 40, 2))


# ------------------------------------------------------------------ recurrent

class Recurrent(nn.Module):
    def __init__(self, kind: str, tagger: bool, batch_first: bool = True, vocab: int = 30) -> None:
        super().__init__()
        self.emb = nn.Embedding(vocab, 12)
        self.rnn = getattr(nn, kind)(12, 16, num_layers=2, bidirectional=True, batch_first=batch_first)
        self.out = nn.Linear(32, 5)
        self.tagger, self.batch_first = tagger, batch_first

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.emb(ids if self.batch_first else ids.t())
        y, h = self.rnn(x)
        if self.tagger:
            return self.out(y)  # a tag per token
        h = h[0] if isinstance(h, tuple) else h  # LSTM: (h, c)
        return self.out(torch.cat([h[-2], h[-1]], dim=1))  # the last layer's two directions


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("tagger", [True, False], ids=["tagger", "classifier"])
def test_recurrent(kind: str, tagger: bool, tmp_path) -> None:
    torch.manual_seed(3)
    model = randomize(Recurrent(kind, tagger))
    check(model, tmp_path, tokens(2, 9, 30), tokens(1, 4, 30, 1), tokens(5, 17, 30, 2))


def test_lstm_seq_first_with_states(tmp_path) -> None:
    class WithState(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(6, 8, num_layers=2)

        def forward(self, x: torch.Tensor, h0: torch.Tensor, c0: torch.Tensor) -> tuple:
            y, (h, c) = self.lstm(x, (h0, c0))
            return y, h, c

    torch.manual_seed(4)
    model = randomize(WithState())
    rng = np.random.default_rng(0)

    def batch(s: int, n: int) -> tuple:
        return tuple(rng.standard_normal(shape).astype(np.float32) for shape in ((s, n, 6), (2, n, 8), (2, n, 8)))

    check(model, tmp_path, batch(5, 2), batch(3, 4))


# ------------------------------------------------------------------ embeddings and CNNs

class BagClassifier(nn.Module):
    def __init__(self, mode: str) -> None:
        super().__init__()
        self.bag = nn.EmbeddingBag(100, 16, mode=mode)
        self.fc = nn.Linear(16, 4)

    def forward(self, ids: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        return self.fc(self.bag(ids, offsets))


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_classifier(mode: str, tmp_path) -> None:
    torch.manual_seed(5)
    model = randomize(BagClassifier(mode))
    rng = np.random.default_rng(0)
    example = (rng.integers(0, 100, 20).astype(np.int64), np.array([0, 5, 12], np.int64))
    other = (rng.integers(0, 100, 7).astype(np.int64), np.array([0, 1, 1, 6], np.int64))  # an empty bag
    check(model, tmp_path, example, other)


class CNN1d(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv1d(4, 16, 5, padding=2), nn.BatchNorm1d(16), nn.ReLU(), nn.MaxPool1d(2),
            nn.Conv1d(16, 16, 3, padding="same", dilation=2, groups=4), nn.ReLU(),
            nn.Conv1d(16, 16, 3, stride=2, groups=16), nn.Hardswish(), nn.AvgPool1d(2, ceil_mode=True),
            nn.AdaptiveMaxPool1d(3), nn.Flatten(), nn.Linear(48, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def test_cnn_1d(tmp_path) -> None:
    torch.manual_seed(6)
    model = randomize(CNN1d())
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 40)).astype(np.float32)
    check(model, tmp_path, x, x[:1], rng.standard_normal((5, 4, 40)).astype(np.float32))


class UNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()

        def block(i: int, o: int) -> nn.Module:
            return nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.GroupNorm(2, o), nn.SiLU(),
                                 nn.Conv2d(o, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU())

        self.d1, self.d2, self.mid = block(3, 8), block(8, 16), block(16, 16)
        self.up2 = nn.ConvTranspose2d(16, 16, 2, stride=2)
        self.u2 = block(32, 8)
        self.u1 = block(16, 8)
        self.out = nn.Conv2d(8, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.d1(x)
        b = self.d2(F.max_pool2d(a, 2))
        c = self.mid(F.avg_pool2d(b, 2))
        b2 = self.u2(torch.cat([self.up2(c), b], dim=1))
        a2 = self.u1(torch.cat([F.interpolate(b2, scale_factor=2, mode="bilinear", align_corners=False), a], 1))
        y = self.out(a2)
        return y + F.interpolate(F.interpolate(y, scale_factor=0.5, mode="nearest"), size=y.shape[-2:],
                                 mode="nearest")


def test_unet(tmp_path) -> None:
    torch.manual_seed(7)
    model = randomize(UNet())
    check(model, tmp_path, images(2, 32), images(1, 32, seed=1), images(3, 32, seed=2))


def test_float64_cnn(tmp_path) -> None:
    torch.manual_seed(8)
    model = randomize(CNN1d()).double()
    x = np.random.default_rng(0).standard_normal((2, 4, 40))
    check(model, tmp_path, x, x[:1], tol=1e-9)


# ------------------------------------------------------------------ bad input

def test_bad_inputs_are_typed_errors(tmp_path) -> None:
    torch.manual_seed(9)
    model = randomize(GPTBlock())
    m = export(model, tmp_path, tokens(2, 8, 40))
    with pytest.raises(mle_runtime.MLEError, match="index|range") as e:
        m(np.full((1, 4), 40, np.int64))  # a token id past the embedding table
    assert "MLE_ERR" in e.value.status_name
    with pytest.raises(mle_runtime.MLEShapeError):
        m(tokens(1, 17, 40))  # longer than the positional table
    with pytest.raises(mle_runtime.MLEShapeError, match="input"):
        m(tokens(1, 4, 40)[0])  # rank 1 instead of [batch, seq]
    cnn_model = randomize(CNN1d())
    cnn = export(cnn_model, tmp_path, np.zeros((2, 4, 40), np.float32))
    with pytest.raises(mle_runtime.MLEShapeError, match="input"):
        cnn(np.zeros((2, 3, 40), np.float32))  # 3 channels, the model has 4
    with pytest.raises(mle_runtime.MLEDTypeError):
        cnn.run(np.zeros((2, 4, 40), np.int32), convert=False)
    x = np.asfortranarray(np.random.default_rng(0).standard_normal((2, 4, 40)).astype(np.float32))
    with torch.no_grad():
        close(cnn(x), cnn_model(torch.from_numpy(np.ascontiguousarray(x))))  # non-contiguous: copied


def test_refusals_name_the_op_and_node(tmp_path) -> None:
    class Sorts(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.sort(self.fc(x), dim=1).values

    with pytest.raises(MLEUnsupportedError, match=r"torch op aten\.sort.*node 'sort'") as e:
        mle_runtime.dump(Sorts(), tmp_path / "m.mle")
    assert e.value.status_name == "MLE_ERR_UNSUPPORTED_FEATURE"
    assert not (tmp_path / "m.mle").exists()
    scripted = torch.jit.script(nn.Linear(3, 3))
    with pytest.raises(MLEUnsupportedError, match="TorchScript"):
        mle_runtime.dump(scripted, tmp_path / "m.mle")
