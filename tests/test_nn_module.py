"""Module, Parameter, ModuleList, state dicts, Linear/MLP construction and initialisation."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn


class Affine(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(np.ones((2, 3)))
        self.bias = nn.Parameter(np.zeros(2))

    def forward(self, x):
        return x @ self.weight.T + self.bias


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(np.array([2.0]))
        self.first = Affine()
        self.blocks = nn.ModuleList([Affine(), Affine()])
        self.not_a_param = mg.tensor([1.0], requires_grad=True)  # plain Tensor: not listed

    def forward(self, x):
        x = self.first(x) * self.scale
        return x


def test_parameter_is_a_leaf_tensor_requiring_grad():
    p = nn.Parameter([1.0, 2.0])
    assert isinstance(p, mg.Tensor) and p.requires_grad and p.is_leaf
    assert p.dtype == np.float32
    q = nn.Parameter(mg.tensor([3.0], dtype="float64"))
    assert q.dtype == np.float64 and q.requires_grad
    assert repr(p).startswith("Parameter(")
    source = np.zeros(3, dtype=np.float32)
    w = nn.Parameter(source)
    w.data += 1.0  # what an optimizer step does
    assert not source.any()  # the caller's array is untouched: Parameter copies
    y = (p * p).sum()
    y.backward()
    np.testing.assert_allclose(p.grad.numpy(), [2.0, 4.0])


def test_named_parameters_order_and_dotted_names():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["scale", "first.weight", "first.bias", "blocks.0.weight", "blocks.0.bias",
                     "blocks.1.weight", "blocks.1.bias"]
    assert len(net.parameters()) == 7
    assert net.num_parameters() == 1 + 3 * 8
    assert [n for n, _ in net.named_modules()] == ["", "first", "blocks", "blocks.0", "blocks.1"]


def test_shared_parameter_listed_once():
    net = Net()
    net.blocks[1].weight = net.first.weight
    names = [n for n, _ in net.named_parameters()]
    assert names.count("blocks.1.weight") == 0 and len(names) == 6


def test_reassigning_keeps_position_and_none_removes():
    m = Affine()
    m.weight = nn.Parameter(np.zeros((2, 3)))
    assert [n for n, _ in m.named_parameters()] == ["weight", "bias"]
    m.bias = None
    assert [n for n, _ in m.named_parameters()] == ["weight"]


def test_state_dict_is_a_copy_and_round_trips():
    net = Net()
    sd = net.state_dict()
    assert all(isinstance(v, np.ndarray) for v in sd.values())
    sd["first.weight"][...] = 7.0
    assert float(net.first.weight.data[0, 0]) == 1.0  # a copy
    other = Net()
    for p in other.parameters():
        p.data[...] = 0
    w_before = other.first.weight
    result = other.load_state_dict(sd)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert other.first.weight is w_before  # loaded in place
    np.testing.assert_array_equal(other.first.weight.numpy(), np.full((2, 3), 7.0))
    np.testing.assert_array_equal(other.scale.numpy(), [2.0])


def test_load_state_dict_names_missing_unexpected_and_misshaped():
    net = Net()
    sd = net.state_dict()
    del sd["blocks.0.bias"]
    sd["blocks.9.weight"] = np.zeros((2, 3))
    sd["first.weight"] = np.zeros((3, 2))
    before = net.state_dict()
    with pytest.raises(nn.StateDictError) as info:
        net.load_state_dict(sd)
    msg = str(info.value)
    assert "blocks.0.bias" in msg and "missing" in msg
    assert "blocks.9.weight" in msg and "unexpected" in msg
    assert "first.weight" in msg and "(3, 2)" in msg and "(2, 3)" in msg
    for k, v in net.state_dict().items():  # nothing changed
        np.testing.assert_array_equal(v, before[k])


def test_load_state_dict_non_strict_reports_but_shape_still_checked():
    net = Net()
    sd = net.state_dict()
    del sd["scale"]
    sd["extra"] = np.zeros(1)
    result = net.load_state_dict(sd, strict=False)
    assert result.missing_keys == ["scale"] and result.unexpected_keys == ["extra"]
    sd["first.bias"] = np.zeros(5)
    with pytest.raises(nn.StateDictError, match="first.bias"):
        net.load_state_dict(sd, strict=False)


def test_load_state_dict_casts_dtype_and_rejects_non_numbers():
    net = Affine()
    net.load_state_dict({"weight": np.arange(6, dtype=np.int64).reshape(2, 3),
                         "bias": mg.tensor([1.0, 2.0], dtype="float64")})
    assert net.weight.dtype == np.float64 and net.bias.dtype == np.float64  # kept
    np.testing.assert_array_equal(net.weight.numpy(), np.arange(6).reshape(2, 3))
    with pytest.raises(nn.StateDictError, match="weight"):
        net.load_state_dict({"weight": np.array([["a"] * 3] * 2), "bias": np.zeros(2)})
    with pytest.raises(TypeError, match="dict"):
        net.load_state_dict([1, 2])


def test_zero_grad_and_dtype_conversion():
    net = Net()
    y = net(mg.tensor(np.ones((4, 3)))).sum()
    y.backward()
    assert net.first.weight.grad is not None
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    w = net.first.weight
    net.double()
    assert net.first.weight is w and w.dtype == np.float64
    net.float()
    assert w.dtype == np.float32


def test_module_without_init_call_and_forward_errors():
    class Bare(nn.Module):
        pass

    with pytest.raises(NotImplementedError, match="Bare"):
        Bare()(1)
    with pytest.raises(TypeError, match="Module"):
        nn.ModuleList([1])


def test_linear_shapes_names_and_pytorch_init_bounds():
    lin = nn.Linear(400, 30, rng=np.random.default_rng(1))
    assert [n for n, _ in lin.named_parameters()] == ["weight", "bias"]
    assert lin.weight.shape == (30, 400) and lin.bias.shape == (30,)
    bound = 1 / np.sqrt(400)
    w = lin.weight.numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    # U(-k, k) has variance k^2 / 3: the sample variance of 12,000 draws is within 5%.
    assert abs(w.var() / (bound**2 / 3) - 1) < 0.05
    assert np.abs(lin.bias.numpy()).max() <= bound
    y = lin(mg.tensor(np.ones((5, 400)), dtype="float32"))
    assert y.shape == (5, 30)
    assert nn.Linear(3, 2, bias=False).bias is None


def test_linear_seeding_is_explicit_and_reproducible():
    a = nn.Linear(5, 4, seed=3).state_dict()
    b = nn.Linear(5, 4, rng=np.random.default_rng(3)).state_dict()
    c = nn.Linear(5, 4, seed=4).state_dict()
    np.testing.assert_array_equal(a["weight"], b["weight"])
    assert not np.array_equal(a["weight"], c["weight"])
    d64 = nn.Linear(5, 4, seed=3, dtype="float64").state_dict()
    np.testing.assert_allclose(d64["weight"], a["weight"], rtol=1e-6)
    with pytest.raises(ValueError, match="either"):
        nn.Linear(5, 4, rng=np.random.default_rng(0), seed=1)
    with pytest.raises(TypeError, match="Generator"):
        nn.Linear(5, 4, rng="abc")


@pytest.mark.parametrize("init", ["xavier", "kaiming", "normal", "l2l", "zeros"])
def test_linear_other_inits(init):
    lin = nn.Linear(300, 200, init=init, seed=0, std=0.05)
    w, b = lin.weight.numpy().astype(np.float64), lin.bias.numpy()
    expected_std = {"xavier": np.sqrt(6 / 500) / np.sqrt(3), "kaiming": np.sqrt(2 / 300),
                    "normal": 0.05, "zeros": 0.0}
    if init == "l2l":  # truncated at 2 std: std shrinks by a factor 0.8796
        assert np.abs(w).max() <= 2 / np.sqrt(300) + 1e-7
        assert abs(w.std() / (0.8796 / np.sqrt(300)) - 1) < 0.03
    else:
        assert abs(w.std() - expected_std[init]) <= 0.03 * max(expected_std[init], 1e-12)
    if init in ("xavier", "kaiming", "zeros"):
        assert not b.any()
    with pytest.raises(ValueError, match="unknown init"):
        nn.Linear(3, 2, init="glorot-ish")


def test_mlp_structure_and_activations():
    mlp = nn.MLP(784, [20], 10, seed=0)
    assert [n for n, _ in mlp.named_parameters()] == [
        "layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]
    assert mlp.num_parameters() == 784 * 20 + 20 + 20 * 10 + 10 == 15910
    deep = nn.MLP(3, [4, 5], 2, activation="relu", seed=0)
    assert [p.shape for p in deep.parameters()] == [(4, 3), (4,), (5, 4), (5,), (2, 5), (2,)]
    assert len(nn.MLP(3, [], 2).layers) == 1
    with pytest.raises(ValueError, match="activation"):
        nn.MLP(3, [4], 2, activation="swish")
    x = mg.tensor(np.random.default_rng(0).standard_normal((6, 3)), dtype="float32")
    assert deep(x).shape == (6, 2)
    # Layers draw from one stream, so equal-shaped layers differ.
    twin = nn.MLP(4, [4, 4], 4, seed=0)
    assert not np.array_equal(twin.layers[1].weight.numpy(), twin.layers[2].weight.numpy())
