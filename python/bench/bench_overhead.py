"""Python vs C cost of codelay.delay on the Moshi fine-tuning batch [16, 17, 1250] int64, and
the fixed per-call overhead of the Python layer (a [1, 17, 1] call minus the same call in C).

Usage: bench_overhead.py LIBBENCH.so   (bench_delay.c built as a shared object)
C and Python rounds alternate in this one process and each figure is the best of all rounds,
so both sides are measured under the same (shared-machine) load.
"""

import ctypes
import os
import sys
import timeit

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import numpy as np  # noqa: E402

import codelay  # noqa: E402
from codelay import presets, _core, _lib  # noqa: E402


def best(fn, number, repeat):
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def main():
    cb = ctypes.CDLL(os.path.abspath(sys.argv[1]))
    cbest = cb.bench_delay_best
    cbest.restype = ctypes.c_double
    cbest.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]

    moshi = presets.moshi(n_q=16)
    x = (np.arange(16 * 17 * 1250, dtype=np.int64) * 7919 % 2048).reshape(16, 17, 1250)
    out = np.empty_like(x)
    small = np.zeros((1, 17, 1), np.int64)
    so = np.empty_like(small)
    d, head = moshi.delays, moshi.initial

    # the bare ctypes call with pre-packed views: what any ctypes binding pays at least
    p = moshi._p0
    buf = ctypes.create_string_buffer(144)  # its own: codelay.delay reuses the scratch one
    addr = ctypes.addressof(buf)
    _core._pack_op(buf, 0, _core._operand(small, False, "x"))
    _core._pack_op(buf, 72, _core._operand(so, False, "out", writable=True))
    hp, _keep = _core._fill(head, 17, 4, "head")
    raw = _lib.delay

    tests = {
        "c_small_us": (lambda: cbest(0, 300, 10), None),
        "raw_ctypes_small_us": (lambda: raw(p._p, addr, addr + 72, hp, hp, None), 300),
        "py_small_us": (lambda: codelay.delay(small, d, 0, None, head, out=so), 300),
        "py_preset_small_us": (lambda: moshi.delay(small, out=so), 300),
        "c_big_us": (lambda: cbest(1, 10, 10), None),
        "py_big_out_us": (lambda: moshi.delay(x, out=out), 10),
        "py_big_alloc_us": (lambda: moshi.delay(x), 10),
        "numpy_copy_big_us": (lambda: np.copyto(out, x), 10),
    }
    for fn, n in tests.values():  # warm up
        fn() if n is None else best(fn, n, 1)
    r = {k: float("inf") for k in tests}
    rounds = int(os.environ.get("CODELAY_BENCH_ROUNDS", "20"))
    for _ in range(rounds):
        for k, (fn, n) in tests.items():
            r[k] = min(r[k], fn() if n is None else best(fn, n, 10))
    print("backend=%s" % codelay.backend())
    for k, v in r.items():
        print("%s=%.3f" % (k, v))
    overhead = r["py_small_us"] - r["c_small_us"]
    ratio = (r["py_big_out_us"] - overhead) / r["c_big_us"]
    print("overhead_us=%.2f (py_small - c_small; target < 10)" % overhead)
    print("big_ratio=%.3f ((py_big_out - overhead) / c_big; target <= 1.20)" % ratio)


if __name__ == "__main__":
    main()
