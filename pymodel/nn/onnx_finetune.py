"""Approximation-aware fine-tuning of an imported ONNX network (``mitchell nn --onnx M --finetune E``).

Every training step runs the int forward pass (the evaluation's quantization and bit-exact
``approx_matmul`` with the chosen multiplier), softmax cross-entropy on the graph's output, the
backward pass of :mod:`pymodel.nn.onnx_grad` (straight-through estimator through the quantizer and the
approximate product) and an SGD-with-momentum or Adam update of every Conv/Gemm/MatMul weight and bias.
The activation ranges are calibrated once, on the training images in float32, and kept: the tuned
model is saved with them (``metadata_props["mitchell.act_max"]``), so that evaluating it uses the very
ranges it was tuned with instead of recalibrating.
"""

import json
import time

import numpy as np

from .data import load_eval_data, normalise
from .layers import FLOAT, Mode
from .onnx_eval import ACT_MAX_KEY, fit_input
from .onnx_exec import ConvStep, topk_correct
from .onnx_grad import Tape, softmax_xent, trainable_steps
from .onnx_import import load_onnx

__all__ = ["FineTune", "save_tuned"]

INFO_KEY = "mitchell.finetune"


class _Sgd:
    def __init__(self, lr, momentum):
        self.lr, self.mu, self.v = lr, momentum, {}

    def step(self, key, p, g):
        v = self.v.get(key)
        v = g if v is None else self.mu * v + g
        self.v[key] = v
        return p - self.lr * v


class _Adam:
    def __init__(self, lr, b1=0.9, b2=0.999, eps=1e-8):
        self.lr, self.b1, self.b2, self.eps, self.m, self.t = lr, b1, b2, eps, {}, {}

    def step(self, key, p, g):
        m, v = self.m.get(key, (0.0, 0.0))
        t = self.t.get(key, 0) + 1
        m, v = self.b1 * m + (1 - self.b1) * g, self.b2 * v + (1 - self.b2) * g * g
        self.m[key], self.t[key] = (m, v), t
        return p - self.lr * (m / (1 - self.b1 ** t)) / (np.sqrt(v / (1 - self.b2 ** t)) + self.eps)


def _set_weights(step, W, b):
    """New float32 weights (and bias) of a trained step; its cached quantized weights are dropped."""
    if isinstance(step, ConvStep):
        step.set_weights(W.astype(np.float32))
    else:
        step.W = np.ascontiguousarray(W, np.float32)
        step._wq = {}
    if b is not None:
        step.bias = np.asarray(b, np.float32)


class FineTune:
    """A model and its labelled training data, checked, ready to :meth:`run`.

    Parameters
    ----------
    model : path of a .onnx file
    data : a .npz with ``x`` and integer labels ``y`` (the training images)
    multiplier : the signed ``width``-bit design in every product
    epochs, lr, momentum, batch, seed : the optimiser (``optimizer`` "adam", or "sgd": SGD with momentum)
    val_fraction : share of the images held out (never trained on) to measure accuracy
    calib : training images whose float32 ranges set the activation scales
    scale, mean, std : input normalisation as ``mitchell nn --onnx``
    """

    def __init__(self, model, data, *, multiplier, label="design", epochs=3, lr=2e-4, momentum=0.9, batch=32,
                 seed=0, val_fraction=0.2, calib=256, optimizer="adam", scale=None, mean=None, std=None, output=None):
        for name, v, lo in (("--finetune", epochs, 1), ("--batch", batch, 1), ("--calib", calib, 1)):
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise ValueError(f"{name} must be an int >= {lo}, got {v!r}")
        if not (isinstance(lr, (int, float)) and 0 < lr <= 1):
            raise ValueError(f"--lr must be in (0, 1], got {lr!r}")
        if not (isinstance(momentum, (int, float)) and 0 <= momentum < 1):
            raise ValueError(f"--momentum must be in [0, 1), got {momentum!r}")
        if not (isinstance(val_fraction, (int, float)) and 0 < val_fraction < 1):
            raise ValueError(f"--val-fraction must be in (0, 1), got {val_fraction!r}")
        if optimizer not in ("sgd", "adam"):
            raise ValueError(f"--optimizer must be sgd or adam, got {optimizer!r}")
        if not getattr(multiplier, "signed", False):
            raise ValueError(f"design {label!r} must be a signed multiplier")
        if not str(data).endswith(".npz"):
            raise ValueError(f"--data {data}: fine-tuning takes a .npz with the training images x and their labels "
                             "y (a folder's labelled part is its test set, which must not be trained on)")
        self.model, self.data, self.label, self.mult = str(model), str(data), label, multiplier
        self.epochs, self.lr, self.momentum, self.batch, self.seed = epochs, float(lr), float(momentum), batch, seed
        self.val_fraction, self.optimizer = float(val_fraction), optimizer
        self.net = load_onnx(model, outputs=None if output is None else [output])
        if len(self.net.inputs) != 1:
            raise ValueError(f"{model}: fine-tuning takes a model with one data input, it has "
                             f"{[n for n, _, _ in self.net.inputs]}")
        if self.net.input_shape and self.net.input_shape[0]:
            raise ValueError(f"{model} was exported with a fixed batch of {self.net.input_shape[0]}: fine-tuning "
                             "needs a dynamic batch axis")
        self.tape = Tape(self.net)          # refuses an operator without backward, before any work
        d = load_eval_data(data)
        x = fit_input(normalise(d["x"], scale=scale, mean=mean, std=std), self.net.input_shape, model)
        y = d["y"]
        rng = np.random.default_rng(seed)
        perm = rng.permutation(len(x))
        n_val = int(round(self.val_fraction * len(x)))
        if n_val < 1 or n_val >= len(x):
            raise ValueError(f"--val-fraction {val_fraction}: {n_val} of {len(x)} images held out; need at least "
                             "one on each side")
        val, tr = np.sort(perm[:n_val]), perm[n_val:]
        self.xv, self.yv, self.xt, self.yt = x[val], y[val], x[tr], y[tr]
        self.val_index = val
        self.xc = self.xt[np.sort(rng.permutation(len(self.xt))[:calib])]
        probe = np.asarray(self.net.forward(self.xc[:1]))
        if probe.dtype.kind != "f" or probe.size < 2:
            raise ValueError(f"{model}: the output {self.net.output_name!r} is not class scores; choose it with "
                             f"--output (the graph's outputs: {', '.join(self.net.output_names)})")
        if y.max() >= probe.size:
            raise ValueError(f"{data}: label {int(y.max())} but the model scores {probe.size} classes")
        self.mode = Mode("int", multiplier)
        # forwards of images: calibration, 3 evaluations before, each epoch's training and validation, 1 after
        self.total = len(self.xc) + 3 * len(self.xv) + epochs * (len(self.xt) + len(self.xv)) + len(self.xv)

    def accuracy(self, mode, x=None, y=None, progress=None):
        x = self.xv if x is None else x
        y = self.yv if y is None else y
        logits = self.net.logits(x, mode, batch=256, progress=progress)
        return float(topk_correct(logits, y, 1).mean())

    def run(self, progress=None, status=None):
        """Calibrate, measure, fine-tune, measure; ``progress(n)`` after each batch of ``n`` images,
        ``status(text)`` with the running loss and accuracy."""
        from .matmul import ExactMultiplier
        net = self.net
        net.calibrate(self.xc, batch=256, progress=progress)
        exact = Mode("int", ExactMultiplier(width=self.mult.width, signed=True))
        before = {"float32": self.accuracy(FLOAT, progress=progress),
                  "exact": self.accuracy(exact, progress=progress),
                  "design": self.accuracy(self.mode, progress=progress)}
        params = trainable_steps(net)
        opt = self.optimiser()
        rng = np.random.default_rng(self.seed + 1)
        history, t0 = [], time.perf_counter()
        for epoch in range(self.epochs):
            loss, train_top1, seconds = self.epoch(self.mode, opt, rng, progress, status, f"epoch {epoch + 1}/"
                                                   f"{self.epochs}")
            val = self.accuracy(self.mode, progress=progress)
            history.append({"epoch": epoch + 1, "loss": loss, "train_top1": train_top1, "val_top1": val,
                            "seconds": seconds})
            if status is not None:
                status(f"epoch {epoch + 1}/{self.epochs} loss {loss:.4f} val {100 * val:.2f}%")
        after = {"design": history[-1]["val_top1"], "float32": self.accuracy(FLOAT, progress=progress)}
        drop = before["exact"] - before["design"]
        recovered = None if drop <= 0 else (after["design"] - before["design"]) / drop
        return {"model": self.model, "data": self.data, "design": self.label, "multiplier": self.mult.describe(),
                "width": self.mult.width, "seed": self.seed, "epochs": self.epochs, "optimizer": self.optimizer,
                "lr": self.lr, "momentum": self.momentum if self.optimizer == "sgd" else None, "batch": self.batch,
                "train_images": int(len(self.xt)), "val_images": int(len(self.xv)),
                "calibration_images": int(len(self.xc)),
                "trained_nodes": [s.name for s in params],
                "before": before, "after": after, "recovered_fraction_of_drop": recovered, "history": history,
                "seconds": time.perf_counter() - t0,
                "gradient": "straight-through: the float product of the quantized operands; no gradient through "
                            "a clipped activation"}

    def optimiser(self):
        return _Sgd(self.lr, self.momentum) if self.optimizer == "sgd" else _Adam(self.lr)

    def epoch(self, mode, opt, rng, progress=None, status=None, label="epoch"):
        """One pass over the training images in ``mode`` (the int mode: fine-tuning; ``FLOAT``: float32
        training of the same graph by the same code, the benchmark's reference).  Returns the mean loss,
        the training top-1 and the seconds it took."""
        params = trainable_steps(self.net)
        order = rng.permutation(len(self.xt))
        loss_sum, correct, seen = 0.0, 0, 0
        t0 = time.perf_counter()
        for i in range(0, len(order), self.batch):
            idx = order[i:i + self.batch]
            xb, yb = self.xt[idx], self.yt[idx]
            out = self.tape.forward(xb, mode)
            logits = np.asarray(out, np.float64).reshape(len(idx), -1)
            loss, g = softmax_xent(logits, yb)
            grads = self.tape.backward(g.reshape(np.shape(out)))
            for s in params:
                gW, gb = grads.get(s, (None, None))
                if gW is None:
                    continue
                W = opt.step((id(s), "W"), s.W.astype(np.float64), gW)
                b = None if gb is None or s.bias is None else opt.step((id(s), "b"), s.bias.astype(np.float64), gb)
                _set_weights(s, W, b)
            loss_sum += loss * len(idx)
            correct += int((logits.argmax(axis=1) == yb).sum())
            seen += len(idx)
            if progress is not None:
                progress(len(idx))
            if status is not None:
                status(f"{label} loss {loss_sum / seen:.4f} train acc {100 * correct / seen:.2f}%")
        return loss_sum / seen, correct / seen, time.perf_counter() - t0

    def ranges(self):
        return {s.outputs[0]: list(s.calibrated_max) for s in self.net.mac_steps}

    def save(self, path, result=None):
        """The tuned float model at ``path`` (see :func:`save_tuned`)."""
        info = None if result is None else {k: result[k] for k in ("design", "multiplier", "width", "seed", "epochs",
                                                                   "optimizer", "lr", "batch")}
        return save_tuned(self.model, self.net, path, self.ranges(), info)


def _names(g):
    from .onnx_import import _node_name
    return {_node_name(node, i): node for i, node in enumerate(g.node)}


def _find_nodes(step, by_name):
    """The ONNX node of a trained step, and the BatchNormalization folded into it (or None)."""
    if step.name in by_name:
        return by_name[step.name], None
    for i, ch in enumerate(step.name):          # folded: "<conv or gemm name>+<batchnorm name>"
        if ch == "+" and step.name[:i] in by_name and step.name[i + 1:] in by_name:
            bn = by_name[step.name[i + 1:]]
            if bn.op_type == "BatchNormalization":
                return by_name[step.name[:i]], bn
    raise ValueError(f"node {step.name!r}: not found in the source model")


def _set_attr(node, name, value):
    from onnx import helper
    for a in list(node.attribute):
        if a.name == name:
            node.attribute.remove(a)
    node.attribute.append(helper.make_attribute(name, value))


def save_tuned(source, net, path, ranges, info=None):
    """Writes the model ``source`` with the tuned weights of ``net``'s Conv/Gemm/MatMul nodes (a folded
    BatchNormalization is removed, its scale and shift in the weights and bias; a Gemm's alpha and beta
    in its weights and bias), the activation ranges under ``metadata_props["mitchell.act_max"]`` and
    ``info`` under ``"mitchell.finetune"``.  Re-importing it gives bit-identical float32 weights.
    Returns ``path``."""
    import onnx
    from onnx import numpy_helper
    model = onnx.load(source) if isinstance(source, str) else source
    g = model.graph
    by_name = _names(g)
    new_inits, drop_nodes = [], []
    for step in trainable_steps(net):
        node, bn = _find_nodes(step, by_name)
        base = node.name or step.name
        wname, bname = f"{base}.W.tuned", f"{base}.b.tuned"
        if isinstance(step, ConvStep):
            W = step.W[:, :, 0, :] if step.one_d else step.W
            new_inits.append(numpy_helper.from_array(np.ascontiguousarray(W, np.float32), wname))
            ins = [node.input[0], wname]
            if step.bias is not None:
                new_inits.append(numpy_helper.from_array(np.asarray(step.bias, np.float32), bname))
                ins.append(bname)
        elif node.op_type == "Gemm":
            new_inits.append(numpy_helper.from_array(np.ascontiguousarray(step.W, np.float32), wname))
            ins = [node.input[0], wname]
            product = step.outputs[0].endswith("::product")       # a computed C, added after the product
            if product:
                ins.append(node.input[2])
            elif step.bias is not None:
                new_inits.append(numpy_helper.from_array(np.asarray(step.bias, np.float32), bname))
                ins.append(bname)
                _set_attr(node, "beta", 1.0)
            _set_attr(node, "alpha", 1.0)
            _set_attr(node, "transB", 1)
        else:           # MatMul by a constant (K, N)
            new_inits.append(numpy_helper.from_array(np.ascontiguousarray(step.W.T, np.float32), wname))
            ins = [node.input[0], wname]
        del node.input[:]
        node.input.extend(ins)
        if bn is not None:
            node.output[0] = bn.output[0]
            drop_nodes.append(bn)
    for bn in drop_nodes:
        g.node.remove(bn)
    used = {n for node in g.node for n in node.input}
    new = {t.name for t in new_inits}       # a model tuned before: its old tuned weights are replaced
    keep = [t for t in g.initializer if t.name in used and t.name not in new]
    del g.initializer[:]
    g.initializer.extend(keep + new_inits)
    for p in list(model.metadata_props):
        if p.key in (ACT_MAX_KEY, INFO_KEY):
            model.metadata_props.remove(p)
    onnx.helper.set_model_props(model, {**{p.key: p.value for p in model.metadata_props},
                                        ACT_MAX_KEY: json.dumps(ranges),
                                        **({} if info is None else {INFO_KEY: json.dumps(info)})})
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path
