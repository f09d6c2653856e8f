"""Accuracy of an imported ONNX model: float32, the exact N-bit baseline and each approximate design.

This is what ``mitchell nn --onnx`` runs.  Post-training quantization only: the
weights are the exported ones, no approximation-aware fine-tuning.
"""

import numpy as np

from .data import load_eval_data, normalise
from .layers import FLOAT, Mode
from .matmul import ExactMultiplier
from .onnx_exec import LayerErrors, topk_correct
from .onnx_import import load_onnx

__all__ = ["fit_input", "node_paths", "run_onnx_study", "split_calibration", "OnnxStudy"]


ACT_MAX_KEY = "mitchell.act_max"       # a fine-tuned model's activation ranges (pymodel.nn.onnx_finetune)


def stored_ranges(net):
    """``{MAC node's output tensor: [max |x| of each computed operand]}`` stored in a fine-tuned model, or None."""
    import json
    text = getattr(net, "metadata", {}).get(ACT_MAX_KEY)
    return None if text is None else json.loads(text)


def apply_ranges(net, ranges):
    """Every MAC node's calibrated ranges from ``ranges`` (keyed by the node's output tensor)."""
    for s in net.mac_steps:
        key = s.outputs[0]
        if key not in ranges or len(ranges[key]) != len(s.calibrated_max):
            raise ValueError(f"the stored activation ranges ({ACT_MAX_KEY}) have none for node {s.name!r} "
                             f"(output {key!r}): the graph was changed after fine-tuning")
        s.calibrated_max = [None if v is None else float(v) for v in ranges[key]]


def fit_input(x, input_shape, source="the model"):
    """``x`` shaped as the model's declared input: as is, flattened (for a 2-D input), or NCHW -> NHWC."""
    want = tuple(input_shape[1:])
    if not want or None in want or x.shape[1:] == want:
        return x
    if int(np.prod(want)) == int(np.prod(x.shape[1:])) and len(want) == 1:
        return x.reshape(len(x), -1)
    if x.ndim == 4 and want == (x.shape[2], x.shape[3], x.shape[1]):
        return np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    raise ValueError(f"{source} takes inputs of shape {('N',) + want}, the data has {('N',) + x.shape[1:]}")


def split_calibration(data, n_calib, seed):
    """Calibration images (a seeded random subset of the training part) and the evaluation images.

    Without a training part, the calibration images are a seeded random subset of the data set
    itself, and they are left out of the evaluation (so the two never overlap)."""
    rng = np.random.default_rng(seed)
    x, y = data["x"], data["y"]
    if data["x_calib"] is not None:
        xc = data["x_calib"]
        idx = np.sort(rng.permutation(len(xc))[:n_calib])
        return xc[idx], x, y, f"{len(idx)} images of {data['calib_from']}"
    if n_calib >= len(x):
        raise ValueError(f"--calib {n_calib}: the data has {len(x)} images and no training part, so the "
                         "calibration images come out of the evaluation set; use fewer")
    perm = rng.permutation(len(x))
    cal, rest = np.sort(perm[:n_calib]), np.sort(perm[n_calib:])
    return x[cal], x[rest], y[rest], f"{len(cal)} images of the evaluation data (left out of the evaluation)"


class OnnxStudy:
    """A loaded model and data, checked, ready to :meth:`run`; ``total`` is the number of image
    forwards it will do (calibration plus each run), for a progress bar.

    ``layers=True``: each int run also reports every MAC node's output error against the float path
    (:class:`pymodel.nn.onnx_exec.LayerErrors`; each batch then runs the float path too)."""

    def __init__(self, model, data, *, designs, width=8, limit=None, calib=256, seed=0, scale=None, mean=None,
                 std=None, batch=64, layers=False, output=None):
        for name, v, lo in (("--width", width, 2), ("--calib", calib, 1), ("--batch", batch, 1)):
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise ValueError(f"{name} must be an int >= {lo}, got {v!r}")
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise ValueError(f"--limit must be an int >= 1, got {limit!r}")
        for label, mult in designs:
            if not getattr(mult, "signed", False) or mult.width != width:
                raise ValueError(f"design {label!r} must be a signed {width}-bit multiplier")
        self.model, self.data, self.width, self.seed, self.batch = str(model), str(data), width, seed, batch
        self.layers = bool(layers)
        self.net = load_onnx(model, outputs=None if output is None else [output])
        names = [n for n, _, _ in self.net.inputs]
        # several inputs, or integer ones (token ids): the arrays go in as they are, not as pixels
        raw = len(names) > 1 or self.net.input_dtype.kind in "biu"
        if raw and any(v is not None for v in (scale, mean, std)):
            raise ValueError(f"--scale/--mean/--std normalise one float image input; {model} has the data inputs "
                             f"{', '.join(f'{n} ({dt})' for n, _, dt in self.net.inputs)}: give each input's "
                             "array as the model takes it")
        fixed = self.net.input_shape[0] if self.net.input_shape else None
        if fixed:       # exported with a fixed batch size: constants such as Reshape shapes may assume it
            self.batch = batch = fixed
        d = load_eval_data(data, inputs=names if len(names) > 1 else None)
        self.data_format = d["format"]
        self.ranges = stored_ranges(self.net)
        if self.ranges is not None:     # fine-tuned with these ranges: used as they are, every image evaluated
            x, y = d["x"], d["y"]
            xc, self.calib_from = x[:fixed or 1], "the ranges stored in the model by fine-tuning (not recalibrated)"
        else:
            xc, x, y, self.calib_from = split_calibration(d, calib, seed)
        if limit is not None:
            x, y = x[:limit], y[:limit]
        if not len(x):
            raise ValueError(f"{data}: no images to evaluate")
        if fixed and (len(x) % fixed or len(xc) % fixed):
            raise ValueError(f"{model} was exported with a fixed batch of {fixed}: use --limit and --calib "
                             f"multiples of {fixed} (or export with a dynamic batch axis)")
        if raw:                       # used as they are (as_input checks each dtype and range)
            self.x, self.xc = x, xc
        else:
            self.x = fit_input(normalise(x, scale=scale, mean=mean, std=std), self.net.input_shape, model)
            self.xc = fit_input(normalise(xc, scale=scale, mean=mean, std=std), self.net.input_shape, model)
        self.y = y
        rows = fixed or 1          # one image (one fixed batch) first: a label output fails here, before any work
        probe = np.asarray(self.net.forward(self.xc[:rows]))
        if probe.dtype.kind != "f" or probe.size // rows < 2:
            raise ValueError(f"{model}: the output {self.net.output_name!r} ({probe.dtype}, {probe.size // rows} "
                             f"value(s) per image) is not class scores; choose the scores with --output (the "
                             f"graph's outputs: {', '.join(self.net.output_names)})")
        self.runs = [("float32", None), (f"int{width} exact", ExactMultiplier(width=width, signed=True))]
        self.runs += [(f"int{width} {label}", mult) for label, mult in designs]
        self.total = (0 if self.ranges is not None else len(self.xc)) + len(self.x) * len(self.runs)

    def run(self, progress=None):
        """Calibrate, then evaluate every run; ``progress(n)`` after each batch of ``n`` images."""
        net, x, y = self.net, self.x, self.y
        if self.ranges is not None:
            apply_ranges(net, self.ranges)
        else:
            net.calibrate(self.xc, batch=self.batch, progress=progress)
        results, preds = [], {}
        exact_label = self.runs[1][0]
        for label, mult in self.runs:
            mode = FLOAT if mult is None else Mode("int", mult)
            errors = LayerErrors() if self.layers and mult is not None else None
            logits = net.logits(x, mode, batch=self.batch, progress=progress, layers=errors)
            n_classes = logits.shape[1]
            r = {"name": label, "multiplier": "float32" if mult is None else mult.describe(),
                 "top1": float(topk_correct(logits, y, 1).mean())}
            if n_classes > 10:
                r["top5"] = float(topk_correct(logits, y, 5).mean())
            preds[label] = logits.argmax(axis=1)
            if mult is not None:
                r["same_prediction_as_exact"] = float((preds[label] == preds[exact_label]).mean())
            if errors is not None:
                r["layers"] = errors.rows()
            results.append(r)
        net.forward(x[:1])
        return {"model": self.model, "data": self.data, "data_format": self.data_format, "images": int(len(x)),
                "classes": int(n_classes), "width": self.width, "seed": self.seed, "calibration": self.calib_from,
                "calibration_images": 0 if self.ranges is not None else int(len(self.xc)), "opset": net.opset,
                "macs_per_image": int(net.macs_per_forward()), "results": results, "nodes": node_paths(net),
                "stored_ranges": self.ranges is not None,
                "quantization": ("fine-tuned model: activations per tensor (max |x| stored in the model by "
                                 "fine-tuning)" if self.ranges is not None else "post-training: activations per "
                                 "tensor (max |x| over the calibration images)")
                                + ", weights per output channel (a MatMul of two activations: both per tensor), "
                                "symmetric; exact int64 accumulation"
                                + ("" if self.ranges is not None else "; no fine-tuning")}


def node_paths(net):
    """Each node of the graph as run: ``name``, ``op``, ``arithmetic`` ("approx_matmul": its products
    go through the multiplier in an int run; "float32": it stays float), a MAC node's
    ``quantization`` and ``macs_per_image`` (the last forward pass must have been of one image)."""
    out = []
    for s in net.steps:
        d = {"name": s.name, "op": s.op, "arithmetic": s.arithmetic}
        if s.quantization is not None:
            d["quantization"] = s.quantization
            d["macs_per_image"] = int(s.macs)
        out.append(d)
    return out


def run_onnx_study(model, data, *, designs, progress=None, **kw):
    """Top-1 (and top-5 above 10 classes) of float32, ``int{width}`` exact and each design.

    Parameters
    ----------
    model : path of a .onnx file
    data : path accepted by :func:`pymodel.nn.data.load_eval_data`
    designs : list of ``(label, multiplier)``, each a signed ``width``-bit multiplier for ``approx_matmul``
    **kw : width, limit (first images only), calib (number of calibration images), seed, scale, mean,
        std, batch, layers (per-node error report): see :class:`OnnxStudy`
    """
    return OnnxStudy(model, data, designs=designs, **kw).run(progress)
