"""The float arithmetic of the ONNX operators that are not MACs, and the conv/pool geometry.

Everything here is plain numpy on NCHW float32 tensors.  The multiplying operators
(Conv, Gemm, MatMul) live in :mod:`pymodel.nn.onnx_exec`, where their products can go
through ``approx_matmul``; these helpers give them their im2col columns.
"""

import numpy as np

__all__ = ["spatial_pads", "pad", "im2col_nhwc", "max_pool", "avg_pool", "softmax", "flatten", "reshape",
           "batch_norm", "clip", "div", "gather"]


def spatial_pads(in_size, kernel, strides, dilations, pads, auto_pad):
    """Begin and end padding per spatial axis (ONNX ``pads`` order: all begins, then all ends)."""
    nd = len(in_size)
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        begins, ends = [], []
        for i in range(nd):
            out = -(-in_size[i] // strides[i])
            total = max((out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - in_size[i], 0)
            small, big = total // 2, total - total // 2
            begins.append(small if auto_pad == "SAME_UPPER" else big)
            ends.append(big if auto_pad == "SAME_UPPER" else small)
        return begins, ends
    if auto_pad == "VALID":
        return [0] * nd, [0] * nd
    return list(pads[:nd]), list(pads[nd:])


def pad(x, begins, ends, value=0):
    if not any(begins) and not any(ends):
        return x
    widths = [(0, 0)] * (x.ndim - len(begins)) + list(zip(begins, ends))
    return np.pad(x, widths, constant_values=value)


def _windows(xp, kernel, strides, dilations):
    """``(n, c, oh, ow, kh, kw)`` strided view of the (already padded) 4-D ``xp``."""
    span = [(k - 1) * d + 1 for k, d in zip(kernel, dilations)]
    if xp.shape[2] < span[0] or xp.shape[3] < span[1]:
        raise ValueError(f"kernel {tuple(kernel)} (dilated {tuple(span)}) is larger than the padded input "
                         f"{xp.shape[2:]}")
    win = np.lib.stride_tricks.sliding_window_view(xp, span, axis=(2, 3))
    return win[:, :, ::strides[0], ::strides[1], ::dilations[0], ::dilations[1]]


def im2col_nhwc(xp, kernel, strides, dilations):
    """Columns ``(n * oh * ow, kh * kw * c)`` of padded NHWC ``xp`` (the order of
    ``W.transpose(0, 2, 3, 1).reshape(m, -1)``), and ``(oh, ow)``.

    One strided copy per kernel offset, each moving runs of ``c`` contiguous values: several
    times faster than copying a 6-D window view, which gathers single elements."""
    n, h, w, c = xp.shape
    (kh, kw), (sh, sw), (dh, dw) = kernel, strides, dilations
    oh, ow = (h - (kh - 1) * dh - 1) // sh + 1, (w - (kw - 1) * dw - 1) // sw + 1
    if oh < 1 or ow < 1:
        raise ValueError(f"kernel {tuple(kernel)} (dilations {tuple(dilations)}) is larger than the padded input "
                         f"{(h, w)}")
    if kh == kw == 1 and sh == sw == 1:
        return np.ascontiguousarray(xp).reshape(n * oh * ow, c), (oh, ow)
    cols = np.empty((n, oh, ow, kh, kw, c), xp.dtype)
    if dw == 1:
        # one copy per kernel row: for an output pixel, the kw x c values of a kernel row are one
        # contiguous run of the NHWC input
        xp = np.ascontiguousarray(xp)
        # strides from the shape, not ``xp.strides``: numpy calls an array contiguous whatever the stride
        # of a size-1 axis (a one-channel or one-image NHWC view of an NCHW tensor keeps the NCHW stride)
        bc = xp.itemsize
        bw, bh, bn = c * bc, w * c * bc, h * w * c * bc
        run = np.lib.stride_tricks.as_strided
        for i in range(kh):
            src = run(xp[:, i * dh:], shape=(n, oh, ow, kw * c), strides=(bn, bh * sh, bw * sw, bc), writeable=False)
            cols[:, :, :, i] = src.reshape(n, oh, ow, kw, c)
    else:
        for i in range(kh):
            for j in range(kw):
                cols[:, :, :, i, j, :] = xp[:, i * dh:i * dh + (oh - 1) * sh + 1:sh,
                                            j * dw:j * dw + (ow - 1) * sw + 1:sw]
    return cols.reshape(n * oh * ow, kh * kw * c), (oh, ow)


def _ceil_extra(size, kernel, stride, dilation, begin, end):
    """Extra end padding so that ``ceil_mode`` gets its last window (which must start inside the
    input or the begin padding, as onnxruntime and PyTorch do)."""
    span = (kernel - 1) * dilation + 1
    full = size + begin + end - span
    out = -(-full // stride) + 1
    if (out - 1) * stride >= size + begin:
        out -= 1
    return max((out - 1) * stride + span - (size + begin + end), 0)


def max_pool(x, kernel, strides, dilations, pads, auto_pad, ceil_mode):
    begins, ends = spatial_pads(x.shape[2:], kernel, strides, dilations, pads, auto_pad)
    if ceil_mode:
        ends = [e + _ceil_extra(x.shape[2 + i], kernel[i], strides[i], dilations[i], begins[i], e)
                for i, e in enumerate(ends)]
    lowest = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min        # integer tensors stay integer
    xp = pad(x, begins, ends, value=lowest)
    return _windows(xp, kernel, strides, dilations).max(axis=(4, 5))


def avg_pool(x, kernel, strides, dilations, pads, auto_pad, count_include_pad):
    begins, ends = spatial_pads(x.shape[2:], kernel, strides, dilations, pads, auto_pad)
    win = _windows(pad(x, begins, ends), kernel, strides, dilations)
    total = win.sum(axis=(4, 5), dtype=np.float32)
    if count_include_pad or (not any(begins) and not any(ends)):
        return total / np.float32(kernel[0] * kernel[1])
    ones = pad(np.ones((1, 1) + x.shape[2:], np.float32), begins, ends)
    count = _windows(ones, kernel, strides, dilations).sum(axis=(4, 5))
    return total / count


def softmax(x, axis, opset):
    """Opset >= 13: along ``axis``.  Before: over the input flattened to 2-D at ``axis``."""
    if opset >= 13:
        z = np.exp(x - x.max(axis=axis, keepdims=True))
        return z / z.sum(axis=axis, keepdims=True)
    shape = x.shape
    x2 = flatten(x, axis)
    z = np.exp(x2 - x2.max(axis=1, keepdims=True))
    return (z / z.sum(axis=1, keepdims=True)).reshape(shape)


def flatten(x, axis):
    axis = axis + x.ndim if axis < 0 else axis
    return x.reshape(int(np.prod(x.shape[:axis], dtype=np.int64)), -1)


def reshape(x, shape, allowzero):
    shape = [int(s) for s in shape]
    if not allowzero:
        shape = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]
    return x.reshape(shape)


def batch_norm(x, scale, bias, mean, var, epsilon):
    """Inference batch normalisation over axis 1 (float64 coefficients, float32 result)."""
    a = scale.astype(np.float64) / np.sqrt(var.astype(np.float64) + epsilon)
    b = bias.astype(np.float64) - mean.astype(np.float64) * a
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return (x * a.astype(np.float32).reshape(shape) + b.astype(np.float32).reshape(shape)).astype(np.float32)


def clip(x, lo, hi):
    """``min(max(x, lo), hi)`` in the dtype of ``x`` (a missing or infinite bound is no bound)."""
    for bound, fn in ((lo, np.maximum), (hi, np.minimum)):
        if bound is None:
            continue
        b = np.asarray(bound)
        if b.size != 1:
            raise ValueError(f"Clip bounds must be scalars, got shape {b.shape}")
        if b.dtype.kind == "f" and np.isinf(b).all() and x.dtype.kind != "f":
            continue
        x = fn(x, b.astype(x.dtype).reshape(()))
    return np.asarray(x)


def div(a, b):
    """ONNX Div: integer operands divide truncating toward zero (C and onnxruntime), floats as numpy."""
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype.kind in "iu" and b.dtype.kind in "iu":
        if (b == 0).any():
            raise ValueError("integer division by zero")
        q = np.floor_divide(a, b)
        # floor and truncation differ where the remainder is nonzero and the signs differ
        return q + ((a - q * b != 0) & ((a < 0) != (b < 0))).astype(q.dtype)
    return np.divide(a, b)


def gather(x, idx, axis):
    """ONNX Gather: ``idx`` may be negative (counts from the end); out of range is an error, not a wrap."""
    idx = np.asarray(idx, np.int64)
    size = x.shape[axis]
    if idx.size and (idx.min() < -size or idx.max() >= size):
        raise ValueError(f"Gather indices {idx.min()}..{idx.max()} out of range for axis {axis} of size {size}")
    return np.take(x, np.where(idx < 0, idx + size, idx), axis=axis)
