"""Numpy layers with three forward modes: float32, and int8 through ``approx_matmul``.

Dense and Conv2d (im2col) are the layers with multiplies.  In int8 mode each
quantizes its input per tensor (scale calibrated on training data) and its weights
per output channel (symmetric, round to nearest, [-127, 127]), accumulates exactly
in int64 through ``approx_matmul`` with the given multiplier, and requantizes
(``acc * s_x * s_w + bias``).  The quantized weights are encoded for the multiplier
once (``EncodedWeights``) and reused while ``W`` is unchanged.  ``backward`` treats the int8 path as its float
counterpart (straight-through estimator), which is what approximation-aware
fine-tuning needs.
"""

import numpy as np

from .matmul import EncodedWeights, approx_matmul
from .mfree import NUMPY_OPS

__all__ = ["Dense", "Conv2d", "ReLU", "MaxPool2d", "Flatten", "softmax_cross_entropy", "Mode", "FLOAT"]


class Mode:
    """How the multiplying layers compute: ``"float"`` with the arithmetic of ``ops``
    (numpy, or Float Mitchell: :mod:`pymodel.nn.mfree`), optionally recording input
    ranges for calibration; or ``"int"`` through ``approx_matmul(multiplier)``, with
    symmetric quantization to ``[-qmax, qmax]``, ``qmax = 2**(width-1) - 1``.  The
    backward pass uses the ``ops`` of the last forward pass."""

    def __init__(self, kind="float", multiplier=None, calibrate=False, ops=NUMPY_OPS):
        if kind not in ("float", "int"):
            raise ValueError(f"kind must be 'float' or 'int', got {kind!r}")
        if kind == "int" and (multiplier is None or not multiplier.signed):
            raise ValueError("the int mode needs a signed multiplier (symmetric quantization)")
        self.kind, self.multiplier, self.calibrate, self.ops = kind, multiplier, calibrate, ops
        self.qmax = (1 << (multiplier.width - 1)) - 1 if multiplier is not None else None


FLOAT = Mode("float")


def quantize(x, scale, qmax):
    """``rint(x / scale)`` clipped to ``[-qmax, qmax]``.  The clip runs in float64: in float32 the bound
    ``2**(w-1) - 1`` rounds up to ``2**(w-1)`` from width 26 on, one past the signed range."""
    return np.clip(np.rint(x / scale).astype(np.float64), -qmax, qmax).astype(np.int64)


def _int_dtype(qmax):
    """The narrowest integer dtype of ``[-qmax, qmax]`` (approx_matmul reads int8/int16 as they are)."""
    return np.int8 if qmax <= 127 else np.int16 if qmax <= 32767 else np.int64


class _Linear:
    """Shared by Dense and Conv2d: ``y = cols @ W.T + b`` on 2-D ``cols``."""

    def __init__(self, n_in, n_out, rng):
        self.W = (rng.standard_normal((n_out, n_in)) * np.sqrt(2.0 / n_in)).astype(np.float32)
        self.b = np.zeros(n_out, np.float32)
        self.act_max = None        # largest |input| seen in calibration (per tensor)
        self.calibrated_max = None
        self._enc = None           # (multiplier, qmax, copy of W, EncodedWeights, s_w): reused while W holds

    @property
    def params(self):
        return [self.W, self.b]

    def weight_q(self, qmax):
        """Per-output-channel symmetric weights and their scales."""
        s_w = np.maximum(np.abs(self.W).max(axis=1), 1e-12) / qmax
        return quantize(self.W, s_w[:, None], qmax), s_w.astype(np.float32)

    def encoded_weights(self, multiplier, qmax):
        """Quantized weights encoded once for ``multiplier`` (``EncodedWeights`` of ``wq.T``) and
        their scales; encoded again only when ``W`` has changed (fine-tuning)."""
        e = self._enc
        if e is None or e[0] != multiplier or e[1] != qmax or not np.array_equal(e[2], self.W):
            wq, s_w = self.weight_q(qmax)
            e = self._enc = (multiplier, qmax, self.W.copy(), EncodedWeights(wq.T.astype(_int_dtype(qmax)), multiplier), s_w)
        return e[3], e[4]

    def _matmul(self, cols, mode):
        self.ops = mode.ops
        if mode.kind == "float":
            if mode.calibrate:
                self.act_max = max(self.act_max or 0.0, float(np.abs(cols).max(initial=0.0)))
            return mode.ops.matmul(cols, self.W.T) + self.b
        if self.calibrated_max is None:
            raise RuntimeError("int forward before calibration: call calibrate() on training data first")
        s_x = max(self.calibrated_max, 1e-12) / mode.qmax
        xq = quantize(cols, s_x, mode.qmax).astype(_int_dtype(mode.qmax))
        enc, s_w = self.encoded_weights(mode.multiplier, mode.qmax)
        acc = approx_matmul(xq, enc)
        return (acc * (s_x * s_w)[None, :]).astype(np.float32) + self.b

    def _grads(self, cols, dy):
        self.dW = self.ops.matmul(np.ascontiguousarray(dy.T), cols)
        self.db = dy.sum(axis=0)
        return self.ops.matmul(dy, self.W)

    @property
    def grads(self):
        return [self.dW, self.db]


class Dense(_Linear):
    def __init__(self, n_in, n_out, rng):
        super().__init__(n_in, n_out, rng)

    def forward(self, x, mode):
        self.x = x
        return self._matmul(x, mode)

    def backward(self, dy):
        return self._grads(self.x, dy)


class Conv2d(_Linear):
    """Square kernel, stride 1, zero padding ``pad``; NCHW."""

    def __init__(self, c_in, c_out, k, pad, rng):
        super().__init__(c_in * k * k, c_out, rng)
        self.c_in, self.c_out, self.k, self.pad = c_in, c_out, k, pad

    def _cols(self, x):
        n, c, h, w = x.shape
        p, k = self.pad, self.k
        xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
        oh, ow = h + 2 * p - k + 1, w + 2 * p - k + 1
        win = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(2, 3))   # n, c, oh, ow, k, k
        cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(n * oh * ow, c * k * k)
        return np.ascontiguousarray(cols), (n, c, h, w, oh, ow)

    def forward(self, x, mode):
        cols, self.geom = self._cols(x)
        self.cols = cols
        n, _, _, _, oh, ow = self.geom
        y = self._matmul(cols, mode)
        return y.reshape(n, oh, ow, self.c_out).transpose(0, 3, 1, 2)

    def backward(self, dy):
        n, c, h, w, oh, ow = self.geom
        dy2 = dy.transpose(0, 2, 3, 1).reshape(n * oh * ow, self.c_out)
        dcols = self._grads(self.cols, dy2).reshape(n, oh, ow, c, self.k, self.k)
        p = self.pad
        dxp = np.zeros((n, c, h + 2 * p, w + 2 * p), np.float32)
        for i in range(self.k):          # col2im: one strided add per kernel offset
            for j in range(self.k):
                dxp[:, :, i:i + oh, j:j + ow] += dcols[:, :, :, :, i, j].transpose(0, 3, 1, 2)
        return dxp[:, :, p:p + h, p:p + w]


class ReLU:
    params = grads = []

    def forward(self, x, mode):
        self.mask = x > 0
        return np.where(self.mask, x, np.float32(0))      # a select, not a multiplication

    def backward(self, dy):
        return np.where(self.mask, dy, np.float32(0))


class MaxPool2d:
    """2 x 2, stride 2."""
    params = grads = []

    def forward(self, x, mode):
        n, c, h, w = x.shape
        r = x.reshape(n, c, h // 2, 2, w // 2, 2)
        y = r.max(axis=(3, 5))
        self.mask = r == y[:, :, :, None, :, None]
        self.shape = x.shape
        self.ops = mode.ops
        return y

    def backward(self, dy):
        d = np.where(self.mask, dy[:, :, :, None, :, None], np.float32(0))
        ties = np.maximum(self.mask.sum(axis=(3, 5), keepdims=True), 1)      # ties share the gradient
        return self.ops.mul(d, (1.0 / ties).astype(np.float32)).reshape(self.shape)


class Flatten:
    params = grads = []

    def forward(self, x, mode):
        self.shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dy):
        return dy.reshape(self.shape)


def softmax_cross_entropy(logits, labels, ops=NUMPY_OPS):
    """Mean cross-entropy loss and its gradient with respect to the logits.

    The softmax itself (exp and the normalising division) stays in float32."""
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    n = logits.shape[0]
    loss = -np.log(p[np.arange(n), labels] + 1e-12).mean()
    d = p.astype(np.float32)
    d[np.arange(n), labels] -= 1
    return float(loss), ops.mul(d, np.float32(1.0 / n))
