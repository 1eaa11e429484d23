/*
 * The C side of the Python overhead measurement: codelay_delay on the Moshi fine-tuning batch
 * [16, 17, 1250] int64, and a one-frame [1, 17, 1] call (the fixed cost). Built as a shared
 * object that bench_overhead.py loads, so C and Python rounds alternate in one process under
 * the same machine load; `main` also lets it run alone.
 */
#define _POSIX_C_SOURCE 199309L

#include "codelay.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { B = 16, K = 17, T = 1250 };

static codelay_pattern *pat;
static int64_t *xs, *ys;
static int64_t fill[K];

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec * 1e-3;
}

static int setup(void) {
  static const int64_t delays[K] = {0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1};
  if (pat) return 0;
  for (int k = 0; k < K; k++)
    fill[k] = k ? 2048 : 32000;
  xs = malloc(sizeof(int64_t) * B * K * T);
  ys = malloc(sizeof(int64_t) * B * K * T);
  if (!xs || !ys || codelay_pattern_create(&pat, K, delays, 0)) return -1;
  for (long i = 0; i < (long)B * K * T; i++)
    xs[i] = (i * 7919) % 2048;
  return 0;
}

/* Best time per call in microseconds over `repeats` runs of `iters` calls; -1 on error. */
double bench_delay_best(int big, int iters, int repeats) {
  if (setup()) return -1;
  codelay_view src = codelay_view_kt(xs, CODELAY_I64, big ? B : 1, K, big ? T : 1, 1);
  codelay_view dst = codelay_view_kt(ys, CODELAY_I64, big ? B : 1, K, big ? T : 1, 1);
  double best = 1e30;
  for (int r = 0; r < repeats; r++) {
    double t0 = now_us();
    for (int i = 0; i < iters; i++)
      if (codelay_delay(pat, &src, &dst, fill, fill, NULL) != CODELAY_OK) return -1;
    double t = (now_us() - t0) / iters;
    if (t < best) best = t;
  }
  return best;
}

int main(void) {
  bench_delay_best(1, 20, 1); /* warm up: pages, caches, dispatch */
  printf("backend=%s\n", codelay_backend_name());
  printf("c_big_us=%.3f\n", bench_delay_best(1, 50, 15));
  printf("c_small_us=%.4f\n", bench_delay_best(0, 20000, 15));
  return 0;
}
