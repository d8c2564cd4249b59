"""Fashion-MNIST for the examples, as torch tensors, normalised by the training set's mean and
standard deviation (the IDX files of /usr/share/datasets/fashion-mnist)."""
import gzip
import pathlib

import numpy as np
import torch

DATA = pathlib.Path("/usr/share/datasets/fashion-mnist")


def idx(path):
    """An IDX file as a uint8 array of its shape."""
    with gzip.open(path) as f:
        raw = f.read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(limit, images=False):
    """([x_train, x_test], [y_train, y_test]): the first `limit` training images, the whole test
    set; x as [N, 784] float32, or [N, 1, 28, 28] with `images`; y as int64."""
    shape = (-1, 1, 28, 28) if images else (-1, 784)
    xs = idx(DATA / "train-images-idx3-ubyte.gz")[:limit].reshape(shape).astype(np.float32) / 255
    ys = idx(DATA / "train-labels-idx1-ubyte.gz")[:limit].astype(np.int64)
    xt = idx(DATA / "t10k-images-idx3-ubyte.gz").reshape(shape).astype(np.float32) / 255
    yt = idx(DATA / "t10k-labels-idx1-ubyte.gz").astype(np.int64)
    mean, std = xs.mean(), xs.std()
    return [torch.from_numpy((a - mean) / std) for a in (xs, xt)], [torch.from_numpy(b) for b in (ys, yt)]
