"""nn.Conv2d, nn.MaxPool2d, nn.BatchNorm2d: initialisation, buffers and state dicts with
PyTorch's names, train/eval, and a whole convnet against PyTorch (skipped without torch)."""

import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn


def test_conv2d_initialisation_is_pytorchs_and_seeded():
    conv = nn.Conv2d(3, 8, (3, 5), seed=1)
    bound = 1.0 / math.sqrt(3 * 3 * 5)  # fan_in = in_channels * kh * kw
    assert conv.weight.shape == (8, 3, 3, 5) and conv.bias.shape == (8,)
    for p in (conv.weight, conv.bias):
        assert np.abs(p.numpy()).max() <= bound and np.abs(p.numpy()).max() > 0.8 * bound
    same, other = nn.Conv2d(3, 8, (3, 5), seed=1), nn.Conv2d(3, 8, (3, 5), seed=2)
    np.testing.assert_array_equal(conv.weight.numpy(), same.weight.numpy())
    assert not np.array_equal(conv.weight.numpy(), other.weight.numpy())
    assert [n for n, _ in conv.named_parameters()] == ["weight", "bias"]
    assert nn.Conv2d(3, 8, 3, bias=False).bias is None
    assert nn.Conv2d(2, 4, 3, init="zeros").weight.numpy().sum() == 0.0
    assert conv.weight.dtype == np.float32
    assert nn.Conv2d(2, 4, 3, dtype="float64").weight.dtype == np.float64
    assert "kernel_size=(3, 5)" in repr(conv)
    with pytest.raises(ValueError, match=r"Conv2d: stride must be >= 1, got 0"):
        nn.Conv2d(3, 8, 3, stride=0)


def test_conv2d_and_max_pool2d_modules_call_the_ops():
    rng = np.random.default_rng(0)
    x = mg.tensor(rng.standard_normal((2, 3, 9, 8)))
    conv = nn.Conv2d(3, 4, 3, stride=2, padding=1, seed=0, dtype="float64")
    want = mg.conv2d(x, conv.weight, conv.bias, stride=2, padding=1)
    np.testing.assert_array_equal(conv(x).numpy(), want.numpy())
    pool = nn.MaxPool2d(2)
    assert pool.stride == (2, 2) and pool.parameters() == [] and pool.state_dict() == {}
    np.testing.assert_array_equal(pool(x).numpy(), mg.max_pool2d(x, 2).numpy())
    assert nn.MaxPool2d(3, 1).stride == (1, 1)


def test_batch_norm2d_state_dict_names_dtypes_and_buffers():
    bn = nn.BatchNorm2d(4)
    sd = bn.state_dict()
    assert list(sd) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert [n for n, _ in bn.named_parameters()] == ["weight", "bias"]  # buffers are not
    assert [n for n, _ in bn.named_buffers()] == ["running_mean", "running_var",
                                                  "num_batches_tracked"]
    assert sd["running_mean"].dtype == np.float32 and sd["num_batches_tracked"].dtype == np.int64
    np.testing.assert_array_equal(sd["running_var"], np.ones(4))
    assert sd["num_batches_tracked"].shape == ()
    bn.double()  # float buffers are cast, the counter stays an integer (as in PyTorch)
    assert bn.running_mean.dtype == np.float64 and bn.num_batches_tracked.dtype == np.int64
    plain = nn.BatchNorm2d(4, affine=False, track_running_stats=False)
    assert plain.state_dict() == {} and plain.buffers() == []


def test_batch_norm2d_train_and_eval():
    rng = np.random.default_rng(1)
    bn = nn.BatchNorm2d(3, momentum=0.5, dtype="float64")
    xs = [rng.standard_normal((4, 3, 2, 2)) * 3.0 + 2.0 for _ in range(2)]
    for x in xs:
        y = bn(mg.tensor(x))
    np.testing.assert_allclose(y.numpy().mean(axis=(0, 2, 3)), 0.0, atol=1e-12)
    assert int(bn.num_batches_tracked) == 2
    m = 16
    want_mean = 0.25 * xs[0].mean(axis=(0, 2, 3)) + 0.5 * xs[1].mean(axis=(0, 2, 3))
    want_var = 0.25 + 0.25 * xs[0].var(axis=(0, 2, 3)) * m / (m - 1) \
        + 0.5 * xs[1].var(axis=(0, 2, 3)) * m / (m - 1)
    np.testing.assert_allclose(bn.running_mean, want_mean, rtol=1e-12)
    np.testing.assert_allclose(bn.running_var, want_var, rtol=1e-12)
    bn.eval()
    frozen = bn.running_mean.copy()
    y = bn(mg.tensor(xs[0]))
    want = (xs[0] - frozen.reshape(1, 3, 1, 1)) / np.sqrt(bn.running_var.reshape(1, 3, 1, 1)
                                                           + 1e-5)
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-12)
    np.testing.assert_array_equal(bn.running_mean, frozen)  # evaluation changes nothing
    assert int(bn.num_batches_tracked) == 2
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3\): expected input of shape "
                                         r"\(N, 3, H, W\), got shape \(4, 2, 2, 2\)"):
        bn(mg.tensor(np.ones((4, 2, 2, 2))))


def test_batch_norm2d_momentum_none_is_a_cumulative_average():
    rng = np.random.default_rng(2)
    bn = nn.BatchNorm2d(2, momentum=None, dtype="float64")
    xs = [rng.standard_normal((3, 2, 2, 2)) + k for k in range(3)]
    for x in xs:
        bn(mg.tensor(x))
    want = np.mean([x.mean(axis=(0, 2, 3)) for x in xs], axis=0)
    np.testing.assert_allclose(bn.running_mean, want, rtol=1e-12)


def test_buffers_load_save_and_strictness(tmp_path):
    bn = nn.BatchNorm2d(2)
    bn(mg.tensor(np.random.default_rng(3).standard_normal((4, 2, 3, 3)), dtype="float32"))
    other = nn.BatchNorm2d(2)
    other.load_state_dict(bn.state_dict())
    for name, value in bn.state_dict().items():
        np.testing.assert_array_equal(other.state_dict()[name], value)
    assert int(other.num_batches_tracked) == 1
    path = nn.save_checkpoint(tmp_path / "bn.npz", bn.state_dict())
    third = nn.BatchNorm2d(2)
    nn.load_checkpoint(path, into=third)
    np.testing.assert_array_equal(third.running_var, bn.running_var)
    partial = {k: v for k, v in bn.state_dict().items() if k != "running_var"}
    with pytest.raises(nn.StateDictError, match=r"missing: \['running_var'\]"):
        third.load_state_dict(partial)
    with pytest.raises(nn.StateDictError, match=r"'running_mean' has shape \(3,\), expected "
                                                r"\(2,\)"):
        third.load_state_dict({**bn.state_dict(), "running_mean": np.zeros(3)})
    with pytest.raises(nn.StateDictError, match=r"no such parameter or buffer"):
        third.load_state_dict({**bn.state_dict(), "running_std": np.zeros(2)})
    with pytest.raises(TypeError, match=r"register_buffer: 'x' must be a NumPy or CuPy array"):
        third.register_buffer("x", [1.0])


class SmallConvNet(nn.Module):
    """(conv 3x3 - batch norm - ReLU - max pool 2) x 2, then a linear layer."""

    def __init__(self, seed=0):
        super().__init__()
        rng = np.random.default_rng(seed)
        self.conv1 = nn.Conv2d(2, 4, 3, padding=1, rng=rng, dtype="float64")
        self.bn1 = nn.BatchNorm2d(4, dtype="float64")
        self.conv2 = nn.Conv2d(4, 5, 3, stride=1, padding=0, rng=rng, dtype="float64")
        self.bn2 = nn.BatchNorm2d(5, dtype="float64")
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(5 * 2 * 2, 3, rng=rng, dtype="float64")

    def forward(self, x):
        x = self.pool(self.bn1(self.conv1(x)).relu())
        x = self.pool(self.bn2(self.conv2(x)).relu())
        return self.fc(x.reshape(x.shape[0], -1))


def test_small_convnet_forward_and_backward_match_torch():
    torch = pytest.importorskip("torch")

    class TorchNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1, self.bn1 = torch.nn.Conv2d(2, 4, 3, padding=1), torch.nn.BatchNorm2d(4)
            self.conv2, self.bn2 = torch.nn.Conv2d(4, 5, 3), torch.nn.BatchNorm2d(5)
            self.pool, self.fc = torch.nn.MaxPool2d(2), torch.nn.Linear(20, 3)

        def forward(self, x):
            x = self.pool(torch.relu(self.bn1(self.conv1(x))))
            x = self.pool(torch.relu(self.bn2(self.conv2(x))))
            return self.fc(x.flatten(1))

    ours, theirs = SmallConvNet(), TorchNet().double()
    assert list(ours.state_dict()) == list(theirs.state_dict())  # PyTorch's names and order
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    rng = np.random.default_rng(4)
    x, labels = rng.standard_normal((3, 2, 13, 12)), np.array([0, 2, 1])  # odd sizes
    for step in range(2):  # the second step sees the running statistics the first moved
        ours.zero_grad()
        theirs.zero_grad()
        loss = mg.cross_entropy(ours(mg.tensor(x + step)), labels)
        loss.backward()
        t_loss = torch.nn.functional.cross_entropy(theirs(torch.from_numpy(x + step)),
                                                   torch.from_numpy(labels))
        t_loss.backward()
        np.testing.assert_allclose(loss.item(), t_loss.item(), rtol=1e-12)
        t_params = dict(theirs.named_parameters())
        for name, p in ours.named_parameters():
            np.testing.assert_allclose(p.grad.numpy(), t_params[name].grad.numpy(),
                                       rtol=1e-9, atol=1e-12, err_msg=name)
    for name, value in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[name], value.numpy(), rtol=1e-12,
                                   err_msg=name)
    ours.eval()
    theirs.eval()
    np.testing.assert_allclose(ours(mg.tensor(x)).numpy(),
                               theirs(torch.from_numpy(x)).detach().numpy(), rtol=1e-10)
