"""Writes the HDF5 files that tests/test_hdf5.cpp reads, with h5py, into the folder
given as the only argument (ctest runs it as the fixture hdf5_files).

Every value is fixed or drawn from a seeded generator, so the files are the same on every
run. Run it with Debian's python3 (python3-h5py): `python3 make_files.py OUT_DIR`.
"""
import math
import os
import sys

import h5py
import numpy as np


def write_numbers(path):
    """One dataset per dtype the reader takes, the shapes it must keep, and the types it
    must refuse."""
    with h5py.File(path, "w") as f:
        f["f4"] = np.array([[0.5, -1.25, 3.0], [1e-3, 2.5e7, -0.0]], dtype="<f4")
        f["f4_big_endian"] = np.array([1.5, -2.0, 1e-3], dtype=">f4")
        f["f8"] = np.array([0.1, -2.0, 1e300, 5e-324], dtype="<f8")
        f["f2"] = np.array([0.5, -3.0], dtype="<f2")
        # Just above FLT_MAX: rounds to FLT_MAX up to halfway to 2^128 (excluded), then inf.
        flt_max = float.fromhex("0x1.fffffep127")
        halfway = float.fromhex("0x1.ffffffp127")
        near_max = np.array([math.nextafter(flt_max, math.inf), math.nextafter(halfway, 0.0),
                             halfway, -math.nextafter(halfway, 0.0), 1e300, 5e-324], dtype="<f8")
        f["f8_near_float32_max"] = near_max
        with np.errstate(over="ignore"):
            f["f8_near_float32_max_as_f4"] = near_max.astype("<f4")  # numpy's rounding
        f["i1"] = np.array([-128, -1, 0, 127], dtype="i1")
        f["u1"] = np.array([0, 1, 254, 255], dtype="u1")
        f["i2"] = np.array([-32768, 32767], dtype="<i2")
        f["u2"] = np.array([0, 65535], dtype="<u2")
        f["i4"] = np.array([-2147483648, 2147483647], dtype="<i4")
        f["u4"] = np.array([0, 4294967295], dtype=">u4")
        f["i8"] = np.array([-(2**53), -1, 0, 2**53], dtype="<i8")
        f["u8"] = np.array([0, 2**53], dtype="<u8")
        f["i8_beyond_2_53"] = np.array([0, 1, 2**53 + 1], dtype="<i8")
        f["u8_max"] = np.array([2**64 - 1], dtype="<u8")
        f["i4_beyond_2_24"] = np.array([2**24, 2**24 + 1], dtype="<i4")
        f["bool"] = np.array([True, False, True])
        f["scalar_f8"] = np.float64(2.75)
        f["scalar_i8"] = np.int64(-7)
        f["empty"] = np.zeros((0, 3), dtype="f4")
        # rank 4 bytes: element (a, b, c, d) = a * 60 + b * 20 + c * 5 + d (row-major index)
        f["u1_rank4"] = np.arange(2 * 3 * 4 * 5, dtype="u1").reshape(2, 3, 4, 5)
        g = f.create_group("group")
        g["x"] = np.array([[1, 2], [3, 4]], dtype="<i2")
        g.create_group("inner")["y"] = np.array([9.5], dtype="<f8")
        f["fixed_strings"] = np.array([b"non-cat", b"cat"])  # numpy S7, as the course's file
        f["vlen_strings"] = np.array(["caf\u00e9", "", "a longer string"], dtype=h5py.string_dtype())
        f["vlen_bytes"] = np.array([b"ab", b"c"], dtype=h5py.string_dtype("ascii"))
        f["scalar_string"] = np.bytes_(b"one")
        f["strings_2d"] = np.array([[b"a", b"bb"], [b"ccc", b"d"]])
        f["compound"] = np.array([(1, 2.0), (3, 4.0)], dtype=[("a", "<i4"), ("b", "<f8")])
        f["soft"] = h5py.SoftLink("/f8")  # listed once: as f8


def write_course(path, prefix, m, h, w, c, y_row, seed):
    """The course's layout, small: x (m, h, w, c) bytes, y (m,) or (1, m), list_classes;
    and expected_X, numpy's own x.reshape(m, -1).T / 255. as float64, to compare with."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(m, h, w, c), dtype=np.uint8)
    y = rng.integers(0, 2, size=m, dtype=np.int64)
    with h5py.File(path, "w") as f:
        f[prefix + "_set_x"] = x
        f[prefix + "_set_y"] = y.reshape(1, m) if y_row else y
        f["list_classes"] = np.array([b"non-cat", b"cat"])
        f["expected_X"] = x.reshape(m, -1).T / 255.0
        f["expected_Y"] = y.astype(np.float64)


def write_bad_course(path, **datasets):
    with h5py.File(path, "w") as f:
        for name, value in datasets.items():
            f[name] = value


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    numbers = os.path.join(out, "numbers.h5")
    write_numbers(numbers)
    write_course(os.path.join(out, "course_m.h5"), "train", 7, 4, 3, 3, False, seed=1)
    write_course(os.path.join(out, "course_1m.h5"), "test", 5, 2, 6, 3, True, seed=2)

    x = np.arange(3 * 2 * 2 * 3, dtype=np.uint8).reshape(3, 2, 2, 3)
    classes = np.array([b"non-cat", b"cat"])
    write_bad_course(os.path.join(out, "course_mismatched_m.h5"),
                     train_set_x=x, train_set_y=np.array([0, 1]), list_classes=classes)
    write_bad_course(os.path.join(out, "course_rank3.h5"),
                     train_set_x=x.reshape(3, 4, 3), train_set_y=np.array([0, 1, 0]),
                     list_classes=classes)
    write_bad_course(os.path.join(out, "course_label_out_of_range.h5"),
                     train_set_x=x, train_set_y=np.array([0, 2, 1]), list_classes=classes)
    write_bad_course(os.path.join(out, "course_fractional_label.h5"),
                     train_set_x=x, train_set_y=np.array([0.0, 0.5, 1.0]), list_classes=classes)
    write_bad_course(os.path.join(out, "course_float_x.h5"),
                     train_set_x=x.astype(np.float32), train_set_y=np.array([0, 1, 0]),
                     list_classes=classes)
    write_bad_course(os.path.join(out, "course_x_beyond_255.h5"),
                     train_set_x=x.astype(np.int16) * 30, train_set_y=np.array([0, 1, 0]),
                     list_classes=classes)
    write_bad_course(os.path.join(out, "course_y_2d.h5"),
                     train_set_x=x, train_set_y=np.zeros((3, 1), dtype=np.int64),
                     list_classes=classes)
    with h5py.File(os.path.join(out, "no_datasets.h5"), "w") as f:
        f.create_group("only_a_group")

    with open(numbers, "rb") as f:
        good = f.read()
    with open(os.path.join(out, "truncated.h5"), "wb") as f:
        f.write(good[: len(good) // 2])
    # The signature, then bytes that are no superblock: HDF5 recognizes it, cannot open it.
    with open(os.path.join(out, "corrupt_superblock.h5"), "wb") as f:
        f.write(good[:8] + bytes((i * 37 + 11) % 256 for i in range(2048)))
    with open(os.path.join(out, "not_hdf5.h5"), "w") as f:
        f.write("this is a text file, not HDF5\n" * 20)


if __name__ == "__main__":
    main()
