"""The numpy / PyTorch front end over the C entry points.

Arrays are passed to C as strided views (codelay_view): no copy of the inputs unless numpy's
byte strides cannot be expressed in elements (negative, or not a multiple of the item size), the
data pointer is not aligned to the item size, or a logits array's last axis is not contiguous.
"""

import ctypes
import struct
import sys
import threading

import numpy as np

from . import _lib
from ._errors import (
    CodelayError,
    DelayError,
    DtypeError,
    RangeError,
    ShapeError,
    ArgError,
    StateError,
    from_status,
)

_L = _lib.lib
_c_delay = _lib.delay
_c_undelay = _lib.undelay
_c_regions = _lib.delay_regions
_c_weights = _lib.loss_weights

U8, I16, I32, I64, F16, BF16, F32 = 1, 2, 3, 4, 5, 6, 7
_INT_CODES = (U8, I16, I32, I64)
_CODE_NAME = {U8: "uint8", I16: "int16", I32: "int32", I64: "int64", F16: "float16",
              BF16: "bfloat16", F32: "float32"}
_CODE_SIZE = {U8: 1, I16: 2, I32: 4, I64: 8, F16: 2, BF16: 2, F32: 4}
_INT_BOUNDS = {U8: (0, 255), I16: (-(1 << 15), (1 << 15) - 1), I32: (-(1 << 31), (1 << 31) - 1),
               I64: (-(1 << 63), (1 << 63) - 1)}

_NP2CODE = {
    np.dtype(np.uint8): U8,
    np.dtype(np.bool_): U8,
    np.dtype(np.int16): I16,
    np.dtype(np.int32): I32,
    np.dtype(np.int64): I64,
    np.dtype(np.float16): F16,
    np.dtype(np.float32): F32,
}
_CODE2NP = {U8: np.dtype(np.uint8), I16: np.dtype(np.int16), I32: np.dtype(np.int32),
            I64: np.dtype(np.int64), F16: np.dtype(np.float16), F32: np.dtype(np.float32)}
_SUPPORTED = "uint8, int16, int32, int64, float16, bfloat16 (torch), float32"

# PyTorch is optional: only looked at when a tensor comes in (the import is lazy).
_torch = None
_T2CODE = None
_CODE2T = None


def _torch_mod():
    global _torch, _T2CODE, _CODE2T
    if _torch is None:
        import torch

        _T2CODE = {torch.uint8: U8, torch.bool: U8, torch.int16: I16, torch.int32: I32,
                   torch.int64: I64, torch.float16: F16, torch.bfloat16: BF16,
                   torch.float32: F32}
        _CODE2T = {U8: torch.uint8, I16: torch.int16, I32: torch.int32, I64: torch.int64,
                   F16: torch.float16, BF16: torch.bfloat16, F32: torch.float32}
        _torch = torch
    return _torch


def _probe_addr():
    """numpy's data pointer without building a .ctypes object (3 us on a busy machine): the
    `data` field follows PyObject_HEAD in PyArrayObject (numpy's stable ABI). Verified here on
    several arrays; any disagreement (a debug interpreter, an exotic build) falls back to the
    documented .ctypes.data."""
    fa = ctypes.c_void_p.from_address
    off = object.__basicsize__

    def fast(a):
        return fa(id(a) + off).value

    def slow(a):
        return a.ctypes.data

    if sys.implementation.name != "cpython":  # id() is an address only in CPython
        return slow
    try:
        base = np.arange(64, dtype=np.int64).reshape(4, 16)
        for a in (base, base[1:], base[:, 3:], base.T, base[::2, ::3], np.zeros(0),
                  np.zeros((3, 5), np.float16)[1:]):
            if fast(a) != a.ctypes.data:
                return slow
    except Exception:  # noqa: BLE001 - any surprise means: use the documented way
        return slow
    return fast


_np_addr = _probe_addr()


def _is_torch(x):
    return type(x).__module__.startswith("torch") and hasattr(x, "data_ptr")


def _raise(status, what, arg=None):
    msg = _lib.status_string(status)
    msg = msg.decode() if msg else str(status)
    raise from_status(status, "%s: %s" % (what, msg), arg=arg)


# ---------------------------------------------------------------------------------------------
# dtype arguments


def _code_of_dtype(dt, arg="dtype"):
    """A user dtype (numpy dtype/str/type or torch dtype) -> our code."""
    if dt is None:
        return None
    if type(dt).__module__.startswith("torch"):
        _torch_mod()
        code = _T2CODE.get(dt)
    elif dt == "bfloat16":
        code = BF16
    else:
        try:
            code = _NP2CODE.get(np.dtype(dt))
        except TypeError:
            code = None
    if code is None:
        raise DtypeError("%s: %r is not supported (%s)" % (arg, dt, _SUPPORTED), arg=arg)
    return code


# ---------------------------------------------------------------------------------------------
# operands


# An operand is a tuple (hot path: no object to build):
#   0 obj (the array actually viewed), 1 is_torch, 2 data address, 3 dtype code, 4 ndim,
#   5..8 batch, streams, steps, inner, 9..11 element strides along batch, stream, step.


def _estrides(shape, bstrides, isz):
    """Byte strides -> element strides, or None when they cannot be expressed (copy needed)."""
    out = []
    for n, s in zip(shape, bstrides):
        if n <= 1:
            out.append(0)  # a stride along a length-1 axis is never used
        elif s < 0 or s % isz:
            return None
        else:
            out.append(s // isz)
    return out


def _c_strides(shape):
    est = [1] * len(shape)
    acc = 1
    for i in range(len(shape) - 1, -1, -1):
        est[i] = acc
        acc *= shape[i]
    return est


def _rank_error(arg, ranks, tk, shape):
    want = " or ".join(str(r) for r in ranks)
    return ShapeError("%s: expected %s dimensions (%s), got shape %s"
                      % (arg, want, "[B,T,K]" if tk else "[B,K,T]", tuple(shape)), arg=arg)


_R234 = (2, 3, 4)


def _operand(x, tk, arg, ranks=_R234, writable=False):
    """Describe x as a view (see the tuple above). For writable operands a copy is not allowed:
    returns None instead (the caller then writes into a temporary and copies back)."""
    if type(x) is np.ndarray:
        is_torch = False
    elif _is_torch(x):
        is_torch = True
    elif isinstance(x, np.ndarray):
        x = x.view(np.ndarray)  # matrices and other subclasses: same memory, plain type
        is_torch = False
    elif writable:
        raise ArgError("%s: must be a numpy array or a torch tensor" % arg, arg=arg)
    else:
        x = np.asarray(x)
        is_torch = False
    if not is_torch:
        code = _NP2CODE.get(x.dtype)
        if code is None:
            raise DtypeError("%s: dtype %s is not supported (%s)" % (arg, x.dtype, _SUPPORTED),
                             arg=arg)
        shape = x.shape
        nd = len(shape)
        if nd not in ranks:
            raise _rank_error(arg, ranks, tk, shape)
        if writable and not x.flags.writeable:
            raise ArgError("%s: array is read-only" % arg, arg=arg)
        isz = x.itemsize
        ptr = _np_addr(x)
        if x.flags.c_contiguous:  # the common case: strides follow from the shape
            if nd == 3:
                est = (shape[1] * shape[2], shape[2], 1)
            else:
                est = _c_strides(shape)
            ok = not ptr % isz
        else:
            est = _estrides(shape, x.strides, isz)
            ok = est is not None and not ptr % isz and (nd != 4 or shape[3] <= 1 or est[3] == 1)
        if not ok:
            if writable:
                return None
            x = np.ascontiguousarray(x)
            if _np_addr(x) % isz:  # a fresh copy of an unaligned array can still be unaligned
                x = x.copy()
            ptr = _np_addr(x)
            est = _c_strides(shape)
    else:
        _torch_mod()
        if x.device.type != "cpu":
            raise ArgError("%s: only CPU tensors are supported (got %s)" % (arg, x.device), arg=arg)
        code = _T2CODE.get(x.dtype)
        if code is None:
            raise DtypeError("%s: dtype %s is not supported (%s)" % (arg, x.dtype, _SUPPORTED),
                             arg=arg)
        shape = tuple(x.shape)
        nd = len(shape)
        if nd not in ranks:
            raise _rank_error(arg, ranks, tk, shape)
        if writable and (x.requires_grad and x.is_leaf):
            raise ArgError("%s: cannot write into a leaf tensor that requires grad" % arg, arg=arg)
        est = [0 if n <= 1 else s for n, s in zip(shape, x.stride())]
        ptr = x.data_ptr()
        if ptr % _CODE_SIZE[code] or (nd == 4 and shape[3] > 1 and est[3] != 1):
            if writable:
                return None
            x = x.contiguous() if not (ptr % _CODE_SIZE[code]) else x.clone()
            est = [0 if n <= 1 else s for n, s in zip(shape, x.stride())]
            ptr = x.data_ptr()
    if nd == 3:
        if tk:  # [B, T, K]
            return (x, is_torch, ptr, code, 3, shape[0], shape[2], shape[1], 1,
                    est[0], est[2], est[1])
        return (x, is_torch, ptr, code, 3, shape[0], shape[1], shape[2], 1, est[0], est[1], est[2])
    if nd == 2:  # [K,T] / [T,K]: one batch item
        if tk:
            return (x, is_torch, ptr, code, 2, 1, shape[1], shape[0], 1, 0, est[1], est[0])
        return (x, is_torch, ptr, code, 2, 1, shape[0], shape[1], 1, 0, est[0], est[1])
    if tk:
        return (x, is_torch, ptr, code, 4, shape[0], shape[2], shape[1], shape[3],
                est[0], est[2], est[1])
    return (x, is_torch, ptr, code, 4, shape[0], shape[1], shape[2], shape[3],
            est[0], est[1], est[2])


def _shape_for(nd, tk, B, K, S, V):
    if nd == 2:
        return (S, K) if tk else (K, S)
    if nd == 3:
        return (B, S, K) if tk else (B, K, S)
    return (B, S, K, V) if tk else (B, K, S, V)


def _fresh(is_torch, code, nd, tk, B, K, S, V):
    """A new C-contiguous output and its operand tuple (strides known: no inspection)."""
    a = _empty(is_torch, _shape_for(nd, tk, B, K, S, V), code)
    ptr = a.data_ptr() if is_torch else _np_addr(a)
    if tk:
        return a, (a, is_torch, ptr, code, nd, B, K, S, V, S * K * V, V, K * V)
    return a, (a, is_torch, ptr, code, nd, B, K, S, V, K * S * V, S * V, V)


def _empty(torch_kind, shape, code):
    if torch_kind:
        # numpy allocates ~10x faster than torch.empty; from_numpy shares the memory
        torch = _torch_mod()
        if code == BF16:
            return torch.from_numpy(np.empty(shape, np.int16)).view(torch.bfloat16)
        return torch.from_numpy(np.empty(shape, dtype=_CODE2NP[code]))
    if code == BF16:
        raise DtypeError("dtype: bfloat16 outputs need torch tensors", arg="dtype")
    return np.empty(shape, dtype=_CODE2NP[code])


def _parse_layout(layout):
    if layout == "kt" or layout == "KT":
        return False
    if layout == "tk" or layout == "TK":
        return True
    raise ArgError("layout: %r is not 'kt' or 'tk'" % (layout,), arg="layout")


# ---------------------------------------------------------------------------------------------
# patterns (cached: creating one costs a malloc and a C call)


class Pattern:
    """An immutable codelay_pattern: per-stream delays and a common lead."""

    __slots__ = ("_p", "delays", "lead", "streams", "max_offset", "__weakref__")

    def __init__(self, delays, lead=0):
        try:
            d = tuple(int(v) for v in delays)
        except TypeError:
            raise DelayError("delays: expected a sequence of integers, got %r" % (delays,),
                             arg="delays") from None
        lead = int(lead)
        if len(d) < 1:
            raise ShapeError("delays: at least one stream is needed", arg="delays")
        if lead < 0:
            raise DelayError("lead: must be >= 0 (got %d)" % lead, arg="lead")
        for v in d:
            if v < 0:
                raise DelayError("delays: must be >= 0 (got %d)" % v, arg="delays")
            if v + lead > 0x7FFFFFFF:
                raise DelayError("delays: lead + delay must be <= 2^31-1", arg="delays")
        arr = (ctypes.c_int64 * len(d))(*d)
        h = ctypes.c_void_p()
        st = _lib.pattern_create(ctypes.byref(h), len(d), arr, lead)
        if st != 0:
            _raise(st, "pattern", "delays")
        self._p = h.value
        self.delays = d
        self.lead = lead
        self.streams = len(d)
        self.max_offset = lead + max(d)

    def __del__(self):
        p = getattr(self, "_p", None)
        if p:
            self._p = None
            _lib.pattern_destroy(p)

    def __repr__(self):
        return "codelay.Pattern(delays=%s, lead=%d)" % (list(self.delays), self.lead)


_pattern_cache = {}


def pattern(delays, lead=0):
    """A cached Pattern for (delays, lead); a Pattern passes through."""
    if type(delays) is Pattern:
        if lead not in (0, None) and lead != delays.lead:
            raise ArgError("lead: given both a Pattern and a different lead", arg="lead")
        return delays
    try:
        key = (tuple(delays) if type(delays) is not tuple else delays, lead)
        p = _pattern_cache.get(key)
    except TypeError:
        key, p = None, None
    if p is None:
        if isinstance(delays, np.ndarray) or _is_torch(delays):
            delays = [int(v) for v in delays.tolist()]
            key = (tuple(delays), lead)
            p = _pattern_cache.get(key)
            if p is not None:
                return p
        p = Pattern(delays, lead)
        if key is not None:
            if len(_pattern_cache) > 256:
                _pattern_cache.clear()
            _pattern_cache[key] = p
    return p


# ---------------------------------------------------------------------------------------------
# fills: K values in the destination dtype, cached when the spec is hashable

_fill_cache = {}


def _bf16_bits(vals):
    f = np.asarray(vals, dtype=np.float32)
    u = f.view(np.uint32).astype(np.uint64)
    r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    r[np.isnan(f)] = 0x7FC0
    return r


def _fill(value, K, code, arg):
    """-> (address, keepalive) of K values of dtype `code`."""
    if type(value) is list:
        value = tuple(value)
    try:
        key = (value, K, code)
        hit = _fill_cache.get(key)
        if hit is not None:
            return hit
    except TypeError:
        key = None
    if _is_torch(value):
        value = value.detach().cpu().numpy()
    v = np.asarray(value)
    if v.ndim == 0:
        v = np.full(K, v.item() if v.dtype != object else v)
    elif v.shape != (K,):
        raise ShapeError("%s: expected a scalar or %d values (one per stream), got shape %s"
                         % (arg, K, v.shape), arg=arg)
    if code in _INT_CODES:
        if v.dtype.kind == "f":
            if not np.all(np.isfinite(v)) or np.any(v != np.floor(v)):
                raise RangeError("%s: %s values must be integers (got %s)"
                                 % (arg, _CODE_NAME[code], v.tolist()), arg=arg)
        elif v.dtype.kind not in "iub":
            raise DtypeError("%s: expected numbers, got %s" % (arg, v.dtype), arg=arg)
        lo, hi = _INT_BOUNDS[code]
        ints = [int(t) for t in v.tolist()]
        for t in ints:
            if t < lo or t > hi:
                raise RangeError("%s: %d does not fit %s" % (arg, t, _CODE_NAME[code]), arg=arg)
        arr = np.array(ints, dtype=_CODE2NP[code])
    elif code == BF16:
        arr = _bf16_bits(v.astype(np.float64))
    else:
        if v.dtype.kind not in "iubf":
            raise DtypeError("%s: expected numbers, got %s" % (arg, v.dtype), arg=arg)
        arr = v.astype(_CODE2NP[code])
    hit = (arr.ctypes.data, arr)
    if key is not None:
        if len(_fill_cache) > 512:
            _fill_cache.clear()
        _fill_cache[key] = hit
    return hit


def _lengths(lengths, B, bound, arg="lengths"):
    """-> (address, keepalive) or (None, None)."""
    if lengths is None:
        return None, None
    if _is_torch(lengths):
        lengths = lengths.detach().cpu().numpy()
    a = np.asarray(lengths)
    if a.dtype.kind not in "iu":
        raise DtypeError("%s: expected integers, got %s" % (arg, a.dtype), arg=arg)
    if a.shape != (B,):
        raise ShapeError("%s: expected shape (%d,) (one per batch item), got %s"
                         % (arg, B, a.shape), arg=arg)
    a = np.ascontiguousarray(a, dtype=np.int64)
    if B and (a.min() < 0 or a.max() > bound):
        raise ShapeError("%s: values must lie in [0, %d], got %s" % (arg, bound, a.tolist()),
                         arg=arg)
    return _np_addr(a), a


# ---------------------------------------------------------------------------------------------
# view packing: two or three 72-byte structs in a per-thread scratch buffer

_VIEW = struct.Struct("@Pii7q")
assert _VIEW.size == ctypes.sizeof(_lib.View) == 72
_pack = _VIEW.pack_into
_pack2 = struct.Struct("@Pii7qPii7q").pack_into  # two views in one call
_tls = threading.local()


def _scratch():
    s = getattr(_tls, "s", None)
    if s is None:
        buf = ctypes.create_string_buffer(4 * 72 + 64)
        s = _tls.s = (buf, ctypes.addressof(buf))
    return s


def _pack_op(buf, off, op):
    _pack(buf, off, op[2], op[3], 0, op[5], op[6], op[7], op[8], op[9], op[10], op[11])


def _out_operand(out, tk, arg, nd, want_shape, code):
    """Check a caller's out= array. Returns (op or None for 'use a temporary', code)."""
    op = _operand(out, tk, arg, ranks=(nd,), writable=True)
    shape = tuple(out.shape)
    if shape != tuple(want_shape):
        raise ShapeError("%s: expected shape %s, got %s" % (arg, tuple(want_shape), shape),
                         arg=arg)
    if _is_torch(out):
        ocode = _T2CODE.get(out.dtype)
    else:
        ocode = _NP2CODE.get(out.dtype)
    if code is not None and ocode != code:
        raise DtypeError("%s: dtype %s differs from dtype=%s" % (arg, out.dtype, _CODE_NAME[code]),
                         arg=arg)
    return op, ocode


def _result_dtype(src_code, dtype, arg="dtype"):
    code = _code_of_dtype(dtype, arg) if dtype is not None else src_code
    if src_code in _INT_CODES:
        if code not in _INT_CODES:
            raise DtypeError("%s: integer input needs an integer output dtype (got %s)"
                             % (arg, _CODE_NAME[code]), arg=arg)
    elif code != src_code:
        raise DtypeError("%s: float dtypes must match (input %s, output %s)"
                         % (arg, _CODE_NAME[src_code], _CODE_NAME[code]), arg=arg)
    return code


def _copy_back(out, tmp):
    if _is_torch(out):
        out.copy_(tmp)
    else:
        np.copyto(out, tmp)


# ---------------------------------------------------------------------------------------------
# the ops


def delay(x, delays, lead=0, steps=None, head=0, tail=None, lengths=None, layout="kt",
          out=None, dtype=None):
    """Shift each stream k right by o[k] = lead + delays[k]: [B,K,T] -> [B,K,S].

    x: numpy array or CPU torch tensor, [K,T], [B,K,T] or [B,K,T,V] ("kt"), or the same with
    T and K swapped ("tk", e.g. Dia's [B,T,C]); any strides. steps: S (default T; "full" =
    T + max offset). head / tail: a scalar or K values (tail defaults to head). lengths: None
    or [B] valid steps per item. out: optional destination of shape [B,K,S] (or the tk form);
    dtype: the output dtype (integers may differ from x's, floats must match).
    Returns the delayed array (out if given).
    """
    p = delays if type(delays) is Pattern and lead in (0, delays.lead) else pattern(delays, lead)
    if (type(x) is np.ndarray and lengths is None and dtype is None and len(x.shape) == 3
            and x.flags.c_contiguous and (out is None or type(out) is np.ndarray)):
        # The hot path (a C-contiguous numpy batch): everything the general path below
        # checks, without building operand tuples. Falls through on anything unusual.
        code = _NP2CODE.get(x.dtype)
        ptr = _np_addr(x)
        if code is not None and not ptr % x.itemsize and (layout == "kt" or layout == "tk"):
            if layout == "kt":
                B, K, T = x.shape
            else:
                B, T, K = x.shape
            if K == p.streams:
                if steps is None:
                    S = T
                elif steps == "full":
                    S = T + p.max_offset
                else:
                    S = int(steps)
                shape = (B, K, S) if layout == "kt" else (B, S, K)
                if out is None and S >= 0:
                    out = np.empty(shape, x.dtype)
                    ok = True
                else:
                    ok = (S >= 0 and out.shape == shape and out.dtype == x.dtype
                          and out.flags.c_contiguous and out.flags.writeable)
                if ok:
                    optr = _np_addr(out)
                    ok = not optr % x.itemsize
                if ok:
                    hp, hk = _fill(head, K, code, "head")  # hk, tkeep: keep the values alive
                    tp, tkeep = (hp, hk) if tail is None else _fill(tail, K, code, "tail")
                    buf, addr = _scratch()
                    if layout == "kt":
                        _pack2(buf, 0, ptr, code, 0, B, K, T, 1, K * T, T, 1,
                               optr, code, 0, B, K, S, 1, K * S, S, 1)
                    else:
                        _pack2(buf, 0, ptr, code, 0, B, K, T, 1, K * T, 1, K,
                               optr, code, 0, B, K, S, 1, K * S, 1, K)
                    st = _c_delay(p._p, addr, addr + 72, hp, tp, None)
                    if st:
                        _raise(st, "delay", _blame(st))
                    return out
    tk = layout == "tk" or (layout != "kt" and _parse_layout(layout))
    src = _operand(x, tk, "x")
    B, K, T, V = src[5:9]
    if K != p.streams:
        raise ShapeError("x: has %d streams but delays has %d" % (K, p.streams), arg="x")
    if steps is None:
        S = T
    elif steps == "full":
        S = T + p.max_offset
    else:
        S = int(steps)
        if S < 0:
            raise ShapeError("steps: must be >= 0 (got %d)" % S, arg="steps")
    code = src[3] if dtype is None else _result_dtype(src[3], dtype)
    tmp = None
    if out is None:
        out, dst = _fresh(src[1], code, src[4], tk, B, K, S, V)
    else:
        want = _shape_for(src[4], tk, B, K, S, V)
        dst, code2 = _out_operand(out, tk, "out", src[4], want, None if dtype is None else code)
        code = code2
        if src[3] not in _INT_CODES or code not in _INT_CODES:
            if code != src[3]:
                raise DtypeError("out: float dtypes must match (x %s, out %s)"
                                 % (_CODE_NAME[src[3]], _CODE_NAME[code]), arg="out")
        if dst is None:
            tmp = _empty(_is_torch(out), want, code)
            dst = _operand(tmp, tk, "out", writable=True)
    hp, hk = _fill(head, K, code, "head")
    if tail is None:
        tp = hp
    else:
        tp, tkeep = _fill(tail, K, code, "tail")
    lp, lk = _lengths(lengths, B, T) if lengths is not None else (None, None)
    buf, addr = _scratch()
    _pack_op(buf, 0, src)
    _pack_op(buf, 72, dst)
    st = _c_delay(p._p, addr, addr + 72, hp, tp, lp)
    if st:
        _raise(st, "delay", _blame(st))
    if tmp is not None:
        _copy_back(out, tmp)
    return out


def _blame(st):
    return {-2: "x", -3: "delays", -4: "dtype", -5: "x", -6: "out"}.get(st)


def undelay(x, delays, lead=0, steps=None, fill=0, lengths=None, layout="kt", out=None,
            out_mask=None, dtype=None, mask=True):
    """Undo delay: [B,K,S] -> values [B,K,T] and mask [B,K,T] (bool, True where data came).

    values[b,k,t] = x[b,k,t+o[k]] if t+o[k] < S_b, else fill[k]. steps: T (default S; "valid"
    = S - max offset). x may be logits [B,K,S,V]. mask=False skips the mask (returns None).
    Returns (values, mask).
    """
    p = pattern(delays, lead)
    tk = layout == "tk" or (layout != "kt" and _parse_layout(layout))
    src = _operand(x, tk, "x")
    B, K, S, V = src[5:9]
    if K != p.streams:
        raise ShapeError("x: has %d streams but delays has %d" % (K, p.streams), arg="x")
    if steps is None:
        T = S
    elif steps == "valid":
        T = max(S - p.max_offset, 0)
    else:
        T = int(steps)
        if T < 0:
            raise ShapeError("steps: must be >= 0 (got %d)" % T, arg="steps")
    code = src[3] if dtype is None else _result_dtype(src[3], dtype)
    tmp = None
    want = _shape_for(src[4], tk, B, K, T, V)
    if out is None:
        out, dst = _fresh(src[1], code, src[4], tk, B, K, T, V)
    else:
        dst, code = _out_operand(out, tk, "out", src[4], want, None if dtype is None else code)
        if (src[3] not in _INT_CODES or code not in _INT_CODES) and code != src[3]:
            raise DtypeError("out: float dtypes must match (x %s, out %s)"
                             % (_CODE_NAME[src[3]], _CODE_NAME[code]), arg="out")
        if dst is None:
            tmp = _empty(_is_torch(out), want, code)
            dst = _operand(tmp, tk, "out", writable=True)
    mnd = 3 if src[4] == 4 else src[4]
    mshape = _shape_for(mnd, tk, B, K, T, 1)
    mtmp = None
    if out_mask is not None:
        m = _operand(out_mask, tk, "out_mask", ranks=(mnd,), writable=True)
        if tuple(out_mask.shape) != tuple(mshape):
            raise ShapeError("out_mask: expected shape %s, got %s"
                             % (mshape, tuple(out_mask.shape)), arg="out_mask")
        if (_T2CODE if _is_torch(out_mask) else _NP2CODE).get(out_mask.dtype) != U8:
            raise DtypeError("out_mask: must be bool or uint8, got %s" % out_mask.dtype,
                             arg="out_mask")
        if m is None:
            mtmp = _empty(_is_torch(out_mask), mshape, U8)
            m = _operand(mtmp, tk, "out_mask", writable=True)
        mask_arr = out_mask
    elif mask:
        mask_arr, m = _fresh(src[1], U8, mnd, tk, B, K, T, 1)
        mask_arr = mask_arr.view(np.bool_) if not src[1] else mask_arr.view(_torch_mod().bool)
    else:
        mask_arr, m = None, None
    fp, fk = _fill(fill, K, code, "fill")
    lp, lk = _lengths(lengths, B, S) if lengths is not None else (None, None)
    buf, addr = _scratch()
    _pack_op(buf, 0, src)
    _pack_op(buf, 72, dst)
    if m is not None:
        _pack_op(buf, 144, m)
    st = _c_undelay(p._p, addr, addr + 72, fp, lp, addr + 144 if m is not None else None)
    if st:
        _raise(st, "undelay", _blame(st))
    if tmp is not None:
        _copy_back(out, tmp)
    if mtmp is not None:
        _copy_back(out_mask, mtmp)
    return out, mask_arr


def regions(delays, lead=0, aligned_steps=None, steps=None, batch=None, lengths=None,
            layout="kt", out=None):
    """Label each cell of a delayed [B,K,S] sequence: 0 head, 1 data, 2 tail (uint8).

    aligned_steps: T (required); steps: S (default T; "full" = T + max offset); batch: B
    (default 1, or len(lengths)); without batch and lengths the result is [K,S].
    """
    p = pattern(delays, lead)
    tk = _parse_layout(layout)
    if aligned_steps is None:
        raise ArgError("aligned_steps: required (the T of the aligned sequence)",
                       arg="aligned_steps")
    T = int(aligned_steps)
    if T < 0:
        raise ShapeError("aligned_steps: must be >= 0", arg="aligned_steps")
    if steps is None:
        S = T
    elif steps == "full":
        S = T + p.max_offset
    else:
        S = int(steps)
        if S < 0:
            raise ShapeError("steps: must be >= 0 (got %d)" % S, arg="steps")
    if batch is None:
        nd = 2 if lengths is None else 3
        B = 1 if lengths is None else len(lengths)
    else:
        nd, B = 3, int(batch)
    K = p.streams
    want = _shape_for(nd, tk, B, K, S, 1)
    tmp = None
    if out is None:
        out = np.empty(want, dtype=np.uint8)
        r = _operand(out, tk, "out", writable=True)
    else:
        r, code = _out_operand(out, tk, "out", nd, want, None)
        if code != U8:
            raise DtypeError("out: must be uint8, got %s" % out.dtype, arg="out")
        if r is None:
            tmp = _empty(_is_torch(out), want, U8)
            r = _operand(tmp, tk, "out", writable=True)
    lp, lk = _lengths(lengths, B, T)
    buf, addr = _scratch()
    _pack_op(buf, 0, r)
    st = _c_regions(p._p, T, lp, addr)
    if st:
        _raise(st, "regions", {-2: "lengths"}.get(st))
    if tmp is not None:
        _copy_back(out, tmp)
    return out


def loss_weights(tokens, delays, lead=0, delayed_steps=None, lengths=None, stream_weight=None,
                 pad_ids=(), pad_weight=None, ignore_id=None, layout="kt", out=None):
    """Per-token loss weights (float32, shape of tokens) and their per-stream sums (float64 [K]).

    valid = t + o[k] < S_b and tok != ignore_id; w = stream_weight[k] * (pad_weight[k] if tok
    in pad_ids else 1) where valid, else 0. delayed_steps: S (default T). stream_weight,
    pad_weight: None (all 1), a scalar, or K values. Returns (weights, sums).
    """
    p = pattern(delays, lead)
    tk = layout == "tk" or (layout != "kt" and _parse_layout(layout))
    src = _operand(tokens, tk, "tokens", ranks=(2, 3))
    if src[3] not in _INT_CODES:
        raise DtypeError("tokens: must be an integer dtype, got %s" % _CODE_NAME[src[3]],
                         arg="tokens")
    B, K, T, V = src[5:9]
    if K != p.streams:
        raise ShapeError("tokens: has %d streams but delays has %d" % (K, p.streams),
                         arg="tokens")
    S = T if delayed_steps is None else int(delayed_steps)
    if S < 0:
        raise ShapeError("delayed_steps: must be >= 0", arg="delayed_steps")
    want = _shape_for(src[4], tk, B, K, T, 1)
    tmp = None
    if out is None:
        out = _empty(src[1], want, F32)
        w = _operand(out, tk, "out", writable=True)
    else:
        w, code = _out_operand(out, tk, "out", src[4], want, None)
        if code != F32:
            raise DtypeError("out: must be float32, got %s" % out.dtype, arg="out")
        if w is None:
            tmp = _empty(_is_torch(out), want, F32)
            w = _operand(tmp, tk, "out", writable=True)
    keep = []
    spec = _lib.WeightSpec()
    if stream_weight is not None:
        a, k = _fill(stream_weight, K, F32, "stream_weight")
        spec.stream_weight, _ = a, keep.append(k)
    if pad_weight is not None:
        a, k = _fill(pad_weight, K, F32, "pad_weight")
        spec.pad_weight, _ = a, keep.append(k)
    if pad_ids is not None and len(pad_ids):
        ids = np.ascontiguousarray(np.asarray(pad_ids, dtype=np.int64).reshape(-1))
        if ids.size > 16:
            raise ArgError("pad_ids: at most 16 ids (got %d)" % ids.size, arg="pad_ids")
        keep.append(ids)
        spec.pad_ids = _np_addr(ids)
        spec.n_pad_ids = ids.size
    if ignore_id is not None:
        spec.use_ignore_id = 1
        spec.ignore_id = int(ignore_id)
    sums = np.zeros(K, dtype=np.float64)
    lp, lk = _lengths(lengths, B, S)
    buf, addr = _scratch()
    _pack_op(buf, 0, src)
    _pack_op(buf, 72, w)
    st = _c_weights(p._p, addr, S, lp, ctypes.addressof(spec), addr + 72, _np_addr(sums))
    if st:
        _raise(st, "loss_weights", {-2: "tokens", -4: "tokens", -10: "pad_ids"}.get(st))
    if tmp is not None:
        _copy_back(out, tmp)
    if src[1]:
        sums = _torch_mod().from_numpy(sums)
    return out, sums


# ---------------------------------------------------------------------------------------------
# streaming

_MODES = {"delay": 1, "undelay": 2, 1: 1, 2: 2}


class Stream:
    """Frame-by-frame delay or undelay for inference (one [B,K] frame per call).

    Stream(delays, lead=0, mode="delay"|"undelay", dtype=np.int64, batch=1, fill=0).
    push(frame, active=None) -> (out [B,K], ready bool[B]); flush() -> (out, mask, ready);
    reset(). In DELAY mode a frame comes out at once (fill while n < o[k]); flush emits the D
    tail frames. In UNDELAY mode aligned frame n-D comes out after delayed frame n.
    """

    def __init__(self, delays, lead=0, mode="delay", dtype=np.int64, batch=1, fill=0):
        self._s = None
        self.pattern = pattern(delays, lead)
        m = _MODES.get(mode)
        if m is None:
            raise ArgError("mode: %r is not 'delay' or 'undelay'" % (mode,), arg="mode")
        self.mode = "delay" if m == 1 else "undelay"
        self.code = _code_of_dtype(dtype)
        self._torch = type(dtype).__module__.startswith("torch")
        self.batch = int(batch)
        if self.batch < 0:
            raise ShapeError("batch: must be >= 0", arg="batch")
        K = self.streams = self.pattern.streams
        fp, self._fill = _fill(fill, K, self.code, "fill")
        h = ctypes.c_void_p()
        st = _lib.stream_create(ctypes.byref(h), self.pattern._p, m, self.code, self.batch, fp)
        if st:
            _raise(st, "Stream", {-4: "dtype", -2: "batch", -10: "mode"}.get(st))
        self._s = h.value
        self.max_offset = self.pattern.max_offset

    def _frame(self, frame, arg):
        B, K = self.batch, self.streams
        if _is_torch(frame):
            _torch_mod()
            if _T2CODE.get(frame.dtype) != self.code:
                raise DtypeError("%s: dtype %s, the stream is %s"
                                 % (arg, frame.dtype, _CODE_NAME[self.code]), arg=arg)
            f = frame.contiguous()
        else:
            if isinstance(frame, np.ndarray):
                if _NP2CODE.get(frame.dtype) != self.code:
                    raise DtypeError("%s: dtype %s, the stream is %s"
                                     % (arg, frame.dtype, _CODE_NAME[self.code]), arg=arg)
                f = np.ascontiguousarray(frame)
            else:
                if self.code == BF16:
                    raise DtypeError("%s: bfloat16 frames must be torch tensors" % arg, arg=arg)
                f = np.ascontiguousarray(frame, dtype=_CODE2NP[self.code])
        shape = tuple(f.shape)
        if shape != (B, K) and not (B == 1 and shape == (K,)):
            raise ShapeError("%s: expected shape (%d, %d), got %s" % (arg, B, K, shape), arg=arg)
        return f

    def _new(self, like_torch, shape, code):
        return _empty(like_torch, shape, code)

    def _ready(self, t):
        if t:
            return _torch_mod().empty(self.batch, dtype=_torch_mod().bool)
        return np.empty(self.batch, dtype=np.bool_)

    def push(self, frame, active=None, out=None):
        """Push one [B,K] frame. Returns (out [B,K], ready bool[B])."""
        if not self._s:
            raise StateError("push: stream is closed")
        f = self._frame(frame, "frame")
        t = _is_torch(f)
        fptr = f.data_ptr() if t else _np_addr(f)
        if out is None:
            out = self._new(t, (self.batch, self.streams), self.code)
        else:
            out = self._check_out(out)
        optr = out.data_ptr() if _is_torch(out) else _np_addr(out)
        ready = self._ready(t)
        aptr, akeep = None, None
        if active is not None:
            if _is_torch(active):
                active = active.cpu().numpy()
            akeep = np.ascontiguousarray(np.asarray(active), dtype=np.uint8)
            if akeep.shape != (self.batch,):
                raise ShapeError("active: expected shape (%d,), got %s"
                                 % (self.batch, akeep.shape), arg="active")
            aptr = _np_addr(akeep)
        rptr = ready.data_ptr() if t else _np_addr(ready)
        st = _lib.stream_push(self._s, fptr, aptr, optr, rptr)
        if st:
            _raise(st, "push", {-9: None, -2: "frame"}.get(st))
        return out, ready

    def _check_out(self, out):
        code = (_T2CODE if _is_torch(out) else _NP2CODE).get(out.dtype)
        if code != self.code:
            raise DtypeError("out: dtype %s, the stream is %s" % (out.dtype, _CODE_NAME[self.code]),
                             arg="out")
        if tuple(out.shape) != (self.batch, self.streams):
            raise ShapeError("out: expected shape (%d, %d)" % (self.batch, self.streams), arg="out")
        contig = out.is_contiguous() if _is_torch(out) else out.flags.c_contiguous
        if not contig:
            raise ShapeError("out: must be contiguous", arg="out")
        return out

    def flush(self, out=None):
        """Emit one tail frame. Returns (out [B,K], mask bool[B,K], ready bool[B])."""
        if not self._s:
            raise StateError("flush: stream is closed")
        t = self._torch
        if out is None:
            out = self._new(t, (self.batch, self.streams), self.code)
        else:
            out = self._check_out(out)
            t = _is_torch(out)
        if t:
            torch = _torch_mod()
            mask = torch.empty((self.batch, self.streams), dtype=torch.bool)
            mptr = mask.data_ptr()
        else:
            mask = np.empty((self.batch, self.streams), dtype=np.bool_)
            mptr = _np_addr(mask)
        ready = self._ready(t)
        optr = out.data_ptr() if _is_torch(out) else _np_addr(out)
        rptr = ready.data_ptr() if t else _np_addr(ready)
        st = _lib.stream_flush(self._s, optr, mptr, rptr)
        if st:
            _raise(st, "flush")
        return out, mask, ready

    def reset(self):
        """Return every item to position 0 (allowed at any time)."""
        if not self._s:
            raise StateError("reset: stream is closed")
        st = _lib.stream_reset(self._s)
        if st:
            _raise(st, "reset")

    def close(self):
        s, self._s = self._s, None
        if s:
            _lib.stream_destroy(s)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()

    def __repr__(self):
        return "codelay.Stream(delays=%s, lead=%d, mode=%r, dtype=%s, batch=%d)" % (
            list(self.pattern.delays), self.pattern.lead, self.mode, _CODE_NAME[self.code],
            self.batch)


# ---------------------------------------------------------------------------------------------
# library facts

BACKENDS = ("scalar", "sse41", "avx2", "avx512", "neon")


def backend():
    """The active backend's name ("avx2", "scalar", ...)."""
    return _lib.backend_name().decode()


def select_backend(name):
    """Select a backend by name ("auto", "scalar", "sse41", "avx2", "avx512", "neon")."""
    if not isinstance(name, str):
        raise ArgError("name: expected a string", arg="name")
    st = _lib.backend_select(name.encode())
    if st:
        _raise(st, "select_backend(%r)" % name, "name")
    return backend()


def supported_backends():
    """The backends compiled in that this CPU runs."""
    return [b for b in BACKENDS if _lib.backend_supported(b.encode()) == 1]


def version():
    """The loaded library's version as "MAJOR.MINOR.PATCH"."""
    v = _lib.version()
    return "%d.%d.%d" % (v >> 16, (v >> 8) & 255, v & 255)


def library_path():
    """The shared library file this package loaded."""
    return _lib.path


__all__ = [
    "CodelayError", "Pattern", "pattern", "delay", "undelay", "regions", "loss_weights",
    "Stream", "backend", "select_backend", "supported_backends", "version", "library_path",
]
