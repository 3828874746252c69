"""Gradient preprocessing against the paper's formula (appendix A), boundary and zeros."""

import math

import numpy as np
import pytest

import minigrad as mg
from minigrad.l2l.preprocess import Identity, LogAndSign, make_preprocess
from minigrad.testing import gradcheck


def formula(g, p):
    """The paper's rule, one coordinate at a time, in Python floats."""
    out = []
    for v in np.asarray(g, dtype=np.float64).ravel():
        if abs(v) >= math.exp(-p):
            out.append((math.log(abs(v)) / p, float(np.sign(v))))
        else:
            out.append((-1.0, math.exp(p) * v))
    return np.array(out)


@pytest.mark.parametrize("p", [10.0, 5.0])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_logsign_matches_formula(p, dtype, rng):
    g = np.concatenate([
        rng.standard_normal(50) * 10.0 ** rng.uniform(-8, 3, 50),  # many magnitudes
        [0.0, -0.0, 1.0, -1.0, 1e-30, -1e-30, 5e4],
    ]).astype(dtype)
    got = LogAndSign(p)(g)
    assert got.shape == (g.shape[0], 2) and got.dtype == dtype
    rtol = 1e-12 if dtype == np.float64 else 2e-6
    np.testing.assert_allclose(got, formula(g, p), rtol=rtol, atol=rtol)


def test_logsign_boundary_and_zero():
    p = 10.0
    edge = math.exp(-p)
    g = np.array([edge, -edge, np.nextafter(edge, 0), -np.nextafter(edge, 0), 0.0, 0.5 * edge])
    got = LogAndSign(p)(g)
    # at |g| = e^-p the log branch is taken: (log e^-p / p, sign) = (-1, +-1) ...
    np.testing.assert_allclose(got[0], [-1.0, 1.0], atol=1e-15)
    np.testing.assert_allclose(got[1], [-1.0, -1.0], atol=1e-15)
    assert got[0, 1] == 1.0 and got[1, 1] == -1.0  # the sign, exactly: the log branch
    # ... and just below it the linear branch gives the same values: continuous
    np.testing.assert_allclose(got[2], [-1.0, 1.0], atol=1e-12)
    np.testing.assert_allclose(got[3], [-1.0, -1.0], atol=1e-12)
    assert got[2, 0] == -1.0  # the clamped magnitude, exactly
    np.testing.assert_allclose(got[5], [-1.0, 0.5], rtol=1e-12)  # e^p g below the boundary
    # g = 0: (-1, 0) exactly, without log(0) warnings
    assert got[4].tolist() == [-1.0, 0.0]


def test_logsign_float32_boundary_is_consistent():
    p = 10.0
    edge = np.float32(math.exp(-p))
    got = LogAndSign(p)(np.array([edge, np.nextafter(edge, np.float32(0))], np.float32))
    assert got[0, 1] == 1.0  # the float32 threshold itself takes the log branch
    np.testing.assert_allclose(got[:, 0], [-1.0, -1.0], atol=1e-6)


def test_logsign_tensor_matches_array_and_gradient(rng):
    g = rng.standard_normal(12) * 10.0 ** rng.uniform(-7, 1, 12)
    g[3] = 1e-6  # the linear branch
    pre = LogAndSign(10.0)
    t = mg.tensor(g, requires_grad=True, dtype="float64")
    out = pre(t)
    np.testing.assert_allclose(out.numpy(), pre(g), rtol=1e-13)
    # d/dg: 1/(p g) on the log branch (first column), e^p on the linear branch (second column)
    gradcheck(lambda x: pre(x), [t])


def test_identity_and_factory():
    g = np.array([1.0, -2.0, 0.0])
    assert Identity()(g).shape == (3, 1)
    assert make_preprocess("identity").input_size == 1
    assert make_preprocess("logsign", 5).p == 5.0
    with pytest.raises(ValueError, match="unknown gradient preprocessing 'log'"):
        make_preprocess("log")
    with pytest.raises(ValueError, match="p must be a positive number"):
        LogAndSign(0)
