"""Reader for tests/golden/vectors.txt (SPEC section 5)."""

import os

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PATH = os.path.join(ROOT, "tests", "golden", "vectors.txt")

DTYPES = {"i16": np.int16, "i32": np.int32, "i64": np.int64, "f32": np.float32}


class Case:
    def __init__(self, name):
        self.name = name
        self.f = {}

    def __repr__(self):
        return "Case(%s)" % self.name

    def ints(self, key):
        return [int(v) for v in self.f[key]]

    def floats(self, key):
        return [float(v) for v in self.f[key]]

    @property
    def op(self):
        return self.f["op"][0]

    @property
    def layout(self):
        return self.f["layout"][0]

    @property
    def source(self):
        return " ".join(self.f["source"])

    @property
    def dtype(self):
        return DTYPES[self.f["dtype"][0]]

    @property
    def shape(self):
        return self.ints("shape")  # B K T S inner

    @property
    def lead(self):
        return int(self.f["lead"][0])

    @property
    def delays(self):
        return self.ints("delays")

    def values(self, key, dtype=None):
        dt = dtype or self.dtype
        raw = self.f[key]
        if np.dtype(dt).kind == "f":
            return np.array([float(v) for v in raw], dtype=dt)
        return np.array([int(v) for v in raw], dtype=dt)

    def fills(self, key):
        if self.dtype == np.float32:
            return np.array(self.floats(key), dtype=np.float32)
        return np.array(self.ints(key), dtype=np.int64)

    @property
    def lengths(self):
        v = self.f.get("lengths", ["-"])
        return None if v == ["-"] else np.array([int(x) for x in v], dtype=np.int64)

    def _arr(self, key, steps, dtype=None):
        B, K, T, S, V = self.shape
        a = self.values(key, dtype)
        if self.layout == "kt":
            a = a.reshape(B, K, steps, V)
        else:
            a = a.reshape(B, steps, K, V)
        return a[..., 0] if V == 1 else a

    def input(self):
        B, K, T, S, V = self.shape
        return self._arr("input", S if self.op == "undelay" else T)

    def output(self):
        B, K, T, S, V = self.shape
        if self.op == "weights":
            return self._arr("output", T, np.float32)
        return self._arr("output", T if self.op == "undelay" else S)

    def mask(self):
        if "mask" not in self.f:
            return None
        B, K, T, S, V = self.shape
        m = np.array(self.ints("mask"), dtype=np.bool_)
        n = S if self.op == "delay" else T  # a delay case's mask marks the data cells of [B,K,S]
        return m.reshape((B, K, n) if self.layout == "kt" else (B, n, K))


def load(path=PATH):
    cases = []
    cur = None
    with open(path) as fh:
        for line in fh:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key, _, rest = line.partition(" ")
            if key == "case":
                cur = Case(rest.strip())
            elif key == "end":
                cases.append(cur)
                cur = None
            elif cur is not None:
                cur.f[key] = rest.split()
    return cases
