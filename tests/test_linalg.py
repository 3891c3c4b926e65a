"""lemmata.linalg: convolutions as matrices (seed bouman.q5) and the top Hessian eigenvalue by
power iteration and Lanczos (via Hessian-vector products, seed ttic.p5)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import lemmata
from lemmata import func, linalg
from lemmata.ops.conv import conv1d, conv2d, conv_transpose1d, conv_transpose2d, true_conv


def L(a):
    return lemmata.tensor(np.asarray(a, dtype=np.float64))


@pytest.fixture
def rng():
    return np.random.default_rng(7)


# ------------------------------------------------------------------------------ seed bouman.q5
def doc_A(w):
    """Q5.1: A_{i,j} = w_{2+i−j} (zero where 2+i−j is outside 0..2), i = 0..2, j = 0..4."""
    a = np.zeros((3, 5))
    for i in range(3):
        for j in range(5):
            if 0 <= 2 + i - j <= 2:
                a[i, j] = w[2 + i - j]
    return a


def doc_B(y):
    """Q5.4: B_{i,j} = y_{2+i−j}, i, j = 0..2."""
    return np.array([[y[2 + i - j] for j in range(3)] for i in range(3)])


def test_A_matches_the_documents_matrix_and_the_jacobian(rng):
    w, y = rng.standard_normal(3), rng.standard_normal(5)
    a = linalg.conv_matrix(L(w).reshape(1, 1, 3), (1, 5), true_convolution=True)
    assert a.shape == (3, 5) and a.dtype == np.float64
    np.testing.assert_array_equal(a.numpy(), doc_A(w))
    # the document's displayed matrix, row by row
    w0, w1, w2 = w
    np.testing.assert_array_equal(a.numpy(), [[w2, w1, w0, 0, 0], [0, w2, w1, w0, 0],
                                              [0, 0, w2, w1, w0]])
    x_hat = true_conv(L(y).reshape(1, 1, 5), L(w).reshape(1, 1, 3)).reshape(3)
    np.testing.assert_allclose(a.numpy() @ y, x_hat.numpy(), rtol=1e-14)
    jac = func.jacobian(lambda u: true_conv(u.reshape(1, 1, 5), L(w).reshape(1, 1, 3)).reshape(3),
                        L(y))
    np.testing.assert_allclose(jac.numpy(), a.numpy(), rtol=1e-14)


def test_adjoint_gradient_in_y_is_a_convolution(rng):
    """Q5.2–Q5.3: g_y = Aᵀε; it equals conv_transpose1d of ε with the flipped kernel (the adjoint
    of the forward correlation), the vjp, and the document's 'same' convolution of the
    zero-padded ε with the reversed kernel w_{−k} (a correlation with w)."""
    w, y, eps = rng.standard_normal(3), rng.standard_normal(5), rng.standard_normal(3)
    a = doc_A(w)
    g_y = a.T @ eps
    w2, w1, w0 = w[2], w[1], w[0]
    doc_At = np.array([[w2, 0, 0], [w1, w2, 0], [w0, w1, w2], [0, w0, w1], [0, 0, w0]])
    np.testing.assert_array_equal(doc_At, a.T)
    doc_same = np.array([[w1, w2, 0, 0, 0], [w0, w1, w2, 0, 0], [0, w0, w1, w2, 0],
                         [0, 0, w0, w1, w2], [0, 0, 0, w0, w1]])
    np.testing.assert_allclose(doc_same @ np.r_[0.0, eps, 0.0], g_y, rtol=1e-14)

    matrix = linalg.conv_matrix(L(w).reshape(1, 1, 3), (1, 5), true_convolution=True)
    np.testing.assert_allclose(matrix.numpy().T @ eps, g_y, rtol=1e-14)
    flipped = L(w[::-1].copy()).reshape(1, 1, 3)
    by_transpose = conv_transpose1d(L(eps).reshape(1, 1, 3), flipped).reshape(5)
    np.testing.assert_allclose(by_transpose.numpy(), g_y, rtol=1e-14)
    by_same = conv1d(L(np.r_[0.0, eps, 0.0]).reshape(1, 1, 5), L(w).reshape(1, 1, 3),
                     padding="same").reshape(5)
    np.testing.assert_allclose(by_same.numpy(), g_y, rtol=1e-14)
    _, vjp_fn = func.vjp(lambda u: true_conv(u.reshape(1, 1, 5), L(w).reshape(1, 1, 3)).reshape(3),
                         L(y))
    np.testing.assert_allclose(vjp_fn(L(eps))[0].numpy(), g_y, rtol=1e-14)


def test_B_and_the_weight_gradient_of_the_mse_loss(rng):
    """Q5.4–Q5.6: x̂ = B w with B_{i,j} = y_{2+i−j} (true convolution commutes), and
    ∇_w ‖x − x̂‖² = Bᵀε with ε = −2(x − x̂), a 'valid' convolution of y with ε.  (The document's
    Q5.6 writes −2Bᵀε, counting the factor −2 twice; with its own ε the gradient is Bᵀε.)"""
    w, y, x = rng.standard_normal(3), rng.standard_normal(5), rng.standard_normal(3)
    b = doc_B(y)
    y0, y1, y2, y3, y4 = y
    np.testing.assert_array_equal(b, [[y2, y1, y0], [y3, y2, y1], [y4, y3, y2]])
    # B is the matrix of w ↦ y ∗ w: y as the kernel, w padded by 2 ('valid' part of the full conv)
    b_conv = linalg.conv_matrix(L(y).reshape(1, 1, 5), (1, 3), padding=2, true_convolution=True)
    np.testing.assert_array_equal(b_conv.numpy(), b)
    conv_w = lambda v: true_conv(L(y).reshape(1, 1, 5), v.reshape(1, 1, 3)).reshape(3)  # noqa
    np.testing.assert_allclose(func.jacobian(conv_w, L(w)).numpy(), b, rtol=1e-14)
    np.testing.assert_allclose(b @ w, conv_w(L(w)).numpy(), rtol=1e-14)

    loss = lambda v: ((L(x) - conv_w(v)) ** 2).sum()  # noqa: E731
    eps = -2 * (x - b @ w)
    g_w = func.grad(loss)(L(w))
    np.testing.assert_allclose(g_w.numpy(), b.T @ eps, rtol=1e-13)
    doc_Bt = np.array([[y2, y3, y4], [y1, y2, y3], [y0, y1, y2]])
    np.testing.assert_allclose(doc_Bt @ eps, g_w.numpy(), rtol=1e-13)
    correlation = conv1d(L(y).reshape(1, 1, 5), L(eps).reshape(1, 1, 3)).reshape(3)
    np.testing.assert_allclose(correlation.numpy()[::-1], g_w.numpy(), rtol=1e-13)


# ------------------------------------------------------------------------------ conv_matrix
@pytest.mark.parametrize("kwargs", [
    {}, {"stride": 2, "padding": 1}, {"dilation": 2, "padding": "same"}, {"groups": 2},
    {"stride": (1, 2), "padding": (2, 0), "dilation": (1, 2)},
])
def test_conv_matrix_2d_reproduces_conv2d_and_its_adjoint(rng, kwargs):
    groups = kwargs.get("groups", 1)
    weight = L(rng.standard_normal((4, 4 // groups, 3, 3)))
    x = rng.standard_normal((4, 7, 6))
    a = linalg.conv_matrix(weight, (4, 7, 6), **kwargs)
    y = conv2d(L(x)[None], weight, **kwargs)[0]
    assert a.shape == (y.numel(), x.size)
    np.testing.assert_allclose(a.numpy() @ x.reshape(-1), y.numpy().reshape(-1), rtol=1e-12,
                               atol=1e-12)
    g = rng.standard_normal(y.shape)
    _, vjp_fn = func.vjp(lambda u: conv2d(u[None], weight, **kwargs)[0], L(x))
    np.testing.assert_allclose(a.numpy().T @ g.reshape(-1), vjp_fn(L(g))[0].numpy().reshape(-1),
                               rtol=1e-12, atol=1e-12)


def test_conv_matrix_transpose_is_conv_transpose(rng):
    weight = L(rng.standard_normal((3, 2, 3, 3)))
    a = linalg.conv_matrix(weight, (2, 6, 6), stride=2, padding=1)     # output 3 × 3
    g = rng.standard_normal((1, 3, 3, 3))
    back = conv_transpose2d(L(g), weight, stride=2, padding=1, output_padding=1)
    np.testing.assert_allclose(a.numpy().T @ g.reshape(-1), back.numpy().reshape(-1), rtol=1e-12,
                               atol=1e-12)
    w1 = L(rng.standard_normal((2, 3, 4)))
    a1 = linalg.conv_matrix(w1, (3, 9), stride=1)
    g1 = rng.standard_normal((1, 2, 6))
    np.testing.assert_allclose(a1.numpy().T @ g1.reshape(-1),
                               conv_transpose1d(L(g1), w1).numpy().reshape(-1), rtol=1e-12)


def test_conv_matrix_matches_torch_and_is_differentiable_in_the_weight(rng):
    w = rng.standard_normal((2, 1, 2, 2))
    a = linalg.conv_matrix(L(w), (1, 3, 3), padding=1)
    eye = torch.eye(9, dtype=torch.float64).reshape(9, 1, 3, 3)
    theirs = torch.nn.functional.conv2d(eye, torch.tensor(w), padding=1).reshape(9, -1).T
    np.testing.assert_allclose(a.numpy(), theirs.numpy(), rtol=1e-14)
    # the Frobenius norm² of A is Σ over output positions of the weights each one sees
    g = func.grad(lambda k: (linalg.conv_matrix(k, (1, 3, 3), padding=1) ** 2).sum())(L(w))
    w_t = torch.tensor(w, requires_grad=True)
    (torch.nn.functional.conv2d(eye, w_t, padding=1) ** 2).sum().backward()
    np.testing.assert_allclose(g.numpy(), w_t.grad.numpy(), rtol=1e-13)
    assert linalg.conv_matrix(lemmata.tensor(w.astype(np.float32)), (1, 3, 3)).dtype == np.float32


def test_conv_matrix_bad_inputs():
    w = L(np.ones((2, 3, 3)))
    with pytest.raises(ValueError, match=r"conv_matrix: weight must have 3 dims .* got shape "
                                         r"\(3, 3\)"):
        linalg.conv_matrix(L(np.ones((3, 3))), (3, 5))
    with pytest.raises(ValueError, match=r"conv_matrix: input has 2 channels but weight of shape "
                                         r"\(2, 3, 3\) with groups=1 expects 3"):
        linalg.conv_matrix(w, (2, 5))
    with pytest.raises(ValueError, match=r"conv_matrix: input_shape \(3, 5, 5\) must be \(C, L\)"):
        linalg.conv_matrix(w, (3, 5, 5))
    with pytest.raises(TypeError, match="conv_matrix: weight must be a Tensor"):
        linalg.conv_matrix(np.ones((2, 3, 3)), (3, 5))
    with pytest.raises(ValueError, match="conv_matrix: groups must be a positive int"):
        linalg.conv_matrix(w, (3, 5), groups=0)


# ------------------------------------------------------------------------------ Hessian spectra
def small_mlp_problem(rng):
    params = {"W1": L(rng.standard_normal((3, 5)) / 2), "b1": L(rng.standard_normal(5) / 2),
              "W2": L(rng.standard_normal((5, 2)) / 2), "b2": L(rng.standard_normal(2) / 2)}
    x, labels = L(rng.standard_normal((8, 3))), lemmata.tensor(rng.integers(0, 2, 8))

    def loss(p):
        logits = lemmata.tanh(x @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"]
        return -lemmata.log_softmax(logits, dim=1).gather(1, labels[:, None]).mean()

    return params, loss


def test_lanczos_and_power_iteration_find_the_top_hessian_eigenvalue(rng):
    params, loss = small_mlp_problem(rng)
    flat, unravel = func.ravel(params)
    dense = func.hessian(lambda t: loss(unravel(t)), flat).numpy()
    eigenvalues = np.linalg.eigvalsh(dense)
    top = eigenvalues[-1]
    largest_magnitude = eigenvalues[np.argmax(np.abs(eigenvalues))]

    operator, n = linalg.hessian_operator(loss, params)
    assert n == flat.numel() == dense.shape[0]
    ritz, vectors = linalg.lanczos(operator, n, num_iters=n)
    assert ritz[-1] == pytest.approx(top, rel=1e-9)
    residual = dense @ vectors.numpy()[:, -1] - ritz[-1] * vectors.numpy()[:, -1]
    assert np.linalg.norm(residual) < 1e-7 * abs(top)
    assert linalg.sharpness(loss, params) == pytest.approx(top, rel=1e-9)

    value, vector = linalg.power_iteration(operator, n, num_iters=5000, tol=1e-12)
    assert value == pytest.approx(largest_magnitude, rel=1e-8)
    np.testing.assert_allclose(dense @ vector.numpy(), value * vector.numpy(),
                               atol=1e-6 * abs(value))
    same = linalg.sharpness(loss, params, method="power", hvp_method="double-backward",
                            num_iters=5000, tol=1e-12)
    assert same == pytest.approx(largest_magnitude, rel=1e-8)


def test_lanczos_with_full_reorthogonalisation_recovers_a_whole_spectrum(rng):
    """A diagonal operator with clustered eigenvalues: without reorthogonalisation Lanczos
    would produce spurious copies; with it, n steps give exactly the n eigenvalues."""
    n = 40
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    spectrum = np.r_[np.linspace(0, 1, n - 3), 5.0, 5.0 + 1e-3, 9.0]
    matrix = (q * spectrum) @ q.T
    ritz, _ = linalg.lanczos(lambda v: L(matrix) @ v, n, num_iters=n, tol=0.0)
    np.testing.assert_allclose(np.sort(ritz), np.sort(spectrum), atol=1e-10)
    few, _ = linalg.lanczos(lambda v: L(matrix) @ v, L(np.ones(n)), num_iters=25)
    assert few[-1] == pytest.approx(9.0, rel=1e-10)


def test_eigen_solver_bad_inputs():
    with pytest.raises(TypeError, match="lanczos: operator must be callable"):
        linalg.lanczos(3, 4)
    with pytest.raises(ValueError, match="power_iteration: the start vector is zero"):
        linalg.power_iteration(lambda v: v, L(np.zeros(3)))
    with pytest.raises(ValueError, match=r"lanczos: operator maps a vector of shape \(3,\) to "
                                         r"shape \(2,\)"):
        linalg.lanczos(lambda v: v[:2], 3)
    with pytest.raises(TypeError, match="power_iteration: start must be a 1-D Tensor or a "
                                        "positive dimension"):
        linalg.power_iteration(lambda v: v, 0)
    with pytest.raises(ValueError, match="sharpness: method must be 'lanczos' or 'power'"):
        linalg.sharpness(lambda p: (p * p).sum(), L([1.0]), method="qr")
