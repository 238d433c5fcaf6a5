"""Writes a synthetic pair of the course's cat files into the folder given as the only
argument: train_catvnoncat.h5 (209 images) and test_catvnoncat.h5 (50 images), 64 x 64 x 3
bytes each, in the course's layout, for examples/cat_classifier.cpp's tests (ctest runs it
as the fixture cat_files). The course's own files are not shipped with Debian.

    train_set_x (209, 64, 64, 3) uint8   train_set_y (209,) int64   list_classes [b"non-cat", b"cat"]
    test_set_x  (50, 64, 64, 3) uint8    test_set_y  (1, 50) int64  list_classes

The labels are the course's: y = 1 for a cat, about as many as in its files (72 cats of
209, 33 of 50). Every image is a background of its own colour and brightness with pixel
noise; a "cat" has a warm disc (more red, less blue) with two ears near the centre, a
"non-cat" a cold one (more blue) or none. The classes are learnable from the colour in the
centre, not from the brightness of the image. As in any real set, a few labels are wrong
(3 of the training set, 2 of the test set), so that no model is right on every image.

Seeded: the same files on every run. Run it with Debian's python3 (python3-h5py):
`python3 make_cat_files.py OUT_DIR`.
"""
import os
import sys

import h5py
import numpy as np

SIZE = 64


def images(rng, labels):
    """(m, 64, 64, 3) bytes: the background, the disc of the image's class, the noise."""
    m = len(labels)
    rows, cols = np.mgrid[0:SIZE, 0:SIZE]
    x = np.empty((m, SIZE, SIZE, 3), dtype=np.float64)
    for i, label in enumerate(labels):
        image = rng.uniform(50, 190, size=3)[None, None, :] + np.zeros((SIZE, SIZE, 3))
        centre = SIZE / 2 + rng.uniform(-6, 6, size=2)
        radius = rng.uniform(14, 20)
        face = (rows - centre[0]) ** 2 + (cols - centre[1]) ** 2 <= radius**2
        if label == 1:
            # Two ears: triangles above the face, left and right of its centre.
            for side in (-1, 1):
                tip_row, tip_col = centre[0] - 1.6 * radius, centre[1] + side * 0.7 * radius
                height = 0.8 * radius
                dy = rows - tip_row
                ear = (dy >= 0) & (dy <= height) & (np.abs(cols - tip_col) <= 0.5 * dy)
                face |= ear
            image[face] += np.array([60.0, 20.0, -40.0]) * rng.uniform(0.7, 1.3)
        elif rng.uniform() < 0.5:
            image[face] += np.array([-40.0, 0.0, 50.0]) * rng.uniform(0.7, 1.3)
        x[i] = image + rng.normal(0, 25, size=(SIZE, SIZE, 3))
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def labels_of(rng, m, cats):
    y = np.zeros(m, dtype=np.int64)
    y[rng.choice(m, size=cats, replace=False)] = 1
    return y


def write(path, prefix, x, y, y_row):
    with h5py.File(path, "w") as f:
        f[prefix + "_set_x"] = x
        f[prefix + "_set_y"] = y.reshape(1, -1) if y_row else y
        f["list_classes"] = np.array([b"non-cat", b"cat"])  # numpy S7, as the course's


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(1)
    for name, prefix, m, cats, wrong, y_row in (
        ("train_catvnoncat.h5", "train", 209, 72, 3, False),
        ("test_catvnoncat.h5", "test", 50, 33, 2, True),
    ):
        y = labels_of(rng, m, cats)
        x = images(rng, y)
        flipped = rng.choice(m, size=wrong, replace=False)
        y[flipped] = 1 - y[flipped]  # the image says otherwise
        write(os.path.join(out, name), prefix, x, y, y_row)


if __name__ == "__main__":
    main()
