"""Tests of the Python package: golden vectors through the API and every preset, strided inputs,
out=, dtypes, streaming, torch tensors (when importable), exceptions for bad input.

Run: CODELAY_LIBRARY=build/main/libcodelay.so /usr/bin/python3 python/tests/test_python.py
"""

import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402

import codelay  # noqa: E402
from codelay import presets  # noqa: E402
import golden  # noqa: E402
from harness import test, check, raises, run, Skip  # noqa: E402

CASES = golden.load()

try:
    import torch  # noqa: F401

    HAVE_TORCH = True
except Exception:  # noqa: BLE001 - any import failure means: no torch
    torch = None
    HAVE_TORCH = False


def same(a, b, what=""):
    """Exact equality (NaN == NaN), numpy or torch."""
    if HAVE_TORCH and isinstance(a, torch.Tensor):
        a = a.float().numpy() if a.dtype == torch.bfloat16 else a.numpy()
    if HAVE_TORCH and isinstance(b, torch.Tensor):
        b = b.numpy()
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        raise AssertionError("%s: shape %s != %s" % (what, a.shape, b.shape))
    if a.dtype.kind == "f" or b.dtype.kind == "f":
        ok = np.array_equal(a, b, equal_nan=True)
    else:
        ok = np.array_equal(a, b)
    if not ok:
        idx = np.argwhere(~((a == b) | (np.isnan(a.astype(float)) & np.isnan(b.astype(float)))))
        raise AssertionError("%s: differs at %d places, first %s: %s != %s"
                             % (what, len(idx), tuple(idx[0]), a[tuple(idx[0])], b[tuple(idx[0])]))


def run_case(c, x=None, out=None, out_mask=None, dtype=None):
    """Run a golden case through the generic API; returns (output, mask or None)."""
    B, K, T, S, V = c.shape
    x = c.input() if x is None else x
    if c.op == "delay":
        y = codelay.delay(x, c.delays, c.lead, S, c.fills("head"), c.fills("tail"), c.lengths,
                          c.layout, out=out, dtype=dtype)
        return y, None
    if c.op == "undelay":
        return codelay.undelay(x, c.delays, c.lead, T, c.fills("fill"), c.lengths, c.layout,
                               out=out, out_mask=out_mask, dtype=dtype)
    sw = c.floats("stream_weight")
    pw = [float(c.f["pad_weight_stream0"][0])] + [1.0] * (K - 1)
    w, sums = codelay.loss_weights(x, c.delays, c.lead, S, c.lengths, sw,
                                   c.ints("pad_ids_stream0"), pw, int(c.f["ignore_id"][0]),
                                   c.layout, out=out)
    same(sums, np.asarray(w, dtype=np.float64).sum(axis=(0, 2)), c.name + " sums")
    return w, None


def check_case(c, got, mask, tag):
    if c.op == "delay" and c.mask() is not None and mask is None:
        # the golden mask of a delay case marks its data cells: regions() == DATA
        B, K, T, S, V = c.shape
        r = codelay.regions(c.delays, c.lead, aligned_steps=T, steps=S, batch=B,
                            lengths=c.lengths, layout=c.layout)
        same(r == codelay.DATA, c.mask(), "%s %s regions" % (c.name, tag))
    same(got, c.output(), "%s %s" % (c.name, tag))
    if c.mask() is not None and mask is not None:
        same(mask, c.mask(), "%s %s mask" % (c.name, tag))


# ---------------------------------------------------------------------------------------------
# golden vectors through the generic API


@test
def golden_api():
    n = 0
    for c in CASES:
        y, m = run_case(c)
        check_case(c, y, m, "api")
        n += 1
    check(n >= 80, "only %d golden cases" % n)
    return n


@test
def golden_every_backend():
    """The golden vectors on every backend this machine supports."""
    start = codelay.backend()
    n = 0
    try:
        for b in codelay.supported_backends():
            codelay.select_backend(b)
            check(codelay.backend() == b, "select %s gave %s" % (b, codelay.backend()))
            for c in CASES:
                y, m = run_case(c)
                check_case(c, y, m, "backend " + b)
            n += 1
    finally:
        codelay.select_backend(start)
    check(codelay.backend() == start)
    return n


@test
def threads():
    """Concurrent calls from several threads (each has its own scratch views)."""
    import threading

    rng = np.random.default_rng(9)
    xs = [rng.integers(0, 1000, size=(2, 5, 300 + i)) for i in range(4)]
    want = [codelay.delay(x, [0, 1, 2, 1, 0], 1, "full", -1, -2) for x in xs]
    errors = []

    def work(i):
        try:
            for _ in range(200):
                y = codelay.delay(xs[i], [0, 1, 2, 1, 0], 1, "full", -1, -2)
                if not np.array_equal(y, want[i]):
                    errors.append(i)
                    return
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))

    ts = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    check(not errors, errors)
    return 1


def _scatter(a, rng):
    """The same values in a strided array: a bigger buffer, permuted axes, every other element."""
    nd = a.ndim
    # last axis first in memory (a transposed array), step 2 along every axis, an offset
    perm = list(range(nd))[::-1]
    big = np.zeros(tuple(2 * a.shape[p] + 1 for p in perm), dtype=a.dtype)
    big[...] = rng.integers(-5, 5, size=big.shape).astype(a.dtype)
    view = big[tuple(slice(1, 1 + 2 * a.shape[p], 2) for p in perm)]
    view = view.transpose(np.argsort(perm))
    view[...] = a
    check(not view.flags.c_contiguous and view.shape == a.shape)
    return view


@test
def golden_strided_inputs_and_outputs():
    """Transposed + sliced inputs, and strided out= arrays, give the golden outputs."""
    rng = np.random.default_rng(1)
    n = 0
    for c in CASES:
        x = c.input()
        if x.ndim == 4:  # logits: inner must stay contiguous for zero-copy; permute only B,K,T
            big = np.zeros((x.shape[2], x.shape[1] + 2, 2 * x.shape[0], x.shape[3]), x.dtype)
            xs = big.transpose(2, 1, 0, 3)[::2, 1:-1]
            xs[...] = x
        else:
            xs = _scatter(x, rng)
        ref = c.output()
        if c.op == "weights":
            outbig = np.full(ref.shape[:-1] + (2 * ref.shape[-1],), 7.0, dtype=np.float32)
        else:
            outbig = np.full(ref.shape[:-1] + (2 * ref.shape[-1],), 99, dtype=ref.dtype) \
                if ref.ndim < 4 else np.full(ref.shape[:2] + (ref.shape[2] * 2,) + ref.shape[3:],
                                             99, dtype=ref.dtype)
        out = outbig[..., ::2] if ref.ndim < 4 else outbig[:, :, ::2]
        y, m = run_case(c, x=xs, out=out)
        check(y is out, "out= not returned")
        check_case(c, y, m, "strided")
        rest = outbig[..., 1::2] if ref.ndim < 4 else outbig[:, :, 1::2]
        check(np.all(rest == (7.0 if c.op == "weights" else 99)), c.name + ": wrote outside out")
        n += 1
    return n


@test
def golden_kt_as_tk_views():
    """A kt case's input seen through the tk layout (a transposed view) gives the transposed
    output: layouts are only strides."""
    n = 0
    for c in CASES:
        if c.op == "weights" or c.layout != "kt" or c.input().ndim != 3:
            continue
        B, K, T, S, V = c.shape
        x = c.input().transpose(0, 2, 1)  # [B, T, K] view of the kt buffer
        if c.op == "delay":
            y = codelay.delay(x, c.delays, c.lead, S, c.fills("head"), c.fills("tail"),
                              c.lengths, "tk")
        else:
            y, m = codelay.undelay(x, c.delays, c.lead, T, c.fills("fill"), c.lengths, "tk")
            if c.mask() is not None:
                same(m.transpose(0, 2, 1), c.mask(), c.name + " tk mask")
        same(y.transpose(0, 2, 1), c.output(), c.name + " tk")
        n += 1
    return n


@test
def golden_unbatched_2d():
    n = 0
    for c in CASES:
        B = c.shape[0]
        if c.op != "delay" or c.input().ndim != 3 or c.lengths is not None:
            continue
        for b in range(B):
            y, _ = run_case(c, x=c.input()[b])
            same(y, c.output()[b], c.name + " 2d")
        n += 1
    return n


@test
def golden_dtype_conversion():
    """Integer cases into other integer output dtypes (values fit int32)."""
    n = 0
    for c in CASES:
        if c.op == "weights" or c.dtype == np.float32:
            continue
        y, m = run_case(c, dtype=np.int32 if c.dtype != np.int32 else np.int64)
        same(y, c.output().astype(y.dtype), c.name + " converted")
        n += 1
    return n


# ---------------------------------------------------------------------------------------------
# presets on the golden vectors


def preset_output(c):
    """The golden case through the matching preset; None when no preset covers it."""
    src = c.source
    B, K, T, S, V = c.shape
    x = c.input()
    d = c.delays
    if src.startswith("moshi lm_utils._delay_sequence") or src.startswith("moshi LMModel"):
        head = c.ints("head")
        p = presets.moshi(delays=d, text_card=head[0], card=head[1])
        # the named configurations reproduce the same delays without spelling them out
        if K == 17:
            check(presets.moshi(n_q=16).delays == d, "moshi(n_q=16) delays")
            p = presets.moshi(n_q=16)
        elif K == 33:
            check(presets.dsm().delays == d and presets.hibiki().delays == d, "dsm delays")
            p = presets.dsm() if head[0] == 48000 else p
        fn = p.delay if "_delay_sequence" in src else p.model_input
        return fn(x, layout=c.layout), None
    if src.startswith("moshi lm_utils._undelay_sequence"):
        if c.dtype == np.float32:
            p = presets.moshi(n_q=8)
            check(p.delays[1:9] == d, "moshi audio delays")
            return p.undelay_logits(x)
        return presets.moshi(delays=d).undelay(x, fill=c.ints("fill")[0], layout=c.layout)
    if src.startswith("seed article example"):
        return presets.moshi(delays=d).extended(x), None
    if src.startswith("moshi tts._delayed"):
        return presets.moshi(delays=d).extended(x, head=c.ints("head"), tail=c.ints("tail")), None
    if src.startswith("audiocraft"):
        valid = "keep_only_valid_steps=True" in src
        p = presets.audiocraft(delays=d)
        if len(d) == 4 and d == [0, 1, 2, 3]:
            check(presets.audiocraft(n_q=4).delays == d)
        if "build_pattern_sequence" in src:
            return p.build(x, keep_only_valid_steps=valid, special_token=c.ints("head")[0])
        if "revert_pattern_sequence" in src:
            return p.revert(x, keep_only_valid_steps=valid, special_token=c.ints("fill")[0])
        # revert_pattern_logits takes the model's logits over the whole sequence; the golden
        # input is logits[..., :S-1]: add a last step that must not matter
        full = np.concatenate([x, np.full(x[:, :, :1].shape, 123.0, x.dtype)], axis=2)
        return p.revert_logits(full, keep_only_valid_steps=valid)
    if src.startswith("dia audio.apply"):
        p = presets.dia(delays=d, bos_value=c.ints("head")[0], pad_value=c.ints("tail")[0])
        if K == 9:
            check(presets.dia().delays == d)
        return p.apply(x), None
    if src.startswith("dia audio.revert"):
        p = presets.dia(delays=d, pad_value=c.ints("fill")[0])
        return p.revert(x), None
    if src.startswith("zonos codebook_pattern.apply"):
        return presets.zonos(n_q=K, mask_token=c.ints("head")[0]).apply(x), None
    if src.startswith("zonos codebook_pattern.revert"):
        return presets.zonos(n_q=K).revert(x), None
    if src.startswith("parler_tts build_delay_pattern_mask"):
        p = presets.parler(num_codebooks=K, bos_token_id=c.ints("head")[0],
                           pad_token_id=c.ints("tail")[0])
        y = p.delay(x, S)
        # and from the prompt itself: prompt[:, :, 0] is overwritten by BOS, the rest is the
        # non -1 prefix of the golden input
        L = int(re.search(r"_L(\d+)$", c.name).group(1))
        check(np.all(x[:, :, L - 1:] == -1), "parler golden padding")
        prompt = np.concatenate([np.full((B, K, 1), 77, x.dtype), x[:, :, : L - 1]], axis=2)
        ids, mask = p.build_delay_pattern_mask(prompt, S)
        same(mask, c.output(), c.name + " build_delay_pattern_mask")
        check(ids.shape[2] <= S and np.array_equal(ids, mask[..., : ids.shape[2]]))
        check(np.all(ids[:, 0, :] != -1), "trimmed ids keep no -1 in codebook 0")
        if c.ints("head")[0] == c.ints("tail")[0]:
            pass
        return y, None
    if src.startswith("moshi-finetune"):
        sw = c.floats("stream_weight")
        check(sw[0] == 1.0 and all(v == 1.0 for v in sw[2:]))
        check(c.ints("pad_ids_stream0") == [3, 0] and c.ints("ignore_id") == [-1])
        p = presets.moshi(n_q=8)
        check(p.delays == d)
        w, sums = p.loss_weights(x, text_padding_weight=float(c.f["pad_weight_stream0"][0]),
                                 first_codebook_weight_multiplier=sw[1])
        same(sums, w.astype(np.float64).sum(axis=(0, 2)), c.name + " preset sums")
        return w, None
    return None


@test
def golden_presets():
    covered = 0
    uncovered = []
    for c in CASES:
        r = preset_output(c)
        if r is None:
            uncovered.append(c.name)
            continue
        y, m = r
        check_case(c, y, m, "preset")
        covered += 1
    # only the per-item-lengths cases ("unified formula") have no system behind them
    for name in uncovered:
        check(name.startswith("ragged_"), "no preset covers " + name)
    check(covered >= 75, "presets cover only %d cases" % covered)
    return covered


@test
def preset_registry():
    for name in presets.NAMES:
        p = presets.get(name)
        check(repr(p).startswith("codelay.presets."), repr(p))
    check(presets.get("MOSHI", n_q=16).delays == [0] + ([0] + [1] * 7) * 2)
    check(presets.moshi(n_q=8).delays == [0, 0] + [1] * 7)
    check(presets.dsm().delays == [0] + ([0] + [2] * 15) * 2)
    check(presets.dia().delays == [0, 8, 9, 10, 11, 12, 13, 14, 15])
    raises(codelay.ArgError, presets.get, "nope", arg="name")
    # musicgen: one pad token at both ends
    m = presets.musicgen(num_codebooks=4)
    y = m.delay(np.zeros((1, 4, 4), np.int64), 8)
    check(y[0, 0, 0] == 2048 and y[0, 3, 3] == 2048 and y[0, 0, 7] == 2048 and y[0, 0, 1] == 0)
    # transformers returns the input and an all -1 mask when max_length < 2K - 1
    ids, mask = presets.parler(num_codebooks=4).build_delay_pattern_mask(
        np.ones((1, 4, 2), np.int64), 6)
    check(ids.shape == (1, 4, 2) and mask.shape == (1, 4, 6) and np.all(mask == -1))
    # MusicGen stereo: interleaved channels, pair j shifted by j (reference written by loops)
    st = presets.musicgen(num_codebooks=8, audio_channels=2)
    prompt = np.arange(2 * 8 * 3).reshape(2, 8, 3) + 100
    ids, mask = st.build_delay_pattern_mask(prompt, 10)
    ref = np.full((2, 8, 10), -1)
    for k in range(8):
        j = k // 2
        ref[:, k, j:j + 3] = prompt[:, k]
        ref[:, k, : j + 1] = 2048
        ref[:, k, 10 - 4 + 1 + j:] = 2048
    same(mask, ref, "musicgen stereo")
    check(ids.shape == (2, 8, 3))
    # moshi loss weights ignore the user's audio streams of a K = 17 array
    codes = np.random.default_rng(0).integers(0, 2048, size=(2, 17, 10))
    w, s = presets.moshi(n_q=16).loss_weights(codes)
    check(w.shape == (2, 9, 10) and s.shape == (9,))
    return 1


@test
def preset_moshi_pipeline():
    """The README quick start: delay, weights, undelay of logits with a Moshi preset."""
    rng = np.random.default_rng(5)
    moshi = presets.moshi(n_q=8)
    codes = rng.integers(0, 2048, size=(4, 9, 50))
    targets = moshi.delay(codes)
    inputs = moshi.model_input(codes)
    check(np.array_equal(inputs[:, :, 1:], targets[:, :, :-1]), "model input = shifted targets")
    check(np.all(inputs[:, 0, 0] == 32000) and np.all(inputs[:, 1:, 0] == 2048))
    w, sums = moshi.loss_weights(codes)
    logits = rng.standard_normal((4, 8, 50, 16)).astype(np.float32)
    vals, mask = moshi.undelay_logits(logits)
    check(vals.shape == logits.shape and mask.shape == (4, 8, 50))
    check(np.all(np.isnan(vals[:, 1:, -1])) and np.all(~mask[:, 1:, -1]) and np.all(mask[:, 0]))
    return 1


@test
def docs_quick_start_runs():
    """The quick start of docs/python.md (proposed for the README) runs as written."""
    path = os.path.join(golden.ROOT, "docs", "python.md")
    if not os.path.exists(path):
        raise Skip("docs/python.md is absent")
    text = open(path).read()
    m = re.search(r"```python\n(import numpy.*?)```", text, re.S)
    check(m is not None, "no quick start block")
    code = m.group(1)
    check(len([ln for ln in code.splitlines() if ln.strip()]) <= 11, "quick start too long")
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()) as f:
        exec(compile(code, path, "exec"), {})
    check(codelay.backend() in f.getvalue(), f.getvalue())
    return 1


# ---------------------------------------------------------------------------------------------
# reference checks beyond the golden file


def ref_delay(x, d, lead, S, head, tail, lengths=None):
    B, K, T = x.shape
    y = np.empty((B, K, S), x.dtype)
    for b in range(B):
        Tb = T if lengths is None else lengths[b]
        for k in range(K):
            o = lead + d[k]
            for s in range(S):
                i = s - o
                y[b, k, s] = x[b, k, i] if 0 <= i < Tb else (head[k] if i < 0 else tail[k])
    return y


@test
def random_delay_undelay_regions():
    rng = np.random.default_rng(7)
    n = 0
    for trial in range(40):
        B, K, T = rng.integers(1, 4), rng.integers(1, 7), rng.integers(0, 12)
        d = [int(v) for v in rng.integers(0, 5, size=K)]
        lead = int(rng.integers(0, 3))
        S = int(rng.integers(0, T + lead + 6))
        dt = [np.int16, np.int32, np.int64][trial % 3]
        x = rng.integers(-1000, 1000, size=(B, K, T)).astype(dt)
        head = rng.integers(-50, 50, size=K)
        tail = rng.integers(-50, 50, size=K)
        lengths = rng.integers(0, T + 1, size=B) if trial % 2 else None
        y = codelay.delay(x, d, lead, S, head, tail, lengths)
        same(y, ref_delay(x, d, lead, S, head, tail, lengths), "delay trial %d" % trial)
        r = codelay.regions(d, lead, aligned_steps=T, steps=S, batch=B, lengths=lengths)
        Tb = np.full(B, T) if lengths is None else lengths
        s = np.arange(S)[None, None, :] - (lead + np.array(d))[None, :, None]
        want = np.where(s < 0, 0, np.where(s < Tb[:, None, None], 1, 2)).astype(np.uint8)
        same(r, want, "regions trial %d" % trial)
        # undelay of the delayed sequence gives x back where the mask is set
        if S >= T + lead + max(d):
            v, m = codelay.undelay(y, d, lead, T, -7)
            m = m & (np.arange(T)[None, None, :] < Tb[:, None, None])
            same(np.where(m, v, -7), np.where(m, x, -7), "undelay trial %d" % trial)
            if lengths is None:
                check(m.all(), "full round trip mask")
                same(v, x, "round trip %d" % trial)
        n += 1
    return n


@test
def inplace_same_view():
    x = np.arange(2 * 3 * 8, dtype=np.int64).reshape(2, 3, 8)
    want = codelay.delay(x, [0, 1, 3], 0, None, -1, -2)
    y = codelay.delay(x, [0, 1, 3], 0, None, -1, -2, out=x)
    check(y is x)
    same(x, want, "in place")
    return 1


@test
def weights_reference():
    rng = np.random.default_rng(3)
    tok = rng.integers(-1, 6, size=(3, 4, 9)).astype(np.int32)
    d = [0, 1, 0, 2]
    sw = [1.0, 2.0, 0.5, 4.0]
    pw = [0.25, 1.0, 3.0, 1.0]
    lengths = np.array([9, 5, 0])
    w, sums = codelay.loss_weights(tok, d, 1, None, lengths, sw, [3, 0], pw, -1)
    B, K, T = tok.shape
    ref = np.zeros((B, K, T), np.float32)
    for b in range(B):
        for k in range(K):
            for t in range(T):
                v = t + 1 + d[k] < lengths[b] and tok[b, k, t] != -1
                if v:
                    ref[b, k, t] = sw[k] * (pw[k] if tok[b, k, t] in (3, 0) else 1.0)
    same(w, ref, "weights")
    same(sums, ref.astype(np.float64).sum(axis=(0, 2)), "sums")
    w2, _ = codelay.loss_weights(tok, d)  # no spec: all ones inside the data
    check(np.all(w2[:, 0, :] == 1) and np.all(w2[:, 3, -2:] == 0) and np.all(w2[:, 3, :-2] == 1))
    return 1


# ---------------------------------------------------------------------------------------------
# awkward memory


@test
def odd_strides_and_alignment():
    """Byte strides that are not multiples of the item size, misaligned data, negative strides
    and non-contiguous logits all work (through a copy)."""
    rng = np.random.default_rng(11)
    x = rng.integers(0, 1000, size=(2, 3, 6)).astype(np.int64)
    want = codelay.delay(x, [0, 1, 2], 1, 10, 5, 6)
    # misaligned: an int64 array starting at byte offset 1 of a buffer
    raw = np.zeros(x.nbytes + 8, np.uint8)
    mis = np.ndarray(x.shape, np.int64, buffer=raw.data, offset=1)
    mis[...] = x
    check(mis.ctypes.data % 8 != 0)
    same(codelay.delay(mis, [0, 1, 2], 1, 10, 5, 6), want, "misaligned")
    # byte strides not a multiple of 8 (packed structured records)
    rec = np.zeros(x.size, dtype=[("a", "u1"), ("v", "<i8")])
    rec["v"] = x.reshape(-1)
    odd = rec["v"].reshape(x.shape)
    check(odd.strides[-1] == 9)
    same(codelay.delay(odd, [0, 1, 2], 1, 10, 5, 6), want, "stride 9 bytes")
    # negative strides
    rev = x[:, ::-1, ::-1].copy()[:, ::-1, ::-1]
    check(rev.strides[2] < 0)
    same(codelay.delay(rev, [0, 1, 2], 1, 10, 5, 6), want, "negative strides")
    # broadcast (zero strides) input
    b = np.broadcast_to(np.arange(6, dtype=np.int32), (2, 3, 6))
    same(codelay.delay(b, [0, 1, 2], 0, 8, -1, -2),
         ref_delay(np.ascontiguousarray(b), [0, 1, 2], 0, 8, [-1] * 3, [-2] * 3), "broadcast")
    # logits whose vocabulary axis is not contiguous
    lg = rng.standard_normal((2, 3, 5, 4)).astype(np.float32)
    lt = np.ascontiguousarray(lg.transpose(3, 0, 1, 2)).transpose(1, 2, 3, 0)
    check(not lt.flags.c_contiguous)
    v1, m1 = codelay.undelay(lg, [0, 1, 2], 0, None, np.nan)
    v2, m2 = codelay.undelay(lt, [0, 1, 2], 0, None, np.nan)
    same(v1, v2, "non-contiguous logits")
    # and into a non-contiguous out= (written through a temporary)
    o = np.empty((4, 2, 3, 5), np.float32).transpose(1, 2, 3, 0)
    v3, _ = codelay.undelay(lg, [0, 1, 2], 0, None, np.nan, out=o)
    check(v3 is o)
    same(o, v1, "out with non-contiguous inner")
    # float16 logits
    h = lg.astype(np.float16)
    vh, mh = codelay.undelay(h, [0, 1, 2], 0, None, np.nan)
    same(vh, v1.astype(np.float16), "float16")
    # uint8 tokens
    u = x.astype(np.uint8)
    same(codelay.delay(u, [0, 1, 2], 1, 10, 5, 6), want.astype(np.uint8), "uint8")
    # lists are accepted as input
    same(codelay.delay(x.tolist(), [0, 1, 2], 1, 10, 5, 6), want, "list input")
    return 1


@test
def zero_copy_inputs():
    """Strided inputs and outputs are handed to C as views: numpy's copy functions are never
    called for them (and are for the cases that need a copy)."""
    from codelay import _core

    calls = []
    real = (np.ascontiguousarray, np.copyto)

    def spy_contig(a, *k, **kw):
        calls.append("ascontiguousarray")
        return real[0](a, *k, **kw)

    def spy_copyto(*a, **kw):
        calls.append("copyto")
        return real[1](*a, **kw)

    x = np.arange(2 * 40 * 3, dtype=np.int64).reshape(2, 40, 3)
    v = x.transpose(0, 2, 1)[:, :, ::2]  # [B=2, K=3, T=20], no axis contiguous
    big = np.zeros((2, 3, 50), np.int64)
    o = big[:, :, ::2]  # strided output [2, 3, 25]
    lg = np.zeros((2, 6, 3, 4), np.float32).transpose(0, 2, 1, 3)  # [B, K, T, V] view
    _core.np.ascontiguousarray, _core.np.copyto = spy_contig, spy_copyto
    try:
        y = codelay.delay(v, [0, 1, 2], 0, 25, -1, out=o)
        vals, m = codelay.undelay(lg, [0, 1, 2], 0, None, np.nan)
        w, s = codelay.loss_weights(v, [0, 1, 2])
        check(not calls, "copies made: %s" % calls)
        codelay.delay(v[:, ::-1], [0, 1, 2])  # negative strides: one copy
        check(calls == ["ascontiguousarray"], calls)
    finally:
        np.ascontiguousarray, np.copyto = real
    check(y is o)
    same(o, ref_delay(np.ascontiguousarray(v), [0, 1, 2], 0, 25, [-1] * 3, [-1] * 3), "view")
    same(vals[:, 0], lg[:, 0], "logits view")
    return 1


# ---------------------------------------------------------------------------------------------
# streaming


@test
def stream_matches_batch():
    rng = np.random.default_rng(2)
    d, lead = [0, 2, 1, 3], 1
    D = lead + max(d)
    B, K, T = 3, 4, 11
    x = rng.integers(0, 500, size=(B, K, T)).astype(np.int64)
    fill = [-1, -2, -3, -4]
    with codelay.Stream(d, lead, "delay", np.int64, B, fill) as s:
        frames = []
        for t in range(T):
            out, ready = s.push(x[:, :, t])
            check(ready.all())
            frames.append(out.copy())
        same(np.stack(frames, axis=2), codelay.delay(x, d, lead, T, fill), "stream delay")
        for _ in range(D):
            out, mask, ready = s.flush()
            frames.append(out.copy())
        same(np.stack(frames, axis=2), codelay.delay(x, d, lead, T + D, fill, fill),
             "stream delay + flush")
        raises(codelay.StateError, s.push, x[:, :, 0])
        s.reset()
        out, ready = s.push(x[:, :, 0])
        check(ready.all())
    # undelay: S pushes + flushes equal undelay with T = S
    y = codelay.delay(x, d, lead, T + D, fill, fill)
    S = T + D
    want, wmask = codelay.undelay(y, d, lead, S, [9, 9, 9, 9])
    s = codelay.Stream(d, lead, "undelay", np.int64, B, [9, 9, 9, 9])
    vals, masks = [], []
    for t in range(S):
        out, ready = s.push(y[:, :, t])
        if t >= D:
            check(ready.all())
            vals.append(out.copy())
            masks.append(np.ones((B, K), bool))
        else:
            check(not ready.any())
    while True:
        out, mask, ready = s.flush()
        if not ready.any():
            break
        vals.append(out.copy())
        masks.append(mask.copy())
    same(np.stack(vals, axis=2), want, "stream undelay")
    same(np.stack(masks, axis=2), wmask, "stream undelay mask")
    # active: a paused item keeps its place
    s = codelay.Stream(d, lead, "delay", np.int32, 2, 0)
    out, ready = s.push(np.ones((2, 4), np.int32), active=[1, 0])
    check(ready.tolist() == [True, False])
    s.close()
    raises(codelay.StateError, s.push, np.ones((2, 4), np.int32))
    # bad frames
    s = codelay.Stream(d, lead, "delay", np.int64, 2, 0)
    raises(codelay.DtypeError, s.push, np.ones((2, 4), np.int32), arg="frame")
    raises(codelay.ShapeError, s.push, np.ones((2, 3), np.int64), arg="frame")
    raises(codelay.ArgError, codelay.Stream, d, lead, "sideways", arg="mode")
    # the Moshi preset's stream
    ms = presets.moshi(n_q=8).stream("delay", batch=1)
    out, ready = ms.push(np.zeros((1, 9), np.int64))
    check(out[0, 0] == 0 and out[0, 2] == 2048)
    return 1


# ---------------------------------------------------------------------------------------------
# errors


@test
def errors_name_status_and_argument():
    x = np.zeros((2, 3, 5), np.int64)
    d = [0, 1, 1]
    e = raises(codelay.DtypeError, codelay.delay, x.astype(np.float64), d, arg="x")
    check(e.status == -4 and e.status_name == "CODELAY_ERR_DTYPE" and "float64" in str(e))
    check(isinstance(e, TypeError) and isinstance(e, codelay.CodelayError))
    e = raises(codelay.ShapeError, codelay.delay, x, [0, 1], arg="x")
    check("CODELAY_ERR_SHAPE" in str(e) and isinstance(e, ValueError))
    raises(codelay.ShapeError, codelay.delay, np.zeros(5, np.int64), [0], arg="x")
    raises(codelay.DelayError, codelay.delay, x, [0, -1, 1], arg="delays")
    raises(codelay.DelayError, codelay.delay, x, d, -1, arg="lead")
    raises(codelay.DelayError, codelay.delay, x, [0, 2**31, 0], arg="delays")
    raises(codelay.ShapeError, codelay.delay, x, d, lengths=[1, 6], arg="lengths")
    raises(codelay.ShapeError, codelay.delay, x, d, lengths=[1], arg="lengths")
    raises(codelay.ShapeError, codelay.delay, x, d, head=[1, 2], arg="head")
    raises(codelay.RangeError, codelay.delay, x.astype(np.int16), d, head=70000, arg="head")
    raises(codelay.RangeError, codelay.delay, x, d, tail=1.5, arg="tail")
    raises(codelay.ShapeError, codelay.delay, x, d, steps=-1, arg="steps")
    raises(codelay.ArgError, codelay.delay, x, d, layout="xy", arg="layout")
    # out= checks
    raises(codelay.ShapeError, codelay.delay, x, d, out=np.zeros((2, 3, 4), np.int64), arg="out")
    raises(codelay.DtypeError, codelay.delay, x, d, out=np.zeros((2, 3, 5), np.float32),
           arg="out")
    ro = np.zeros((2, 3, 5), np.int64)
    ro.flags.writeable = False
    raises(codelay.ArgError, codelay.delay, x, d, out=ro, arg="out")
    raises(codelay.DtypeError, codelay.delay, x.astype(np.float32), d, dtype=np.float16,
           arg="dtype")
    # a value that does not fit the destination dtype: found by C while copying
    big = np.full((1, 3, 4), 40000, np.int64)
    e = raises(codelay.RangeError, codelay.delay, big, d, dtype=np.int16)
    check(e.status_name == "CODELAY_ERR_RANGE")
    # overlapping but different views of one buffer
    buf = np.zeros((2, 3, 10), np.int64)
    e = raises(codelay.AliasError, codelay.delay, buf[:, :, :5], d, steps=5, out=buf[:, :, 2:7],
               arg="out")
    check(e.status_name == "CODELAY_ERR_ALIAS")
    # undelay / regions / weights
    raises(codelay.DtypeError, codelay.undelay, x.astype(np.float32), d, dtype=np.int32,
           arg="dtype")
    raises(codelay.DtypeError, codelay.undelay, x, d, out_mask=np.zeros((2, 3, 5), np.int32),
           arg="out_mask")
    raises(codelay.ShapeError, codelay.undelay, x, d, out_mask=np.zeros((2, 3, 4), bool),
           arg="out_mask")
    raises(codelay.ArgError, codelay.regions, d, arg="aligned_steps")
    raises(codelay.DtypeError, codelay.loss_weights, x.astype(np.float32), d, arg="tokens")
    raises(codelay.ArgError, codelay.loss_weights, x, d, pad_ids=list(range(17)), arg="pad_ids")
    raises(codelay.DtypeError, codelay.loss_weights, x, d, out=np.zeros((2, 3, 5)), arg="out")
    # backends
    e = raises(codelay.BackendError, codelay.select_backend, "nope", arg="name")
    check(e.status_name == "CODELAY_ERR_BACKEND")
    check(codelay.backend() in codelay.supported_backends())
    return 1


@test
def library_facts():
    v = codelay.version()
    check(re.match(r"^0\.\d+\.\d+$", v), v)
    check(os.path.exists(codelay.library_path()) or codelay.library_path().startswith("lib"))
    check("scalar" in codelay.supported_backends())
    p = codelay.pattern([0, 1, 1], 1)
    check(p is codelay.pattern((0, 1, 1), 1), "patterns are cached")
    check(p.max_offset == 2 and p.streams == 3)
    return 1


# ---------------------------------------------------------------------------------------------
# torch


@test
def torch_tensors():
    if not HAVE_TORCH:
        raise Skip("torch is not importable by %s (Debian: apt install python3-torch)"
                   % sys.executable)
    n = 0
    for c in CASES:
        x = torch.from_numpy(np.ascontiguousarray(c.input()))
        y, m = run_case(c, x=x)
        check(isinstance(y, torch.Tensor), "torch in, torch out")
        check_case(c, y.numpy(), None if m is None else m.numpy(), "torch")
        n += 1
    # zero-copy: transposed tensors in, out= tensors written in place
    x = torch.arange(2 * 40 * 3, dtype=torch.int64).reshape(2, 40, 3)
    xt = x.transpose(1, 2)  # [B, K, T] view
    out = torch.full((2, 3, 42), 5, dtype=torch.int64)
    r = codelay.delay(xt, [0, 1, 2], 0, 42, -1, -2, out=out)
    check(r is out)
    same(out.numpy(), ref_delay(xt.numpy(), [0, 1, 2], 0, 42, [-1] * 3, [-2] * 3), "torch out")
    # bfloat16 logits
    lg = torch.randn(2, 3, 6, 4).to(torch.bfloat16)
    v, m = codelay.undelay(lg, [0, 1, 2], 0, None, float("nan"))
    check(v.dtype == torch.bfloat16 and m.dtype == torch.bool)
    vf, mf = codelay.undelay(lg.float(), [0, 1, 2], 0, None, float("nan"))
    same(v.float(), vf, "bf16 undelay")
    same(m, mf, "bf16 mask")
    # requires_grad tensors can be read
    g = torch.randn(1, 3, 5, 2, requires_grad=True)
    v, _ = codelay.undelay(g, [0, 1, 1])
    same(v[:, 0], g.detach()[:, 0], "grad tensor")
    # stream with torch frames
    s = codelay.Stream([0, 1], 0, "delay", torch.int32, 1, 0)
    o, r = s.push(torch.tensor([[4, 5]], dtype=torch.int32))
    check(isinstance(o, torch.Tensor) and o.tolist() == [[4, 0]])
    # the moshi preset on tensors
    codes = torch.randint(0, 2048, (2, 9, 20))
    same(presets.moshi(n_q=8).delay(codes), presets.moshi(n_q=8).delay(codes.numpy()), "moshi")
    raises(codelay.ArgError, codelay.delay, torch.zeros(1, 2, 3, device="meta"), [0, 1],
           arg="x")
    return n


if __name__ == "__main__":
    print("python: library %s (%s), backend %s, numpy %s, torch %s"
          % (codelay.library_path(), codelay.version(), codelay.backend(), np.__version__,
             torch.__version__ if HAVE_TORCH else "absent"))
    sys.exit(1 if run("python") else 0)
