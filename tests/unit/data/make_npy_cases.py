#!/usr/bin/env python3
"""make_npy_cases.py — writes the numpy-made .npy files that tests/unit/test_npy.c reads.

The C reader (runtime/npy.c) must agree with numpy, so every file here is written
by numpy (np.save / np.lib.format.write_array), or hand-crafted and then loaded
back with np.load to prove numpy accepts it. The expectations the C test checks
come from numpy too: tests/unit/data/npy/cases.txt has one line per readable case

    ok NAME DESCR RANK D0 .. Dn-1 NBYTES FNV1A64 FIRST CANON

DESCR is the little-endian descr of the loaded dtype ('<f4', '|u1', ...),
FNV1A64 the hash of the array's bytes as little-endian C-order data, FIRST the
first element (repr of float(x) or int(x); '-' when the array is empty) and
CANON the file that np.save writes for the same array in little-endian C order
(the file itself when it already is that), against which the C writer's bytes
are compared. Files numpy writes that smelt rejects on purpose (Fortran order,
complex, void/bfloat16, structured, strings) are listed as `reject NAME`.

Run from the repo root: .venv/bin/python tests/unit/data/make_npy_cases.py
The output is deterministic, and the files are tiny (a few hundred bytes each).
"""
import io
import os
import warnings

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "npy")


def fnv1a64(b):
    h = 0xCBF29CE484222325
    for x in b:
        h = ((h ^ x) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def save_bytes(a, version=None):
    f = io.BytesIO()
    if version is None:
        np.save(f, a)
    else:
        np.lib.format.write_array(f, np.asanyarray(a), version=version)
    return f.getvalue()


def craft(header_dict, data, major=1):
    """A .npy file with a hand-written header dict, padded the way numpy pads."""
    h = header_dict.encode("utf8" if major == 3 else "latin1")
    lenlen = 2 if major == 1 else 4
    hlen = len(h) + 1
    hlen += (-(8 + lenlen + hlen)) % 64
    out = b"\x93NUMPY" + bytes([major, 0]) + hlen.to_bytes(lenlen, "little")
    out += h + b" " * (hlen - len(h) - 1) + b"\n"
    return out + data


lines = []
written = set()


def put(name, content):
    assert name not in written, name
    written.add(name)
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(content)


def ok(name, content):
    """Writes a file numpy can load, and its manifest line from np.load."""
    put(name, content)
    with warnings.catch_warnings():  # the Python 2 header warns
        warnings.simplefilter("ignore")
        a = np.load(io.BytesIO(content))
    le = a.dtype.newbyteorder("<") if a.dtype.byteorder == ">" else a.dtype
    c = np.array(a, dtype=le, order="C")  # keeps rank 0, unlike ascontiguousarray
    canon = save_bytes(c)
    canon_name = name
    if canon != content:
        canon_name = "canon_" + name
        put(canon_name, canon)
    data = c.tobytes()
    if c.size == 0:
        first = "-"
    else:
        x = c.reshape(-1)[0]
        first = repr(float(x)) if c.dtype.kind == "f" else str(int(x))
    lines.append(" ".join(["ok", name, c.dtype.str, str(c.ndim)] + [str(d) for d in c.shape]
                          + [str(len(data)), "%016x" % fnv1a64(data), first, canon_name]))


def reject(name, content):
    """Writes a file numpy can load but smelt must refuse."""
    put(name, content)
    np.load(io.BytesIO(content))
    lines.append("reject " + name)


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        if f.endswith(".npy") or f == "cases.txt":
            os.remove(os.path.join(OUT, f))

    # One file per dtype, C order, values that exercise signs and extremes.
    ok("f4.npy", save_bytes(np.array([[1.5, -2.25, 3e38], [np.inf, -0.0, 1e-45]], np.float32)))
    ok("f8.npy", save_bytes(np.array([np.pi, -1e308, 5e-324], np.float64)))
    ok("f2.npy", save_bytes(np.array([[0.5, -65504.0], [6e-8, np.inf]], np.float16)))
    ok("i1.npy", save_bytes(np.array([-128, 127, 0, -1], np.int8)))
    ok("i2.npy", save_bytes(np.array([[-32768, 32767, 5]], np.int16)))
    ok("i4.npy", save_bytes(np.array([-2**31, 2**31 - 1, 7], np.int32)))
    ok("i8.npy", save_bytes(np.array([-2**63, 2**63 - 1, 42], np.int64)))
    ok("u1.npy", save_bytes(np.array([255, 0, 17], np.uint8)))
    ok("u2.npy", save_bytes(np.array([65535, 1], np.uint16)))
    ok("u4.npy", save_bytes(np.array([4294967295, 3], np.uint32)))
    ok("u8.npy", save_bytes(np.array([2**64 - 1, 9], np.uint64)))
    ok("b1.npy", save_bytes(np.array([[True, False], [False, True]])))
    # Scalars, empty arrays, rank 5, a long dimension.
    ok("scalar_f4.npy", save_bytes(np.float32(-7.5)))
    ok("scalar_i8.npy", save_bytes(np.array(-123456789012, np.int64)))
    ok("empty_0.npy", save_bytes(np.zeros((0,), np.float32)))
    ok("empty_0x3.npy", save_bytes(np.zeros((0, 3), np.int16)))
    ok("empty_2x0x4.npy", save_bytes(np.zeros((2, 0, 4), np.float64)))
    ok("rank5.npy", save_bytes(np.arange(12, dtype=np.int16).reshape(2, 1, 3, 1, 2) - 6))
    ok("long_1000.npy", save_bytes(np.arange(1000, dtype=np.uint8)))
    # Other header versions (numpy writes these only when asked).
    ok("v2_f4.npy", save_bytes(np.array([[1.0, 2.0], [3.0, 4.0]], np.float32), version=(2, 0)))
    ok("v3_i4.npy", save_bytes(np.array([1, -2, 3], np.int32), version=(3, 0)))
    # Big-endian data, converted by the reader.
    ok("be_f4.npy", save_bytes(np.array([1.5, -2.0, 1e-3], ">f4")))
    ok("be_f8.npy", save_bytes(np.array([[np.e, -0.5]], ">f8")))
    ok("be_f2.npy", save_bytes(np.array([1.0, -3.0], ">f2")))
    ok("be_i2.npy", save_bytes(np.array([-2, 258], ">i2")))
    ok("be_i4.npy", save_bytes(np.array([-2, 16909060], ">i4")))
    ok("be_i8.npy", save_bytes(np.array([-2, 72623859790382856], ">i8")))
    ok("be_u2.npy", save_bytes(np.array([1, 65534], ">u2")))
    ok("be_u4.npy", save_bytes(np.array([1, 4000000000], ">u4")))
    ok("be_u8.npy", save_bytes(np.array([1, 2**64 - 2], ">u8")))
    # Hand-written headers numpy also accepts: key order, quotes, whitespace,
    # no trailing comma, '<i1' for int8, Python 2 long suffix, no padding.
    ok("craft_order.npy", craft('{"shape":(3,),"fortran_order" :False,\t"descr":"<f4"}',
                                np.array([1, 2, 3], "<f4").tobytes()))
    ok("craft_ws.npy", craft("{ 'descr' : '<i1' ,\n 'fortran_order' : False ,\n"
                             " 'shape' : ( 2 , 2 , ) , }", np.array([1, -1, 2, -2], "i1").tobytes()))
    ok("craft_py2.npy", craft("{'descr': '<u2', 'fortran_order': False, 'shape': (2L, 1L), }",
                              np.array([7, 8], "<u2").tobytes()))
    ok("craft_scalar_b1.npy", craft("{'descr':'|b1','fortran_order':False,'shape':()}", b"\x01"))
    # Files numpy writes that smelt refuses.
    reject("fortran.npy", save_bytes(np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3))))
    reject("complex.npy", save_bytes(np.array([1 + 2j], np.complex64)))
    reject("void2.npy", save_bytes(np.zeros(3, "V2")))
    reject("bf16.npy", craft("{'descr': '<V2', 'fortran_order': False, 'shape': (2,), }", b"\x80\x3f\x00\x40"))
    reject("struct.npy", save_bytes(np.zeros(2, [("a", "<f4"), ("b", "<i2")])))
    reject("str.npy", save_bytes(np.array(["ab", "c"])))

    with open(os.path.join(OUT, "cases.txt"), "w") as f:
        f.write("# written by tests/unit/data/make_npy_cases.py from numpy %s; do not edit\n"
                % np.__version__)
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
