"""Parity with PyTorch for the sequence ops (LSTM, GRU, RNN, Attention,
EmbeddingBag), on graphs built directly with mle_runtime._graph.Graph: the
exporter's mapping (weight re-ordering, layouts, states) is spelled out in
the helpers here."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel

import mle_runtime
from mle_runtime._graph import Graph

META = {"name": "seq", "version": "1.0.0", "properties": {}}
DTYPES = (np.float32, np.float64)


def assert_close(got: np.ndarray, want: np.ndarray, dtype) -> None:
    """f32 within 1e-5 of the output's max-abs, f64 within 1e-12."""
    assert got.shape == want.shape, (got.shape, want.shape)
    assert got.dtype == np.dtype(dtype)
    tol = 1e-5 if dtype is np.float32 else 1e-12
    scale = max(float(np.max(np.abs(want))) if want.size else 0.0, 1e-30)
    np.testing.assert_allclose(got, want, rtol=0, atol=tol * scale)


def randomize(module: nn.Module, seed: int = 0) -> nn.Module:
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64).to(p.dtype) * 0.4)
    return module


def load(g: Graph, inputs, outputs: dict[str, str], tmp_path) -> mle_runtime.Model:
    path = tmp_path / "m.mle"
    g.write(inputs, outputs, META, path)
    return mle_runtime.load(path)


# torch's gate chunks -> ONNX's: LSTM i,f,g,o -> i,o,f,c; GRU r,z,n -> z,r,h.
GATE_ORDER = {"LSTM": [0, 3, 1, 2], "GRU": [1, 0, 2], "RNN": [0]}


def onnx_gates(w: np.ndarray, op: str) -> np.ndarray:
    """Re-orders the gate blocks (rows) of a torch weight or bias."""
    chunks = np.split(w, len(GATE_ORDER[op]), axis=0)
    return np.concatenate([chunks[i] for i in GATE_ORDER[op]], axis=0)


def rnn_layer_weights(m: nn.RNNBase, op: str, layer: int, dtype):
    """W [nd, G*H, in], R [nd, G*H, H], B [nd, 2*G*H] of one torch layer."""
    sfx = [""] + (["_reverse"] if m.bidirectional else [])
    get = lambda name: getattr(m, f"{name}_l{layer}{s}").detach().numpy().astype(dtype)  # noqa: E731
    W, R, B = [], [], []
    for s in sfx:
        W.append(onnx_gates(get("weight_ih"), op))
        R.append(onnx_gates(get("weight_hh"), op))
        B.append(np.concatenate([onnx_gates(get("bias_ih"), op), onnx_gates(get("bias_hh"), op)]))
    return np.stack(W), np.stack(R), np.stack(B)


def export_rnn(g: Graph, m: nn.RNNBase, op: str, x: str, h0: list[str] | None, c0: list[str] | None, dtype):
    """Chains one node per layer; returns (Y [.., nd*H] name, [Y_h per layer], [Y_c per layer])."""
    nd = 2 if m.bidirectional else 1
    layout = 1 if m.batch_first else 0
    attrs = dict(hidden_size=m.hidden_size, direction="bidirectional" if nd == 2 else "forward", layout=layout)
    if op == "RNN":
        attrs["activations"] = ",".join([{"tanh": "Tanh", "relu": "Relu"}[m.nonlinearity]] * nd)
    if op == "GRU":
        attrs["linear_before_reset"] = 1  # torch's GRU
    yhs, ycs = [], []
    for layer in range(m.num_layers):
        W, R, B = rnn_layer_weights(m, op, layer, dtype)
        ins = [x, g.const(W, "W"), g.const(R, "R"), g.const(B, "B"), "", h0[layer] if h0 else ""]
        if op == "LSTM":
            ins.append(c0[layer] if c0 else "")
        outs = g.op(op, *ins, outputs=3 if op == "LSTM" else 2, **attrs)
        y = outs[0]
        yhs.append(outs[1])
        if op == "LSTM":
            ycs.append(outs[2])
        # Y [seq, nd, batch, H] -> [seq, batch, nd*H]; layout 1: [batch, seq, nd, H] -> [batch, seq, nd*H].
        if layout == 0:
            y = g.op("Transpose", y, perm=[0, 2, 1, 3])
        x = g.op("Reshape", y, g.const([0, 0, -1], "shape", np.int64))
    return x, yhs, ycs


def state_inputs(h: np.ndarray, nd: int, layers: int, layout: int):
    """torch's [layers*nd, batch, H] state -> one ONNX state per layer."""
    out = []
    for k in range(layers):
        s = h[k * nd:(k + 1) * nd]
        out.append(np.ascontiguousarray(s.transpose(1, 0, 2) if layout == 1 else s))
    return out


RNN_CASES = [
    # op, layers, bidirectional, batch_first, initial states, extra kwargs
    ("LSTM", 1, False, False, False, {}),
    ("LSTM", 2, True, False, True, {}),
    ("LSTM", 2, True, True, True, {}),
    ("LSTM", 1, False, True, False, {}),
    ("GRU", 1, False, False, False, {}),
    ("GRU", 2, True, False, True, {}),
    ("GRU", 2, False, True, True, {}),
    ("RNN", 1, False, False, True, {}),
    ("RNN", 2, True, True, True, {"nonlinearity": "relu"}),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op,layers,bidir,batch_first,init,kw", RNN_CASES)
def test_rnn_family(tmp_path, dtype, op, layers, bidir, batch_first, init, kw):
    I, H = 6, 5
    m = randomize(getattr(nn, op)(I, H, num_layers=layers, bidirectional=bidir, batch_first=batch_first, **kw))
    if dtype is np.float64:
        m = m.double()
    nd = 2 if bidir else 1
    layout = 1 if batch_first else 0
    g = Graph(np.dtype(dtype))
    inputs = [("x", np.dtype(dtype), [-1, -1, I])]
    h0n = c0n = None
    if init:
        h0n = [f"h0_{k}" for k in range(layers)]
        sdyn = [-1, nd, H] if layout else [nd, -1, H]
        inputs += [(n, np.dtype(dtype), sdyn) for n in h0n]
        if op == "LSTM":
            c0n = [f"c0_{k}" for k in range(layers)]
            inputs += [(n, np.dtype(dtype), sdyn) for n in c0n]
    y, yhs, ycs = export_rnn(g, m, op, "x", h0n, c0n, dtype)
    outputs = {"Y": y, **{f"Yh{k}": v for k, v in enumerate(yhs)}, **{f"Yc{k}": v for k, v in enumerate(ycs)}}
    model = load(g, inputs, outputs, tmp_path)
    rng = np.random.default_rng(3)
    for batch, seq in ((1, 7), (4, 3), (33, 5), (2, 1)):
        shape = (batch, seq, I) if batch_first else (seq, batch, I)
        x = rng.standard_normal(shape).astype(dtype)
        feed = {"x": x}
        targs = [torch.from_numpy(x)]
        if init:
            h0 = rng.standard_normal((layers * nd, batch, H)).astype(dtype)
            feed.update(zip(h0n, state_inputs(h0, nd, layers, layout)))
            if op == "LSTM":
                c0 = rng.standard_normal((layers * nd, batch, H)).astype(dtype)
                feed.update(zip(c0n, state_inputs(c0, nd, layers, layout)))
                targs.append((torch.from_numpy(h0), torch.from_numpy(c0)))
            else:
                targs.append(torch.from_numpy(h0))
        with torch.no_grad():
            want_y, state = m(*targs)
        got = model.run(feed)
        assert_close(got["Y"], want_y.numpy(), dtype)
        hn = state[0] if op == "LSTM" else state
        for k, want_h in enumerate(state_inputs(hn.numpy(), nd, layers, layout)):
            assert_close(got[f"Yh{k}"], want_h, dtype)
        if op == "LSTM":
            for k, want_c in enumerate(state_inputs(state[1].numpy(), nd, layers, layout)):
                assert_close(got[f"Yc{k}"], want_c, dtype)


ATTN_CASES = [
    # B, Hq, Hkv, Sq, Sk, D, Dv, mask, is_causal, scale
    (2, 4, 4, 8, 8, 16, 16, None, False, None),
    (2, 4, 4, 9, 13, 16, 8, None, False, 0.25),
    (1, 8, 2, 16, 16, 32, 32, None, True, None),
    (2, 4, 1, 12, 7, 8, 8, None, True, None),
    (2, 2, 2, 6, 10, 8, 8, "bool2", False, None),
    (2, 4, 2, 6, 10, 8, 8, "bool4", False, None),
    (2, 2, 2, 6, 10, 8, 8, "float3", False, None),
    (3, 4, 4, 130, 140, 32, 32, "float4", False, None),
    (1, 2, 2, 200, 200, 64, 64, None, True, None),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("B,Hq,Hkv,Sq,Sk,D,Dv,mask,causal,scale", ATTN_CASES)
def test_attention(tmp_path, dtype, B, Hq, Hkv, Sq, Sk, D, Dv, mask, causal, scale):
    rng = np.random.default_rng(5)
    q = rng.standard_normal((B, Hq, Sq, D)).astype(dtype)
    k = rng.standard_normal((B, Hkv, Sk, D)).astype(dtype)
    v = rng.standard_normal((B, Hkv, Sk, Dv)).astype(dtype)
    g = Graph(np.dtype(dtype))
    dt = np.dtype(dtype)
    inputs = [("q", dt, [-1, Hq, -1, D]), ("k", dt, [-1, Hkv, -1, D]), ("v", dt, [-1, Hkv, -1, Dv])]
    args = ["q", "k", "v"]
    feed = {"q": q, "k": k, "v": v}
    m = None
    if mask:
        shape = {"bool2": (Sq, Sk), "bool4": (B, Hq, Sq, Sk), "float3": (Hq, Sq, Sk), "float4": (B, 1, Sq, Sk)}[mask]
        if mask.startswith("bool"):
            m = rng.random(shape) < 0.7
            m[..., 0] = True  # no fully masked row here (see the test below)
            inputs.append(("mask", np.dtype(np.bool_), list(shape)))
        else:
            m = rng.standard_normal(shape).astype(dtype)
            inputs.append(("mask", dt, list(shape)))
        args.append("mask")
        feed["mask"] = m
    attrs = {"is_causal": int(causal)}
    if scale is not None:
        attrs["scale"] = scale
    y = g.op("Attention", *args, **attrs)
    model = load(g, inputs, {"Y": y}, tmp_path)
    with torch.no_grad(), sdpa_kernel(SDPBackend.MATH):
        want = F.scaled_dot_product_attention(torch.from_numpy(q), torch.from_numpy(k), torch.from_numpy(v),
                                              attn_mask=None if m is None else torch.from_numpy(m),
                                              is_causal=causal, scale=scale, enable_gqa=Hq != Hkv)
    assert_close(model.run(feed)["Y"], want.numpy(), dtype)


def test_attention_fully_masked_row(tmp_path):
    """torch's math backend (a safe softmax) gives zeros where every key is masked."""
    q = np.random.default_rng(0).standard_normal((1, 1, 3, 4)).astype(np.float32)
    m = np.array([[True, True], [False, False], [True, False]])
    g = Graph(np.dtype(np.float32))
    dt = np.dtype(np.float32)
    y = g.op("Attention", "q", "q2", "q2", "mask")
    model = load(g, [("q", dt, [1, 1, 3, 4]), ("q2", dt, [1, 1, 2, 4]), ("mask", np.dtype(np.bool_), [3, 2])],
                 {"Y": y}, tmp_path)
    k = q[:, :, :2]
    with torch.no_grad(), sdpa_kernel(SDPBackend.MATH):
        want = F.scaled_dot_product_attention(*(torch.from_numpy(a) for a in (q, k, k)), attn_mask=torch.from_numpy(m))
    got = model.run({"q": q, "q2": np.ascontiguousarray(k), "mask": m})["Y"]
    assert_close(got, want.numpy(), np.float32)
    assert np.all(got[0, 0, 1] == 0)


BAG_CASES = [
    # mode, include_last_offset, padding_idx, per_sample_weights, 2-D input
    ("sum", False, None, False, False),
    ("mean", False, None, False, False),
    ("max", False, None, False, False),
    ("sum", True, None, True, False),
    ("mean", True, 3, False, False),
    ("max", False, 3, False, False),
    ("sum", False, 3, True, False),
    ("sum", False, None, False, True),
    ("mean", False, 2, False, True),
    ("max", False, None, False, True),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode,last,pad,psw,two_d", BAG_CASES)
def test_embedding_bag(tmp_path, dtype, mode, last, pad, psw, two_d):
    num, dim = 12, 6
    bag = randomize(nn.EmbeddingBag(num, dim, mode=mode, include_last_offset=last, padding_idx=pad))
    if dtype is np.float64:
        bag = bag.double()
    g = Graph(np.dtype(dtype))
    w = g.const(bag.weight.detach().numpy(), "weight")
    dt = np.dtype(dtype)
    i64 = np.dtype(np.int64)
    if two_d:
        inputs = [("idx", i64, [-1, 4])]
        args = [w, "idx"]
    else:
        inputs = [("idx", i64, [-1]), ("off", i64, [-1])]
        args = [w, "idx", "off"]
    if psw:
        inputs.append(("psw", dt, [-1, 4] if two_d else [-1]))
        args += [""] * (3 - len(args)) + ["psw"]
    y = g.op("EmbeddingBag", *args, mode=mode, include_last_offset=int(last), padding_idx=-1 if pad is None else pad)
    model = load(g, inputs, {"Y": y}, tmp_path)
    rng = np.random.default_rng(7)
    for bags in (1, 5, 0):
        if two_d:
            idx = rng.integers(0, num, (bags, 4))
            off = None
        else:
            idx = rng.integers(0, num, 3 * bags + 2)
            if pad is not None:
                idx[::4] = pad
            off = np.sort(rng.integers(0, len(idx) + 1, bags))
            if bags:
                off[0] = 0
                off[-1] = off[-2] if bags > 2 else off[-1]  # an empty bag
            if last:
                off = np.append(off, len(idx))
        feed = {"idx": idx}
        targs = [torch.from_numpy(idx)]
        if off is not None:
            feed["off"] = off
            targs.append(torch.from_numpy(off))
        if psw:
            p = rng.standard_normal(idx.shape).astype(dtype)
            feed["psw"] = p
            if off is None:
                targs.append(None)
            targs.append(torch.from_numpy(p))
        if not two_d and bags == 0:
            continue  # torch refuses empty offsets (and offsets[0] != 0)
        with torch.no_grad():
            want = bag(*targs)
        assert_close(model.run(feed)["Y"], want.numpy(), dtype)


def test_embedding_bag_bad_index_fails(tmp_path):
    g = Graph(np.dtype(np.float32))
    w = g.const(np.ones((4, 2), np.float32), "weight")
    y = g.op("EmbeddingBag", w, "idx", "off", mode="sum")
    model = load(g, [("idx", np.dtype(np.int64), [-1]), ("off", np.dtype(np.int64), [-1])], {"Y": y}, tmp_path)
    with pytest.raises(mle_runtime.MLEError, match="index 7"):
        model.run({"idx": np.array([0, 7]), "off": np.array([0])})
    with pytest.raises(mle_runtime.MLEError, match="offsets"):
        model.run({"idx": np.array([0, 1]), "off": np.array([0, 5])})
    np.testing.assert_array_equal(model.run({"idx": np.array([0, 1]), "off": np.array([0, 1])})["Y"], np.ones((2, 2)))
