"""2-D convolution by the convolution theorem, for stride-1 layers where it needs fewer FLOPs.

The same three linear maps as :mod:`lemmata.ops.conv` (the convolution C(x, w), its adjoint in x
T(g, w) and its adjoint in w W(x, g)), computed in the frequency domain.  With the input padded
to F_h × F_w (stride 1) the cross-correlation

    y[p, q] = Σ_(a, b) w[a, b] · x_pad[p + a·d_h, q + b·d_w]

never wraps around at a valid output, so it equals the circular one, and the convolution theorem
gives, at each frequency f = (u, v),

    Ŷ_f = X̂_f · conj(Ŵ_f),        an (n × C_in) @ (C_in × C_out) complex matrix product,

the channel sum making one small GEMM per frequency.  x is real, so the frequencies
v = 0 … F_w//2 carry everything (B = F_h·(F_w//2 + 1) of them).  For NiN's 5×5 96→192 layer on
16×16 maps that is 8·B·C_in·C_out = 32 MFLOP per image against im2col's 2·256·25·C_in·C_out =
236 MFLOP.

The transforms are small DFT matrices applied by complex GEMMs along one spatial dim at a time
(the padding enters as a phase, valid outputs only are synthesised), so channels-last data needs
no transposes.  With D_w, D_h (analysis), E_h, E_w (synthesis, E_w carrying the half-spectrum
weights 1 or 2 over F_h·F_w) and K the kernel's conjugate analysis,

    C(x, w) = Re E_w E_h [X̂_f conj(Ŵ_f)]_f,           X̂ = D_h D_w x,   conj(Ŵ) = K w
    T(g, w) = Re D_wᵀ D_hᵀ [Ū_f conj(Ŵ_f)ᵀ]_f,        Ū = E_hᵀ E_wᵀ g
    W(x, g) = Re Kᵀ [X̂_fᵀ Ū_f]_f                     (summed over the batch)

(real-linear adjoints are conjugate transposes; Ū is the conjugate of the adjoint's spectrum,
which turns every conjugate transpose into a plain transpose).  float32 results match im2col's
to about 1e-6 relative; complex inputs (complex-step probes) take im2col.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .arguments import broadcast_shape
from .workspace import batch_chunks, empty

if TYPE_CHECKING:  # pragma: no cover
    from .conv import ConvGeometry

__all__ = ["FourierPlan", "fourier_plan", "prefers_fourier", "fourier_convolve",
           "fourier_convolve_transpose", "fourier_weight_gradient", "gradient_spectrum"]

#: Fourier is chosen when its FLOPs are at most this share of im2col's: its per-frequency GEMMs
#: are smaller, and it casts between real and complex arrays.  Measured (forward + both
#: gradients, 64 images, one core): NiN's 5×5 96→192 layer, FLOP share 0.21, 2.2× faster;
#: 3×3 192→192 on 8×8, share 0.50, 1.2×; 3×3 128→128 on 16×16, share 0.47, 1.3×; 3×3 512→512
#: on 4×4, share 0.72, 1.7× slower.
FLOP_SHARE = 0.5
#: below this many images the per-frequency products are too thin to run at GEMM speed
MIN_BATCH = 16


@dataclass(frozen=True)
class FourierPlan:
    """The DFT matrices of one geometry (complex, in the working precision).

    ``analysis_w`` (V, W) and ``analysis_h`` (F_h, H): X̂[u, v] = Σ x[h, j] e^(−2πi(u(h+t)/F_h +
    v(j+l)/F_w)), padding offsets t, l folded in; ``kernel_h`` (F_h, k_h) and ``kernel_w``
    (V, k_w): conj(Ŵ) = Σ w[a, b] e^(+2πi(u a d_h/F_h + v b d_w/F_w));
    ``synthesis_h`` (H_out, F_h) and ``synthesis_w`` (W_out, V): the valid outputs
    Re Σ_f c_v/(F_h F_w) Ŷ_f e^(+2πi…), c_v = 1 for the self-conjugate v, else 2.
    """

    frequencies: tuple[int, int]
    analysis_h: np.ndarray
    analysis_w: np.ndarray
    kernel_h: np.ndarray
    kernel_w: np.ndarray
    synthesis_h: np.ndarray
    synthesis_w: np.ndarray


def _phase(frequencies: np.ndarray, positions: np.ndarray, size: int, sign: float) -> np.ndarray:
    """e^(sign·2πi f·x/size) as a (frequencies, positions) matrix."""
    return np.exp(sign * 2j * np.pi * np.outer(frequencies, positions) / size)


@functools.lru_cache(maxsize=64)
def fourier_plan(geometry: "ConvGeometry", dtype: np.dtype) -> FourierPlan:
    """The DFT matrices of a 2-D stride-1 ``geometry`` in the complex type of ``dtype``."""
    (f_h, f_w), (h, w) = geometry.padded_size, geometry.in_size
    (top, _), (left, _) = geometry.padding
    u, v = np.arange(f_h), np.arange(f_w // 2 + 1)
    analysis_h = _phase(u, np.arange(h) + top, f_h, -1.0)
    analysis_w = _phase(v, np.arange(w) + left, f_w, -1.0)
    kernel_h = _phase(u, np.arange(geometry.kernel[0]) * geometry.dilation[0], f_h, 1.0)
    kernel_w = _phase(v, np.arange(geometry.kernel[1]) * geometry.dilation[1], f_w, 1.0)
    self_conjugate = (v == 0) | ((f_w % 2 == 0) & (v == f_w // 2))
    weight = np.where(self_conjugate, 1.0, 2.0) / (f_h * f_w)
    synthesis_h = _phase(np.arange(geometry.out_size[0]), u, f_h, 1.0)
    synthesis_w = _phase(np.arange(geometry.out_size[1]), v, f_w, 1.0) * weight
    complex_type = np.result_type(dtype, np.complex64)
    as_complex = functools.partial(np.ascontiguousarray, dtype=complex_type)
    return FourierPlan((f_h, len(v)), as_complex(analysis_h), as_complex(analysis_w),
                       as_complex(kernel_h), as_complex(kernel_w), as_complex(synthesis_h),
                       as_complex(synthesis_w))


def prefers_fourier(geometry: "ConvGeometry", n: int, c_in: int, c_out: int,
                    dtype: np.dtype, share: float = FLOP_SHARE) -> bool:
    """True when the Fourier route applies (2-D, stride 1, one group, real floats, at least
    MIN_BATCH images) and its FLOPs are at most ``share`` of im2col's."""
    if (len(geometry.kernel) != 2 or any(s != 1 for s in geometry.stride) or geometry.groups != 1
            or dtype.kind != "f" or n < MIN_BATCH):
        return False
    (f_h, f_w), (h, w), (h_out, w_out) = geometry.padded_size, geometry.in_size, geometry.out_size
    taps = geometry.kernel[0] * geometry.kernel[1]
    if taps == 1:
        return False
    v = f_w // 2 + 1
    direct = 2 * h_out * w_out * taps * c_in * c_out
    fourier = 8 * (h * v * w * c_in + f_h * h * v * c_in           # analysis along w, then h
                   + f_h * v * c_in * c_out                         # the per-frequency products
                   + h_out * f_h * v * c_out + h_out * w_out * v * c_out   # synthesis
                   + f_h * v * geometry.kernel[0] * c_in * c_out / n)   # the kernel's spectrum
    return fourier <= share * direct


# ------------------------------------------------------------------------------ transforms


def _matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """a @ b into ``out``, or into a recycled array (the spectra are as large as the
    activations)."""
    if out is None:
        shape = broadcast_shape(a.shape[:-2], b.shape[:-2]) + (a.shape[-2], b.shape[-1])
        out = empty(shape, np.result_type(a, b))
    return np.matmul(a, b, out=out)


def _complex(real: np.ndarray, plan: FourierPlan) -> np.ndarray:
    """A real array cast to the plan's complex type (into a recycled array)."""
    out = empty(real.shape, plan.analysis_w.dtype)
    np.copyto(out, real)
    return out


def _spectrum(images: np.ndarray, plan: FourierPlan, out: np.ndarray | None = None) -> np.ndarray:
    """X̂ (n, F_h, V, C) of real channels-last images (n, H, W, C): along w, then along h."""
    along_w = _matmul(plan.analysis_w, _complex(images, plan))                 # (n, H, V, C)
    n, h, v, c = along_w.shape
    out = None if out is None else out.reshape(n, -1, v * c)
    return _matmul(plan.analysis_h, along_w.reshape(n, h, v * c), out).reshape(n, -1, v, c)


def _synthesis(spectrum: np.ndarray, plan: FourierPlan, out: np.ndarray) -> None:
    """out (n, H_out, W_out, K) ← Re E_w E_h Ŷ for a spectrum (n, F_h, V, K)."""
    n, f_h, v, k = spectrum.shape
    along_h = _matmul(plan.synthesis_h, spectrum.reshape(n, f_h, v * k))         # (n, H', V·K)
    np.copyto(out, _matmul(plan.synthesis_w, along_h.reshape(n, -1, v, k)).real)


def _conj_adjoint_spectrum(g: np.ndarray, plan: FourierPlan,
                           out: np.ndarray | None = None) -> np.ndarray:
    """Ū = E_hᵀ E_wᵀ g (n, F_h, V, K) for real channels-last g (n, H_out, W_out, K)."""
    along_w = _matmul(plan.synthesis_w.T, _complex(g, plan))                   # (n, H', V, K)
    n, h, v, k = along_w.shape
    out = None if out is None else out.reshape(n, -1, v * k)
    return _matmul(plan.synthesis_h.T, along_w.reshape(n, h, v * k), out).reshape(n, -1, v, k)


def _adjoint_synthesis(spectrum: np.ndarray, plan: FourierPlan, out: np.ndarray) -> None:
    """out (n, H, W, C) ← Re D_wᵀ D_hᵀ V̄ for a spectrum V̄ (n, F_h, V, C)."""
    n, f_h, v, c = spectrum.shape
    along_h = _matmul(plan.analysis_h.T, spectrum.reshape(n, f_h, v * c))        # (n, H, V·C)
    np.copyto(out, _matmul(plan.analysis_w.T, along_h.reshape(n, -1, v, c)).real)


def _kernel_spectrum(w: np.ndarray, plan: FourierPlan, transposed: bool = False) -> np.ndarray:
    """conj(Ŵ) as (B, C_in, C_out), or (B, C_out, C_in) when ``transposed``, contiguous either
    way (a GEMM on a transposed complex operand ran at half speed): along the kernel's w taps,
    then its h taps."""
    c_out, c_in, k_h, k_w = w.shape
    order = (2, 3, 0, 1) if transposed else (2, 3, 1, 0)
    taps = w.transpose(order).astype(plan.kernel_w.dtype)                    # (kh, kw, ·, ·)
    along_w = _matmul(plan.kernel_w, taps.reshape(k_h, k_w, c_in * c_out))    # (kh, V, ·)
    spectrum = _matmul(plan.kernel_h, along_w.reshape(k_h, -1))              # (F_h, V·C·K)
    return spectrum.reshape((-1,) + taps.shape[2:])


def _chunks(n: int, plan: FourierPlan, channels: int, itemsize: int) -> list[slice]:
    """Batch chunks whose widest complex spectrum fits the scratch budget, but at least
    MIN_BATCH images, so that the per-frequency products stay GEMM-shaped (measured on NiN's
    5×5 layer: 16 images per chunk run as fast as 64, 8 are 20 % slower)."""
    per_image = plan.frequencies[0] * plan.frequencies[1] * channels * 2 * itemsize
    return batch_chunks(n, per_image, minimum=MIN_BATCH)


def _per_frequency(spectrum: np.ndarray) -> np.ndarray:
    """(n, F_h, V, C) → (B, n, C): the matrices of the per-frequency products (a view)."""
    n, f_h, v, c = spectrum.shape
    return spectrum.reshape(n, f_h * v, c).transpose(1, 0, 2)


def _products(a: np.ndarray, b: np.ndarray, plan: FourierPlan) -> np.ndarray:
    """a (B, n, ·) @ b (B, ·, C) per frequency, written as a spectrum (n, F_h, V, C) so that the
    synthesis GEMMs read it without a transposing copy."""
    out = empty((a.shape[1], a.shape[0], b.shape[2]), np.result_type(a, b))
    np.matmul(a, b, out=out.transpose(1, 0, 2))
    return out.reshape((a.shape[1],) + plan.frequencies + (b.shape[2],))


# ------------------------------------------------------------------------------ the three maps


def fourier_convolve(x_last: np.ndarray, w: np.ndarray, geometry: "ConvGeometry",
                     out: np.ndarray) -> None:
    """C(x, w) of channels-last x (n, H, W, C) into ``out`` (n, H_out, W_out, C_out)."""
    plan = fourier_plan(geometry, x_last.dtype)
    kernel = _kernel_spectrum(w, plan)                                      # (B, C, K)
    for rows in _chunks(len(x_last), plan, max(w.shape[:2]), x_last.dtype.itemsize):
        products = _products(_per_frequency(_spectrum(x_last[rows], plan)), kernel, plan)
        _synthesis(products, plan, out[rows])


def gradient_spectrum(g_last: np.ndarray, geometry: "ConvGeometry") -> np.ndarray:
    """Ū (n, F_h, V, K) of a channels-last output gradient, computed once when both the input
    and the weight gradient need it (the convolution's backward passes it to both)."""
    plan = fourier_plan(geometry, g_last.dtype)
    n, c_out = len(g_last), g_last.shape[-1]
    u_bar = empty((n,) + plan.frequencies + (c_out,), plan.analysis_w.dtype)
    for rows in _chunks(n, plan, c_out, g_last.dtype.itemsize):
        _conj_adjoint_spectrum(g_last[rows], plan, out=u_bar[rows])
    return u_bar


def fourier_convolve_transpose(g_last: np.ndarray, w: np.ndarray, geometry: "ConvGeometry",
                               out: np.ndarray, u_bar: np.ndarray | None = None) -> None:
    """T(g, w) of channels-last g (n, H_out, W_out, C_out) into ``out`` (n, H, W, C_in);
    ``u_bar`` is g's :func:`gradient_spectrum` when the caller has it."""
    plan = fourier_plan(geometry, g_last.dtype)
    kernel_t = _kernel_spectrum(w, plan, transposed=True)                   # (B, K, C)
    for rows in _chunks(len(g_last), plan, max(w.shape[:2]), g_last.dtype.itemsize):
        spectrum = (_conj_adjoint_spectrum(g_last[rows], plan) if u_bar is None
                    else u_bar[rows])
        products = _products(_per_frequency(spectrum), kernel_t, plan)     # (n, F_h, V, C)
        _adjoint_synthesis(products, plan, out[rows])


def fourier_weight_gradient(x_last: np.ndarray, g_last: np.ndarray, geometry: "ConvGeometry",
                            u_bar: np.ndarray | None = None) -> np.ndarray:
    """W(x, g) as (C_out, C_in, *k) from channels-last x and g (``u_bar``: as above)."""
    plan = fourier_plan(geometry, x_last.dtype)
    n, c_in, c_out = len(x_last), x_last.shape[-1], g_last.shape[-1]
    spectrum = empty((n,) + plan.frequencies + (c_in,), plan.analysis_w.dtype)
    for rows in _chunks(n, plan, c_in, x_last.dtype.itemsize):
        _spectrum(x_last[rows], plan, out=spectrum[rows])
    if u_bar is None:
        u_bar = gradient_spectrum(g_last, geometry)
    q_bar = _matmul(_per_frequency(spectrum).transpose(0, 2, 1), _per_frequency(u_bar))
    k_h, k_w = geometry.kernel
    along_h = plan.kernel_h.T @ q_bar.reshape(plan.frequencies[0], -1)        # (kh, V·C·K)
    taps = np.matmul(plan.kernel_w.T, along_h.reshape(k_h, plan.frequencies[1], -1)).real
    gw = taps.reshape(k_h, k_w, c_in, c_out).transpose(3, 2, 0, 1)           # (K, C, kh, kw)
    return np.ascontiguousarray(gw, dtype=x_last.dtype)
