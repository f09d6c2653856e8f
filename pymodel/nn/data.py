"""Data sets, all offline: scikit-learn's bundled digits, and MNIST / Fashion-MNIST from IDX files."""

import gzip
import os
import struct

import numpy as np

__all__ = ["load_digits_split", "load_idx_dataset", "read_idx", "IDX_FILES"]

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
