/*
 * codelay's benchmarks: every case of cases.c x every backend name, plus the paired memcpy of the
 * same output bytes (the physical limit), registered through the C shim over Google Benchmark.
 * Names are kernel/backend/shape (e.g. delay/avx2/moshi_kt_i64, delay/memcpy/moshi_kt_i64), and
 * paired_kernel/backend/shape for the in-run ratios of the realistic shapes (bm_paired).
 * A backend this build or CPU cannot run is skipped with an error message, so the set of names is
 * the same on every machine. Exit status 1 if any supported benchmark failed (the CTest smoke).
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "cases.h"
#include "gbench_shim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const k_backends[] = {"scalar", "sse41", "avx2", "avx512", "neon"};
#define N_BACKENDS (sizeof k_backends / sizeof k_backends[0])

typedef struct reg {
  size_t ci;
  const char *backend; /* NULL: the paired memcpy */
  int paired;          /* the paired_<kernel> family: in-run ratios, see bm_paired */
  char name[96];
  char label[96]; /* the shape, for the report */
} reg;

static bc_inst *g_inst;
static int *g_inst_state; /* 0 not set up, 1 ready, -1 failed */
static int g_failures;

/* Cases are set up on first use and kept: random interleaving revisits them in any order. */
static bc_inst *get_inst(clb_state *st, size_t ci) {
  if (g_inst_state[ci] == 0) {
    int rc = bc_setup(&g_inst[ci], &bc_cases[ci], 0);
    g_inst_state[ci] = rc == CODELAY_OK ? 1 : -1;
    if (rc != CODELAY_OK) {
      fprintf(stderr, "codelay_bench: set-up of %s/%s failed: %s\n", bc_cases[ci].kernel,
              bc_cases[ci].shape, codelay_status_string(rc));
      bc_free(&g_inst[ci]);
    }
  }
  if (g_inst_state[ci] < 0) {
    g_failures++;
    clb_skip_with_error(st, "set-up failed");
    return NULL;
  }
  return &g_inst[ci];
}

static int is_stream(const bc_case *c) {
  return c->op == BC_STREAM_DELAY || c->op == BC_STREAM_UNDELAY;
}

/* Streaming pushes take nanoseconds: run them in batches so the loop's own cost stays small. */
enum { STREAM_BATCH = 64 };

static void finish(clb_state *st, const bc_inst *in, size_t read, size_t write) {
  int64_t it = clb_iterations(st);
  clb_set_bytes_processed(st, it * (int64_t)(read + write));
  clb_set_counter(st, "read_bytes", (double)read, CLB_COUNTER_DEFAULT);
  clb_set_counter(st, "write_bytes", (double)write, CLB_COUNTER_DEFAULT);
  clb_set_counter(st, "elements", (double)in->elements, CLB_COUNTER_DEFAULT);
}

static void bm_kernel(clb_state *st, void *arg) {
  const reg *r = arg;
  if (!codelay_backend_supported(r->backend)) {
    clb_skip_with_error(st, "backend not supported by this build or CPU");
    return;
  }
  bc_inst *in = get_inst(st, r->ci);
  if (!in) return;
  int rc = codelay_backend_select(r->backend);
  if (rc == CODELAY_OK) rc = bc_run(in); /* warm-up, and the one checked call */
  if (rc != CODELAY_OK) {
    g_failures++;
    clb_skip_with_error(st, codelay_status_string(rc));
    codelay_backend_select("auto");
    return;
  }
  if (is_stream(in->c)) {
    while (clb_keep_running_batch(st, STREAM_BATCH))
      for (int i = 0; i < STREAM_BATCH; i++)
        bc_run(in);
  } else {
    while (clb_keep_running(st))
      bc_run(in);
  }
  finish(st, in, in->read_bytes, in->write_bytes);
  clb_set_label(st, r->label);
  codelay_backend_select("auto");
}

static void bm_memcpy(clb_state *st, void *arg) {
  const reg *r = arg;
  bc_inst *in = get_inst(st, r->ci);
  if (!in) return;
  bc_memcpy(in);
  if (is_stream(in->c)) {
    while (clb_keep_running_batch(st, STREAM_BATCH))
      for (int i = 0; i < STREAM_BATCH; i++) {
        bc_memcpy(in);
        clb_clobber_memory();
      }
  } else {
    while (clb_keep_running(st)) {
      bc_memcpy(in);
      clb_clobber_memory();
    }
  }
  size_t bytes = in->cpy_bytes[0] + in->cpy_bytes[1];
  finish(st, in, bytes, bytes);
  clb_set_label(st, r->label);
}

/*
 * The paired_<kernel>/<backend>/<shape> family: in-run ratios that a busy machine cannot fool.
 * Each iteration times, back to back and in rotating order, a burst of the kernel on <backend>, a
 * burst of the paired memcpy and (for SIMD backends) a burst of the kernel on scalar, each after
 * one untimed warm-up call and with the thread's CPU clock (time spent descheduled by other
 * processes is not counted). The counters
 * x_memcpy = t_kernel / t_memcpy and x_scalar = t_scalar / t_kernel are the medians of the
 * per-iteration ratios: interference that lasts longer than one iteration hits both sides alike.
 */
static double thread_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, size_t n) {
  if (n == 0) return 0.0;
  qsort(v, n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

enum { MAX_SAMPLES = 4096 };
#ifndef PAIRED_BURST_NS
#define PAIRED_BURST_NS 200e3 /* long enough to warm the caches, short enough for many samples */
#endif
static double g_xm[MAX_SAMPLES], g_xs[MAX_SAMPLES], g_tk[MAX_SAMPLES], g_tm[MAX_SAMPLES],
    g_ts[MAX_SAMPLES];

/*
 * One timed burst: what = 0 kernel on backend, 1 memcpy, 2 kernel on scalar. One untimed call
 * first, so each side is timed with its working set in cache whatever ran before (on a busy
 * machine a long burst of the other side, or another process, may have evicted it): the
 * comparison is hot against hot, as in the plain benchmarks.
 */
static double burst(bc_inst *in, int what, const char *backend, int reps) {
  if (what != 1) codelay_backend_select(what == 0 ? backend : "scalar");
  double t0 = 0;
  for (int i = -1; i < reps; i++) {
    if (i == 0) t0 = thread_ns();
    if (what == 1) {
      bc_memcpy(in);
      clb_clobber_memory();
    } else {
      bc_run(in);
    }
  }
  return (thread_ns() - t0) / reps;
}

static void bm_paired(clb_state *st, void *arg) {
  const reg *r = arg;
  if (!codelay_backend_supported(r->backend)) {
    clb_skip_with_error(st, "backend not supported by this build or CPU");
    return;
  }
  bc_inst *in = get_inst(st, r->ci);
  if (!in) return;
  int rc = codelay_backend_select(r->backend);
  if (rc == CODELAY_OK) rc = bc_run(in);
  if (rc == CODELAY_OK) rc = codelay_backend_select("scalar");
  if (rc == CODELAY_OK) rc = bc_run(in);
  if (rc != CODELAY_OK) {
    g_failures++;
    clb_skip_with_error(st, codelay_status_string(rc));
    codelay_backend_select("auto");
    return;
  }
  bc_memcpy(in);
  /* Bursts of at least PAIRED_BURST_NS: the clock (a system call) costs well below 1%. */
  double t1 = burst(in, 1, r->backend, 1);
  int reps = t1 > 0 ? (int)(PAIRED_BURST_NS / t1) + 1 : 1;
  if (reps > 10000) reps = 10000;
  const int with_scalar = strcmp(r->backend, "scalar") != 0;
  const int n_parts = with_scalar ? 3 : 2;
  size_t n = 0;
  int64_t it = 0;
  while (clb_keep_running(st)) {
    double t[3] = {0, 0, 0};
    for (int j = 0; j < n_parts; j++) {
      int what = (int)((it + j) % n_parts);
      t[what] = burst(in, what, r->backend, reps);
    }
    it++;
    if (n < MAX_SAMPLES && t[0] > 0 && t[1] > 0) {
      g_xm[n] = t[0] / t[1];
      g_xs[n] = with_scalar ? t[2] / t[0] : 1.0;
      g_tk[n] = t[0];
      g_tm[n] = t[1];
      g_ts[n] = with_scalar ? t[2] : t[0];
      n++;
    }
  }
  codelay_backend_select("auto");
  /* Also the ratios of the best bursts (the medians sort the arrays: take minima first). */
  double mk = 0, mm = 0, ms = 0;
  for (size_t i = 0; i < n; i++) {
    if (i == 0 || g_tk[i] < mk) mk = g_tk[i];
    if (i == 0 || g_tm[i] < mm) mm = g_tm[i];
    if (i == 0 || g_ts[i] < ms) ms = g_ts[i];
  }
  clb_set_counter(st, "x_memcpy_best", mm > 0 ? mk / mm : 0, CLB_COUNTER_DEFAULT);
  clb_set_counter(st, "x_scalar_best", mk > 0 ? ms / mk : 0, CLB_COUNTER_DEFAULT);
  clb_set_counter(st, "x_memcpy", median(g_xm, n), CLB_COUNTER_DEFAULT);
  clb_set_counter(st, "x_scalar", median(g_xs, n), CLB_COUNTER_DEFAULT);
  clb_set_counter(st, "t_kernel_ns", median(g_tk, n), CLB_COUNTER_DEFAULT);
  clb_set_counter(st, "t_memcpy_ns", median(g_tm, n), CLB_COUNTER_DEFAULT);
  clb_set_counter(st, "samples", (double)n, CLB_COUNTER_DEFAULT);
  clb_set_label(st, r->label);
}

/* The paired family covers the realistic shapes (bench/benchtool.py's gate list). */
static int paired_case(const bc_case *c) {
  return c->op != BC_STREAM_DELAY && c->op != BC_STREAM_UNDELAY &&
         strncmp(c->shape, "small_", 6) != 0;
}

static const char *dtype_name(int32_t dt) {
  switch (dt) {
  case CODELAY_U8:
    return "u8";
  case CODELAY_I16:
    return "i16";
  case CODELAY_I32:
    return "i32";
  case CODELAY_I64:
    return "i64";
  case CODELAY_F32:
    return "f32";
  default:
    return "?";
  }
}

/* "[16,17,1250] i64->i32 KT +mask", "[1,17] i64 frame" */
static void describe(char *buf, size_t n, const bc_case *c) {
  if (c->op == BC_STREAM_DELAY || c->op == BC_STREAM_UNDELAY) {
    snprintf(buf, n, "[%lld,%lld] %s frame", (long long)c->batch, (long long)c->streams,
             dtype_name(c->dst_dtype));
    return;
  }
  char shape[64];
  if (c->inner > 1)
    snprintf(shape, sizeof shape, "[%lld,%lld,%lld,%lld]", (long long)c->batch,
             (long long)c->streams, (long long)c->steps, (long long)c->inner);
  else if (c->layout == BC_TK)
    snprintf(shape, sizeof shape, "[%lld,%lld,%lld]", (long long)c->batch, (long long)c->steps,
             (long long)c->streams);
  else
    snprintf(shape, sizeof shape, "[%lld,%lld,%lld]", (long long)c->batch, (long long)c->streams,
             (long long)c->steps);
  snprintf(buf, n, "%s %s->%s %s%s%s", shape, dtype_name(c->src_dtype), dtype_name(c->dst_dtype),
           c->layout == BC_TK ? "TK" : "KT", c->in_place ? " in-place" : "",
           c->with_mask ? " +mask" : "");
}

/* The CPU model, for the report (Linux; "unknown" elsewhere). */
static void cpu_model(char *buf, size_t n) {
  snprintf(buf, n, "unknown");
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (!f) return;
  char line[512];
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "model name", 10) == 0 || strncmp(line, "Model", 5) == 0) {
      char *v = strchr(line, ':');
      if (!v) continue;
      v++;
      while (*v == ' ' || *v == '\t')
        v++;
      v[strcspn(v, "\n")] = 0;
      snprintf(buf, n, "%s", v);
      break;
    }
  }
  fclose(f);
}

int main(int argc, char **argv) {
  if (clb_initialize(&argc, argv)) return 2;

  char buf[512];
  cpu_model(buf, sizeof buf);
  clb_add_context("cpu_model", buf);
  /* The backend in effect at start (CODELAY_BACKEND may force one), and what auto picks. */
  clb_add_context("codelay_backend_default", codelay_backend_name());
  codelay_backend_select("auto");
  clb_add_context("codelay_backend_auto", codelay_backend_name());
  buf[0] = 0;
  for (size_t b = 0; b < N_BACKENDS; b++)
    if (codelay_backend_supported(k_backends[b])) {
      if (buf[0]) strcat(buf, ",");
      strcat(buf, k_backends[b]);
    }
  clb_add_context("codelay_backends_supported", buf);
  uint32_t v = codelay_version();
  snprintf(buf, sizeof buf, "%u.%u.%u", v >> 16, (v >> 8) & 0xff, v & 0xff);
  clb_add_context("codelay_version", buf);

  size_t n_regs = bc_n_cases * (2 * N_BACKENDS + 1);
  reg *regs = calloc(n_regs, sizeof *regs);
  g_inst = calloc(bc_n_cases, sizeof *g_inst);
  g_inst_state = calloc(bc_n_cases, sizeof *g_inst_state);
  if (!regs || !g_inst || !g_inst_state) return 2;
  size_t i = 0;
  for (int paired = 0; paired <= 1; paired++) {
    for (size_t ci = 0; ci < bc_n_cases; ci++) {
      const bc_case *c = &bc_cases[ci];
      if (paired && !paired_case(c)) continue;
      for (size_t b = 0; b <= N_BACKENDS; b++) {
        if (paired && b == N_BACKENDS) continue; /* memcpy is inside every paired benchmark */
        reg *r = &regs[i++];
        r->ci = ci;
        r->paired = paired;
        r->backend = b < N_BACKENDS ? k_backends[b] : NULL;
        describe(r->label, sizeof r->label, c);
        snprintf(r->name, sizeof r->name, "%s%s/%s/%s", paired ? "paired_" : "", c->kernel,
                 r->backend ? r->backend : "memcpy", c->shape);
        clb_fn fn = paired ? bm_paired : r->backend ? bm_kernel : bm_memcpy;
        if (clb_register(r->name, fn, r) != 0) return 2;
      }
    }
  }

  clb_run_specified();
  clb_shutdown();

  for (size_t ci = 0; ci < bc_n_cases; ci++)
    if (g_inst_state[ci] > 0) bc_free(&g_inst[ci]);
  bc_free_scratch();
  free(g_inst);
  free(g_inst_state);
  free(regs);
  if (g_failures) {
    fprintf(stderr, "codelay_bench: %d benchmark(s) FAILED (see the error column)\n", g_failures);
    return 1;
  }
  return 0;
}
