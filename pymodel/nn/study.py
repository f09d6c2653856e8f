"""Training, post-training quantization, and the accuracy study behind ``mitchell nn``."""

import copy
import hashlib
import json
import os

import numpy as np

from ..config import Mitchell
from .data import load_digits_split, load_idx_dataset
from .layers import FLOAT, Conv2d, Dense, Flatten, MaxPool2d, Mode, ReLU, softmax_cross_entropy
from .matmul import ExactMultiplier

__all__ = ["Model", "build_model", "float_model", "train", "calibrate", "evaluate", "load_dataset", "run_study", "MODELS",
           "DATASETS", "run_mfree_study", "train_multiplication_free", "SGDMomentum", "TRAIN_MULTIPLIERS"]

MODELS = ("mlp", "cnn")
DATASETS = ("digits", "mnist")
CACHE_VERSION = 2


class Model:
    def __init__(self, layers):
        self.layers = layers

    def forward(self, x, mode=FLOAT):
        for layer in self.layers:
            x = layer.forward(x, mode)
        return x

    def backward(self, d):
        for layer in reversed(self.layers):
            d = layer.backward(d)

    @property
    def params(self):
        return [p for layer in self.layers for p in layer.params]

    @property
    def grads(self):
        return [g for layer in self.layers for g in layer.grads]

    def predict(self, x, mode=FLOAT, batch=512):
        return np.concatenate([self.forward(x[i:i + batch], mode).argmax(axis=1) for i in range(0, len(x), batch)])

    def state(self):
        return [p.copy() for p in self.params]

    def load_state(self, arrays):
        for p, v in zip(self.params, arrays):
            if p.shape != v.shape:
                raise ValueError(f"cached parameter shape {v.shape} does not fit {p.shape}")
            p[...] = v


def build_model(name, in_shape, n_classes, rng):
    """``mlp``: flatten, dense 128, ReLU, dense.  ``cnn``: two (3x3 conv, ReLU, 2x2 max-pool) blocks
    of 16 and 32 channels, flatten, dense."""
    c, h, w = in_shape
    if name == "mlp":
        return Model([Flatten(), Dense(c * h * w, 128, rng), ReLU(), Dense(128, n_classes, rng)])
    if name == "cnn":
        return Model([Conv2d(c, 16, 3, 1, rng), ReLU(), MaxPool2d(), Conv2d(16, 32, 3, 1, rng), ReLU(),
                      MaxPool2d(), Flatten(), Dense(32 * (h // 4) * (w // 4), n_classes, rng)])
    raise ValueError(f"model must be one of {MODELS}, got {name!r}")


class Adam:
    def __init__(self, params, lr, b1=0.9, b2=0.999, eps=1e-8):
        self.lr, self.b1, self.b2, self.eps, self.t = lr, b1, b2, eps, 0
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]

    def step(self, params, grads):
        self.t += 1
        c1, c2 = 1 - self.b1 ** self.t, 1 - self.b2 ** self.t
        for p, g, m, v in zip(params, grads, self.m, self.v):
            m *= self.b1
            m += (1 - self.b1) * g
            v *= self.b2
            v += (1 - self.b2) * g * g
            p -= (self.lr * (m / c1) / (np.sqrt(v / c2) + self.eps)).astype(p.dtype)


class SGDMomentum:
    """``v = momentum * v + g; w -= lr * v``, both products through ``ops``."""

    def __init__(self, params, lr, momentum=0.9, ops=None):
        from .mfree import NUMPY_OPS
        self.lr, self.mu = np.float32(lr), np.float32(momentum)
        self.ops = ops or NUMPY_OPS
        self.v = [np.zeros_like(p) for p in params]

    def step(self, params, grads):
        for p, g, v in zip(params, grads, self.v):
            v[...] = self.ops.mul(self.mu, v) + g
            p -= self.ops.mul(self.lr, v)


def train_multiplication_free(model, x, y, xte, yte, *, ops, epochs, lr, rng, batch=32, progress=None):
    """SGD with momentum where every multiplication goes through ``ops`` (forward, backward, update).
    Returns the test accuracy after each epoch."""
    mode = Mode("float", ops=ops)
    curve = []
    train(model, x, y, epochs=epochs, rng=rng, batch=batch, mode=mode, progress=progress,
          opt=SGDMomentum(model.params, lr, ops=ops),
          on_epoch=lambda epoch: curve.append(evaluate(model, xte, yte, mode)))
    return curve


def train(model, x, y, *, epochs, rng, lr=None, opt=None, batch=32, mode=FLOAT, progress=None, on_epoch=None):
    """Minibatch training on softmax cross-entropy with ``opt`` (default: Adam at ``lr``).

    The loss gradient is scaled with ``mode.ops``.  With an int ``mode`` the forward pass
    is the quantized (approximate) path and the gradients are straight-through.
    ``progress()`` and ``on_epoch(epoch)`` are called after each epoch.
    """
    if opt is None:
        opt = Adam(model.params, lr)
    for epoch in range(epochs):
        order = rng.permutation(len(x))
        for i in range(0, len(x), batch):
            idx = order[i:i + batch]
            _, d = softmax_cross_entropy(model.forward(x[idx], mode), y[idx], mode.ops)
            model.backward(d)
            opt.step(model.params, model.grads)
        if progress is not None:
            progress()
        if on_epoch is not None:
            on_epoch(epoch)


def calibrate(model, x, batch=512):
    """Per-tensor input ranges of every multiplying layer, from float forwards over ``x``."""
    mode = Mode("float", calibrate=True)
    for layer in model.layers:
        if hasattr(layer, "act_max"):
            layer.act_max = None
    for i in range(0, len(x), batch):
        model.forward(x[i:i + batch], mode)
    for layer in model.layers:
        if hasattr(layer, "act_max"):
            layer.calibrated_max = layer.act_max


def evaluate(model, x, y, mode=FLOAT):
    return float((model.predict(x, mode) == y).mean())


TRAIN_MULTIPLIERS = ("float-mitchell-fp32", "float-mitchell-bf16")


def run_mfree_study(*, dataset="digits", model="mlp", train_multipliers=TRAIN_MULTIPLIERS, epochs=30, lr=0.02,
                    seed=0, data_dir=None, progress=None):
    """Train the same network from the same initialisation with float32 arithmetic and with
    each Float Mitchell multiplier (SGD with momentum); per-epoch test accuracy curves."""
    from .mfree import NUMPY_OPS, FloatMitchellOps
    for t in train_multipliers:
        if t not in TRAIN_MULTIPLIERS:
            raise ValueError(f"train multiplier must be one of {TRAIN_MULTIPLIERS}, got {t!r}")
    xtr, ytr, xte, yte = load_dataset(dataset, data_dir)
    n_classes = int(max(ytr.max(), yte.max())) + 1
    init = build_model(model, xtr.shape[1:], n_classes, np.random.default_rng(seed)).state()
    curves = {}
    for name in ("float32", *train_multipliers):
        ops = NUMPY_OPS if name == "float32" else FloatMitchellOps(name.rsplit("-", 1)[1])
        net = build_model(model, xtr.shape[1:], n_classes, np.random.default_rng(seed))
        net.load_state(init)
        curves[name.replace("-", "_")] = train_multiplication_free(
            net, xtr, ytr, xte, yte, ops=ops, epochs=epochs, lr=lr, rng=np.random.default_rng(seed + 1),
            progress=progress)
    return {"dataset": dataset, "model": model, "test_samples": int(len(xte)), "epochs": epochs, "lr": lr,
            "seed": seed, "optimizer": "SGD, momentum 0.9, batch 32",
            "accuracy": {k: v[-1] for k, v in curves.items()}, "curves": curves,
            "remaining_multiplications": [m for m in REMAINING if model == "cnn" or not m.startswith("max-pool")]}


REMAINING = [
    "softmax: exp and the normalising division of the logits (batch x classes per step), kept in float32: "
    "transcendental and division, not products of two tensors",
    "max-pool backward: the reciprocal 1/ties (a division by 1..4); the multiplication by it goes through "
    "Float Mitchell",
    "weight initialisation (He scaling) and input scaling (pixels / 16): once, before training, not part of it",
]


def load_dataset(name, data_dir=None):
    if name == "digits":
        return load_digits_split()
    if name == "mnist":
        return load_idx_dataset(data_dir)
    raise ValueError(f"dataset must be one of {DATASETS}, got {name!r}")


def _cache_path(cache_dir, key):
    h = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    return os.path.join(cache_dir, f"float_{key['dataset']}_{key['model']}_{h}.npz")


def float_model(*, dataset="digits", model="mlp", epochs=40, seed=0, lr=2e-3, data_dir=None, cache_dir=None,
                progress=None):
    """The trained float model of the study (from the cache in ``cache_dir``, default ``nn/`` of the user
    cache, else trained and stored), calibrated on the training data.

    Returns ``(net, (xtr, ytr, xte, yte), rng, cached, path)``; ``rng`` is the training generator, in the
    state the study continues from."""
    xtr, ytr, xte, yte = load_dataset(dataset, data_dir)
    rng = np.random.default_rng(seed)
    net = build_model(model, xtr.shape[1:], int(max(ytr.max(), yte.max())) + 1, rng)
    key = {"v": CACHE_VERSION, "dataset": dataset, "model": model, "epochs": epochs, "seed": seed, "lr": lr,
           "n_train": int(len(xtr)), "data_dir": os.path.abspath(data_dir) if data_dir else None}
    if cache_dir is None:
        from ..cache import cache_path
        cache_dir = str(cache_path("nn"))
    path = _cache_path(cache_dir, key)
    cached = os.path.exists(path)
    if cached:
        with np.load(path) as f:
            net.load_state([f[f"p{i}"] for i in range(len(net.params))])
        for _ in range(epochs if progress is not None else 0):
            progress()              # the cached epochs count as done, so a bar's total stays true
    else:
        train(net, xtr, ytr, epochs=epochs, lr=lr, rng=rng, progress=progress)
        os.makedirs(cache_dir, exist_ok=True)
        np.savez(path, **{f"p{i}": p for i, p in enumerate(net.params)})
    calibrate(net, xtr)
    return net, (xtr, ytr, xte, yte), rng, cached, path


def run_study(*, dataset="digits", model="mlp", width=8, frac_bits=None, epochs=40, finetune_epochs=3,
              seed=0, data_dir=None, cache_dir=None, lr=2e-3, finetune_lr=2e-4, frac_sweep=(),
              progress=None, multiplier=None):
    """Float training (or a cached float model), int PTQ, exact vs Mitchell, and STE fine-tuning.

    ``multiplier``: any signed design config of ``width`` bits (``pymodel.registry.make_design``)
    in place of Mitchell's (the ``*_mitchell*`` keys then hold that design's accuracy).
    ``cache_dir``: where trained float models are kept (default ``nn/`` of the user cache,
    :func:`pymodel.cache.cache_dir`).

    Returns ``{"dataset", "model", "test_samples", "accuracy": {"float32", "int8_exact",
    "int8_mitchell", "int8_mitchell_finetuned"}, ...}``; ``frac_sweep`` adds
    ``"frac_sweep": [{"frac_bits", "int8_mitchell", "int8_mitchell_finetuned"}]``.
    """
    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, got {model!r}")
    for name, v in (("epochs", epochs), ("finetune_epochs", finetune_epochs)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ValueError(f"{name} must be an int >= 0, got {v!r}")
    mitchell = Mitchell(width=width, frac_bits=frac_bits, signed=True) if multiplier is None else multiplier
    if mitchell.width != width or not mitchell.signed:
        raise ValueError(f"multiplier must be a signed {width}-bit design, got {mitchell.describe()}")
    exact = ExactMultiplier(width=width, signed=True)
    net, (xtr, ytr, xte, yte), rng, cached, path = float_model(
        dataset=dataset, model=model, epochs=epochs, seed=seed, lr=lr, data_dir=data_dir, cache_dir=cache_dir,
        progress=progress)
    acc = {"float32": evaluate(net, xte, yte),
           "int8_exact": evaluate(net, xte, yte, Mode("int", exact))}

    def mitchell_pair(cfg):
        plain = evaluate(net, xte, yte, Mode("int", cfg))
        tuned = copy.deepcopy(net)
        train(tuned, xtr, ytr, epochs=finetune_epochs, lr=finetune_lr, rng=np.random.default_rng(seed + 1),
              mode=Mode("int", cfg), progress=progress)
        return plain, evaluate(tuned, xte, yte, Mode("int", cfg))

    acc["int8_mitchell"], acc["int8_mitchell_finetuned"] = mitchell_pair(mitchell)
    out = {"dataset": dataset, "model": model, "test_samples": int(len(xte)), "accuracy": acc,
           "design": mitchell.NAME, "design_config": mitchell.as_dict(),
           "width": width, "frac_bits": getattr(mitchell, "frac_bits", None), "epochs": epochs, "finetune_epochs": finetune_epochs,
           "seed": seed, "cached_float_model": cached, "cache_file": path}
    if frac_sweep:
        rows = []
        for f in frac_sweep:
            plain, tuned = mitchell_pair(Mitchell(width=width, frac_bits=f, signed=True))
            rows.append({"frac_bits": f, "int8_mitchell": plain, "int8_mitchell_finetuned": tuned})
        out["frac_sweep"] = rows
    return out
