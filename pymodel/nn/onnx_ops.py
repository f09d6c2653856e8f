"""The float arithmetic of the ONNX operators that are not MACs, and the conv/pool geometry.

Everything here is plain numpy on NCHW float32 tensors.  The multiplying operators
(Conv, Gemm, MatMul) live in :mod:`pymodel.nn.onnx_exec`, where their products can go
through ``approx_matmul``; these helpers give them their im2col columns.
"""

import numpy as np

__all__ = ["spatial_pads", "pad", "im2col_nhwc", "max_pool", "max_pool_indices", "avg_pool", "softmax", "flatten", "reshape",
           "batch_norm", "clip", "div", "gather", "erf", "gelu", "sigmoid", "layer_norm", "power", "slice_nd",
           "pad_nd", "reduce", "resize_nearest", "resize_linear"]


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
    """``(n, c, *out, *kernel)`` strided view of the (already padded) ``xp`` over its spatial axes."""
    nd = len(kernel)
    span = [(k - 1) * d + 1 for k, d in zip(kernel, dilations)]
    if any(xp.shape[2 + i] < span[i] for i in range(nd)):
        raise ValueError(f"kernel {tuple(kernel)} (dilated {tuple(span)}) is larger than the padded input "
                         f"{xp.shape[2:]}")
    win = np.lib.stride_tricks.sliding_window_view(xp, span, axis=tuple(range(2, 2 + nd)))
    return win[(slice(None), slice(None)) + tuple(slice(None, None, s) for s in strides)
               + tuple(slice(None, None, d) for d in dilations)]


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
    """Maximum over each window (any number of spatial axes); integer tensors stay integer."""
    begins, ends = spatial_pads(x.shape[2:], kernel, strides, dilations, pads, auto_pad)
    if ceil_mode:
        ends = [e + _ceil_extra(x.shape[2 + i], kernel[i], strides[i], dilations[i], begins[i], e)
                for i, e in enumerate(ends)]
    lowest = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
    xp = pad(x, begins, ends, value=lowest)
    return _windows(xp, kernel, strides, dilations).max(axis=tuple(range(-len(kernel), 0)))


def max_pool_indices(x, kernel, strides, dilations, pads, auto_pad, ceil_mode, storage_order=0):
    """MaxPool's two outputs: the maxima and, for each, the flat index of the first maximal element of
    its window in ``x`` (row-major, or column-major over the spatial axes with ``storage_order=1``)."""
    nd = len(kernel)
    begins, ends = spatial_pads(x.shape[2:], kernel, strides, dilations, pads, auto_pad)
    if ceil_mode:
        ends = [e + _ceil_extra(x.shape[2 + i], kernel[i], strides[i], dilations[i], begins[i], e)
                for i, e in enumerate(ends)]
    spatial = x.shape[2:]
    flat = np.arange(int(np.prod(spatial)), dtype=np.int64)
    pos = flat.reshape(spatial[::-1]).transpose() if storage_order else flat.reshape(spatial)
    lowest = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
    wx = _windows(pad(x, begins, ends, value=lowest), kernel, strides, dilations)
    wp = _windows(pad(pos[None, None], begins, ends, value=-1), kernel, strides, dilations)
    lead = wx.shape[:2 + nd]
    wx = wx.reshape(lead + (-1,))
    first = wx.argmax(axis=-1)[..., None]            # the first of equal maxima, as onnxruntime
    values = np.take_along_axis(wx, first, axis=-1)[..., 0]
    where = np.take_along_axis(np.broadcast_to(wp.reshape(wp.shape[:2 + nd] + (-1,)), wx.shape), first, -1)[..., 0]
    n, c = x.shape[:2]
    offset = (np.arange(n)[:, None] * c + np.arange(c)[None, :]) * flat.size
    return values, where + offset.reshape((n, c) + (1,) * nd)


def avg_pool(x, kernel, strides, dilations, pads, auto_pad, count_include_pad, ceil_mode=0):
    """Average over each window (any number of spatial axes); the divisor counts the input's elements
    (and with ``count_include_pad`` the padding's too), never the extra end padding that ``ceil_mode``
    adds for its last window."""
    nd = len(kernel)
    axes = tuple(range(-nd, 0))
    begins, ends = spatial_pads(x.shape[2:], kernel, strides, dilations, pads, auto_pad)
    extra = [0] * nd
    if ceil_mode:
        extra = [_ceil_extra(x.shape[2 + i], kernel[i], strides[i], dilations[i], begins[i], ends[i])
                 for i in range(nd)]
    win = _windows(pad(x, begins, [e + c for e, c in zip(ends, extra)]), kernel, strides, dilations)
    total = win.sum(axis=axes, dtype=np.float32)
    if not any(begins) and not any(ends) and not any(extra):
        return total / np.float32(np.prod(kernel))
    ones = np.ones((1, 1) + x.shape[2:], np.float32)
    if count_include_pad:
        ones = pad(ones, begins, ends, value=1)
        ones = pad(ones, [0] * nd, extra)
    else:
        ones = pad(ones, begins, [e + c for e, c in zip(ends, extra)])
    count = _windows(ones, kernel, strides, dilations).sum(axis=axes)
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
    with np.errstate(divide="ignore", invalid="ignore"):       # x / 0 is inf or NaN, as IEEE (and ORT)
        return np.divide(a, b)


def gather(x, idx, axis):
    """ONNX Gather: ``idx`` may be negative (counts from the end); out of range is an error, not a wrap."""
    idx = np.asarray(idx, np.int64)
    size = x.shape[axis]
    if idx.size and (idx.min() < -size or idx.max() >= size):
        raise ValueError(f"Gather indices {idx.min()}..{idx.max()} out of range for axis {axis} of size {size}")
    return np.take(x, np.where(idx < 0, idx + size, idx), axis=axis)


# ---- elementwise and shape operators of mobile CNNs and transformer encoders ------------------------------------

def erf(x):
    """Gauss's error function (scipy's, float64 inside), in the dtype of ``x``."""
    from scipy.special import erf as _erf
    return _erf(np.asarray(x, np.float64)).astype(x.dtype)


def gelu(x, approximate="none"):
    """``x * Phi(x)``, or with ``approximate="tanh"`` the tanh form (ONNX Gelu, opset 20)."""
    x64 = np.asarray(x, np.float64)
    if approximate == "tanh":
        y = 0.5 * x64 * (1 + np.tanh(np.sqrt(2 / np.pi) * (x64 + 0.044715 * x64 ** 3)))
    else:
        from scipy.special import erf as _erf
        y = 0.5 * x64 * (1 + _erf(x64 / np.sqrt(2)))
    return y.astype(x.dtype)


def sigmoid(x):
    x64 = np.asarray(x, np.float64)
    return (0.5 * (1 + np.tanh(0.5 * x64))).astype(x.dtype)      # no overflow for large |x|


def layer_norm(x, scale, bias, axis, epsilon):
    """ONNX LayerNormalization: normalise over axes ``axis..`` (float64 inside); also the mean and
    1/std (shape of ``x`` with those axes kept as 1) for the optional outputs."""
    axis = axis + x.ndim if axis < 0 else axis
    axes = tuple(range(axis, x.ndim))
    x64 = np.asarray(x, np.float64)
    mean = x64.mean(axis=axes, keepdims=True)
    inv_std = 1 / np.sqrt(((x64 - mean) ** 2).mean(axis=axes, keepdims=True) + epsilon)
    y = (x64 - mean) * inv_std * scale
    if bias is not None:
        y = y + bias
    return y.astype(x.dtype), mean.astype(x.dtype), inv_std.astype(x.dtype)


def power(a, b):
    """ONNX Pow: the result has the base's dtype (integer bases through float64, as onnxruntime)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if a.dtype.kind in "iu":
            return np.power(a.astype(np.float64), b.astype(np.float64)).astype(a.dtype)
        return np.power(a, b.astype(a.dtype) if b.dtype.kind in "iu" else b).astype(a.dtype)


def slice_nd(x, starts, ends, axes=None, steps=None):
    """ONNX Slice: starts/ends clamped per axis (negative counts from the end; for a negative step the end
    may clamp to -1, "before the first element", which a Python slice cannot say with -1)."""
    starts, ends = [int(v) for v in np.atleast_1d(starts)], [int(v) for v in np.atleast_1d(ends)]
    axes = list(range(len(starts))) if axes is None else [int(a) for a in np.atleast_1d(axes)]
    steps = [1] * len(starts) if steps is None else [int(v) for v in np.atleast_1d(steps)]
    if not len(starts) == len(ends) == len(axes) == len(steps):
        raise ValueError(f"Slice starts/ends/axes/steps lengths {len(starts)}/{len(ends)}/{len(axes)}/{len(steps)}")
    index = [slice(None)] * x.ndim
    for s, e, a, st in zip(starts, ends, axes, steps):
        if not -x.ndim <= a < x.ndim:
            raise ValueError(f"Slice axis {a} out of range for rank {x.ndim}")
        if st == 0:
            raise ValueError("Slice step 0")
        d = x.shape[a]
        s, e = s + d if s < 0 else s, e + d if e < 0 else e
        if st > 0:
            s, e = min(max(s, 0), d), min(max(e, 0), d)
        else:
            s, e = min(max(s, 0), d - 1), min(max(e, -1), d - 1)
        index[a % x.ndim] = slice(s, None if e < 0 else e, st)
    return x[tuple(index)]


def pad_nd(x, pads, mode="constant", value=0, axes=None):
    """ONNX Pad: ``pads`` all begins then all ends (of ``axes``, default every axis); negative pads crop;
    modes constant, reflect, edge, wrap."""
    pads = [int(p) for p in np.asarray(pads).reshape(-1)]
    axes = list(range(x.ndim)) if axes is None else [int(a) % x.ndim for a in np.atleast_1d(axes)]
    if len(pads) != 2 * len(axes):
        raise ValueError(f"Pad needs {2 * len(axes)} pads for {len(axes)} axes, got {len(pads)}")
    begin, end = [0] * x.ndim, [0] * x.ndim
    for i, a in enumerate(axes):
        begin[a], end[a] = pads[i], pads[len(axes) + i]
    crop = tuple(slice(max(-b, 0), x.shape[a] - max(-e, 0)) for a, (b, e) in enumerate(zip(begin, end)))
    x = x[crop]
    widths = [(max(b, 0), max(e, 0)) for b, e in zip(begin, end)]
    if mode == "constant":
        return np.pad(x, widths, mode="constant", constant_values=np.asarray(value, x.dtype).reshape(()))
    if mode == "reflect" and any(w > s - 1 for (b, e), s in zip(widths, x.shape) for w in (b, e) if w):
        raise ValueError(f"Pad reflect of {widths} is larger than the input {x.shape} minus one")
    return np.pad(x, widths, mode={"reflect": "reflect", "edge": "edge", "wrap": "wrap"}[mode])


def reduce(fn, x, axes, keepdims, noop_with_empty_axes=False):
    """ONNX Reduce*: ``axes`` None or empty reduce every axis (or nothing, with noop_with_empty_axes)."""
    if axes is None or len(np.atleast_1d(axes)) == 0:
        if noop_with_empty_axes:
            return x
        axes = tuple(range(x.ndim))
    else:
        axes = tuple(sorted({int(a) % x.ndim for a in np.atleast_1d(axes)}))
    return fn(x, axes, bool(keepdims))


def _resize_source(n_in, n_out, scale, coordinate_mode):
    """Input coordinate of each output index along one axis (ONNX's coordinate_transformation_mode)."""
    o = np.arange(n_out, dtype=np.float64)
    if coordinate_mode == "half_pixel":
        return (o + 0.5) / scale - 0.5
    if coordinate_mode == "pytorch_half_pixel":
        return (o + 0.5) / scale - 0.5 if n_out > 1 else np.zeros_like(o)
    if coordinate_mode == "align_corners":
        return o * (n_in - 1) / (n_out - 1) if n_out > 1 else np.zeros_like(o)
    if coordinate_mode == "asymmetric":
        return o / scale
    if coordinate_mode == "tf_half_pixel_for_nn":
        return (o + 0.5) / scale
    if coordinate_mode == "half_pixel_symmetric":
        adj = n_out / (scale * n_in)
        return n_in / 2 * (1 - adj) + (o + 0.5) / scale - 0.5
    raise ValueError(f"Resize coordinate_transformation_mode {coordinate_mode!r}")


def resize_nearest(x, out_shape, coordinate_mode, nearest_mode, scales=None):
    """ONNX Resize with mode nearest: each output index mapped back to an input index per axis
    (``scales``: the given scale per axis, else output size / input size).  ``nearest_mode="simple"``
    is opset 10's rule as onnxruntime runs it: floor when enlarging, ceil when shrinking."""
    idx = []
    for a, (n_in, n_out) in enumerate(zip(x.shape, out_shape)):
        scale = (scales or {}).get(a, n_out / n_in)
        if n_out == n_in and scale == 1:
            idx.append(np.arange(n_in))
            continue
        src = _resize_source(n_in, n_out, scale, coordinate_mode)
        if nearest_mode == "round_prefer_floor":
            i = np.where(src - np.floor(src) == 0.5, np.floor(src), np.round(src))
        elif nearest_mode == "round_prefer_ceil":
            i = np.where(src - np.floor(src) == 0.5, np.ceil(src), np.round(src))
        elif nearest_mode == "floor" or (nearest_mode == "simple" and scale >= 1):
            i = np.floor(src)
        else:
            i = np.ceil(src)
        idx.append(np.clip(i, 0, n_in - 1).astype(np.int64))
    return x[np.ix_(*idx)]


def resize_linear(x, out_shape, coordinate_mode, scales=None):
    """ONNX Resize with mode linear (bilinear on two axes, and so on): per resized axis, the two nearest
    input samples weighted by distance, the coordinate clamped to the input (float64 inside)."""
    y = np.asarray(x, np.float64)
    for a, (n_in, n_out) in enumerate(zip(x.shape, out_shape)):
        scale = (scales or {}).get(a, n_out / n_in)
        if n_out == n_in and scale == 1:
            continue
        src = np.clip(_resize_source(n_in, n_out, scale, coordinate_mode), 0, n_in - 1)
        i0 = np.floor(src).astype(np.int64)
        i1 = np.minimum(i0 + 1, n_in - 1)
        w = (src - i0).reshape((-1,) + (1,) * (x.ndim - a - 1))
        y = np.take(y, i0, axis=a) * (1 - w) + np.take(y, i1, axis=a) * w
    return y.astype(x.dtype)
