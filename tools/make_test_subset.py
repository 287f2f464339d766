"""Writes the bundled Fashion-MNIST test subset: the first N test images and labels as gzipped IDX files, named
like the originals so that `--data data/fashion-mnist-test500` works wherever the full dataset does.

Deterministic: gzip is written with mtime 0, so rerunning gives byte-identical files.
Usage: python tools/make_test_subset.py [--count 500] [--data DIR] OUT_DIR
"""
import argparse
import gzip
import os
import struct

from fmnist import DEFAULT_DIR, locate, read_idx


def write_idx(path, array):
    # IDX header: two zero bytes, type 0x08 (unsigned byte), rank, then big-endian 32-bit dimensions.
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as out:
        out.write(header + array.astype("uint8").tobytes())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--data", default=DEFAULT_DIR)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        write_idx(os.path.join(args.out, name + ".gz"), read_idx(locate(args.data, name))[:args.count])


if __name__ == "__main__":
    main()
