"""Data sets, all offline: scikit-learn's bundled digits, MNIST / Fashion-MNIST from IDX files, and for
imported models CIFAR-10/100 python batches and plain .npz files."""

import gzip
import os
import struct

import numpy as np

__all__ = ["load_digits_split", "load_idx_dataset", "read_idx", "IDX_FILES", "load_eval_data", "read_cifar_batch",
           "read_npz", "normalise", "DataFormatError", "InputArrays"]

IDX_FILES = {"train_images": "train-images-idx3-ubyte", "train_labels": "train-labels-idx1-ubyte",
             "test_images": "t10k-images-idx3-ubyte", "test_labels": "t10k-labels-idx1-ubyte"}


def load_digits_split(test_fraction=0.2):
    """The 8x8 digits (1,797 images, 0..16), a fixed stratified split; images scaled to [0, 1]."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)[:, None, :, :]
    xtr, xte, ytr, yte = train_test_split(x, d.target, test_size=test_fraction, stratify=d.target, random_state=0)
    return xtr, ytr.astype(np.int64), xte, yte.astype(np.int64)


def read_idx(path):
    """One IDX file (optionally .gz) as a numpy array."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"{path} is not an IDX file (bad magic)")
    dtype_code, ndim = data[2], data[3]
    dtypes = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    if dtype_code not in dtypes:
        raise ValueError(f"{path}: unknown IDX data type 0x{dtype_code:02x}")
    dims = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    arr = np.frombuffer(data, dtype=dtypes[dtype_code], offset=4 + 4 * ndim)
    if arr.size != int(np.prod(dims)):
        raise ValueError(f"{path}: header says {dims}, file holds {arr.size} values")
    return arr.reshape(dims)


def _find(data_dir, stem):
    for name in (stem, stem + ".gz"):
        p = os.path.join(data_dir, name)
        if os.path.exists(p):
            return p
    return None


def load_idx_dataset(data_dir):
    """MNIST or Fashion-MNIST from the four standard IDX files (plain or .gz) in ``data_dir``."""
    if data_dir is None:
        raise FileNotFoundError("--data-dir is required for mnist: a folder with the four IDX files "
                                + ", ".join(IDX_FILES.values()) + " (plain or .gz)")
    paths = {k: _find(data_dir, v) for k, v in IDX_FILES.items()}
    missing = [IDX_FILES[k] for k, p in paths.items() if p is None]
    if missing:
        raise FileNotFoundError(f"missing in {data_dir}: {', '.join(missing)} (plain or .gz). Nothing is "
                                "downloaded: put the standard MNIST / Fashion-MNIST IDX files there")
    xtr = read_idx(paths["train_images"]).astype(np.float32)[:, None] / 255.0
    xte = read_idx(paths["test_images"]).astype(np.float32)[:, None] / 255.0
    ytr = read_idx(paths["train_labels"]).astype(np.int64)
    yte = read_idx(paths["test_labels"]).astype(np.int64)
    if len(xtr) != len(ytr) or len(xte) != len(yte):
        raise ValueError(f"{data_dir}: image and label counts differ")
    return xtr, ytr, xte, yte


# ---------------------------------------------------------------------------------------------------------
# Evaluation data for imported (ONNX) models: IDX, CIFAR-10/100 python batches, .npz.  Loaders return the raw
# arrays (uint8 pixels stay uint8); ``normalise`` applies scale, mean and std.

CIFAR10_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))


class DataFormatError(ValueError):
    """A data file that exists but cannot be read as the format it claims (the path is in the message)."""


class _CifarUnpickler:
    """CIFAR batches are Python pickles: only dicts, lists, bytes, str, ints and numpy arrays may load
    (no arbitrary callables from a user's file)."""

    ALLOWED = {("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "_reconstruct"),
               ("numpy._core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "scalar"),
               ("numpy._core.multiarray", "scalar"), ("_codecs", "encode"), ("builtins", "bytearray")}

    @classmethod
    def load(cls, path):
        import pickle

        class U(pickle.Unpickler):
            def find_class(self, module, name):
                if (module, name) not in cls.ALLOWED:
                    raise DataFormatError(f"{path}: not a CIFAR batch (pickle refers to {module}.{name})")
                return super().find_class(module, name)
        try:
            with open(path, "rb") as f:
                return U(f, encoding="bytes").load()
        except DataFormatError:
            raise
        except Exception as e:
            raise DataFormatError(f"{path}: not a CIFAR python batch ({type(e).__name__}: {e})") from None


def read_cifar_batch(path):
    """One CIFAR-10 (``data_batch_*``, ``test_batch``) or CIFAR-100 (``train``, ``test``: fine labels)
    python batch: uint8 images ``(N, 3, 32, 32)`` and int64 labels."""
    d = _CifarUnpickler.load(path)
    if not isinstance(d, dict):
        raise DataFormatError(f"{path}: not a CIFAR python batch (holds a {type(d).__name__}, not a dict)")
    d = {(k.decode() if isinstance(k, bytes) else k): v for k, v in d.items()}
    labels = d.get("labels", d.get("fine_labels"))
    if "data" not in d or labels is None:
        raise DataFormatError(f"{path}: a CIFAR batch needs 'data' and 'labels' (CIFAR-10) or 'fine_labels' "
                              f"(CIFAR-100); it has {sorted(d)}")
    x = np.asarray(d["data"])
    y = np.asarray(labels, np.int64)
    if x.dtype != np.uint8 or x.ndim != 2 or x.shape[1] != 3 * 32 * 32 or len(x) != len(y):
        raise DataFormatError(f"{path}: CIFAR 'data' must be uint8 (N, 3072) with N labels, got {x.dtype} "
                              f"{x.shape} and {len(y)} labels")
    return x.reshape(-1, 3, 32, 32), y


class InputArrays(dict):
    """One array per graph input name, all with the same number of rows: ``len`` is that number and
    indexing by anything but a name (a slice, an index array) takes those rows of every array, so a
    model with several inputs batches like one with a single array."""

    def __len__(self):
        return len(next(iter(self.values()))) if dict.__len__(self) else 0

    def __getitem__(self, key):
        if isinstance(key, str):
            return dict.__getitem__(self, key)
        return InputArrays({k: v[key] for k, v in self.items()})


def read_npz(path, inputs=None):
    """``x`` (N, ...) and ``y`` (N,) from a .npz; optional ``x_calib`` for calibration.

    With ``inputs`` (the names of a model's several data inputs) ``x`` is instead one array per name,
    keyed by the name, and the calibration arrays ``<name>_calib`` (all or none): both as
    :class:`InputArrays`."""
    try:
        f = np.load(path, allow_pickle=False)
    except Exception as e:
        raise DataFormatError(f"{path}: not a readable .npz ({type(e).__name__}: {e})") from None
    keys = ["x"] if inputs is None else list(inputs)
    with f:
        missing = [k for k in keys + ["y"] if k not in f.files]
        if missing:
            what = "arrays 'x' and 'y'" if inputs is None else f"one array per model input {keys} and 'y'"
            raise DataFormatError(f"{path}: a .npz needs {what}; missing {missing}, it has {f.files}")
        calib_keys = ["x_calib"] if inputs is None else [f"{k}_calib" for k in keys]
        present = [k for k in calib_keys if k in f.files]
        if present and len(present) != len(calib_keys):
            raise DataFormatError(f"{path}: calibration arrays {calib_keys} must be all present or none; it has "
                                  f"{present}")
        try:
            xs = {k: f[k] for k in keys}
            y = f["y"]
            calibs = {k: f[c] for k, c in zip(keys, calib_keys)} if present else None
        except ValueError as e:          # object arrays: refused without unpickling
            raise DataFormatError(f"{path}: {e}") from None
    for key, a in list(xs.items()) + [(c, calibs[k]) for k, c in zip(keys, calib_keys) if calibs]:
        # numpy would turn numeric strings and complex numbers into floats without a word
        if a.dtype.kind not in "biuf":
            raise DataFormatError(f"{path}: {key!r} must hold numbers (int or float), it holds {a.dtype} "
                                  f"({_kind_name(a.dtype)})")
    for key, x in xs.items():
        if y.ndim != 1 or len(x) != len(y) or x.ndim < (2 if inputs is None else 1) or y.dtype.kind not in "iu":
            raise DataFormatError(f"{path}: {key!r} must be (N, ...) and 'y' (N,) integer labels, got {key} "
                                  f"{x.shape} and y {y.shape} {y.dtype}")
    if calibs and len({len(a) for a in calibs.values()}) > 1:
        raise DataFormatError(f"{path}: the calibration arrays {calib_keys} have different numbers of rows")
    if inputs is None:
        return xs["x"], y.astype(np.int64), None if calibs is None else calibs["x"]
    return InputArrays(xs), y.astype(np.int64), None if calibs is None else InputArrays(calibs)


def _kind_name(dtype):
    return {"U": "strings", "S": "byte strings", "c": "complex numbers", "O": "Python objects",
            "M": "dates", "m": "time deltas", "V": "raw records"}.get(dtype.kind, "not numbers")


def load_eval_data(path, inputs=None):
    """A test set (and a training set for calibration when there is one) from a local ``path``.

    ``path`` is a folder with the MNIST / Fashion-MNIST IDX files (``t10k-*`` required, ``train-*``
    optional), a folder with CIFAR-10 batches (``test_batch``, ``data_batch_1..5``) or CIFAR-100
    (``test``, ``train``), possibly in their ``cifar-10-batches-py`` / ``cifar-100-python`` subfolder,
    a single CIFAR batch file, or a ``.npz`` with ``x``, ``y`` (and optional ``x_calib``).  For a model
    with several data inputs, ``inputs`` names them: a ``.npz`` with one array per name (and optional
    ``<name>_calib``), returned as :class:`InputArrays`.

    Returns ``{"format", "x", "y", "x_calib" (None if the data has no training part), "calib_from"}``
    with raw pixels (uint8 stays uint8).
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"data {path} does not exist (a folder with IDX or CIFAR files, a CIFAR batch, "
                                "or a .npz with x and y); nothing is downloaded")
    if os.path.isfile(path):
        if path.endswith(".npz"):
            x, y, calib = read_npz(path, inputs)
            return {"format": "npz", "x": x, "y": y, "x_calib": calib, "calib_from": None if calib is None else
                    "x_calib" if inputs is None else ", ".join(f"{k}_calib" for k in inputs)}
    if inputs is not None:
        raise DataFormatError(f"{path}: a model with several data inputs {list(inputs)} takes a .npz with one "
                              "array per input name (and y)")
    if os.path.isfile(path):
        x, y = read_cifar_batch(path)
        return {"format": "cifar", "x": x, "y": y, "x_calib": None, "calib_from": None}
    for sub in ("cifar-10-batches-py", "cifar-100-python"):
        if os.path.isdir(os.path.join(path, sub)):
            return load_eval_data(os.path.join(path, sub))
    if _find(path, IDX_FILES["test_images"]) or _find(path, IDX_FILES["test_labels"]):
        paths = {k: _find(path, v) for k, v in IDX_FILES.items()}
        for k in ("test_images", "test_labels"):
            if paths[k] is None:
                raise FileNotFoundError(f"missing in {path}: {IDX_FILES[k]} (plain or .gz)")
        x, y = _read_idx_checked(paths["test_images"]), _read_idx_checked(paths["test_labels"]).astype(np.int64)
        if len(x) != len(y):
            raise DataFormatError(f"{paths['test_images']} holds {len(x)} images, {paths['test_labels']} "
                                  f"{len(y)} labels")
        calib = _read_idx_checked(paths["train_images"]) if paths["train_images"] else None
        return {"format": "idx", "x": x[:, None] if x.ndim == 3 else x, "y": y,
                "x_calib": None if calib is None else (calib[:, None] if calib.ndim == 3 else calib),
                "calib_from": IDX_FILES["train_images"] if calib is not None else None}
    for test, trains, fmt in (("test_batch", CIFAR10_TRAIN, "cifar-10"), ("test", ("train",), "cifar-100")):
        tp = os.path.join(path, test)
        if os.path.isfile(tp):
            x, y = read_cifar_batch(tp)
            present = [t for t in trains if os.path.isfile(os.path.join(path, t))]
            calib = np.concatenate([read_cifar_batch(os.path.join(path, t))[0] for t in present]) if present else None
            return {"format": fmt, "x": x, "y": y, "x_calib": calib, "calib_from": ", ".join(present) or None}
    raise FileNotFoundError(f"{path}: no data found: expected IDX files ({IDX_FILES['test_images']}, "
                            f"{IDX_FILES['test_labels']}), CIFAR-10 test_batch, CIFAR-100 test, or pass a .npz file")


def _read_idx_checked(path):
    try:
        return read_idx(path)
    except ValueError as e:
        raise DataFormatError(str(e) if str(path) in str(e) else f"{path}: {e}") from None
    except (OSError, EOFError, struct.error) as e:
        raise DataFormatError(f"{path}: not a readable IDX file ({type(e).__name__}: {e})") from None


def normalise(x, *, scale=None, mean=None, std=None):
    """``(x * scale - mean) / std`` as float32, ``mean``/``std`` per channel (axis 1) or one value.

    ``scale`` defaults to 1/255 for uint8 pixels and 1 otherwise."""
    if scale is None:
        scale = 1.0 / 255.0 if x.dtype == np.uint8 else 1.0
    out = x.astype(np.float32) * np.float32(scale)
    c = x.shape[1] if x.ndim >= 2 else 1
    shape = (1, -1) + (1,) * (x.ndim - 2)
    for name, v, op in (("mean", mean, np.subtract), ("std", std, np.divide)):
        if v is None:
            continue
        v = np.atleast_1d(np.asarray(v, np.float32))
        if v.size not in (1, c):
            raise ValueError(f"--{name} needs 1 or {c} values (one per channel), got {v.size}")
        if name == "std" and (v <= 0).any():
            raise ValueError(f"--std values must be > 0, got {v.tolist()}")
        out = op(out, v.reshape(shape) if v.size > 1 else v[0])
    return out
