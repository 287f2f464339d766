"""Fashion-MNIST IDX files for the Python tools (the Swift side has its own reader in Sources/Network/Datasets)."""
import gzip
import os
import sys

import numpy as np

DEFAULT_DIR = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    """An unsigned-byte IDX file, gzipped or not, as a numpy array of its shape."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    rank = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(rank)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(shape)


def locate(directory, base):
    """`base` or `base.gz` in `directory`."""
    for name in (base, base + ".gz"):
        if os.path.exists(os.path.join(directory, name)):
            return os.path.join(directory, name)
    sys.exit(f"error: {directory} has no {base}[.gz]")
