#!/usr/bin/python3
"""codelay benchmark tooling (Python 3 standard library only).

  report   JSON OUTDIR             tables per kernel and shape, targets, chart (gnuplot) -> OUTDIR
  ratios   JSON THRESHOLDS [--update]   the in-run ratio gate (backend/memcpy, backend/scalar)
  callgrind DUMPDIR BASELINE --toolchain T [--update]   the instruction-count gate
  filter                           the --benchmark_filter regex of the cases the ratio gate runs

Benchmark names are kernel/backend/shape; backend "memcpy" is the paired copy of the same output
bytes. Times are CPU time (equal to wall time on an idle machine; on a shared one it leaves out
the time other processes held the core), best (minimum) over the repetitions, since interference
only ever adds time; x memcpy and x scalar are ratios of those best times (hot caches on both
sides). The paired_kernel/backend/shape benchmarks (bench_main.c: bursts of kernel, memcpy and
scalar kernel alternating within every iteration, median of the per-iteration ratios) give the
same ratios in a form a busy machine cannot skew much: the report shows them next to the others
and the ratio gate uses them.
"""
import argparse
import glob
import json
import math
import os
import re
import shutil
import subprocess
import sys

BACKENDS = ["scalar", "sse41", "avx2", "avx512", "neon"]
UNSUPPORTED = "backend not supported"

# The ratio gate covers the realistic shapes; the small and streaming cases are dominated by call
# overhead against a memcpy of a few hundred bytes, too noisy for a ratio threshold.
def gated(kernel, shape):
    return not (shape.startswith("small_") or kernel.startswith("stream_"))


def split(name):
    parts = name.split("/")
    if len(parts) != 3:
        return None
    return parts[0], parts[1], parts[2]


def load(path):
    """name -> dict(times, cpu, read, write, elements, label, error, order); and the context."""
    with open(path) as f:
        doc = json.load(f)
    runs = {}
    for b in doc.get("benchmarks", []):
        if b.get("run_type", "iteration") != "iteration":
            continue
        name = b.get("run_name", b["name"])
        if split(name) is None:
            continue
        r = runs.setdefault(name, {"times": [], "wall": [], "error": None, "label": "",
                                   "order": b.get("family_index", 0), "x_memcpy": [],
                                   "x_scalar": []})
        if b.get("error_occurred"):
            r["error"] = b.get("error_message", "error")
            continue
        scale = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}[b.get("time_unit", "ns")]
        r["times"].append(b["cpu_time"] * scale)
        r["wall"].append(b["real_time"] * scale)
        if "x_memcpy" in b:
            r["x_memcpy"].append(b["x_memcpy"])
            r["x_scalar"].append(b["x_scalar"])
        r["read"] = b.get("read_bytes", 0.0)
        r["write"] = b.get("write_bytes", 0.0)
        r["elements"] = b.get("elements", 0.0)
        r["label"] = b.get("label", "")
    return runs, doc.get("context", {})


def best(r):
    return min(r["times"]) if r and r["times"] else None


def median(v):
    v = sorted(v)
    n = len(v)
    if n == 0:
        return None
    return v[n // 2] if n % 2 else 0.5 * (v[n // 2 - 1] + v[n // 2])


def metrics(runs):
    """(kernel, shape) -> backend -> dict(t, gbs, x_memcpy, bw_memcpy, x_scalar, error, label)."""
    cases = {}
    paired = {}
    order = {}
    for name, r in runs.items():
        kernel, backend, shape = split(name)
        if kernel.startswith("paired_"):
            paired[(kernel[len("paired_"):], backend, shape)] = r
            continue
        cases.setdefault((kernel, shape), {})[backend] = r
        order[(kernel, shape)] = min(order.get((kernel, shape), 1 << 30), r["order"])
    out = {}
    for key in sorted(cases, key=lambda k: order[k]):
        rows = cases[key]
        mr = rows.get("memcpy")
        mem = best(mr)
        sca = best(rows.get("scalar"))
        m = {}
        for backend, r in rows.items():
            t = best(r)
            e = {"error": r["error"], "label": r["label"], "t": t}
            if t:
                rw = r["read"] + r["write"]
                e["gbs"] = rw / t  # bytes per ns == GB/s
                e["x_memcpy"] = t / mem if mem else None
                e["x_scalar"] = sca / t if sca else None
                p = paired.get((key[0], backend, key[1]))
                e["x_memcpy_paired"] = median(p["x_memcpy"]) if p and p["x_memcpy"] else None
                e["x_scalar_paired"] = median(p["x_scalar"]) if p and p["x_scalar"] else None
                # The spread over the repetitions, shown with the targets: how much noise there was.
                for k in ("x_memcpy", "x_scalar"):
                    if p and p[k]:
                        e[k + "_paired_range"] = (min(p[k]), max(p[k]))
                if backend == "memcpy":
                    e["x_memcpy"], e["x_scalar"] = 1.0, None
                e["ratio_to_memcpy"] = e["x_memcpy"]  # the name issue 4 uses
                # bytes/s relative to memcpy's: (bytes / memcpy's bytes) / time ratio
                e["bw_memcpy"] = (rw / (mr["read"] + mr["write"]) / e["x_memcpy"]
                                  if mem and e["x_memcpy"] else None)
                xp = e["x_memcpy_paired"]
                e["bw_memcpy_paired"] = (rw / (mr["read"] + mr["write"]) / xp
                                         if mr and xp else None)
                e["reps"] = len(r["times"])
            m[backend] = e
        out[key] = m
    return out


def paired_metrics(runs):
    """(kernel, shape) -> backend -> dict(x_memcpy, x_scalar, error) from the paired family:
    per repetition the median of the per-iteration ratios, then the best repetition."""
    out = {}
    for name, r in sorted(runs.items(), key=lambda kv: kv[1]["order"]):
        kernel, backend, shape = split(name)
        if not kernel.startswith("paired_"):
            continue
        # The best repetition: a regression makes every repetition worse, while a neighbour that
        # contends for the core (an SMT sibling, a cache hog) for a whole repetition slows a
        # compute-bound kernel more than its memory-bound memcpy, and only for a while.
        e = {"error": r["error"], "t": best(r),
             "x_memcpy": min(r["x_memcpy"]) if r["x_memcpy"] else None,
             "x_scalar": max(r["x_scalar"]) if r["x_scalar"] else None}
        out.setdefault((kernel[len("paired_"):], shape), {})[backend] = e
    return out


def fmt_time(ns):
    if ns is None:
        return "-"
    if ns < 1e3:
        return "%.1f ns" % ns
    if ns < 1e6:
        return "%.1f us" % (ns / 1e3)
    if ns < 1e9:
        return "%.2f ms" % (ns / 1e6)
    return "%.2f s" % (ns / 1e9)


def fmt(v, spec, none="-"):
    return none if v is None else spec % v


# --- report -------------------------------------------------------------------------------------

def paired_note(e):
    p = e.get("x_memcpy_paired")
    return " (paired %.2f)" % p if p else ""


# The targets are judged on the paired ratios where the run has them (kernel, memcpy and scalar
# timed in alternating bursts: interference hits both sides alike), else on the plain ones; the
# text shows which, and the other value next to it.
def judged(e, key):
    p = e.get(key + "_paired")
    return (p, "paired") if p else (e[key], "plain")


def spread(r, fmt="%.2f"):
    """' lo-hi' for the range r of the paired repetitions, or '' when there is no spread."""
    if not r or r[0] == r[1]:
        return ""
    return " " + fmt % r[0] + "-" + fmt % r[1]


def xm_check(limit, strict=False):
    def check(e):
        v, how = judged(e, "x_memcpy")
        other = e["x_memcpy"] if how == "paired" else None
        note = " (%s%s%s)" % (how, spread(e.get("x_memcpy_paired_range")) if how == "paired"
                              else "",
                              "; plain %.2f" % other if other else "")
        return ((v < limit) if strict else (v <= limit), "%.2fx memcpy%s" % (v, note))
    return check


def xs_check(e):
    v, how = judged(e, "x_scalar")
    if v is None:
        return None, "n/a"
    other = e["x_scalar"] if how == "paired" and e["x_scalar"] else None
    return v >= 4.0, "%.2fx scalar (%s%s%s)" % (v, how, spread(e.get("x_scalar_paired_range"))
                                                if how == "paired" else "",
                                                "; plain %.2f" % other if other else "")


def bw_check(e):
    v, how = judged(e, "bw_memcpy")
    other = e["bw_memcpy"] if how == "paired" else None
    # bw_memcpy_paired = bytes ratio / x_memcpy_paired: its spread is x_memcpy's, inverted.
    sp = ""
    r = e.get("x_memcpy_paired_range")
    if how == "paired" and r:
        pct = 100 * v * e["x_memcpy_paired"]  # 100 x the bytes ratio
        sp = spread((pct / r[1], pct / r[0]), "%.0f%%")
    return v >= 0.80, "%.0f%% of memcpy B/s (%s%s%s)" % (
        100 * v, how, sp, "; plain %.0f%%" % (100 * other) if other else "")


TARGETS = [
    # (description, [(kernel, shape)], check(entry) -> (ok, shown value))
    ("KT delay/undelay, same dtype: time <= 1.10 x memcpy",
     [("delay", "moshi_kt_i64"), ("undelay", "moshi_kt_i64"), ("delay", "moshi_kt_i32"),
      ("undelay", "moshi_kt_i32"), ("delay", "dsm_kt_i32"), ("undelay", "logits_kt_f32")],
     xm_check(1.10)),
    ("TK delay/undelay: time <= 1.25 x memcpy",
     [("delay", "dia_tk_i32"), ("undelay", "dia_tk_i32"), ("delay", "dsm_tk_i32"),
      ("undelay", "dsm_tk_i32")],
     xm_check(1.25)),
    ("TK delay/undelay: >= 4x faster than scalar",
     [("delay", "dia_tk_i32"), ("undelay", "dia_tk_i32"), ("delay", "dsm_tk_i32"),
      ("undelay", "dsm_tk_i32")],
     xs_check),
    ("narrowing and loss weights: bytes read+written per second >= 80% of memcpy's",
     [("delay", "moshi_kt_i64_to_i32"), ("weights", "moshi_kt_i64")],
     bw_check),
    ("logits undelay in place: no extra copy (time < 1.0 x memcpy of the tensor)",
     [("undelay", "logits_kt_f32_inplace")],
     xm_check(1.0, strict=True)),
    ("streaming push [1,17]: under 50 ns",
     [("stream_delay", "moshi_1x17_i64"), ("stream_undelay", "moshi_1x17_i64")],
     lambda e: (e["t"] < 50.0, fmt_time(e["t"]))),
]


def targets(m, backend):
    """Lines of the issue's targets for one backend: (ok or None, text)."""
    lines = []
    for desc, keys, check in TARGETS:
        for key in keys:
            e = m.get(key, {}).get(backend)
            name = "%s/%s/%s" % (key[0], backend, key[1])
            if not e or not e.get("t"):
                why = (e or {}).get("error") or "not run"
                lines.append((None, "%-40s %-44s [%s]" % (name, "n/a (%s)" % why, desc)))
                continue
            try:
                ok, shown = check(e)
            except TypeError:
                ok, shown = None, "n/a"
            lines.append((ok, "%-40s %-44s [%s]" % (name, shown, desc)))
    return lines


def write_chart(m, outdir, backends):
    """Time relative to memcpy per backend and case: chart.dat, chart.gp, chart.svg."""
    dat = os.path.join(outdir, "chart.dat")
    with open(dat, "w") as f:
        f.write("# case " + " ".join(backends) + "\n")
        for (kernel, shape), rows in m.items():
            vals = []
            for b in backends:
                e = rows.get(b)
                vals.append("%.4f" % e["x_memcpy"] if e and e.get("x_memcpy") else "?")
            f.write("%s/%s %s\n" % (kernel, shape, " ".join(vals)))
    gp = os.path.join(outdir, "chart.gp")
    # Paths relative to outdir (gnuplot runs there), so the directory can be moved or shared.
    cols = " , ".join("'chart.dat' using %d:xtic(1) title '%s'" % (i + 2, b) if i == 0 else
                      "'' using %d title '%s'" % (i + 2, b) for i, b in enumerate(backends))
    with open(gp, "w") as f:
        f.write("""set terminal svg size 1600,700 dynamic font 'sans,11'
set termoption noenhanced
set output '%s'
set title 'codelay: time relative to memcpy of the same output bytes (lower is better; 1 = memcpy)'
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set datafile missing '?'
set logscale y
set yrange [0.1:*]
set grid ytics
set ylabel 'time / memcpy time'
set xtics rotate by -40 font ',9'
set key top left
set arrow from graph 0, first 1 to graph 1, first 1 nohead lw 2 dt 2
plot %s
""" % ("chart.svg", cols))
    gnuplot = shutil.which("gnuplot")
    if not gnuplot:
        return "gnuplot not found (Debian: gnuplot-nox): chart data in %s" % dat
    r = subprocess.run([gnuplot, "chart.gp"], capture_output=True, text=True, cwd=outdir)
    if r.returncode != 0:
        return "gnuplot failed: %s" % r.stderr.strip()[:300]
    return os.path.join(outdir, "chart.svg")


def cmd_report(args):
    runs, ctx = load(args.json)
    m = metrics(runs)
    os.makedirs(args.outdir, exist_ok=True)
    auto = ctx.get("codelay_backend_auto", "?")
    reps = max((len(r["times"]) for r in runs.values()), default=0)
    caches = ", ".join("L%d%s %dK" % (c["level"], "d" if c["type"] == "Data" else
                                      "i" if c["type"] == "Instruction" else "",
                                      c["size"] // 1024) for c in ctx.get("caches", []))
    out = []
    out.append("codelay %s benchmark report  (%s)" % (ctx.get("codelay_version", "?"),
                                                    ctx.get("date", "")))
    out.append("CPU: %s, %s cores @ %s MHz, caches %s, load avg %s" % (
        ctx.get("cpu_model", "?"), ctx.get("num_cpus", "?"), ctx.get("mhz_per_cpu", "?"),
        caches, " ".join("%.2f" % x for x in ctx.get("load_avg", []))))
    out.append("backends supported: %s; auto chose: %s" % (
        ctx.get("codelay_backends_supported", "?"), auto))
    out.append("time: best CPU time of %d interleaved repetitions; GB/s: bytes read + written "
               "per second;\nx memcpy: time / time of a memcpy of the same output bytes; "
               "B/s vs cpy: bytes read+written per second / memcpy's;\nx scalar: speedup over "
               "scalar; paired: the same ratios from alternating bursts (median), realistic "
               "shapes only." % reps)
    md = ["# codelay benchmark report", "",
          "- CPU: %s (%s cores), caches %s" % (ctx.get("cpu_model", "?"),
                                               ctx.get("num_cpus", "?"), caches),
          "- backends supported: %s; `auto` chose **%s**" % (
              ctx.get("codelay_backends_supported", "?"), auto),
          "- best of %d interleaved repetitions; raw data in `bench.json`" % reps, ""]
    for (kernel, shape), rows in m.items():
        label = next((e["label"] for e in rows.values() if e.get("label")), "")
        out.append("")
        out.append("%s / %s   %s" % (kernel, shape, label))
        out.append("  %-9s %11s %9s %10s %12s %10s  %10s %10s" % (
            "backend", "time", "GB/s", "x memcpy", "B/s vs cpy", "x scalar", "pair xcpy",
            "pair xsca"))
        md.append("## %s / %s  `%s`" % (kernel, shape, label))
        md.append("")
        md.append("| backend | time | GB/s | x memcpy | B/s vs memcpy | x scalar | paired x memcpy "
                  "| paired x scalar |")
        md.append("|---|---:|---:|---:|---:|---:|---:|---:|")
        for b in ["memcpy"] + BACKENDS + sorted(set(rows) - set(BACKENDS) - {"memcpy"}):
            e = rows.get(b)
            if e is None:
                continue
            tag = b + ("*" if b == auto else "")
            if not e.get("t"):
                out.append("  %-9s %s" % (tag, "skipped: " + (e.get("error") or "no data")))
                md.append("| %s | skipped: %s | | | | | | |" % (tag, e.get("error") or "no data"))
                continue
            cols = (fmt_time(e["t"]), fmt(e["gbs"], "%.2f"), fmt(e["x_memcpy"], "%.2f"),
                    fmt(e["bw_memcpy"], "%.2f"),
                    "-" if b == "memcpy" else fmt(e["x_scalar"], "%.2f"),
                    fmt(e.get("x_memcpy_paired"), "%.2f", ""),
                    fmt(e.get("x_scalar_paired"), "%.2f", ""))
            out.append("  %-9s %11s %9s %10s %12s %10s  %10s %10s" % ((tag,) + cols))
            md.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % ((tag,) + cols))
        md.append("")
    out.append("")
    out.append("(* = the backend auto chose)")
    out.append("(stream_*: a push does not go through the backend table, so its rows differ only by "
               "noise;\n the callgrind baseline counts the same instructions for every backend)")

    # One line per case for the backend auto chose: the table to paste into an issue note.
    out.append("")
    out.append("summary, auto backend '%s':" % auto)
    out.append("  %-36s %11s %8s %9s %9s %9s" % ("kernel/shape", "time", "GB/s", "x memcpy",
                                                   "x scalar", "paired"))
    md.append("## Summary (backend `%s`)" % auto)
    md.append("")
    md.append("| kernel/shape | time | GB/s | x memcpy | x scalar | paired x memcpy |")
    md.append("|---|---:|---:|---:|---:|---:|")
    for (kernel, shape), rows in m.items():
        e = rows.get(auto)
        if not e or not e.get("t"):
            continue
        cols = ("%s/%s" % (kernel, shape), fmt_time(e["t"]), fmt(e["gbs"], "%.2f"),
                fmt(e["x_memcpy"], "%.2f"), fmt(e["x_scalar"], "%.2f"),
                fmt(e.get("x_memcpy_paired"), "%.2f", ""))
        out.append("  %-36s %11s %8s %9s %9s %9s" % cols)
        md.append("| %s | %s | %s | %s | %s | %s |" % cols)
    md.append("")

    # Targets of issue 4, for the backend auto chose (the best of this machine).
    out.append("")
    out.append("targets (issue 4) for the auto backend '%s':" % auto)
    md.append("## Targets (backend `%s`)" % auto)
    md.append("")
    n_ok = n_bad = 0
    for ok, text in targets(m, auto):
        mark = {True: "met   ", False: "MISSED", None: "n/a   "}[ok]
        n_ok += ok is True
        n_bad += ok is False
        out.append("  %s %s" % (mark, text))
        md.append("- %s `%s`" % (mark.strip(), text))
    out.append("  %d met, %d missed" % (n_ok, n_bad))

    summary = {"context": ctx, "cases": {"%s/%s" % k: v for k, v in m.items()}}
    with open(os.path.join(args.outdir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1, sort_keys=True)
    chart = write_chart(m, args.outdir, [b for b in BACKENDS if any(
        rows.get(b, {}).get("t") for rows in m.values())])
    out.append("")
    out.append("raw JSON: %s" % os.path.abspath(args.json))
    out.append("chart:    %s" % chart)
    text = "\n".join(out) + "\n"
    with open(os.path.join(args.outdir, "report.txt"), "w") as f:
        f.write(text)
    with open(os.path.join(args.outdir, "report.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    sys.stdout.write(text)
    return 0


# --- ratio gate ---------------------------------------------------------------------------------

def read_thresholds(path):
    th = {}
    if not os.path.exists(path):
        return th
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].split()
            if not line:
                continue
            name, mx, mn = line[0], line[1], line[2]
            th[name] = (None if mx == "-" else float(mx), None if mn == "-" else float(mn))
    return th


# Margins of --update: the gate must never flake on a noisy shared 2-core machine, and still
# catch what matters (a kernel falling back to scalar, an extra pass over memory). Measured there
# at load average 8 (4 runs, best of 5 repetitions each): memory-bound kernels (x memcpy < 1.5)
# moved by up to 1.27x between runs, compute-bound ones by up to 1.86x (contention hits their side
# of the ratio harder), x scalar by up to 1.46x. Hence 2x and 3x on x memcpy, 2x on x scalar.
UPDATE_MEMCPY_FACTOR = 2.0
UPDATE_MEMCPY_FACTOR_SLOW = 3.0
SLOW_KERNEL = 1.5  # x memcpy at or above this: compute-bound, the wider margin
# Never below this: kernels far under memcpy's time (regions: a memset of a third of the bytes)
# swing by more than 2x run to run (0.30 then 0.72 for regions/sse41), and a gate on them would
# flake; a slowdown that small is the callgrind gate's to catch.
UPDATE_MEMCPY_FLOOR = 1.5
UPDATE_SCALAR_FACTOR = 0.5


def cmd_ratios(args):
    runs, ctx = load(args.json)
    m = paired_metrics(runs)
    if args.update:
        lines = ["# Ratio gate thresholds (scripts/bench-gate.sh, part b). One line per benchmark:",
                 "#   name  max(time / memcpy time)  min(scalar time / time)   ('-' = not checked)",
                 "# Generated by CODELAY_BENCH_UPDATE=1 scripts/bench-gate.sh from one interleaved",
                 "# run (paired ratios, best of the repetitions) on: %s, with margins so a noisy"
                 % ctx.get("cpu_model", "?"),
                 "# machine does not flake: x memcpy %.1fx (%.1fx where it was >= %.1f; never below"
                 " %.1f), x scalar %.1fx." % (UPDATE_MEMCPY_FACTOR, UPDATE_MEMCPY_FACTOR_SLOW,
                                               SLOW_KERNEL, UPDATE_MEMCPY_FLOOR,
                                               1 / UPDATE_SCALAR_FACTOR),
                 "# Edit by hand to tighten or to add avx512 lines; see docs/benchmarks.md.", ""]
        for (kernel, shape), rows in m.items():
            if not gated(kernel, shape):
                continue
            for b in BACKENDS:
                e = rows.get(b)
                if not e or not e.get("t") or e.get("x_memcpy") is None:
                    continue
                f = UPDATE_MEMCPY_FACTOR if e["x_memcpy"] < SLOW_KERNEL else UPDATE_MEMCPY_FACTOR_SLOW
                mx = max(math.ceil(e["x_memcpy"] * f * 100) / 100, UPDATE_MEMCPY_FLOOR)
                mn = "-"
                # Only demand a speedup that is clearly there; 1.0x-ish backends get no floor.
                if b != "scalar" and e["x_scalar"] and e["x_scalar"] >= 1.5:
                    mn = "%.2f" % (math.floor(e["x_scalar"] * UPDATE_SCALAR_FACTOR * 100) / 100)
                lines.append("%-42s %7.2f %7s" % ("%s/%s/%s" % (kernel, b, shape), mx, mn))
        with open(args.thresholds, "w") as f:
            f.write("\n".join(lines) + "\n")
        print("bench-gate ratios: wrote %s" % args.thresholds)
        return 0

    th = read_thresholds(args.thresholds)
    fails = checked = skipped = 0
    for name, (mx, mn) in sorted(th.items()):
        kernel, backend, shape = split(name)
        e = m.get((kernel, shape), {}).get(backend)
        if e is None:
            print("  FAIL %-42s not in this run (renamed or removed? refresh thresholds)" % name)
            fails += 1
            continue
        if not e.get("t"):
            if e.get("error") and UNSUPPORTED in e["error"]:
                skipped += 1
                continue
            print("  FAIL %-42s %s" % (name, e.get("error")))
            fails += 1
            continue
        bad = []
        if mx is not None and (e["x_memcpy"] is None or e["x_memcpy"] > mx):
            bad.append("x memcpy %s > %.2f" % (fmt(e["x_memcpy"], "%.2f"), mx))
        if mn is not None and (e["x_scalar"] is None or e["x_scalar"] < mn):
            bad.append("x scalar %s < %.2f" % (fmt(e["x_scalar"], "%.2f"), mn))
        checked += 1
        status = "FAIL" if bad else "ok  "
        fails += bool(bad)
        print("  %s %-42s x memcpy %6s (max %s)  x scalar %6s (min %s)%s" % (
            status, name, fmt(e["x_memcpy"], "%.2f"), fmt(mx, "%.2f"), fmt(e["x_scalar"], "%.2f"),
            fmt(mn, "%.2f"), ("   <- " + "; ".join(bad)) if bad else ""))
    for (kernel, shape), rows in m.items():
        for b, e in rows.items():
            name = "%s/%s/%s" % (kernel, b, shape)
            if gated(kernel, shape) and e.get("t") and name not in th:
                print("  note %-42s measured but has no threshold (not gated)" % name)
    print("bench-gate ratios: %d checked, %d failed, %d skipped (backend not supported here)" %
          (checked, fails, skipped))
    return 1 if fails else 0


def cmd_filter(args):
    # The paired family (bench_main.c) of the realistic shapes, every backend (plain regex: no
    # look-ahead, whichever regex engine libbenchmark was built with).
    print("^paired_(delay|undelay|weights|regions)/[a-z0-9]+/(moshi|logits|dia|dsm)_[a-z0-9_]+$")
    return 0


# --- callgrind gate -----------------------------------------------------------------------------

RISE_LIMIT = 0.03  # fail when instructions per element rise by more than 3%


def read_dumps(d):
    res = {}
    for path in glob.glob(os.path.join(d, "cg.out.*")):
        label = summary = None
        with open(path, errors="replace") as f:
            for line in f:
                if line.startswith("desc: Trigger: Client Request: "):
                    label = line[len("desc: Trigger: Client Request: "):].strip()
                elif line.startswith("summary:"):
                    summary = int(line.split()[1])
                if line.startswith("fn=") or line.startswith("ob="):
                    break  # the header is over
        if not label or summary is None:
            continue
        mt = re.match(r"(\S+) elements=(\d+) reps=(\d+)$", label)
        if mt:
            res[mt.group(1)] = (int(mt.group(2)), int(mt.group(3)), summary)
    return res


def cmd_callgrind(args):
    res = read_dumps(args.dumpdir)
    if not res:
        print("bench-gate callgrind: FAIL: no measurements in %s" % args.dumpdir)
        return 1
    if args.update:
        with open(args.baseline, "w") as f:
            f.write("# codelay callgrind baseline (scripts/bench-gate.sh, part a): instructions "
                    "(Ir) of the measured calls\n")
            f.write("# of bench/callgrind/cg_driver.c on the gate shapes of bench/cases.c. "
                    "Refresh on purpose only:\n")
            f.write("#   CODELAY_BENCH_UPDATE=1 scripts/bench-gate.sh   (see docs/benchmarks.md)\n")
            f.write("toolchain %s\n" % args.toolchain)
            f.write("# name elements reps Ir Ir_per_element\n")
            for name in sorted(res):
                e, r, ir = res[name]
                f.write("%s %d %d %d %.4f\n" % (name, e, r, ir, ir / (e * r)))
        print("bench-gate callgrind: wrote %s (%d entries)" % (args.baseline, len(res)))
        return 0

    base = {}
    base_tc = None
    with open(args.baseline) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            if line.startswith("toolchain "):
                base_tc = line[len("toolchain "):].strip()
                continue
            p = line.split()
            base[p[0]] = (int(p[1]), int(p[2]), int(p[3]))
    if base_tc != args.toolchain:
        print("bench-gate callgrind: SKIP: the baseline was recorded with '%s', this is '%s'; "
              "instruction counts are only comparable with the same compiler, glibc and valgrind."
              " Refresh on purpose: CODELAY_BENCH_UPDATE=1 scripts/bench-gate.sh" %
              (base_tc, args.toolchain))
        return 0
    fails = 0
    for name in sorted(set(base) | set(res)):
        if name not in res:
            print("  skip %-44s not measured here (backend not supported)" % name)
            continue
        e, r, ir = res[name]
        per = ir / (e * r)
        if name not in base:
            print("  new  %-44s %10.3f Ir/elem   no baseline entry: refresh the baseline" % (
                name, per))
            continue
        be, br, bir = base[name]
        if (be, br) != (e, r):
            print("  FAIL %-44s shape changed (%d x %d elements, baseline %d x %d): refresh" % (
                name, e, r, be, br))
            fails += 1
            continue
        bper = bir / (be * br)
        change = per / bper - 1.0
        if change > RISE_LIMIT:
            status = "FAIL"
            fails += 1
        elif change < -RISE_LIMIT:
            status = "good"  # faster: refresh the baseline to lock the gain in
        else:
            status = "ok  "
        print("  %s %-44s %10.3f Ir/elem  baseline %10.3f  %+6.1f%%" % (
            status, name, per, bper, 100 * change))
    print("bench-gate callgrind: %d measured, %d failed (limit +%.0f%% instructions per element)"
          % (len(res), fails, 100 * RISE_LIMIT))
    return 1 if fails else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("report")
    p.add_argument("json")
    p.add_argument("outdir")
    p = sub.add_parser("ratios")
    p.add_argument("json")
    p.add_argument("thresholds")
    p.add_argument("--update", action="store_true")
    p = sub.add_parser("callgrind")
    p.add_argument("dumpdir")
    p.add_argument("baseline")
    p.add_argument("--toolchain", required=True)
    p.add_argument("--update", action="store_true")
    sub.add_parser("filter")
    args = ap.parse_args()
    return {"report": cmd_report, "ratios": cmd_ratios, "callgrind": cmd_callgrind,
            "filter": cmd_filter}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
