"""Backpropagation in numpy through an imported ONNX graph (:class:`pymodel.nn.onnx_exec.OnnxNet`).

The forward pass is the executor's own: :meth:`Tape.forward` runs every step exactly as
``OnnxNet.forward`` does (float32, or the int mode with the same quantization and the bit-exact
``approx_matmul``), keeping each step's inputs and outputs.  :meth:`Tape.backward` then walks the
steps in reverse.

The MAC operators (Conv, Gemm, MatMul) in the int mode use a straight-through estimator: the
gradient is that of the *float* product of the *quantized* operands (``x_q * s_x`` and
``W_q * s_w``), i.e. the approximate multiplier's error and the rounding of the quantizer are
treated as identity in the backward pass, except that an activation clipped by the quantizer
(``|x| >`` its calibrated range) passes no gradient.  The approximate product has no useful
derivative of its own (it is piecewise constant in the integers); the quantized operands are what
the forward pass multiplied, so the weight gradient sees the values the int network really used.

Trainable parameters are the constant weights and biases of Conv, Gemm and MatMul-by-a-constant
(after the importer's BatchNorm folding); everything else (LayerNorm's scale, a standalone
BatchNorm, a MatMul's constant left operand) stays fixed and passes the gradient through.  An
operator on the gradient's path that has no backward here is refused up front, naming the node
(:func:`check_differentiable`).
"""

import numpy as np

from .onnx_exec import ConvStep, DynConvStep, DynMatMulStep, LinearStep, _MacStep, _weight_q
from .onnx_ops import im2col_nhwc, spatial_pads

__all__ = ["Tape", "check_differentiable", "trainable_steps", "softmax_xent", "DIFFERENTIABLE_OPS",
           "NotDifferentiable"]


class NotDifferentiable(ValueError):
    """A node on the gradient's path has no backward pass here."""


# ---- helpers --------------------------------------------------------------------------------------------------

def _unbroadcast(g, shape):
    """``g`` summed down to ``shape`` (undoing numpy broadcasting)."""
    shape = tuple(shape)
    if g.shape == shape:
        return g
    g = g.sum(axis=tuple(range(g.ndim - len(shape)))) if g.ndim > len(shape) else g
    axes = tuple(i for i, (a, b) in enumerate(zip(g.shape, shape)) if b == 1 and a != 1)
    return (g.sum(axis=axes, keepdims=True) if axes else g).reshape(shape)


def _dtype(x):
    """The precision of the backward pass of a MAC node: its input's (float32 in training, float64 in tests)."""
    return np.dtype(np.float64) if np.asarray(x).dtype == np.float64 else np.dtype(np.float32)


def _is_float(v):
    return v is not None and np.asarray(v).dtype.kind == "f"


def softmax_xent(logits, y):
    """Mean softmax cross-entropy of ``(N, C)`` logits against labels, and its gradient (float64)."""
    z = np.asarray(logits, np.float64)
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    n = len(y)
    loss = float(-np.log(np.maximum(p[np.arange(n), y], 1e-300)).mean())
    g = p
    g[np.arange(n), y] -= 1
    return loss, g / n


# ---- selection operators: the index trick -------------------------------------------------------------------

# operators that only move, copy or drop elements of their data input(s): their backward adds each output
# gradient to the element it came from.  Where it came from is found by running the operator itself on
# index arrays (float64, exact below 2**52), once per input shape.
_DATA_INPUTS = {"Concat": None, "Flatten": 1, "Reshape": 1, "Transpose": 1, "Split": 1, "Slice": 1,
                "Squeeze": 1, "Unsqueeze": 1, "Identity": 1, "Dropout": 1, "Expand": 1, "Tile": 1, "Gather": 1,
                "Pad": 1, "Resize": 1}


def _source_map(step, vals):
    """For each output of ``step``, the flat index (into the data inputs laid end to end) each element comes
    from, or -1 for an element that comes from none (a constant pad).  Two runs with index arrays offset by
    different amounts tell a copied element (it moves with the offset) from a constant one."""
    n_data = _DATA_INPUTS[step.op] or len(vals)
    data = list(range(min(n_data, len(vals))))
    sizes = [np.asarray(vals[i]).size for i in data]
    total = int(sum(sizes))
    runs = []
    for shift in (1.0, float(total) + 2.0):
        args, start = list(vals), 0
        for i, size in zip(data, sizes):
            args[i] = (np.arange(size, dtype=np.float64) + start + shift).reshape(np.shape(vals[i]))
            start += size
        outs = step.fn(*args)
        runs.append(outs if isinstance(outs, tuple) else (outs,))
    maps = []
    for a, b in zip(*runs):
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
        moved = (b - a) == float(total) + 1.0
        maps.append(np.where(moved, a - 1.0, -1.0).astype(np.int64))
    return maps, [vals[i] for i in data], sizes


def _select_backward(step, vals, outs, gouts, cache):
    key = (id(step), tuple(np.shape(v) if _is_float(v) or i == 0 else (np.shape(v), np.asarray(v).tobytes())
                           for i, v in enumerate(vals) if v is not None))
    if key not in cache:
        cache[key] = _source_map(step, vals)
    maps, data, sizes = cache[key]
    total = int(sum(sizes))
    flat = np.zeros(total, np.float64)
    for m, g in zip(maps, gouts):
        if g is None:
            continue
        ok = m >= 0
        flat += np.bincount(m[ok], weights=np.asarray(g, np.float64)[ok], minlength=total)
    grads, start = [None] * len(vals), 0
    for i, (v, size) in enumerate(zip(data, sizes)):
        grads[i] = flat[start:start + size].reshape(np.shape(v)) if _is_float(v) else None
        start += size
    return grads


def _max_select_backward(step, vals, outs, gouts):
    """MaxPool (and ReduceMax/Min): the gradient goes to the element the maximum took.  Which one is found by
    running the operator on the elements' ranks (ties: the later element of the flat order)."""
    x = vals[0]
    sign = -1.0 if step.op == "ReduceMin" else 1.0
    order = np.argsort(sign * x.ravel(), kind="stable")
    rank = np.empty(x.size, np.float64)
    rank[order] = np.arange(x.size)
    chosen = np.asarray(step.fn(*([rank.reshape(x.shape) * sign] + list(vals[1:]))))
    chosen = chosen if isinstance(chosen, np.ndarray) else np.asarray(chosen)
    r = sign * chosen.ravel()
    ok = np.isfinite(r)
    gx = np.bincount(order[r[ok].astype(np.int64)], weights=np.asarray(gouts[0], np.float64).ravel()[ok],
                     minlength=x.size)
    return [gx.reshape(x.shape)] + [None] * (len(vals) - 1)


# ---- elementwise and the rest --------------------------------------------------------------------------------

def _phi(x):
    return np.exp(-0.5 * x * x) / np.sqrt(2 * np.pi)


def _unary_grad(op, x, y, attrs):
    """d y / d x of an elementwise operator (float64)."""
    x64, y64 = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if op == "Relu":
        return (x64 > 0).astype(np.float64)
    if op == "LeakyRelu":
        return np.where(x64 >= 0, 1.0, float(attrs.get("alpha", 0.01)))
    if op == "Sigmoid":
        return y64 * (1 - y64)
    if op == "Tanh":
        return 1 - y64 * y64
    if op == "Erf":
        return 2 / np.sqrt(np.pi) * np.exp(-x64 * x64)
    if op == "Sqrt":
        return 0.5 / y64
    if op == "Exp":
        return y64
    if op == "Log":
        return 1 / x64
    if op == "Reciprocal":
        return -y64 * y64
    if op == "Abs":
        return np.sign(x64)
    if op == "Neg":
        return -np.ones_like(x64)
    if op in ("Floor", "Ceil", "Round", "Sign"):
        return np.zeros_like(x64)
    if op == "Gelu":
        if attrs.get("approximate", "none") == "tanh":
            c = np.sqrt(2 / np.pi)
            t = np.tanh(c * (x64 + 0.044715 * x64 ** 3))
            return 0.5 * (1 + t) + 0.5 * x64 * (1 - t * t) * c * (1 + 3 * 0.044715 * x64 * x64)
        from scipy.special import ndtr
        return ndtr(x64) + x64 * _phi(x64)
    if op in ("HardSigmoid", "HardSwish"):
        a, b = (float(attrs.get("alpha", 0.2)), float(attrs.get("beta", 0.5))) if op == "HardSigmoid" else (1 / 6, .5)
        u = a * x64 + b
        inside = ((u > 0) & (u < 1)).astype(np.float64)
        return a * inside if op == "HardSigmoid" else np.clip(u, 0, 1) + x64 * a * inside
    raise KeyError(op)


_UNARY = ("Relu", "LeakyRelu", "Sigmoid", "Tanh", "Erf", "Sqrt", "Exp", "Log", "Reciprocal", "Abs", "Neg", "Floor",
          "Ceil", "Round", "Sign", "Gelu", "HardSigmoid", "HardSwish")


def _reduce_axes(step, vals, x):
    axes = step.attrs.get("axes")
    if axes is None and len(vals) > 1 and vals[1] is not None:
        axes = vals[1]
    if axes is None or len(np.atleast_1d(axes)) == 0:
        return () if int(step.attrs.get("noop_with_empty_axes", 0)) else tuple(range(x.ndim))
    return tuple(sorted(int(a) % x.ndim for a in np.atleast_1d(axes)))


def _expand_reduced(step, g, x, axes):
    if not int(step.attrs.get("keepdims", 1)):
        g = np.expand_dims(g, axes) if axes else g
    return np.broadcast_to(g, x.shape)


def _softmax_2d(step, x):
    """(view as the axis softmax runs on, axis) for Softmax/LogSoftmax (before opset 13: flattened at axis)."""
    axis = int(step.attrs.get("axis", -1 if step.opset >= 13 else 1))
    if step.opset >= 13:
        return x, axis % x.ndim
    axis = axis % x.ndim
    return x.reshape(int(np.prod(x.shape[:axis])), -1), 1


def _pool_geometry(step, x):
    """(kernel, strides, dilations, begin pads) of an AveragePool, 2-D (1-D as height 1)."""
    from .onnx_import import _geometry

    class _At:
        def __init__(self, d):
            self.values = dict(d)

        def take(self, k, default=None):
            return self.values.get(k, default)

        def refuse(self, what):
            raise NotDifferentiable(f"node {step.name!r} (AveragePool): {what}")
    ks = step.attrs["kernel_shape"]
    kernel, strides, dil, pads, auto_pad = _geometry(_At(step.attrs), len(ks), ks)
    begins, _ = spatial_pads(x.shape[2:], kernel, strides, dil, pads, auto_pad)
    return kernel, strides, dil, begins


def _avg_pool_backward(step, x, y, g):
    """AveragePool's backward: each output's gradient over its window's input elements, divided by the
    divisor the forward used (found from the forward itself: the sum of a window of ones over the output)."""
    one_d = x.ndim == 3
    x4 = x[:, :, None, :] if one_d else x
    g4 = np.asarray(g, np.float64)
    g4 = g4[:, :, None, :] if one_d else g4
    kernel, strides, dil, begins = _pool_geometry(step, x)
    n, c, h, w = x4.shape
    oh, ow = g4.shape[2:]
    ones = np.ones((1, 1) + tuple(x.shape[2:]), np.float32)
    div = np.asarray(step.fn(ones), np.float64)          # count_valid / divisor per output (1 when they agree)
    div = div[:, :, None, :] if one_d else div
    gx = np.zeros((n, c, h, w), np.float64)
    rows = [np.arange(oh) * strides[0] - begins[0] + a * dil[0] for a in range(kernel[0])]
    cols = [np.arange(ow) * strides[1] - begins[1] + b * dil[1] for b in range(kernel[1])]
    # valid[a][p]: row of kernel offset a at output p is inside the input
    count = np.zeros((oh, ow))
    for r in rows:
        for cc in cols:
            count += np.outer((r >= 0) & (r < h), (cc >= 0) & (cc < w))
    scale = div[0, 0] / np.maximum(count, 1)        # 1 / divisor of each output
    gs = g4 * scale
    for r in rows:
        vr = (r >= 0) & (r < h)
        for cc in cols:
            vc = (cc >= 0) & (cc < w)
            sub = gs[:, :, vr][:, :, :, vc]
            np.add.at(gx, (slice(None), slice(None), r[vr][:, None], cc[vc][None, :]), sub)
    return gx[:, :, 0, :] if one_d else gx


def _float_backward(step, vals, outs, gouts, cache):
    """Input gradients of a non-MAC step (a list, None where an input takes none)."""
    op, at = step.op, getattr(step, "attrs", {})
    g = None if not gouts or gouts[0] is None else np.asarray(gouts[0], np.float64)
    x = vals[0] if vals else None
    none = [None] * len(vals)
    if op in _DATA_INPUTS:
        return _select_backward(step, vals, outs, gouts, cache)
    if op in ("MaxPool", "ReduceMax", "ReduceMin"):
        return _max_select_backward(step, vals, outs, gouts)
    if op in _UNARY:
        return [g * _unary_grad(op, x, outs[0], at)] + none[1:]
    if op == "Clip":
        if len(vals) > 1:
            lo, hi = vals[1], vals[2] if len(vals) > 2 else None
        else:
            lo, hi = at.get("min"), at.get("max")
        keep = np.ones(x.shape, bool)
        if lo is not None:
            keep &= x >= lo
        if hi is not None:
            keep &= x <= hi
        return [g * keep] + none[1:]
    if op in ("Add", "Sub", "Mul", "Div", "Pow"):
        a, b = (np.asarray(v, np.float64) for v in vals)
        if op == "Add":
            ga, gb = g, g
        elif op == "Sub":
            ga, gb = g, -g
        elif op == "Mul":
            ga, gb = g * b, g * a
        elif op == "Div":
            ga, gb = g / b, -g * a / (b * b)
        else:
            y = np.asarray(outs[0], np.float64)
            ga = g * b * np.power(a, b - 1)
            with np.errstate(divide="ignore", invalid="ignore"):
                gb = g * y * np.log(a) if _is_float(vals[1]) else None
        return [_unbroadcast(ga, a.shape) if _is_float(vals[0]) else None,
                None if gb is None or not _is_float(vals[1]) else _unbroadcast(gb, b.shape)]
    if op in ("Sum", "Mean"):
        k = 1.0 / len(vals) if op == "Mean" else 1.0
        return [_unbroadcast(g * k, np.shape(v)) for v in vals]
    if op in ("Max", "Min"):
        y, out, taken = outs[0], [], np.zeros(np.shape(outs[0]), bool)
        for v in vals:       # the first input equal to the result takes the gradient
            hit = (np.broadcast_to(v, y.shape) == y) & ~taken
            taken |= hit
            out.append(_unbroadcast(g * hit, np.shape(v)))
        return out
    if op == "Where":
        c = np.asarray(vals[0], bool)
        return [None, _unbroadcast(np.where(c, g, 0.0), np.shape(vals[1])),
                _unbroadcast(np.where(c, 0.0, g), np.shape(vals[2]))]
    if op == "Softmax":
        y = np.asarray(outs[0], np.float64)
        y2, ax = _softmax_2d(step, y)
        g2 = g.reshape(y2.shape)
        return [(y2 * (g2 - (g2 * y2).sum(axis=ax, keepdims=True))).reshape(x.shape)] + none[1:]
    if op == "LogSoftmax":
        y2, ax = _softmax_2d(step, np.asarray(outs[0], np.float64))
        g2 = g.reshape(y2.shape)
        return [(g2 - np.exp(y2) * g2.sum(axis=ax, keepdims=True)).reshape(x.shape)] + none[1:]
    if op == "GlobalAveragePool":
        sp = tuple(range(2, x.ndim))
        return [np.broadcast_to(g, x.shape) / np.prod([x.shape[i] for i in sp])]
    if op == "AveragePool":
        return [_avg_pool_backward(step, x, outs[0], g)]
    if op in ("ReduceMean", "ReduceSum", "ReduceSumSquare", "ReduceL2", "ReduceL1"):
        axes = _reduce_axes(step, vals, x)
        ge = _expand_reduced(step, g, x, axes)
        x64 = np.asarray(x, np.float64)
        if op == "ReduceMean":
            ge = ge / max(int(np.prod([x.shape[a] for a in axes])), 1)
        elif op == "ReduceSumSquare":
            ge = ge * 2 * x64
        elif op == "ReduceL1":
            ge = ge * np.sign(x64)
        elif op == "ReduceL2":
            y = _expand_reduced(step, np.asarray(outs[0], np.float64), x, axes)
            with np.errstate(divide="ignore", invalid="ignore"):
                ge = np.where(y > 0, ge * x64 / y, 0.0)
        return [np.array(ge)] + none[1:]
    if op == "LayerNormalization":
        axis = int(at.get("axis", -1)) % x.ndim
        axes = tuple(range(axis, x.ndim))
        x64 = np.asarray(x, np.float64)
        mean = x64.mean(axis=axes, keepdims=True)
        inv = 1 / np.sqrt(((x64 - mean) ** 2).mean(axis=axes, keepdims=True) + float(at.get("epsilon", 1e-5)))
        xhat = (x64 - mean) * inv
        gh = g * np.asarray(vals[1], np.float64)
        gx = inv * (gh - gh.mean(axis=axes, keepdims=True) - xhat * (gh * xhat).mean(axis=axes, keepdims=True))
        return [gx] + none[1:]
    if op == "BatchNormalization":          # inference form (not folded): per-channel affine
        params = step.bn[0] if getattr(step, "bn", None) is not None else vals[1:5]     # constant or computed
        gamma, _, _, var = (np.asarray(v, np.float64) for v in params)
        a = gamma / np.sqrt(var + float(at.get("epsilon", 1e-5)))
        return [g * a.reshape((1, -1) + (1,) * (x.ndim - 2))] + none[1:]
    if op in ("Cast", "CastLike"):
        return [g if _is_float(x) and _is_float(outs[0]) else None] + none[1:]
    raise NotDifferentiable(f"node {step.name!r} ({op}): no backward pass for operator {op}")


DIFFERENTIABLE_OPS = tuple(sorted(set(_DATA_INPUTS) | set(_UNARY) | {
    "MaxPool", "ReduceMax", "ReduceMin", "Clip", "Add", "Sub", "Mul", "Div", "Pow", "Sum", "Mean", "Max", "Min",
    "Where", "Softmax", "LogSoftmax", "GlobalAveragePool", "AveragePool", "ReduceMean", "ReduceSum",
    "ReduceSumSquare", "ReduceL2", "ReduceL1", "LayerNormalization", "BatchNormalization", "Cast", "CastLike",
    "Conv", "Gemm", "MatMul"}))


# ---- the MAC operators ----------------------------------------------------------------------------------------

def _act(step, i, x, mode):
    """The operand as the forward multiplied it (dequantized in the int mode) and the clip mask (None: none)."""
    if mode.kind == "float":
        return np.asarray(x, np.float64), None
    q, s = step.act_quant(i, x, mode)
    return q.astype(np.float64) * s, np.abs(x) <= step.calibrated_max[i]


def _w_deq(W2, mode):
    if mode.kind == "float":
        return np.asarray(W2, np.float64)
    wq, s_w = _weight_q(W2, mode.qmax)
    return wq.astype(np.float64) * s_w.astype(np.float64)[:, None]


def _linear_backward(step, vals, g, mode, need_x):
    x = vals[0].T if step.trans_a else vals[0]
    x2 = x.reshape(-1, x.shape[-1])
    g2 = g.reshape(-1, step.W.shape[0])
    dt = _dtype(x)
    xd, mask = _act(step, 0, x2, mode)
    xd, g2 = xd.astype(dt, copy=False), np.asarray(g2, dt)
    gW = (xd.T @ g2).T          # not g2.T @ xd: BLAS is many times slower on that layout
    gb = None if step.bias is None else _unbroadcast(g2.sum(axis=0), step.bias.shape)
    gx = None
    if need_x:
        gx = g2 @ _w_deq(step.W, mode).astype(dt)
        if mask is not None:
            gx = gx * mask
        gx = gx.reshape(x.shape)
        gx = gx.T if step.trans_a else gx
    return gx, gW, gb


def _conv_backward(step, vals, g, mode, need_x, cache):
    x = vals[0]
    if step.one_d:
        x = x[:, :, None, :]
        g = g[:, :, None, :]
    n, c, h, w = x.shape
    m, cg, kh, kw = step.W.shape
    begins, ends = spatial_pads(x.shape[2:], (kh, kw), step.strides, step.dilations, step.pads, step.auto_pad)
    dt = _dtype(x)
    xd, mask = _act(step, 0, x, mode)
    from .onnx_ops import pad
    xp = pad(xd.astype(dt, copy=False).transpose(0, 2, 3, 1), begins + [0], ends + [0])
    hp, wp = xp.shape[1:3]
    g2 = np.asarray(g, dt).transpose(0, 2, 3, 1).reshape(-1, m)       # (n*oh*ow, m)
    W2 = _w_deq(step.W2, mode).astype(dt)
    mg = m // step.group
    gW2 = np.empty(W2.shape)
    (sh, sw), (dh, dw) = step.strides, step.dilations
    if need_x:
        gxp = np.zeros((n, hp, wp, c), dt)
    for k in range(step.group):
        rows = slice(k * mg, (k + 1) * mg)
        xg = xp if step.group == 1 else xp[..., k * cg:(k + 1) * cg]
        cols, (oh, ow) = im2col_nhwc(xg, (kh, kw), step.strides, step.dilations)
        gk = g2[:, rows]
        gW2[rows] = (cols.T @ gk).T        # not gk.T @ cols: BLAS is many times slower on that layout
        if need_x:
            # col2im: each kernel offset's column block added back onto the strided window it was copied from
            gcols = (gk @ W2[rows]).reshape(n, oh, ow, kh, kw, cg)
            for i in range(kh):
                for j in range(kw):
                    gxp[:, i * dh:i * dh + sh * (oh - 1) + 1:sh, j * dw:j * dw + sw * (ow - 1) + 1:sw,
                        k * cg:(k + 1) * cg] += gcols[:, :, :, i, j, :]
    gW = gW2.reshape(m, kh, kw, cg).transpose(0, 3, 1, 2)
    gb = None if step.bias is None else g2.sum(axis=0)
    gx = None
    if need_x:
        gx = gxp[:, begins[0]:begins[0] + h, begins[1]:begins[1] + w].transpose(0, 3, 1, 2)
        if mask is not None:
            gx = gx * mask
        gx = gx[:, :, 0, :] if step.one_d else gx
    return gx, gW, gb


def _dyn_matmul_backward(step, vals, g, mode, need):
    ops = [step.const[i] if step.const[i] is not None else vals[i] for i in range(2)]
    ops = [o.T if t else o for o, t in zip(ops, step.trans)]
    a, b = ops
    a1, b1 = (a[None] if a.ndim == 1 else a), (b[:, None] if b.ndim == 1 else b)
    if mode.kind == "float":
        ad, bd, ma, mb = np.asarray(a1, np.float64), np.asarray(b1, np.float64), None, None
    else:
        (aq, s_a), (bq, s_b) = step._operand_q(0, a1, mode), step._operand_q(1, b1, mode)
        ad, bd = aq.astype(np.float64) * s_a, bq.astype(np.float64) * s_b
        ma = np.abs(a1) <= step.calibrated_max[0] if step.const[0] is None else None
        mb = np.abs(b1) <= step.calibrated_max[1] if step.const[1] is None else None
    g1 = np.asarray(g, np.float64) * step.alpha
    if a.ndim == 1:
        g1 = np.expand_dims(g1, -2)
    if b.ndim == 1:
        g1 = np.expand_dims(g1, -1)
    grads = []
    for i, (need_i, v) in enumerate(zip(need, (a, b))):
        if not need_i or step.const[i] is not None:
            grads.append(None)
            continue
        if i == 0:
            gi = _unbroadcast(g1 @ np.swapaxes(bd, -1, -2), a1.shape)
            gi = gi * ma if ma is not None else gi
            gi = gi[0] if a.ndim == 1 else gi
        else:
            gi = _unbroadcast(np.swapaxes(ad, -1, -2) @ g1, b1.shape)
            gi = gi * mb if mb is not None else gi
            gi = gi[:, 0] if b.ndim == 1 else gi
        grads.append(gi.T if step.trans[i] else gi)
    return grads


# ---- the tape ------------------------------------------------------------------------------------------------

def trainable_steps(net):
    """The steps whose constant weights (and bias) are trained: Conv, Gemm and MatMul by a constant."""
    return [s for s in net.steps if isinstance(s, (ConvStep, LinearStep)) and not isinstance(s, DynConvStep)]


# operators whose outputs are integers or booleans (shapes, indices, comparisons): no gradient passes them
_NO_GRAD = {"Shape", "Size", "Equal", "Greater", "Less", "GreaterOrEqual", "LessOrEqual", "And", "Or", "Xor", "Not",
            "ArgMax", "ArgMin", "Range", "ConstantOfShape"}


def _grad_path(net, params, everything=False):
    """Names of the tensors a gradient reaches: those computed from a trainable step's output (``everything``:
    from any data input)."""
    live = {n for n, _, _ in net.inputs} if everything else set()
    for s in net.steps:
        if s.op in _NO_GRAD:
            continue
        if s in params or any(n in live for n in s.inputs if n):
            live.update(o for o in s.outputs if o)
    return live


def check_differentiable(net, params=None, everything=False):
    """Refuses (``NotDifferentiable`` naming the node) any step on the gradient's path without a backward;
    returns the names of the tensors on that path."""
    params = set(trainable_steps(net) if params is None else params)
    if not params and not everything:
        raise NotDifferentiable("the model has no Conv, Gemm or MatMul with constant weights to fine-tune")
    live = _grad_path(net, params, everything)
    for s in net.steps:
        if not any(o in live for o in s.outputs if o) or s in params:
            continue
        if not isinstance(s, _MacStep) and not hasattr(s, "attrs"):
            # the float step after a Gemm with a computed C (beta * C): its beta is not kept
            raise NotDifferentiable(f"node {s.name!r} ({s.op}): no backward pass for a Gemm's computed C input")
        if isinstance(s, DynConvStep):
            raise NotDifferentiable(f"node {s.name!r} (Conv): no backward pass for a Conv with computed weights")
        if isinstance(s, _MacStep) and not isinstance(s, (DynMatMulStep, ConvStep, LinearStep)):
            raise NotDifferentiable(f"node {s.name!r} ({s.op}): no backward pass for this {s.op}")
        if not isinstance(s, _MacStep) and s.op not in DIFFERENTIABLE_OPS:
            raise NotDifferentiable(f"node {s.name!r} ({s.op}): no backward pass for operator {s.op} "
                                    f"(differentiable: {', '.join(DIFFERENTIABLE_OPS)})")
    return live


class Tape:
    """Forward and backward passes of ``net`` for training its :func:`trainable_steps`.

    ``forward(x, mode)`` returns the (first) graph output exactly as ``net.forward(x, mode)`` does and
    keeps what the backward pass needs; ``backward(g_out)`` returns ``{step: (dW, db)}`` (float64,
    ``W``'s and ``bias``'s shapes; db None without a bias), and with ``Tape(..., wrt_input=True)`` also the
    gradient of the first data input under the key ``"input"``."""

    def __init__(self, net, params=None, wrt_input=False):
        self.net, self.wrt_input = net, wrt_input
        self.params = list(trainable_steps(net) if params is None else params)
        self.live = check_differentiable(net, self.params, everything=wrt_input)
        self._cache = {}
        self._record = None

    def forward(self, x, mode):
        net = self.net
        env = net._feeds(x)
        self.inputs = dict(env)
        record = []
        for step in net.steps:
            vals = [None if not n else env[n] if n in env else net.consts[n] for n in step.inputs]
            try:
                outs = step.run(vals, mode)
            except (ValueError, IndexError) as e:
                raise ValueError(f"node {step.name!r} ({step.op}): {e}") from e
            record.append((step, vals, outs))
            for name, v in zip(step.outputs, outs):
                if name:
                    env[name] = v
        self._record, self._mode = record, mode
        out = net.output_name
        return env[out] if out in env else net.consts[out]

    def backward(self, g_out):
        net, mode, cache, wrt_input = self.net, self._mode, self._cache, self.wrt_input
        live = self.live
        grads = {net.output_name: np.asarray(g_out, np.float64)}
        params = set(self.params)
        out = {}
        for step, vals, outs in reversed(self._record):
            gouts = [grads.pop(o, None) if o else None for o in step.outputs]
            if all(g is None for g in gouts):
                continue
            need = [bool(n) and n not in net.consts and (n in live or (wrt_input and n in self.inputs))
                    and _is_float(v) for n, v in zip(step.inputs, vals)]
            g = gouts[0]
            if isinstance(step, ConvStep) and not isinstance(step, DynConvStep):
                gx, gW, gb = _conv_backward(step, vals, g, mode, need[0], cache)
                in_grads = [gx]
            elif isinstance(step, LinearStep):
                gx, gW, gb = _linear_backward(step, vals, g, mode, need[0])
                in_grads = [gx]
            elif isinstance(step, DynMatMulStep):
                gW = None
                in_grads = _dyn_matmul_backward(step, vals, g, mode, need)
            elif isinstance(step, _MacStep):
                raise NotDifferentiable(f"node {step.name!r} ({step.op}): no backward pass for this {step.op}")
            else:
                gW = None
                in_grads = _float_backward(step, vals, outs, gouts, cache)
            if step in params and gW is not None:
                out[step] = (gW, gb)
            for name, gi, nd in zip(step.inputs, in_grads, need):
                if gi is None or not nd:
                    continue
                gi = np.asarray(gi, np.float64)
                grads[name] = grads[name] + gi if name in grads else gi
        if wrt_input:
            out["input"] = grads.get(net.input_name)
        return out
