"""Numpy executor of an imported ONNX graph: float32, calibration, and the integer path.

The multiplying operators (Conv, Gemm, MatMul) are the MAC arrays.  In the float
mode they are float32 matrix products (optionally recording the largest ``|input|``
for calibration); in the int mode (``layers.Mode("int", multiplier)``) they do
post-training quantization as :mod:`pymodel.nn.layers` does: activations per tensor
from the calibrated range, constant weights per output channel, symmetric to
``[-qmax, qmax]``, every product through ``approx_matmul(a_int, w_int, multiplier)``
with exact int64 accumulation, and float requantization ``acc * s_x * s_w + bias``.
That includes MatMul between two activations (a transformer's attention scores
``Q @ K^T`` and attention-weighted values ``P @ V``): both operands per tensor, batched
(3-D, 4-D) products one ``approx_matmul`` per matrix of the batch.
Everything else (ReLU, pools, residual adds, scaling by constants, softmax,
normalisation, GELU) stays float32; each step says which (``Step.arithmetic``).

:class:`LayerErrors` measures, per MAC node, how far an int run is from the float path.
"""

import math

import numpy as np

from .layers import FLOAT, Mode, quantize
from .matmul import approx_matmul
from .onnx_ops import im2col_nhwc, pad, spatial_pads

__all__ = ["OnnxNet", "Step", "ConvStep", "DynConvStep", "LinearStep", "DynMatMulStep", "LayerErrors", "topk_correct"]


# products per approx_matmul call below which a batched MatMul of two activations groups its matrices
_GROUP_PRODUCTS = 2 ** 18


def _group_size(count, m, n, k):
    """How many of ``count`` (m, k) @ (k, n) products go in one ``approx_matmul`` call (see DynMatMulStep)."""
    return max(1, min(count, math.isqrt(_GROUP_PRODUCTS // (m * n * k or 1))))


def _int_dtype(qmax):
    """Smallest dtype for quantized activations: im2col then copies 1-2 bytes per value, not 8."""
    return np.int8 if qmax < 2 ** 7 else np.int16 if qmax < 2 ** 15 else np.int32


def as_input(x, dtype, name):
    """``x`` as the graph input ``name`` of ``dtype``; refuses what would change value in the cast
    (fractions or out-of-range values into an integer input, strings, complex numbers)."""
    a = np.asarray(x)
    if a.dtype.kind not in "biuf":
        raise ValueError(f"input {name!r}: {a.dtype} data, the model takes {dtype} numbers")
    if dtype.kind in "iub" and a.dtype.kind == "f" and a.size:
        if not np.isfinite(a).all() or (a != np.round(a)).any():
            raise ValueError(f"input {name!r}: the model takes {dtype}, the data has fractional or non-finite values")
    if dtype.kind in "iu" and a.dtype.kind in "iuf" and a.size:
        info = np.iinfo(dtype)
        if a.min() < info.min or a.max() > info.max:
            raise ValueError(f"input {name!r}: values {a.min()}..{a.max()} do not fit the model's {dtype} "
                             f"({info.min}..{info.max})")
    return a.astype(dtype, copy=False)


class Step:
    """One executable node: ``fn(*inputs) -> output or tuple of outputs`` (float arithmetic)."""

    macs = 0
    arithmetic = "float32"      # what computes it in an int run: "float32" or "approx_matmul"
    quantization = None         # how a MAC node's operands are quantized (None: not quantized)

    def __init__(self, name, op, inputs, outputs, fn):
        self.name, self.op, self.inputs, self.outputs, self.fn = name, op, inputs, outputs, fn

    def run(self, vals, mode):
        out = self.fn(*vals)
        # numpy hands back scalars for 0-d operands: outputs are always arrays
        return tuple(np.asarray(o) for o in out) if isinstance(out, tuple) else (np.asarray(out),)

    def __repr__(self):
        return f"{self.op}({self.name})"


class _MacStep(Step):
    """Shared by the MAC operators: calibration of the dynamic operands and their quantization."""

    arithmetic = "approx_matmul"
    quantization = "input per tensor, weights per output channel"

    def __init__(self, name, op, inputs, outputs, n_dynamic=1):
        super().__init__(name, op, inputs, outputs, None)
        self.act_max = [None] * n_dynamic       # running max |x| while calibrating
        self.calibrated_max = [None] * n_dynamic
        self.macs = 0                           # products in the last forward pass
        self._wq = {}

    def record(self, i, x, mode):
        if mode.calibrate:
            self.act_max[i] = max(self.act_max[i] or 0.0, float(np.abs(x).max(initial=0.0)))

    def act_quant(self, i, x, mode):
        if self.calibrated_max[i] is None:
            raise RuntimeError(f"node {self.name!r} ({self.op}): int forward before calibration; "
                               "call calibrate() on calibration images first")
        s = max(self.calibrated_max[i], 1e-12) / mode.qmax
        return quantize(x, s, mode.qmax).astype(_int_dtype(mode.qmax)), s


try:        # weights encoded once for the multiplier, where approx_matmul offers it
    from .matmul import EncodedWeights
except ImportError:        # pragma: no cover - older approx_matmul
    EncodedWeights = None


def _encoded(w_t, multiplier):
    """The (K, N) quantized weights, as ``approx_matmul`` takes them fastest."""
    w_t = np.ascontiguousarray(w_t)
    return w_t if EncodedWeights is None else EncodedWeights(w_t, multiplier)


def _weight_q(W2, qmax):
    """Per-output-channel (row) symmetric weights, as ``layers._Linear.weight_q``."""
    s_w = np.maximum(np.abs(W2).max(axis=1), 1e-12) / qmax
    return quantize(W2, s_w[:, None], qmax), s_w.astype(np.float32)


class LinearStep(_MacStep):
    """``y = x @ W.T + bias`` over the last axis of ``x``, with a constant ``W`` of shape (N, K).

    Gemm (alpha and transB folded into W, ``beta * C`` into bias) and MatMul by a constant."""

    def __init__(self, name, op, inputs, outputs, W, bias, trans_a=False):
        super().__init__(name, op, inputs, outputs)
        self.W = np.ascontiguousarray(W, np.float32)
        self.bias = None if bias is None else np.asarray(bias, np.float32)
        self.trans_a = trans_a

    def run(self, vals, mode):
        x = vals[0]
        if self.trans_a:
            x = x.T
        if x.shape[-1] != self.W.shape[1]:
            raise ValueError(f"node {self.name!r} ({self.op}): input has {x.shape[-1]} features, "
                             f"the weights expect {self.W.shape[1]}")
        lead = x.shape[:-1]
        x2 = x.reshape(-1, x.shape[-1])
        self.macs = x2.shape[0] * self.W.size
        if mode.kind == "float":
            self.record(0, x2, mode)
            y = mode.ops.matmul(x2, self.W.T)
        else:
            xq, s_x = self.act_quant(0, x2, mode)
            key = (mode.qmax, repr(mode.multiplier))
            if key not in self._wq:
                wq, s_w = _weight_q(self.W, mode.qmax)
                self._wq[key] = (_encoded(wq.T, mode.multiplier), s_w)
            wq_t, s_w = self._wq[key]
            acc = approx_matmul(xq, wq_t, mode.multiplier)
            y = (acc * (s_x * s_w)[None, :]).astype(np.float32)
        y = y.reshape(lead + (self.W.shape[0],))
        return (y if self.bias is None else y + self.bias,)


class ConvStep(_MacStep):
    """2-D convolution (1-D as height 1), NCHW, groups, strides, pads, dilations, auto_pad: im2col
    per group, then ``cols @ W_g.T``.

    The columns are built from the NHWC view of the input (``(kh, kw, c)`` order, the weights
    permuted to match) and the output is the NCHW view of the NHWC product, so a chain of
    convolutions never transposes data.  The order of the products in a sum does not change an
    exact integer sum; in float32 it moves the last bits only."""

    def __init__(self, name, inputs, outputs, W, bias, *, group, strides, dilations, pads, auto_pad, one_d):
        super().__init__(name, "Conv", inputs, outputs)
        self.set_weights(W)                               # (M, C/group, kh, kw)
        self.bias = None if bias is None else np.asarray(bias, np.float32)
        self.group, self.strides, self.dilations = group, strides, dilations
        self.pads, self.auto_pad, self.one_d = pads, auto_pad, one_d

    def set_weights(self, W):
        self.W = np.asarray(W, np.float32)
        self.W2 = np.ascontiguousarray(self.W.transpose(0, 2, 3, 1).reshape(self.W.shape[0], -1))
        self._wq = {}

    def run(self, vals, mode):
        x = vals[0]
        if self.one_d:
            x = x[:, :, None, :]
        n, c = x.shape[:2]
        m, cg, kh, kw = self.W.shape
        if c != cg * self.group:
            raise ValueError(f"node {self.name!r} (Conv): input has {c} channels, weights expect "
                             f"{cg} x group {self.group}")
        begins, ends = spatial_pads(x.shape[2:], (kh, kw), self.strides, self.dilations, self.pads, self.auto_pad)
        if mode.kind == "float":
            self.record(0, x, mode)
            xs = x
        else:
            xs, s_x = self.act_quant(0, x, mode)        # zero pads stay zero: symmetric quantization
            wq, s_w = self._weights_q(mode)
        xp = pad(xs.transpose(0, 2, 3, 1), begins + [0], ends + [0])      # NHWC
        mg = m // self.group
        parts = []
        for g in range(self.group):
            xg = xp if self.group == 1 else xp[..., g * cg:(g + 1) * cg]
            cols, (oh, ow) = im2col_nhwc(xg, (kh, kw), self.strides, self.dilations)
            rows = slice(g * mg, (g + 1) * mg)
            if mode.kind == "float":
                parts.append(mode.ops.matmul(cols, self.W2[rows].T))
            else:
                acc = approx_matmul(cols, wq[g], mode.multiplier)
                parts.append((acc * (s_x * s_w[rows])[None, :]).astype(np.float32))
        self.macs = n * oh * ow * self.W2.size
        y = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)
        if self.bias is not None:
            y = y + self.bias
        y = y.reshape(n, oh, ow, m).transpose(0, 3, 1, 2)
        return (y[:, :, 0, :] if self.one_d else y,)

    def _weights_q(self, mode):
        key = (mode.qmax, repr(mode.multiplier))
        if key not in self._wq:
            wq, s_w = _weight_q(self.W2, mode.qmax)
            mg = wq.shape[0] // self.group
            self._wq[key] = ([_encoded(wq[g * mg:(g + 1) * mg].T, mode.multiplier) for g in range(self.group)], s_w)
        return self._wq[key]


class DynConvStep(ConvStep):
    """Conv whose weights (and bias) are graph tensors, not constants: each call's weights are quantized per
    output channel like constant ones (and quantized again only when they change)."""

    def __init__(self, name, inputs, outputs, *, kernel_shape, group, strides, dilations, pads, auto_pad, one_d):
        _MacStep.__init__(self, name, "Conv", inputs, outputs)
        self.W, self.bias, self.kernel_shape = None, None, kernel_shape
        self.group, self.strides, self.dilations = group, strides, dilations
        self.pads, self.auto_pad, self.one_d = pads, auto_pad, one_d

    def run(self, vals, mode):
        W = np.asarray(vals[1], np.float32)
        if W.ndim != (3 if self.one_d else 4):
            raise ValueError(f"weights of shape {W.shape} for a {1 if self.one_d else 2}-D convolution")
        if self.kernel_shape is not None and list(W.shape[2:]) != list(self.kernel_shape):
            raise ValueError(f"kernel_shape={self.kernel_shape} with weights of shape {W.shape}")
        if W.shape[0] % self.group:
            raise ValueError(f"group={self.group} with {W.shape[0]} output channels")
        W = W[:, :, None, :] if self.one_d else W
        if self.W is None or self.W.shape != W.shape or not np.array_equal(self.W, W):
            self.set_weights(W)
        self.bias = None if len(vals) < 3 or vals[2] is None else np.asarray(vals[2], np.float32)
        return super().run(vals[:1], mode)


class DynMatMulStep(_MacStep):
    """MatMul (or Gemm) of two tensors that are not a computed ``A`` by a constant 2-D ``B`` (that is
    :class:`LinearStep`): attention's ``Q @ K^T`` and ``P @ V``, batched shapes broadcast as
    numpy.matmul.

    In the int mode a computed operand is quantized per tensor from its calibrated range, a constant
    one per output channel (``B``: per column of each matrix, ``A``: per row), and each matrix
    product of the batch goes through ``approx_matmul`` (one call for a 2-D ``B`` shared by the
    whole batch; small products of two activations several to a call, see :func:`_group_size`)."""

    def __init__(self, name, op, inputs, outputs, const=(None, None), alpha=1.0, trans=(False, False), bias=None):
        super().__init__(name, op, inputs, outputs, n_dynamic=2)
        self.const, self.alpha, self.trans, self.bias = const, alpha, trans, bias
        self.quantization = (f"A {'constant, per row' if const[0] is not None else 'per tensor'}, "
                             f"B {'constant, per output column' if const[1] is not None else 'per tensor'}")

    def run(self, vals, mode):
        ops = [self.const[i] if self.const[i] is not None else vals[i] for i in range(2)]
        ops = [o.T if t else o for o, t in zip(ops, self.trans)]
        a, b = ops
        if mode.kind == "float":
            self.record(0, a, mode)
            self.record(1, b, mode)
            y = np.matmul(a, b).astype(np.float32)
        else:
            y = self._int_matmul(a, b, mode)
        self.macs = int(y.size) * int(a.shape[-1])
        if self.alpha != 1.0:
            y = y * np.float32(self.alpha)
        return (y if self.bias is None else y + self.bias,)

    def _operand_q(self, i, v, mode):
        """(integers, scale): per tensor for a computed operand; a constant one per output channel
        (the scale broadcasts against the product: ``(..., M, 1)`` for A, ``(..., 1, N)`` for B)."""
        if self.const[i] is None:
            return self.act_quant(i, v, mode)
        key = (i, mode.qmax)
        if key not in self._wq:
            s = np.maximum(np.abs(v).max(axis=-1 if i == 0 else -2, keepdims=True), 1e-12) / mode.qmax
            self._wq[key] = (quantize(v, s, mode.qmax).astype(_int_dtype(mode.qmax)), s.astype(np.float32))
        return self._wq[key]

    def _int_matmul(self, a, b, mode):
        a1, b1 = (a[None] if a.ndim == 1 else a), (b[:, None] if b.ndim == 1 else b)
        if a1.shape[-1] != b1.shape[-2]:
            raise ValueError(f"inner dimensions differ: {a.shape} @ {b.shape}")
        (aq, s_a), (bq, s_b) = self._operand_q(0, a1, mode), self._operand_q(1, b1, mode)
        m, n = a1.shape[-2], b1.shape[-1]
        lead = np.broadcast_shapes(a1.shape[:-2], b1.shape[:-2])
        if b1.ndim == 2 and np.ndim(s_a) < 2:
            # one B for the whole batch (and A's scale does not vary over it): a single GEMM
            acc = approx_matmul(np.ascontiguousarray(aq).reshape(-1, aq.shape[-1]), self._b_side(bq, 0, mode),
                                mode.multiplier).reshape(lead + (m, n))
        else:
            a3 = np.broadcast_to(aq, lead + aq.shape[-2:]).reshape((-1,) + aq.shape[-2:])
            b3 = bq.reshape((-1,) + bq.shape[-2:])
            # which of B's own matrices each product takes (a constant B is encoded once per matrix)
            b_of = np.broadcast_to(np.arange(len(b3)).reshape(bq.shape[:-2]), lead).ravel()
            acc = np.empty((len(a3), m, n), np.int64)
            k = a3.shape[-1]
            group = 1 if self.const[1] is not None else _group_size(len(a3), m, n, k)
            if group > 1:
                # small per-head products (a ViT's 16x16 @ 16x16: 4096 products, microseconds of kernel) cost
                # mostly approx_matmul's fixed ~0.1 ms per call: `group` of them go in one call of group*m rows
                # by group*n columns, whose diagonal blocks are the products wanted (group times the products,
                # group times fewer calls; the off-diagonal blocks are discarded)
                bg = b3[b_of]
                for j0 in range(0, len(a3), group):
                    aa, bb = a3[j0:j0 + group], bg[j0:j0 + group]
                    g = len(aa)
                    full = approx_matmul(aa.reshape(g * m, k), bb.transpose(1, 0, 2).reshape(k, g * n),
                                         mode.multiplier).reshape(g, m, g, n)
                    acc[j0:j0 + g] = full[np.arange(g), :, np.arange(g), :]
            else:
                for j in range(len(a3)):
                    acc[j] = approx_matmul(a3[j], self._b_side(b3[b_of[j]], b_of[j], mode), mode.multiplier)
            acc = acc.reshape(lead + (m, n))
        y = (acc * (s_a * s_b)).astype(np.float32)
        if a.ndim == 1:
            y = y[..., 0, :]
        if b.ndim == 1:
            y = y[..., 0]
        return y

    def _b_side(self, bq_j, j, mode):
        """A constant B's j-th matrix encoded once per multiplier; a computed one as it is."""
        if self.const[1] is None:
            return bq_j
        key = ("enc", j, mode.qmax, repr(mode.multiplier))
        if key not in self._wq:
            self._wq[key] = _encoded(bq_j, mode.multiplier)
        return self._wq[key]


def _rows(x):
    """A dict of one array per input name as :class:`InputArrays` (batched by rows like one array)."""
    from .data import InputArrays
    return InputArrays(x) if isinstance(x, dict) and not isinstance(x, InputArrays) else x


class OnnxNet:
    """An imported ONNX graph, run in numpy.

    ``forward(x, mode)`` with ``mode`` a :class:`pymodel.nn.layers.Mode`: ``FLOAT`` (float32),
    ``Mode("float", calibrate=True)`` (records ranges), or ``Mode("int", multiplier)`` (signed
    N-bit multiplier: every Conv/Gemm/MatMul product through ``approx_matmul``).
    """

    def __init__(self, *, steps, consts, input_name, input_shape, output_name, opset, source="",
                 input_dtype=np.float32, inputs=None, output_names=None):
        self.steps, self.consts = steps, consts
        self.input_name, self.input_shape, self.output_name = input_name, input_shape, output_name
        self.input_dtype = np.dtype(input_dtype)
        # every data input as (name, shape, dtype); input_* above are the first one's
        self.inputs = list(inputs) if inputs is not None else [(input_name, input_shape, self.input_dtype)]
        self.output_names = list(output_names) if output_names is not None else [output_name]
        self.opset, self.source = opset, source
        last = {}
        for i, s in enumerate(steps):
            for name in s.inputs:
                if name:
                    last[name] = i
        # values to drop after each step, so a forward pass holds only live tensors
        self._drop = [[n for n in s.inputs if n and last.get(n) == i and n not in consts and n not in self.output_names]
                      for i, s in enumerate(steps)]

    def _feeds(self, x):
        """``{input name: array}`` from one array (a graph with one data input) or a dict of every input."""
        if isinstance(x, dict):
            names = [n for n, _, _ in self.inputs]
            missing, extra = [n for n in names if n not in x], [n for n in x if n not in names]
            if missing or extra:
                raise ValueError(f"the model's data inputs are {names}; missing {missing}, unknown {extra}")
            return {n: as_input(x[n], dt, n) for n, _, dt in self.inputs}
        if len(self.inputs) != 1:
            raise ValueError(f"the model has {len(self.inputs)} data inputs {[n for n, _, _ in self.inputs]}: pass "
                             "a dict with one array per input name")
        name, _, dt = self.inputs[0]
        return {name: as_input(x, dt, name)}

    def run_all(self, x, mode=FLOAT):
        """Every graph output (a list, in the graph's order) for ``x`` (one array, or a dict per input name)."""
        env = self._execute(self._feeds(x), mode, None)
        return [env[n] if n in env else self.consts[n] for n in self.output_names]

    @property
    def mac_steps(self):
        return [s for s in self.steps if isinstance(s, _MacStep)]

    def forward(self, x, mode=FLOAT, probe=None):
        """The (first) graph output for input ``x`` (one array, or a dict per input name for a graph with
        several); ``probe`` (a :class:`LayerErrors`) sees every MAC node."""
        env = self._execute(self._feeds(x), mode, probe)
        return env[self.output_name] if self.output_name in env else self.consts[self.output_name]

    def _execute(self, env, mode, probe):
        for step, drop in zip(self.steps, self._drop):
            vals = []
            for name in step.inputs:
                if not name:
                    vals.append(None)
                elif name in env:
                    vals.append(env[name])
                else:
                    vals.append(self.consts[name])
            try:
                outs = step.run(vals, mode)
            except (ValueError, IndexError) as e:
                where = f"node {step.name!r} ({step.op}): "
                raise ValueError(str(e) if str(e).startswith(where) else where + str(e)) from e
            if probe is not None and isinstance(step, _MacStep):
                probe.observe(step, vals, outs[0], mode)
            for name, v in zip(step.outputs, outs):
                if name:
                    env[name] = v
            for name in drop:
                env.pop(name, None)
        return env

    def macs_per_forward(self):
        """Products in the last forward pass (sum over the MAC operators)."""
        return sum(s.macs for s in self.mac_steps)

    def calibrate(self, x, batch=64, progress=None):
        """Per-tensor ranges of every MAC operand from float forwards over ``x``."""
        mode = Mode("float", calibrate=True)
        x = _rows(x)
        for s in self.mac_steps:
            s.act_max = [None] * len(s.act_max)
        for i in range(0, len(x), batch):
            self.forward(x[i:i + batch], mode)
            if progress is not None:
                progress(len(x[i:i + batch]))
        for s in self.mac_steps:
            s.calibrated_max = list(s.act_max)

    def logits(self, x, mode=FLOAT, batch=64, progress=None, layers=None):
        """Outputs over ``x`` in batches, flattened per image.  ``layers`` (a :class:`LayerErrors`),
        with an int ``mode``: each batch also runs the float path, and every MAC node's error
        against it is added to ``layers``."""
        out = []
        x = _rows(x)
        probe = layers if layers is not None and mode.kind == "int" else None
        for i in range(0, len(x), batch):
            if probe is not None:
                probe.begin_batch()
                ref = self.forward(x[i:i + batch], FLOAT, probe)
            y = self.forward(x[i:i + batch], mode, probe)
            if probe is not None:
                probe.observe_output(y, ref)
            out.append(np.asarray(y, np.float32).reshape(len(x[i:i + batch]), -1))
            if progress is not None:
                progress(len(x[i:i + batch]))
        return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def _sq(v):
    return float(np.square(np.asarray(v, np.float64)).sum())


class LayerErrors:
    """Each MAC node's output error in an int run against the float path, summed over batches.

    Two figures per node, each as relative RMS ``sqrt(sum e**2 / sum r**2)`` and as SNR
    ``10 log10(sum r**2 / sum e**2)`` dB (the same number on two scales):

    own
        the node's int output against its float output on the same inputs (those the int run
        gave it): what this node's quantization and products add.
    accumulated
        the node's int output against the float network's value of the same tensor: everything
        up to and including this node.

    and the network output (accumulated).  Fill it with ``OnnxNet.logits(x, mode, layers=...)``.
    """

    def __init__(self):
        self._ref = {}          # float outputs of the current batch, by tensor name
        self._sums = {}         # tensor name -> [own ref^2, own err^2, acc ref^2, acc err^2]
        self._nodes = {}        # tensor name -> (node name, op), in the order the int run met them
        self._out = [0.0, 0.0]

    def begin_batch(self):
        self._ref = {}

    def observe(self, step, vals, out, mode):
        key = step.outputs[0]
        if mode.kind == "float":
            self._ref[key] = out
            return
        own = step.run(vals, FLOAT)[0]            # the same node in float32 on this run's inputs
        ref = self._ref[key]
        s = self._sums.setdefault(key, [0.0] * 4)
        self._nodes.setdefault(key, (step.name, step.op))
        for i, v in enumerate((own, out - own, ref, out - ref)):
            s[i] += _sq(v)

    def observe_output(self, y, ref):
        self._out[0] += _sq(ref)
        self._out[1] += _sq(np.asarray(y, np.float64) - ref)

    @staticmethod
    def _figures(ref2, err2):
        rel = float(np.sqrt(err2 / ref2)) if ref2 > 0 else (0.0 if err2 == 0 else None)   # None: no reference
        # an error of exactly zero has no finite SNR: None (JSON null), as does a zero reference
        snr = 10 * float(np.log10(ref2 / err2)) if ref2 > 0 and err2 > 0 else None
        return rel, snr

    def rows(self):
        """One dict per MAC node, in execution order, then ``"(output)"``: ``name``, ``op``,
        ``rel_rms``, ``snr_db``, ``accumulated_rel_rms``, ``accumulated_snr_db``."""
        out = []
        for key, (name, op) in self._nodes.items():
            s = self._sums[key]
            rel, snr = self._figures(s[0], s[1])
            arel, asnr = self._figures(s[2], s[3])
            out.append({"name": name, "op": op, "tensor": key, "rel_rms": rel, "snr_db": snr,
                        "accumulated_rel_rms": arel, "accumulated_snr_db": asnr})
        arel, asnr = self._figures(*self._out)
        out.append({"name": "(output)", "op": "", "tensor": None, "rel_rms": None, "snr_db": None,
                    "accumulated_rel_rms": arel, "accumulated_snr_db": asnr})
        return out


def topk_correct(logits, y, k):
    """Boolean per image: label among the ``k`` largest logits (ties broken by index)."""
    if k == 1:
        return logits.argmax(axis=1) == y
    top = np.argsort(-logits, axis=1, kind="stable")[:, :k]
    return (top == y[:, None]).any(axis=1)
