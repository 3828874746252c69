"""Backends (NumPy, CuPy), dtypes, and the errors for mixing them."""

import numpy as np
import pytest

import minigrad as mg
from minigrad import backend

CUPY_OK, CUPY_WHY = backend.cupy_status()
DEVICES = [
    "cpu",
    pytest.param("cuda", marks=[pytest.mark.gpu,
                                pytest.mark.skipif(not CUPY_OK, reason=f"no GPU: {CUPY_WHY}")]),
]


@pytest.mark.parametrize("device", DEVICES)
def test_forward_backward_on_each_backend(device):
    rng = np.random.default_rng(0)
    a = mg.tensor(rng.standard_normal((4, 3)), requires_grad=True).to(device)
    b = mg.tensor(rng.standard_normal((3,)), requires_grad=True).to(device)
    loss = mg.cross_entropy((a * b).tanh(), np.array([0, 1, 2, 0]) if device == "cpu"
                            else a.xp.asarray([0, 1, 2, 0]))
    loss.backward()
    assert a.grad.device == device and b.grad.device == device
    assert a.grad.dtype == np.float64
    # same numbers as the CPU
    a0, b0 = mg.tensor(a.numpy(), requires_grad=True), mg.tensor(b.numpy(), requires_grad=True)
    mg.cross_entropy((a0 * b0).tanh(), np.array([0, 1, 2, 0])).backward()
    np.testing.assert_allclose(a.grad.numpy(), a0.grad.numpy(), rtol=1e-10)


@pytest.mark.parametrize("device", DEVICES)
def test_get_array_module_picks_the_backend(device):
    t = mg.zeros((2,), device=device)
    assert mg.get_array_module(t) is t.xp
    assert mg.get_array_module(t.data).__name__ == ("numpy" if device == "cpu" else "cupy")


def test_float32_by_default_and_float64_on_request():
    assert mg.tensor([1, 2]).dtype == np.float32
    assert mg.tensor(np.arange(3)).dtype == np.float32
    assert mg.tensor(np.ones(2)).dtype == np.float64  # float arrays keep their dtype
    assert mg.tensor([1.0], dtype="float64").dtype == np.float64
    mg.set_default_dtype("float64")
    try:
        assert mg.tensor([1.0]).dtype == np.float64
    finally:
        mg.set_default_dtype("float32")


def test_scalars_adopt_the_tensor_dtype():
    x = mg.tensor([1.0, 2.0])  # float32
    assert (x * 2.5).dtype == np.float32
    assert (1.0 - x).dtype == np.float32
    assert (x * np.float64(2.0)).dtype == np.float32


def test_mixing_dtypes_is_an_error():
    a = mg.tensor([1.0], dtype="float32")
    b = mg.tensor([1.0], dtype="float64")
    with pytest.raises(TypeError, match=r"Add: inputs have different dtypes.*astype"):
        a + b
    with pytest.raises(TypeError, match="different dtypes"):
        a @ mg.tensor(np.ones((1, 1)))


def test_unknown_names_are_errors():
    with pytest.raises(mg.BackendError, match="unknown backend 'tensorflow'"):
        mg.set_backend("tensorflow")
    with pytest.raises(TypeError, match="unknown dtype 'float16'"):
        mg.tensor([1.0], dtype="float16")
    with pytest.raises(TypeError, match="unsupported dtype int64"):
        mg.tensor([1.0], dtype=np.int64)
    with pytest.raises(mg.BackendError, match="unknown device 'tpu'"):
        mg.tensor([1.0]).to("tpu")


@pytest.mark.skipif(CUPY_OK, reason="this machine has a working GPU")
def test_asking_for_cupy_without_a_gpu_says_why():
    with pytest.raises(mg.BackendError, match="'cupy' backend was requested") as err:
        mg.set_backend("cupy")
    assert "not installed" in str(err.value) or "no usable GPU" in str(err.value)
    assert backend.default_device() == "cpu"  # nothing changed
    assert mg.set_backend("auto") == "cpu"  # auto falls back only when no GPU works
    mg.set_backend("numpy")


@pytest.mark.gpu
@pytest.mark.skipif(not CUPY_OK, reason=f"no GPU: {CUPY_WHY}")
def test_mixing_devices_is_an_error():
    a = mg.tensor([1.0])
    b = a.to("cuda")
    with pytest.raises(mg.BackendError, match="different devices"):
        a + b


def test_shape_errors_name_the_op_and_shapes():
    a, b = mg.tensor(np.ones((2, 3))), mg.tensor(np.ones((4, 5)))
    with pytest.raises(ValueError, match=r"matmul: shapes \(2, 3\) and \(4, 5\) do not align"):
        a @ b
    with pytest.raises(ValueError, match=r"add: shapes \(2, 3\) and \(4, 5\) cannot be broadcast"):
        a + b
    with pytest.raises(ValueError, match=r"reshape: cannot reshape a tensor of shape \(2, 3\)"):
        a.reshape(4, 2)
    with pytest.raises(ValueError, match=r"labels have shape \(3,\), expected \(2,\)"):
        mg.cross_entropy(a, np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\)"):
        mg.cross_entropy(a, np.array([0, 3]))
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        a.sum(axis=2)
    with pytest.raises(TypeError, match="index with an integer or boolean array"):
        a[mg.tensor([0.0])]


def test_ops_on_plain_arrays_say_what_they_expected():
    with pytest.raises(TypeError, match=r"Reshape: input 0 is a ndarray, expected a Tensor"):
        mg.reshape(np.ones(3), (3, 1))
