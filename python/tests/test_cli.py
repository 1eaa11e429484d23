"""Tests of the codelay command-line tool on real .npy files written by numpy: the golden
vectors, round trips, presets against the Python presets, many files at once, bad files.

Run: CODELAY_CLI=build/main/tools/codelay CODELAY_LIBRARY=build/main/libcodelay.so \
     /usr/bin/python3 python/tests/test_cli.py
"""

import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402

import codelay  # noqa: E402
from codelay import presets  # noqa: E402
import golden  # noqa: E402
from harness import test, check, run  # noqa: E402

ROOT = golden.ROOT
CLI = os.environ.get("CODELAY_CLI") or os.path.join(ROOT, "build", "main", "tools", "codelay")
CASES = golden.load()
TMP = tempfile.mkdtemp(prefix="codelay-cli-")


def cli(*args, ok=True):
    p = subprocess.run([CLI] + [str(a) for a in args], capture_output=True, text=True, timeout=120)
    if ok and p.returncode != 0:
        raise AssertionError("codelay %s: exit %d\n%s%s" % (" ".join(map(str, args)), p.returncode,
                                                            p.stdout, p.stderr))
    return p


def fresh(name):
    d = os.path.join(TMP, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def csv(v):
    return ",".join("nan" if isinstance(x, float) and np.isnan(x) else str(x) for x in v)


def same(a, b, what):
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        raise AssertionError("%s: %s %s != %s %s" % (what, a.shape, a.dtype, b.shape, b.dtype))
    if not np.array_equal(a, b, equal_nan=a.dtype.kind == "f"):
        raise AssertionError("%s: values differ" % what)


def no_temp_files(d):
    left = [f for f in os.listdir(d) if f.startswith(".")]
    check(not left, "temporary files left in %s: %s" % (d, left))


@test
def info_and_presets():
    p = cli("info")
    out = p.stdout
    check(("codelay %s" % codelay.version()) in out, out)
    for key in ("cpu:", "compiled:", "supported:", "active:"):
        check(key in out, "info lacks " + key)
    active = [ln for ln in out.splitlines() if ln.startswith("active:")][0].split()[1]
    check(active in codelay.supported_backends(), out)
    check("scalar" in [ln for ln in out.splitlines() if ln.startswith("supported:")][0])
    p = subprocess.run([CLI, "info"], capture_output=True, text=True,
                       env=dict(os.environ, CODELAY_BACKEND="scalar"))
    check("active:    scalar" in p.stdout, p.stdout)
    p = cli("presets")
    for name in ("moshi", "dsm", "audiocraft", "musicgen", "parler", "zonos", "dia"):
        check(name in p.stdout, "presets lacks " + name)
    check(cli("--help").stdout.startswith("usage:"))
    check(cli("--version").stdout.strip() == "codelay " + codelay.version())
    return 1


@test
def golden_through_cli():
    """Every golden delay / undelay case without per-item lengths, through .npy files."""
    n = 0
    d = fresh("golden")
    for c in CASES:
        if c.op == "weights" or c.lengths is not None:
            continue
        B, K, T, S, V = c.shape
        src = os.path.join(d, c.name + ".npy")
        np.save(src, c.input())
        args = [c.op, src, "-o", os.path.join(d, "out"), "-q", "--delays", csv(c.delays),
                "--lead", c.lead, "--layout", c.layout]
        if c.op == "delay":
            args += ["--steps", S, "--head", csv(c.fills("head").tolist()),
                     "--tail", csv(c.fills("tail").tolist())]
        else:
            args += ["--steps", T, "--fill", csv(c.fills("fill").tolist())]
        cli(*args)
        got = np.load(os.path.join(d, "out", c.name + ".npy"))
        same(got, c.output(), c.name)
        if c.op == "undelay" and c.mask() is not None:
            m = np.load(os.path.join(d, "out", c.name + ".mask.npy"))
            check(m.dtype == np.bool_)
            same(m, c.mask(), c.name + " mask")
        n += 1
    no_temp_files(os.path.join(d, "out"))
    return n


@test
def golden_weights_through_cli():
    n = 0
    d = fresh("weights")
    for c in CASES:
        if c.op != "weights":
            continue
        src = os.path.join(d, c.name + ".npy")
        np.save(src, c.input())
        K = c.shape[1]
        pw = [c.f["pad_weight_stream0"][0]] + ["1"] * (K - 1)
        cli("weights", src, "-o", os.path.join(d, "out"), "-q", "--delays", csv(c.delays),
            "--stream-weight", ",".join(c.f["stream_weight"]), "--pad-ids",
            ",".join(c.f["pad_ids_stream0"]), "--pad-weight", ",".join(pw), "--ignore-id",
            c.f["ignore_id"][0])
        w = np.load(os.path.join(d, "out", c.name + ".npy"))
        same(w, c.output(), c.name)
        sums = np.load(os.path.join(d, "out", c.name + ".sums.npy"))
        same(sums, w.astype(np.float64).sum(axis=(0, 2)), c.name + " sums")
        # the moshi preset gives the same when its defaults match the case
        sw = c.floats("stream_weight")
        if sw[1] == 100.0 and c.f["pad_weight_stream0"][0] == "0.5":
            cli("weights", src, "-o", os.path.join(d, "preset"), "-q", "--preset", "moshi")
            same(np.load(os.path.join(d, "preset", c.name + ".npy")), c.output(), c.name + " p")
        n += 1
    return n


@test
def round_trip_many_files():
    rng = np.random.default_rng(4)
    d = fresh("roundtrip")
    files = []
    for i, dt in enumerate([np.int16, np.int32, np.int64, np.uint8, np.int64]):
        x = rng.integers(0, 200, size=(2, 5, 7 + i)).astype(dt)
        f = os.path.join(d, "x%d.npy" % i)
        np.save(f, x)
        files.append((f, x))
    p = cli("delay", *[f for f, _ in files], "-o", os.path.join(d, "del"), "--delays",
            "0,1,3,1,2", "--lead", "1", "--steps", "+D", "--head", "250", "--tail", "251")
    check("5/5 files" in p.stderr and "0 failed" in p.stderr, p.stderr)
    check(len(p.stderr.strip().splitlines()) == 1, "one progress line: " + p.stderr)
    outs = [os.path.join(d, "del", os.path.basename(f)) for f, _ in files]
    for (f, x), o in zip(files, outs):
        y = np.load(o)
        same(y, codelay.delay(x, [0, 1, 3, 1, 2], 1, "full", 250, 251), f)
    p = cli("undelay", *outs, "-o", os.path.join(d, "back"), "--delays", "0,1,3,1,2", "--lead",
            "1", "--steps", "-D", "-q")
    check(p.stderr == "", "quiet: " + p.stderr)
    for f, x in files:
        b = os.path.join(d, "back", os.path.basename(f))
        same(np.load(b), x, "round trip " + f)
        check(np.load(b[:-4] + ".mask.npy").all())
    # regions of the delayed layout
    cli("regions", files[0][0], "-o", os.path.join(d, "reg"), "--delays", "0,1,3,1,2", "--lead",
        "1", "--steps", "+D", "-q")
    r = np.load(os.path.join(d, "reg", "x0.npy"))
    same(r, codelay.regions([0, 1, 3, 1, 2], 1, aligned_steps=7, steps="full", batch=2), "regions")
    # 2-D files, Fortran order, tk layout, output dtype
    x2 = np.asfortranarray(rng.integers(0, 100, size=(3, 9)).astype(np.int64))
    np.save(os.path.join(d, "f.npy"), x2)
    check(np.load(os.path.join(d, "f.npy"), mmap_mode="r").flags.f_contiguous)
    cli("delay", os.path.join(d, "f.npy"), "-o", os.path.join(d, "f"), "--delays", "0,2,1",
        "--head", "-1", "--dtype", "int16", "-q")
    y = np.load(os.path.join(d, "f", "f.npy"))
    same(y, codelay.delay(np.ascontiguousarray(x2), [0, 2, 1], 0, None, -1, dtype=np.int16), "F")
    cli("delay", os.path.join(d, "f.npy"), "-o", os.path.join(d, "tk"), "--delays",
        "0,1,1,2,0,0,0,0,0", "--layout", "tk", "--head", "-1", "-q")
    same(np.load(os.path.join(d, "tk", "f.npy")),
         codelay.delay(x2, [0, 1, 1, 2, 0, 0, 0, 0, 0], 0, None, -1, layout="tk"), "tk")
    for sub in ("del", "back", "reg", "f", "tk"):
        no_temp_files(os.path.join(d, sub))
    return 1


@test
def presets_through_cli():
    rng = np.random.default_rng(8)
    d = fresh("presets")
    out = os.path.join(d, "out")

    def run1(cmd, preset, x, name, *extra):
        f = os.path.join(d, name + ".npy")
        np.save(f, x)
        cli(cmd, f, "-o", out, "--preset", preset, "-q", *extra)
        y = np.load(os.path.join(out, name + ".npy"))
        m = os.path.join(out, name + ".mask.npy")
        return y, (np.load(m) if os.path.exists(m) else None)

    codes17 = rng.integers(0, 2048, size=(2, 17, 30)).astype(np.int64)
    y, _ = run1("delay", "moshi", codes17, "m17")
    same(y, presets.moshi(n_q=16).delay(codes17), "moshi")
    y, _ = run1("delay", "moshi-input", codes17, "m17i")
    same(y, presets.moshi(n_q=16).model_input(codes17), "moshi-input")
    codes9 = rng.integers(0, 2048, size=(2, 9, 30)).astype(np.int64)
    codes9[:, 0, ::3] = 3
    codes9[:, 0, 1::7] = -1
    y, _ = run1("delay", "moshi", codes9, "m9")
    same(y, presets.moshi(n_q=8).delay(codes9), "moshi 9")
    y, _ = run1("weights", "moshi", codes9, "w9")
    same(y, presets.moshi(n_q=8).loss_weights(codes9)[0], "moshi weights")
    logits = rng.standard_normal((2, 8, 30, 6)).astype(np.float32)
    y, m = run1("undelay", "moshi", logits, "lg")
    v, vm = presets.moshi(n_q=8).undelay_logits(logits)
    same(y, v, "moshi logits")
    same(m, vm, "moshi logits mask")
    codes33 = rng.integers(0, 2048, size=(1, 33, 20)).astype(np.int64)
    y, _ = run1("delay", "dsm", codes33, "dsm")
    same(y, presets.dsm().delay(codes33), "dsm")
    ac = presets.audiocraft(n_q=4)
    c4 = rng.integers(0, 2048, size=(2, 4, 12)).astype(np.int64)
    for valid, pre in ((False, "audiocraft"), (True, "audiocraft-valid")):
        y, _ = run1("delay", pre, c4, "ac%d" % valid)
        same(y, ac.build(c4, keep_only_valid_steps=valid)[0], pre + " build")
        y2, m2 = run1("undelay", pre, y, "acr%d" % valid)
        v, vm = ac.revert(y, keep_only_valid_steps=valid)
        same(y2, v, pre + " revert")
        same(m2, vm, pre + " revert mask")
        lg = rng.standard_normal((2, 4, y.shape[2], 3)).astype(np.float32)
        y3, m3 = run1("undelay", pre, lg, "acl%d" % valid)
        v, vm = ac.revert_logits(lg, keep_only_valid_steps=valid)
        same(y3, v, pre + " logits")
        same(m3, vm, pre + " logits mask")
    z = presets.zonos(n_q=9)
    c9 = rng.integers(0, 1024, size=(2, 9, 11)).astype(np.int64)
    y, _ = run1("delay", "zonos", c9, "zo")
    same(y, z.apply(c9), "zonos")
    y2, _ = run1("undelay", "zonos", y, "zor")
    same(y2, z.revert(y), "zonos revert")
    same(y2, c9, "zonos round trip")
    dia = presets.dia()
    a = rng.integers(0, 1024, size=(2, 40, 9)).astype(np.int32)
    y, _ = run1("delay", "dia", a, "dia")
    same(y, dia.apply(a), "dia")
    y2, _ = run1("undelay", "dia", y, "diar")
    same(y2, dia.revert(y), "dia revert")
    par = presets.parler(num_codebooks=9)
    x = np.full((2, 9, 12), -1, np.int64)
    x[:, :, :3] = rng.integers(0, 1024, size=(2, 9, 3))
    y, _ = run1("delay", "parler", x, "par")
    same(y, par.delay(x), "parler")
    mg = presets.musicgen(num_codebooks=4)
    y, _ = run1("delay", "musicgen", c4, "mg")
    same(y, mg.delay(c4), "musicgen")
    no_temp_files(out)
    return 1


@test
def bad_files():
    d = fresh("bad")
    out = os.path.join(d, "out")
    good = os.path.join(d, "good.npy")
    np.save(good, np.arange(12, dtype=np.int64).reshape(3, 4))
    bad = {}
    bad["text.npy"] = b"hello, not numpy\n"
    bad["empty.npy"] = b""
    np.save(os.path.join(d, "f64.npy"), np.zeros((3, 4)))
    np.save(os.path.join(d, "rank1.npy"), np.zeros(4, np.int64))
    np.save(os.path.join(d, "rank5.npy"), np.zeros((1, 1, 3, 1, 1), np.int64))
    np.save(os.path.join(d, "big.npy"), np.zeros((3, 4), ">i8"))
    np.save(os.path.join(d, "rec.npy"), np.zeros((3, 4), [("a", "<i4"), ("b", "<i4")]))
    np.save(os.path.join(d, "k2.npy"), np.zeros((2, 4), np.int64))
    with open(good, "rb") as fh:
        data = fh.read()
    bad["trunc.npy"] = data[:-5]
    bad["trunchdr.npy"] = data[:30]
    for name, content in bad.items():
        with open(os.path.join(d, name), "wb") as fh:
            fh.write(content)
    names = sorted(list(bad) + ["f64.npy", "rank1.npy", "rank5.npy", "big.npy", "rec.npy",
                                "k2.npy"])
    files = [os.path.join(d, n) for n in names] + [good, os.path.join(d, "missing.npy")]
    p = cli("delay", *files, "-o", out, "--delays", "0,1,1", "--head", "0", ok=False)
    check(p.returncode == 1, "exit %d" % p.returncode)
    errs = [ln for ln in p.stderr.splitlines() if not ln.startswith("codelay delay:")]
    check(len(errs) == len(names) + 1, "one line per bad file:\n" + p.stderr)
    for n in names + ["missing.npy"]:
        line = [ln for ln in errs if os.path.join(d, n) + ":" in ln]
        check(len(line) == 1, "no error naming %s:\n%s" % (n, p.stderr))
    msg = "\n".join(errs)
    for phrase in ("not a .npy file", "unsupported dtype '<f8'", "wrong rank 1", "wrong rank 5",
                   "big-endian", "structured", "truncated", "has 2 streams but --delays gives 3",
                   "cannot open"):
        check(phrase in msg, "missing %r in:\n%s" % (phrase, msg))
    # the good file was still written; nothing else, no temporary files
    check(sorted(os.listdir(out)) == ["good.npy"], os.listdir(out))
    same(np.load(os.path.join(out, "good.npy")),
         codelay.delay(np.arange(12, dtype=np.int64).reshape(3, 4), [0, 1, 1], 0, None, 0), "good")
    # a failure in the library (a value that does not fit the output dtype) leaves no file
    np.save(os.path.join(d, "wide.npy"), np.full((3, 4), 70000, np.int64))
    p = cli("delay", os.path.join(d, "wide.npy"), "-o", out, "--delays", "0,1,1", "--dtype",
            "int16", ok=False)
    check(p.returncode == 1 and "CODELAY_ERR_RANGE" in p.stderr, p.stderr)
    check(not os.path.exists(os.path.join(out, "wide.npy")))
    # weights of float data
    p = cli("weights", os.path.join(d, "f64.npy"), "-o", out, "--delays", "0,1,1", ok=False)
    check(p.returncode == 1, p.stderr)
    no_temp_files(out)
    return 1


@test
def usage_errors():
    d = fresh("usage")
    f = os.path.join(d, "x.npy")
    np.save(f, np.zeros((2, 3, 4), np.int16))
    out = os.path.join(d, "out")
    cases = [
        (["delay", f, "--delays", "0,1"], "-o DIR"),
        (["delay", "-o", out, "--delays", "0,1"], "input file"),
        (["delay", f, "-o", out], "--delays"),
        (["delay", f, "-o", out, "--preset", "nope"], "unknown preset"),
        (["delay", f, "-o", out, "--delays", "0,-1,1"], "--delays"),
        (["delay", f, "-o", out, "--delays", "0,1,1", "--steps", "x"], "--steps"),
        (["delay", f, "-o", out, "--delays", "0,1,1", "--layout", "xy"], "--layout"),
        (["delay", f, "-o", out, "--delays", "0,1,1", "--bogus", "1"], "unknown option"),
        (["delay", f, "-o", out, "--delays", "0,1,1", "--backend", "nope"], "--backend"),
        (["delay", f, f, "-o", out, "--delays", "0,1,1"], "same output"),
        (["frobnicate"], "unknown command"),
    ]
    for args, phrase in cases:
        p = cli(*args, ok=False)
        check(p.returncode == 2, "%s: exit %d" % (args, p.returncode))
        check(phrase in p.stderr, "%s: %r not in %r" % (args, phrase, p.stderr))
    # per-file errors (exit 1) that name the file and the option
    p = cli("delay", f, "-o", out, "--delays", "0,1,1", "--head", "70000", ok=False)
    check(p.returncode == 1 and "--head value 70000 does not fit int16" in p.stderr
          and f in p.stderr, p.stderr)
    p = cli("delay", f, "-o", out, "--delays", "0,1,1", "--head", "1,2", ok=False)
    check(p.returncode == 1 and "--head has 2 values" in p.stderr, p.stderr)
    p = cli("delay", f, "-o", out, "--preset", "dia", ok=False)
    check(p.returncode == 1 and "dia preset needs 9 streams" in p.stderr, p.stderr)
    check(not os.path.exists(out) or not os.listdir(out))
    return 1


if __name__ == "__main__":
    if not os.access(CLI, os.X_OK):
        print("cli: %s is not built" % CLI)
        sys.exit(1)
    try:
        failed = run("cli")
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
    sys.exit(1 if failed else 0)
