"""Operand streams of a network's MAC array: the quantised (activation, weight) pairs one multiplier sees.

A network is run on the int path with the exact multiplier while :func:`pymodel.nn.matmul.recording_operands`
keeps every ``approx_matmul`` call's operands (``a``: activations, im2col'd, (M, K); ``b``: weights, (K, N)).
:func:`weight_stationary` orders them as one multiplier of a weight-stationary array sees them: the
processing element of weight ``b[k, j]`` holds it and multiplies the activations ``a[0, k], a[1, k], ...``
streaming past, in row order (images in order, then output pixels in raster order for a convolution); when
its run ends the next weight is loaded.  :mod:`sim.power` counts the multiplier's toggles on such a stream.
"""

import numpy as np

from .layers import Mode
from .matmul import ExactMultiplier, recording_operands

__all__ = ["record_study", "record_onnx", "weight_stationary", "DATAFLOW"]

DATAFLOW = ("weight-stationary: each multiplier holds one quantised weight b[k, j] and sees the activations "
            "a[i, k] of the layer's rows in order (images, then output pixels in raster order); a run ends "
            "with the next weight")


def record_study(model="cnn", *, width=8, images=32, dataset="digits", epochs=40, seed=0, data_dir=None,
                 cache_dir=None):
    """Every ``approx_matmul`` call of the digits study's int``width`` network on its first ``images``
    test images, with the exact multiplier: a list of ``(a, b)`` int64 arrays, one per layer.

    The float model is the study's (``mitchell nn``: trained with ``epochs`` and ``seed``, cached in
    ``cache_dir``), quantised at ``width`` bits as the study does."""
    from .study import float_model
    if isinstance(images, bool) or not isinstance(images, int) or images < 1:
        raise ValueError(f"images must be an int >= 1, got {images!r}")
    net, (_, _, xte, _), _, _, _ = float_model(dataset=dataset, model=model, epochs=epochs, seed=seed,
                                               data_dir=data_dir, cache_dir=cache_dir)
    with recording_operands() as calls:
        net.forward(xte[:images], Mode("int", ExactMultiplier(width=width, signed=True)))
    return calls


def record_onnx(model, data, *, width=8, images=8, calib=64, seed=0, **kw):
    """Every ``approx_matmul`` call of an ONNX model's int``width`` run (exact multiplier) on the first
    ``images`` evaluation images of ``data``, calibrated on ``calib`` images as ``mitchell nn --onnx`` does
    (``**kw``: scale, mean, std, output; see :class:`pymodel.nn.onnx_eval.OnnxStudy`).

    A MatMul of two activations may group several matrices of a batch into one call (block products of
    which only the diagonal blocks are used): the off-diagonal pairs it records are not the network's."""
    from .onnx_eval import OnnxStudy
    st = OnnxStudy(model, data, designs=[], width=width, limit=images, calib=calib, seed=seed, **kw)
    st.net.calibrate(st.xc, batch=st.batch)
    with recording_operands() as calls:
        st.net.logits(st.x, Mode("int", ExactMultiplier(width=width, signed=True)), batch=st.batch)
    return calls


def weight_stationary(calls, n, seed=0, *, max_run=None):
    """``n`` operand pairs ``(a, b)`` (int64 arrays) in the order one multiplier of a weight-stationary array
    sees them, sampled from the recorded ``calls``.

    Each layer gets a share of the ``n`` products equal to its share of the MACs; within it, weights
    ``b[k, j]`` are drawn at random (seeded) and each contributes its run of activations ``a[0..M-1, k]``
    (cut to ``max_run``, if given, so short streams still visit several weights).  The runs are concatenated
    layer by layer, so the stream also holds the weight changes between runs.

    Returns ``(a, b, info)`` with ``info`` = ``{"layers": [{"m", "k", "n", "macs", "pairs"}], "zero_a",
    "zero_b"}`` (the zero fractions of the stream)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise ValueError(f"n must be an int >= 2, got {n!r}")
    calls = [(a, b) for a, b in calls if a.size and b.size]
    if not calls:
        raise ValueError("no products were recorded (the network has no Conv, Gemm or MatMul?)")
    rng = np.random.default_rng(seed)
    macs = np.array([a.shape[0] * a.shape[1] * b.shape[1] for a, b in calls], np.float64)
    share = np.floor(n * macs / macs.sum()).astype(np.int64)
    share[np.argmax(macs)] += n - share.sum()                  # the rounding remainder to the largest layer
    out_a, out_b, layers = [], [], []
    for (a, b), want in zip(calls, share):
        m, k = a.shape
        run = m if max_run is None else max(1, min(m, max_run))
        got = 0
        while got < want:
            kk, jj = int(rng.integers(k)), int(rng.integers(b.shape[1]))
            take = min(run, want - got)
            i0 = int(rng.integers(m - run + 1)) if run < m else 0
            out_a.append(a[i0:i0 + take, kk])
            out_b.append(np.full(take, b[kk, jj], np.int64))
            got += take
        layers.append({"m": int(m), "k": int(k), "n": int(b.shape[1]), "macs": int(macs[len(layers)]),
                       "pairs": int(want)})
    sa, sb = np.concatenate(out_a).astype(np.int64), np.concatenate(out_b)
    return sa, sb, {"layers": layers, "zero_a": float(np.mean(sa == 0)), "zero_b": float(np.mean(sb == 0))}
