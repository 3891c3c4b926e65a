"""lemmata.func: grad, value_and_grad, vjp, jvp, hvp (three methods), jacobian, hessian,
functional_call — against torch.func / torch.autograd.functional in float64, against each other,
and against closed forms (seed ttic.p5: the exact line-search step ‖g‖²/(gᵀHg))."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import lemmata
import lemmata.nn.functional as F
from lemmata import func, nn
from lemmata.autograd import Function
from lemmata.func import ComplexStepWarning

HVP_METHODS = ("complex-step", "double-backward", "finite-difference")


def L(a):
    return lemmata.tensor(np.asarray(a, dtype=np.float64))


def T(a):
    return torch.tensor(np.asarray(a, dtype=np.float64))


def to_np(tree):
    if isinstance(tree, dict):
        return {k: to_np(v) for k, v in tree.items()}
    if isinstance(tree, (tuple, list)):
        return type(tree)(to_np(v) for v in tree)
    if isinstance(tree, np.ndarray):
        return tree
    return tree.detach().numpy()


def _largest(tree):
    if isinstance(tree, dict):
        tree = list(tree.values())
    if isinstance(tree, (tuple, list)):
        return max([_largest(t) for t in tree] + [0.0])
    return float(np.max(np.abs(tree), initial=0.0))


def assert_tree_close(ours, theirs, rtol=1e-10, atol_scale=1e-10, scale=None):
    """Relative agreement, judged on the scale of the largest entry of each block (or on
    ``scale="tree"``, the largest entry of the whole tree, for blocks that are zero in exact
    arithmetic)."""
    ours, theirs = to_np(ours), to_np(theirs)
    if scale == "tree":
        scale = _largest(theirs)
    if isinstance(theirs, dict):
        assert set(ours) == set(theirs)
        for k in theirs:
            assert_tree_close(ours[k], theirs[k], rtol, atol_scale, scale)
        return
    if isinstance(theirs, (tuple, list)):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            assert_tree_close(a, b, rtol, atol_scale, scale)
        return
    assert np.shape(ours) == np.shape(theirs), (np.shape(ours), np.shape(theirs))
    block = scale if scale is not None else float(np.max(np.abs(theirs), initial=0.0))
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol_scale * max(block, 1e-300))


# ------------------------------------------------------------------------------ test functions
# Written once against the torch-shaped API and run with both libraries (`lib` is lemmata or torch).
def mlp_tanh(lib, p, x):
    h = lib.tanh(x @ p["W1"] + p["b1"])
    return lib.tanh(h @ p["W2"] + p["b2"])


def mlp_loss(lib, p, x, y):
    return ((mlp_tanh(lib, p, x) - y) ** 2).mean()


def cross_entropy(lib, p, x, labels):
    """Mean negative log-likelihood of the labels: −mean log softmax(z)[label], via gather."""
    h = lib.tanh(x @ p["W1"] + p["b1"])
    logits = h @ p["W2"] + p["b2"]
    return -lib.log_softmax(logits, dim=1).gather(1, labels[:, None]).mean()


def mlp_params(rng, sizes=(4, 6, 3)):
    return {"W1": rng.standard_normal(sizes[:2]) / 2, "b1": rng.standard_normal(sizes[1]) / 2,
            "W2": rng.standard_normal(sizes[1:]) / 2, "b2": rng.standard_normal(sizes[2]) / 2}


def as_lib(params, make):
    return {k: make(v) for k, v in params.items()}


def torch_hvp(f, x, v):
    """torch.func's forward-over-reverse Hessian-vector product."""
    return torch.func.jvp(torch.func.grad(f), (x,), (v,))[1]


@pytest.fixture
def rng():
    return np.random.default_rng(20240531)


# ------------------------------------------------------------------------------ grad, vjp, jvp
def test_grad_and_value_and_grad_match_torch_func(rng):
    p, x, y = mlp_params(rng), rng.standard_normal((5, 4)), rng.standard_normal((5, 3))
    ours_value, ours = func.value_and_grad(lambda q: mlp_loss(lemmata, q, L(x), L(y)))(
        as_lib(p, L))
    theirs = torch.func.grad(lambda q: mlp_loss(torch, q, T(x), T(y)))(as_lib(p, T))
    assert_tree_close(ours, theirs, rtol=1e-12, atol_scale=1e-12)
    assert ours_value.item() == pytest.approx(mlp_loss(torch, as_lib(p, T), T(x), T(y)).item(),
                                              rel=1e-13)
    assert not ours_value.requires_grad


def test_grad_argnums_tuple_and_has_aux(rng):
    a, b = rng.standard_normal(3), rng.standard_normal(3)

    def f(lib, u, w):
        return (lib.sin(u) * w ** 2).sum()

    g, aux = func.grad(lambda u, w: (f(lemmata, u, w), u * 2), argnums=(0, 1), has_aux=True)(
        L(a), L(b))
    theirs = torch.func.grad(lambda u, w: f(torch, u, w), argnums=(0, 1))(T(a), T(b))
    assert_tree_close(g, theirs, rtol=1e-14)
    assert not aux.requires_grad
    np.testing.assert_allclose(aux.numpy(), 2 * a)
    g1 = func.grad(lambda u, w: f(lemmata, u, w), argnums=-1)(L(a), L(b))
    assert_tree_close(g1, theirs[1], rtol=1e-14)


def test_grad_of_unused_input_is_zero_and_grad_of_grad_is_second_derivative():
    x = L(rng_value := 0.7)
    g = func.grad(lambda u, w: (u ** 3).sum(), argnums=1)(x, L([1.0, 2.0]))
    np.testing.assert_array_equal(g.numpy(), [0.0, 0.0])
    second = func.grad(func.grad(lambda u: u ** 3 + u * u))(L([rng_value]).sum())
    third = func.grad(func.grad(func.grad(lambda u: u ** 3 + u * u)))(L([rng_value]).sum())
    assert second.item() == pytest.approx(6 * rng_value + 2, rel=1e-14)
    assert third.item() == pytest.approx(6.0, rel=1e-14)


def test_vjp_matches_torch_func(rng):
    p, x = mlp_params(rng), rng.standard_normal((5, 4))
    cot = rng.standard_normal((5, 3))
    out, vjp_fn = func.vjp(lambda q, u: mlp_tanh(lemmata, q, u), as_lib(p, L), L(x))
    t_out, t_vjp = torch.func.vjp(lambda q, u: mlp_tanh(torch, q, u), as_lib(p, T), T(x))
    assert_tree_close(out, t_out, rtol=1e-14)
    ours, theirs = vjp_fn(L(cot)), t_vjp(T(cot))
    assert isinstance(ours, tuple) and len(ours) == 2 and set(ours[0]) == set(p)
    assert_tree_close(ours, theirs, rtol=1e-12, atol_scale=1e-12)
    # the graph is kept, so vjp_fn runs again; Jᵀ is linear in the cotangent
    doubled = ({k: 2 * v for k, v in to_np(theirs[0]).items()}, 2 * to_np(theirs[1]))
    assert_tree_close(vjp_fn(L(2 * cot)), doubled, rtol=1e-12, atol_scale=1e-12)


def test_vjp_tuple_output_and_aux(rng):
    a = rng.standard_normal(4)
    out, vjp_fn, aux = func.vjp(lambda u: ((u * u, u.exp()), u.sum()), L(a), has_aux=True)
    grads = vjp_fn((L(np.ones(4)), L(np.full(4, 2.0))))
    np.testing.assert_allclose(grads[0].numpy(), 2 * a + 2 * np.exp(a), rtol=1e-14)
    assert aux.item() == pytest.approx(a.sum())
    assert isinstance(out, tuple) and len(out) == 2


@pytest.mark.parametrize("method", ["complex-step", "double-backward"])
def test_jvp_matches_torch_func(rng, method):
    p, x = mlp_params(rng), rng.standard_normal((5, 4))
    tp, tx = mlp_params(rng), rng.standard_normal((5, 4))
    out, tangent = func.jvp(lambda q, u: mlp_tanh(lemmata, q, u), (as_lib(p, L), L(x)),
                            (as_lib(tp, L), L(tx)), method=method)
    t_out, t_tangent = torch.func.jvp(lambda q, u: mlp_tanh(torch, q, u), (as_lib(p, T), T(x)),
                                      (as_lib(tp, T), T(tx)))
    assert_tree_close(out, t_out, rtol=1e-14)
    assert_tree_close(tangent, t_tangent, rtol=1e-12, atol_scale=1e-13)
    assert out.dtype == np.float64 and tangent.dtype == np.float64


def test_jvp_complex_step_keeps_scalar_shapes_and_float32():
    x = lemmata.tensor([0.3, -1.2], dtype=lemmata.float32)
    v = lemmata.tensor([1.0, 0.5], dtype=lemmata.float32)
    out, tangent = func.jvp(lambda u: (u.sin() * u).sum(), (x,), (v,))
    assert out.shape == () and tangent.shape == ()
    assert out.dtype == np.float32 and tangent.dtype == np.float32
    xs, vs = x.numpy().astype(np.float64), v.numpy().astype(np.float64)
    expected = ((np.cos(xs) * xs + np.sin(xs)) * vs).sum()
    assert tangent.item() == pytest.approx(expected, rel=1e-6)


# ------------------------------------------------------------------------------ hvp
def test_hvp_on_a_quadratic_is_A_v_for_every_method(rng):
    n = 7
    m = rng.standard_normal((n, n))
    a, b = m @ m.T + n * np.eye(n), rng.standard_normal(n)
    x, v = rng.standard_normal(n), rng.standard_normal(n)

    def f(lib, u, A, B):
        return 0.5 * u @ (A @ u) - B @ u

    expected = torch_hvp(lambda u: f(torch, u, T(a), T(b)), T(x), T(v))
    for method in HVP_METHODS:
        ours = func.hvp(lambda u: f(lemmata, u, L(a), L(b)), L(x), L(v), method=method)
        assert_tree_close(ours, expected, rtol=1e-10)
        np.testing.assert_allclose(ours.numpy(), a @ v, rtol=1e-9)


@pytest.mark.parametrize("loss", [mlp_loss, cross_entropy], ids=["mse", "cross_entropy"])
def test_hvp_of_a_tanh_mlp_over_its_parameters_matches_torch(rng, loss):
    p, v = mlp_params(rng), mlp_params(rng)
    x = rng.standard_normal((6, 4))
    target = rng.standard_normal((6, 3)) if loss is mlp_loss else rng.integers(0, 3, 6)
    tt = T(target) if loss is mlp_loss else torch.tensor(target)
    lt = L(target) if loss is mlp_loss else lemmata.tensor(target)
    theirs = torch_hvp(lambda q: loss(torch, q, T(x), tt), as_lib(p, T), as_lib(v, T))
    results = {}
    for method in HVP_METHODS:
        results[method] = func.hvp(lambda q: loss(lemmata, q, L(x), lt), as_lib(p, L),
                                   as_lib(v, L), method=method)
        assert set(results[method]) == set(p)
    # the two exact methods agree with torch to 1e-10 relative; differences are far smaller
    assert_tree_close(results["complex-step"], theirs, rtol=1e-10, atol_scale=1e-10)
    assert_tree_close(results["double-backward"], theirs, rtol=1e-10, atol_scale=1e-10)
    assert_tree_close(results["complex-step"], results["double-backward"], rtol=1e-12,
                      atol_scale=1e-12)
    assert_tree_close(results["finite-difference"], theirs, rtol=1e-6, atol_scale=1e-7)


def test_finite_difference_error_decreases_like_eps_squared(rng):
    """Central differences have error c·ε² (c ∝ the third derivative); the complex step has none,
    so it serves as the reference: halving ε divides the error by 4."""
    p, v = mlp_params(rng), mlp_params(rng)
    x, y = rng.standard_normal((6, 4)), rng.standard_normal((6, 3))
    f = lambda q: mlp_loss(lemmata, q, L(x), L(y))  # noqa: E731
    exact = func.ravel(func.hvp(f, as_lib(p, L), as_lib(v, L)))[0].numpy()
    eps = 1e-2 / 2.0 ** np.arange(5)
    errors = []
    for e in eps:
        fd = func.hvp(f, as_lib(p, L), as_lib(v, L), method="finite-difference", eps=float(e))
        errors.append(np.linalg.norm(func.ravel(fd)[0].numpy() - exact))
    slope = np.polyfit(np.log(eps), np.log(errors), 1)[0]
    assert 1.9 < slope < 2.1, (slope, errors)
    ratios = np.array(errors[:-1]) / np.array(errors[1:])
    assert np.all((ratios > 3.5) & (ratios < 4.5)), ratios


def test_exact_line_search_step_on_a_quadratic(rng):
    """Seed ttic.p5: on f(x) = ½xᵀAx − bᵀx the second-order Taylor expansion is exact, so
    φ(α) = f(x − αg) = f(x) − α‖g‖² + ½α² gᵀHg, minimised at α = ‖g‖² / (gᵀHg), with Hg from one
    complex-step reverse pass (which also returns g)."""
    n = 12
    m = rng.standard_normal((n, n))
    a, b, x = m @ m.T + np.eye(n), rng.standard_normal(n), rng.standard_normal(n)
    f = lambda u: 0.5 * u @ (L(a) @ u) - L(b) @ u  # noqa: E731
    x_t = L(x)
    g = func.grad(f)(x_t)
    g2, hg = func.grad_and_hvp(f, x_t, g)
    np.testing.assert_allclose(g2.numpy(), g.numpy(), rtol=1e-14)
    alpha = float((g @ g).item() / (g @ hg).item())

    # dense: the gradient and Hessian of the quadratic are Ax − b and A
    g_dense = np.linalg.solve(np.eye(n), a @ x - b)
    np.testing.assert_allclose(g.numpy(), g_dense, rtol=1e-12)
    np.testing.assert_allclose(hg.numpy(), a @ g_dense, rtol=1e-12)

    def phi(t):
        with lemmata.no_grad():
            return f(L(x - t * g.numpy())).item()

    # φ is an exact parabola: its vertex from three samples is the line-search minimiser
    t0, t1, t2 = 0.0, alpha, 2 * alpha
    f0, f1, f2 = phi(t0), phi(t1), phi(t2)
    vertex = t1 - 0.5 * ((t1 - t0) ** 2 * (f1 - f2) - (t1 - t2) ** 2 * (f1 - f0)) / (
        (t1 - t0) * (f1 - f2) - (t1 - t2) * (f1 - f0))
    assert vertex == pytest.approx(alpha, rel=1e-9)
    # and a bracketing golden-section search on φ finds the same α
    lo, hi = 0.0, 4 * alpha
    r = (np.sqrt(5) - 1) / 2
    for _ in range(200):
        c, d = hi - r * (hi - lo), lo + r * (hi - lo)
        if phi(c) < phi(d):
            hi = d
        else:
            lo = c
    assert 0.5 * (lo + hi) == pytest.approx(alpha, rel=1e-6)
    # the Taylor form of the seed (with its ½) holds exactly
    gg, ghg = float(g.numpy() @ g.numpy()), float(g.numpy() @ hg.numpy())
    assert phi(alpha) == pytest.approx(phi(0.0) - alpha * gg + 0.5 * alpha ** 2 * ghg, rel=1e-12)


def test_hvp_accepts_tuples_and_float32(rng):
    a, b = rng.standard_normal(3).astype(np.float32), rng.standard_normal(3).astype(np.float32)
    va, vb = np.ones(3, np.float32), np.full(3, 0.5, np.float32)
    ours = func.hvp(lambda t: (t[0] * t[1] * t[1]).sum(),
                    (lemmata.tensor(a), lemmata.tensor(b)),
                    (lemmata.tensor(va), lemmata.tensor(vb)))
    assert ours[0].dtype == np.float32
    np.testing.assert_allclose(ours[0].numpy(), 2 * b * vb, rtol=1e-6)
    np.testing.assert_allclose(ours[1].numpy(), 2 * b * va + 2 * a * vb, rtol=1e-6)


# ------------------------------------------------------------------------------ jacobian, hessian
@pytest.mark.parametrize("method", ["reverse", "forward"])
def test_jacobian_matches_torch_autograd_functional(rng, method):
    a, w = rng.standard_normal((2, 3)), rng.standard_normal((3, 4))

    def f(lib, u, k):
        return lib.tanh(u @ k) * u.sum()

    ours = func.jacobian(lambda u, k: f(lemmata, u, k), (L(a), L(w)), method=method)
    theirs = torch.autograd.functional.jacobian(lambda u, k: f(torch, u, k), (T(a), T(w)))
    assert ours[0].shape == (2, 4, 2, 3) and ours[1].shape == (2, 4, 3, 4)
    assert_tree_close(ours, theirs, rtol=1e-12, atol_scale=1e-13)
    single = func.jacobian(lambda u: lemmata.exp(u) * u[0], L(a[0]), method=method)
    theirs1 = torch.autograd.functional.jacobian(lambda u: torch.exp(u) * u[0], T(a[0]))
    assert_tree_close(single, theirs1, rtol=1e-13)
    pair = func.jacobian(lambda u: (u * 2, u.sum()), L(a[0]), method=method)
    assert pair[0].shape == (3, 3) and pair[1].shape == (3,)
    np.testing.assert_allclose(pair[0].numpy(), 2 * np.eye(3))


@pytest.mark.parametrize("method", HVP_METHODS)
def test_hessian_matches_torch_autograd_functional(rng, method):
    a = rng.standard_normal((2, 3))

    def f(lib, u):
        return (lib.tanh(u) * u[:1]).sum() + (u ** 4).sum() / 4

    ours = func.hessian(lambda u: f(lemmata, u), L(a), method=method)
    theirs = torch.autograd.functional.hessian(lambda u: f(torch, u), T(a))
    assert ours.shape == (2, 3, 2, 3)
    tol = 1e-6 if method == "finite-difference" else 1e-12
    assert_tree_close(ours, theirs, rtol=tol, atol_scale=tol)


def test_dense_hessian_over_a_parameter_dict_via_ravel(rng):
    p, x, y = mlp_params(rng, (3, 4, 2)), rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    flat, unravel = func.ravel(as_lib(p, L))
    assert flat.shape == (sum(v.size for v in p.values()),)
    back = unravel(flat)
    assert all(np.array_equal(back[k].numpy(), p[k]) for k in p)
    ours = func.hessian(lambda t: mlp_loss(lemmata, unravel(t), L(x), L(y)), flat)
    t_flat = T(flat.numpy())
    sizes = [v.size for v in p.values()]
    shapes = [v.shape for v in p.values()]

    def t_unravel(t):
        parts = torch.split(t, sizes)
        return {k: part.reshape(s) for k, part, s in zip(p, parts, shapes)}

    theirs = torch.autograd.functional.hessian(
        lambda t: mlp_loss(torch, t_unravel(t), T(x), T(y)), t_flat)
    assert_tree_close(ours, theirs, rtol=1e-11, atol_scale=1e-11)
    np.testing.assert_allclose(ours.numpy(), ours.numpy().T, atol=1e-13)


# ------------------------------------------------------------------------------ complex-step check
class NumpyAbs(Function):
    """|x| computed with NumPy's abs: on complex data it returns the modulus, a real number."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(np.sign(x.real))
        return np.abs(x)

    @staticmethod
    def backward(ctx, g):
        sign, = ctx.saved_tensors
        return g * sign


class RealPart(Function):
    """x.real: keeps the real part of the data, passing gradients straight through."""

    @staticmethod
    def forward(ctx, x):
        return np.ascontiguousarray(x.real)

    @staticmethod
    def backward(ctx, g):
        return g


LEAVING = {
    "real": lambda u: (RealPart.apply(u) ** 3).sum(),
    "numpy_abs": lambda u: (NumpyAbs.apply(u) ** 3).sum(),
    "cast_to_float64": lambda u: (u.to(lemmata.float64) ** 3).sum(),
}


@pytest.mark.filterwarnings("ignore::numpy.exceptions.ComplexWarning")
@pytest.mark.parametrize("name", sorted(LEAVING))
def test_complex_step_warns_when_f_leaves_the_complex_plane(name):
    f = LEAVING[name]
    x, v = L([1.0, -2.0, 3.0]), L([1.0, 0.5, -1.0])
    exact_hv = 6 * np.abs(x.numpy()) * v.numpy()
    exact_jv = float(3 * (x.numpy() ** 2 * np.sign(x.numpy()) * v.numpy()).sum()) if \
        name == "numpy_abs" else float(3 * (x.numpy() ** 2 * v.numpy()).sum())
    if name != "numpy_abs":
        exact_hv = 6 * x.numpy() * v.numpy()
    with pytest.warns(ComplexStepWarning, match="complex-step.*method='double-backward'"):
        hv = func.hvp(f, x, v)
    np.testing.assert_allclose(hv.numpy(), exact_hv, rtol=1e-14)  # the checked result
    with pytest.warns(ComplexStepWarning, match="complex-step"):
        _, jv = func.jvp(f, (x,), (v,))
    assert jv.item() == pytest.approx(exact_jv, rel=1e-14)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ComplexStepWarning)
        np.testing.assert_allclose(func.hvp(f, x, v, method="double-backward").numpy(),
                                   exact_hv, rtol=1e-14)


def test_no_complex_step_warning_for_proper_or_flat_functions(rng):
    x, v = L(rng.standard_normal(5)), L(rng.standard_normal(5))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ComplexStepWarning)
        func.hvp(lambda u: (u.tanh() * u).sum(), x, v)
        func.jvp(lambda u: u.abs() * u, (x,), (v,))
        # genuinely flat: ReLU is piecewise linear, so its Hessian is zero off the kinks
        hv = func.hvp(lambda u: (lemmata.relu(u) * 3).sum(), x, v)
        np.testing.assert_array_equal(hv.numpy(), np.zeros(5))
        # v = 0 needs no check at all
        func.hvp(lambda u: (u ** 3).sum(), x, L(np.zeros(5)))


def test_functions_outside_lemmata_ops_are_reported():
    x, v = L([1.0, -2.0, 3.0]), L([1.0, 0.5, -1.0])
    with pytest.raises(RuntimeError, match="jvp: .*complex-step.*double-backward"):
        func.jvp(lambda u: lemmata.tensor(np.abs(u.numpy()) ** 3).sum(), (x,), (v,))
    with pytest.raises(RuntimeError, match="hvp: f's value changes along v but its output is "
                                           "not connected"):
        func.hvp(lambda u: lemmata.tensor(np.abs(u.detach().numpy()) ** 3).sum(), x, v)
    # analytic NumPy code on the complex point is fine for jvp (no graph needed)
    _, jv = func.jvp(lambda u: lemmata.tensor(np.sin(u.numpy())).sum(), (x,), (v,))
    assert jv.item() == pytest.approx(float((np.cos(x.numpy()) * v.numpy()).sum()), rel=1e-14)


# ------------------------------------------------------------------------------ bad input
def test_bad_inputs_raise_clear_errors():
    x, v = L([1.0, 2.0, 3.0]), L([1.0, 0.0, 0.0])
    with pytest.raises(ValueError, match=r"grad: f must return a scalar .*shape \(3,\)"):
        func.grad(lambda u: u * 2)(x)
    with pytest.raises(ValueError, match=r"hvp: f must return a scalar .*shape \(3,\)"):
        func.hvp(lambda u: u * u, x, v)
    with pytest.raises(ValueError, match=r"hessian: f must return a scalar .*shape \(3,\)"):
        func.hessian(lambda u: u * u, x)
    with pytest.raises(ValueError, match=r"hvp: v has shape \(2,\) but x has shape \(3,\)"):
        func.hvp(lambda u: (u * u).sum(), x, L([1.0, 2.0]))
    with pytest.raises(ValueError, match=r"hvp: v\['b'\] has shape \(2,\) but x\['b'\] has "
                                         r"shape \(3,\)"):
        func.hvp(lambda p: (p["a"] * p["b"]).sum(), {"a": x, "b": x}, {"a": v, "b": v[:2]})
    with pytest.raises(ValueError, match=r"jvp: tangent 0 has shape \(2,\) but primal 0 has"):
        func.jvp(lambda u: u * u, (x,), (L([1.0, 2.0]),))
    with pytest.raises(TypeError, match=r"jvp: tangent 0 is complex .* but primal 0 is real"):
        func.jvp(lambda u: u * u, (x,), (lemmata.tensor([1j, 0, 0]),))
    with pytest.raises(ValueError, match="hvp: v has structure Tensor but x has structure dict"):
        func.hvp(lambda p: (p["a"] ** 2).sum(), {"a": x}, v)
    ints = lemmata.tensor([1, 2, 3])
    with pytest.raises(TypeError, match=r"grad: input 0 has dtype lemmata.int64 \(shape \(3,\)\)"):
        func.grad(lambda u: (u * u).sum())(ints)
    with pytest.raises(TypeError, match=r"hvp: input 0 has dtype lemmata.int64"):
        func.hvp(lambda u: (u * u).sum(), ints, v)
    with pytest.raises(TypeError, match=r"jvp: primal 0 has dtype lemmata.int64"):
        func.jvp(lambda u: u * u, (ints,), (v,))
    with pytest.raises(ValueError, match="hvp: method must be one of"):
        func.hvp(lambda u: (u * u).sum(), x, v, method="forward")
    with pytest.raises(ValueError, match="jvp: method must be one of"):
        func.jvp(lambda u: u, (x,), (v,), method="finite-difference")
    with pytest.raises(TypeError, match="jvp: primals and tangents must be tuples"):
        func.jvp(lambda u: u, x, v)
    with pytest.raises(ValueError, match="jvp: got 1 primals but 2 tangents"):
        func.jvp(lambda u: u, (x,), (v, v))
    with pytest.raises(ValueError, match="grad: argnums 2 is out of range for f called with 2"):
        func.grad(lambda a, b: (a * b).sum(), argnums=2)(x, x)
    with pytest.raises(TypeError, match="grad: argnums must be an int"):
        func.grad(lambda a: a.sum(), argnums="0")(x)
    with pytest.raises(TypeError, match=r"grad: with has_aux=True, f must return a pair"):
        func.grad(lambda a: a.sum(), has_aux=True)(x)
    with pytest.raises(TypeError, match="grad: f must return a Tensor, got float"):
        func.grad(lambda a: 1.0)(x)
    with pytest.raises(TypeError, match="grad: argument 0 must be a Tensor or a tuple, list or "
                                        "dict of Tensors, got float"):
        func.grad(lambda a: a)(1.0)
    with pytest.raises(ValueError, match=r"jvp: complex-step needs real inputs.*complex128"):
        func.jvp(lambda u: u * u, (lemmata.tensor([1 + 1j], dtype=lemmata.complex128),),
                 (lemmata.tensor([1 + 0j], dtype=lemmata.complex128),))
    with pytest.raises(ValueError, match=r"vjp: cotangent has shape \(2,\) but f's output has "
                                         r"shape \(3,\)"):
        func.vjp(lambda u: u * 2, x)[1](L([1.0, 2.0]))
    with pytest.raises(ValueError, match="hvp: eps must be positive"):
        func.hvp(lambda u: (u * u).sum(), x, v, method="finite-difference", eps=0.0)
    with pytest.raises(TypeError, match="hessian: x must be a Tensor"):
        func.hessian(lambda u: u, {"a": x})
    with pytest.raises(ValueError, match=r"unravel: expected a 1-D Tensor of 3 entries"):
        func.ravel({"a": x})[1](L([1.0]))


def test_jvp_double_backward_handles_complex_inputs():
    z = lemmata.tensor([1 + 2j, -0.5 + 1j], dtype=lemmata.complex128)
    dz = lemmata.tensor([1 + 0j, 0 + 1j], dtype=lemmata.complex128)
    out, tangent = func.jvp(lambda u: u * u * u, (z,), (dz,), method="double-backward")
    np.testing.assert_allclose(tangent.numpy(), 3 * z.numpy() ** 2 * dz.numpy(), rtol=1e-14)
    np.testing.assert_allclose(out.numpy(), z.numpy() ** 3, rtol=1e-14)


# ------------------------------------------------------------------------- models, functional_call
def lemmata_cnn(batch_norm=False, dropout=0.0):
    layers = [nn.Conv2d(2, 3, 3, padding=1)]
    if batch_norm:
        layers.append(nn.BatchNorm2d(3))
    layers += [nn.ReLU(), nn.MaxPool2d(2), nn.Flatten()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(3 * 3 * 3, 4))
    return nn.Sequential(*layers).double()


class FixedMask(torch.nn.Module):
    """Dropout with a mask fixed in advance (the one lemmata drew), for the torch reference."""

    def __init__(self, mask):
        super().__init__()
        self.mask = mask

    def forward(self, x):
        return x * self.mask


def torch_twin(model, mask=None):
    """The same network in torch, with lemmata's weights and buffers."""
    layers = []
    for layer in model:
        if isinstance(layer, nn.Conv2d):
            layers.append(torch.nn.Conv2d(2, 3, 3, padding=1))
        elif isinstance(layer, nn.BatchNorm2d):
            layers.append(torch.nn.BatchNorm2d(3))
        elif isinstance(layer, nn.ReLU):
            layers.append(torch.nn.ReLU())
        elif isinstance(layer, nn.MaxPool2d):
            layers.append(torch.nn.MaxPool2d(2))
        elif isinstance(layer, nn.Flatten):
            layers.append(torch.nn.Flatten())
        elif isinstance(layer, nn.Dropout):
            layers.append(FixedMask(mask))
        else:
            layers.append(torch.nn.Linear(27, 4))
    twin = torch.nn.Sequential(*layers).double()
    state = {k: torch.tensor(v.numpy()) for k, v in model.state_dict().items()}
    twin.load_state_dict(state)
    twin.train(model.training)
    return twin


def torch_double_backward_hvp(twin, x, labels, v):
    params = {k: p.detach().clone().requires_grad_(True) for k, p in twin.named_parameters()}
    buffers = {k: b.clone() for k, b in twin.named_buffers()}
    loss = torch.nn.functional.cross_entropy(
        torch.func.functional_call(twin, {**params, **buffers}, (x,)), labels)
    grads = torch.autograd.grad(loss, list(params.values()), create_graph=True)
    dot = sum((g * v[k]).sum() for g, k in zip(grads, params))
    return dict(zip(params, torch.autograd.grad(dot, list(params.values()))))


@pytest.mark.parametrize("case", ["relu_maxpool", "batchnorm_eval", "batchnorm_train",
                                  "dropout_fixed_mask"])
def test_hvp_through_a_cnn_matches_torch_double_backward(rng, case):
    lemmata.manual_seed(3)
    model = lemmata_cnn(batch_norm=case.startswith("batchnorm"),
                        dropout=0.4 if case == "dropout_fixed_mask" else 0.0)
    if case == "batchnorm_eval":
        for name, buf in model.named_buffers():
            if name.endswith("running_mean"):
                buf.copy_(rng.standard_normal(3) / 4)
            elif name.endswith("running_var"):
                buf.copy_(1 + rng.random(3))
        model.eval()
    else:
        model.train()
    x = rng.standard_normal((5, 2, 6, 6))
    labels = rng.integers(0, 4, 5)
    params = {k: p.detach() for k, p in model.named_parameters()}
    buffers = {k: b.clone() for k, b in model.named_buffers()}   # updates land on the copies
    v = {k: L(rng.standard_normal(p.shape)) for k, p in params.items()}

    def loss(p):
        lemmata.manual_seed(11)  # the same dropout mask in every evaluation
        return F.cross_entropy(func.functional_call(model, {**p, **buffers}, L(x)),
                               lemmata.tensor(labels))

    mask = None
    if case == "dropout_fixed_mask":
        lemmata.manual_seed(11)
        mask = torch.tensor(F.dropout(L(np.ones((5, 27))), 0.4, training=True).numpy())
    twin = torch_twin(model, mask)
    theirs = torch_double_backward_hvp(twin, torch.tensor(x), torch.tensor(labels),
                                       {k: torch.tensor(t.numpy()) for k, t in v.items()})
    results = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error", ComplexStepWarning)
        warnings.filterwarnings("ignore", category=np.exceptions.ComplexWarning)
        for method in HVP_METHODS:
            results[method] = func.hvp(loss, params, v, method=method)
    # in train mode the conv bias is cancelled by the batch mean: its block is zero exactly, and
    # rounding-level there, so that block is judged on the scale of the whole product
    assert_tree_close(results["complex-step"], theirs, rtol=1e-10, atol_scale=1e-10,
                      scale="tree")
    assert_tree_close(results["double-backward"], theirs, rtol=1e-10, atol_scale=1e-10,
                      scale="tree")
    assert_tree_close(results["finite-difference"], theirs, rtol=1e-5, atol_scale=1e-6,
                      scale="tree")
    # the module's own tensors are back in place, unchanged
    for name, p in model.named_parameters():
        assert isinstance(p, nn.Parameter)
        np.testing.assert_array_equal(p.detach().numpy(), params[name].numpy())


def _scaled_product(module_base, linear):
    class ScaledProduct(module_base):
        def __init__(self):
            super().__init__()
            self.lin = linear(3, 2)

        def forward(self, x, y, scale=1.0):
            return self.lin(x) * y * scale

    return ScaledProduct().double()


def test_functional_call_takes_pytorchs_args_and_kwargs_and_lemmatas_shorthand(rng):
    """PyTorch's functional_call(module, params, args, kwargs): a tuple of positional arguments
    (or one argument that is not a tuple) and a dict of keyword arguments, by position or by
    name; lemmata's shorthand passes the module's arguments directly."""
    ours, theirs = _scaled_product(nn.Module, nn.Linear), _scaled_product(torch.nn.Module,
                                                                           torch.nn.Linear)
    params = {k: rng.standard_normal(tuple(v.shape)) for k, v in ours.named_parameters()}
    x, y = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    expected = torch.func.functional_call(theirs, {k: T(v) for k, v in params.items()},
                                          (T(x), T(y)), {"scale": 2.0}).detach().numpy()
    p = {k: L(v) for k, v in params.items()}
    calls = [
        lambda: func.functional_call(ours, p, (L(x), L(y)), {"scale": 2.0}),
        lambda: func.functional_call(ours, p, (L(x), L(y)), kwargs={"scale": 2.0}),
        lambda: func.functional_call(ours, p, args=(L(x), L(y)), kwargs={"scale": 2.0}),
        lambda: func.functional_call(ours, p, L(x), L(y), scale=2.0),
    ]
    for call in calls:
        np.testing.assert_allclose(call().detach().numpy(), expected, rtol=1e-14)
    single = func.functional_call(nn.Linear(3, 2).double(), {}, args=L(x))
    assert tuple(single.shape) == (4, 2)
    with pytest.raises(TypeError, match=r"functional_call: kwargs must be a dict, got int"):
        func.functional_call(ours, p, (L(x), L(y)), kwargs=3)
    with pytest.raises(TypeError, match=r"functional_call: the module's arguments are given "
                                        r"twice"):
        func.functional_call(ours, p, (L(x), L(y)), args=(L(x),))


def test_functional_call_swaps_and_restores_even_on_errors(rng):
    model = nn.Sequential(nn.Linear(3, 2), nn.Tanh(), nn.Linear(2, 1)).double()
    originals = {k: p for k, p in model.named_parameters()}
    before = {k: p.detach().numpy().copy() for k, p in originals.items()}
    zeros = {k: L(np.zeros(p.shape)) for k, p in originals.items()}
    out = func.functional_call(model, zeros, L(rng.standard_normal((4, 3))))
    np.testing.assert_array_equal(out.numpy(), np.zeros((4, 1)))
    # a partial dict: only the last bias replaced
    x = L(rng.standard_normal((4, 3)))
    with lemmata.no_grad():
        plain = model(x)
    shifted = func.functional_call(model, {"2.bias": originals["2.bias"].detach() + 1.0}, x)
    np.testing.assert_allclose(shifted.detach().numpy(), plain.numpy() + 1.0, rtol=1e-14)

    class Boom(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = model

        def forward(self, u):
            self.inner(u)
            raise KeyError("boom")

    boom = Boom()
    with pytest.raises(KeyError, match="boom"):
        func.functional_call(boom, {"inner.0.weight": L(np.ones((2, 3)))}, x)
    for k, p in model.named_parameters():
        assert p is originals[k]
        np.testing.assert_array_equal(p.detach().numpy(), before[k])
    with pytest.raises(ValueError, match=r"functional_call: Sequential has no parameters or "
                                         r"buffers named \['0.wieght'\]"):
        func.functional_call(model, {"0.wieght": L(np.ones((2, 3)))}, x)
    with pytest.raises(ValueError, match=r"functional_call: '0.weight' has shape \(3, 2\) but "
                                         r"the module's tensor has shape \(2, 3\)"):
        func.functional_call(model, {"0.weight": L(np.ones((3, 2)))}, x)
    with pytest.raises(TypeError, match="functional_call: module must be an nn.Module"):
        func.functional_call(lambda u: u, {}, x)


def test_functional_call_with_batch_norm_buffers_and_tied_weights(rng):
    bn = nn.BatchNorm1d(3).double()
    x = L(rng.standard_normal((6, 3)) * 2 + 1)
    running = {"running_mean": L(np.zeros(3)), "running_var": L(np.ones(3)),
               "num_batches_tracked": lemmata.tensor(0)}
    bn.train()
    func.functional_call(bn, running, x)
    np.testing.assert_allclose(running["running_mean"].numpy(), 0.1 * x.numpy().mean(0),
                               rtol=1e-14)      # the given buffer was updated ...
    np.testing.assert_array_equal(bn.running_mean.numpy(), np.zeros(3))  # ... not the module's
    bn.eval()
    out = func.functional_call(bn, running, x)
    expected = (x.numpy() - running["running_mean"].numpy()) / np.sqrt(
        running["running_var"].numpy() + bn.eps)
    np.testing.assert_allclose(out.detach().numpy(), expected * bn.weight.detach().numpy()
                               + bn.bias.detach().numpy(), rtol=1e-13)

    shared = nn.Linear(2, 2, bias=False).double()
    tied = nn.Sequential(shared, nn.Tanh(), shared)
    w = L(rng.standard_normal((2, 2)))
    u = L(rng.standard_normal((1, 2)))
    got = func.functional_call(tied, {"0.weight": w}, u)
    np.testing.assert_allclose(got.numpy(), np.tanh(u.numpy() @ w.numpy().T) @ w.numpy().T,
                               rtol=1e-14)
    g = func.grad(lambda p: func.functional_call(tied, p, u).sum())({"0.weight": w})
    theirs = torch.func.grad(lambda q: (torch.tanh(T(u.numpy()) @ q.T) @ q.T).sum())(T(w.numpy()))
    assert_tree_close(g["0.weight"], theirs, rtol=1e-13)


def test_double_backward_through_a_zero_dim_tanh():
    """An op saving its own 0-d output (NumPy ufuncs return scalars there) stays in the graph."""
    x = L([0.3, -0.4])
    f = lambda u: lemmata.tanh((u * u).sum())  # noqa: E731
    theirs = torch.autograd.functional.hessian(lambda u: torch.tanh((u * u).sum()), T(x.numpy()))
    assert_tree_close(func.hessian(f, x, method="complex-step"), theirs, rtol=1e-13)
    assert_tree_close(func.hessian(f, x), theirs, rtol=1e-12)
