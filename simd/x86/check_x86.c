/*
 * x86 kernel checker, built and run by scripts/test-qemu-x86.sh (not part of the library): every
 * x86 table this CPU runs, plus, when built with CL_CHECK_AVX512_EMU, the AVX-512 logic compiled
 * through SIMDe (avx512_simde.c), against the scalar table on random inputs: fill at every length
 * and offset, memmove-style copies at every overlap distance, every integer conversion pair with
 * range errors, TK spans (random K, offsets, lead, delay and undelay, dtype pairs, inner > 1) and
 * loss weights (every token dtype, 0..16 pad ids, ids outside the dtype's range). Outputs, status
 * and the bytes around every output must match scalar exactly.
 */
#include "kernels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rs = 88172645463325252ull;
static uint64_t rnd(void) {
  rs ^= rs << 13;
  rs ^= rs >> 7;
  rs ^= rs << 17;
  return rs;
}
static size_t esz(int dt) {
  return cl_dtype_size(dt);
}
static int fails;
#define FAIL(...)                                                                                  \
  do {                                                                                             \
    if (fails++ < 20) {                                                                            \
      printf(__VA_ARGS__);                                                                         \
      printf("\n");                                                                                \
    }                                                                                              \
  } while (0)

static void fillrand(void *p, size_t bytes) {
  for (size_t i = 0; i < bytes; i++)
    ((uint8_t *)p)[i] = (uint8_t)rnd();
}
/* Random ints that mostly fit dtype dd, stored as dtype sd */
static void fill_ints(void *p, int sd, int dd, size_t n, int allow_bad) {
  for (size_t i = 0; i < n; i++) {
    int64_t v;
    int64_t lo, hi;
    switch (dd) {
    case CODELAY_U8:
      lo = 0;
      hi = 255;
      break;
    case CODELAY_I16:
      lo = INT16_MIN;
      hi = INT16_MAX;
      break;
    case CODELAY_I32:
      lo = INT32_MIN;
      hi = INT32_MAX;
      break;
    default:
      lo = INT64_MIN;
      hi = INT64_MAX;
      break;
    }
    int64_t slo, shi;
    switch (sd) {
    case CODELAY_U8:
      slo = 0;
      shi = 255;
      break;
    case CODELAY_I16:
      slo = INT16_MIN;
      shi = INT16_MAX;
      break;
    case CODELAY_I32:
      slo = INT32_MIN;
      shi = INT32_MAX;
      break;
    default:
      slo = INT64_MIN;
      shi = INT64_MAX;
      break;
    }
    if (lo < slo) lo = slo;
    if (hi > shi) hi = shi;
    uint64_t r = rnd();
    switch (r % 4) {
    case 0:
      v = lo;
      break;
    case 1:
      v = hi;
      break;
    default: {
      uint64_t span = (uint64_t)hi - (uint64_t)lo + 1;
      v = (int64_t)((uint64_t)lo + (span ? rnd() % span : rnd()));
    }
    }
    if (allow_bad) {
      if (slo < lo && rnd() % 2)
        v = lo - 1;
      else if (shi > hi)
        v = hi + 1;
    }
    switch (sd) {
    case CODELAY_U8:
      ((uint8_t *)p)[i] = (uint8_t)v;
      break;
    case CODELAY_I16:
      ((int16_t *)p)[i] = (int16_t)v;
      break;
    case CODELAY_I32:
      ((int32_t *)p)[i] = (int32_t)v;
      break;
    default:
      ((int64_t *)p)[i] = v;
      break;
    }
  }
}

static const int ints[4] = {CODELAY_U8, CODELAY_I16, CODELAY_I32, CODELAY_I64};

static void test_fill(const cl_kernels *k) {
  for (int es = 1; es <= 8; es *= 2)
    for (size_t off = 0; off < 16; off++)
      for (size_t n = 0; n < 300; n += (n < 140 ? 1 : 37)) {
        size_t bytes = n * es;
        uint8_t *a = malloc(bytes + 64 + off), *b = malloc(bytes + 64 + off);
        memset(a, 0x88, bytes + 64 + off);
        memset(b, 0x88, bytes + 64 + off);
        uint64_t v = rnd();
        k->fill(a + 32 + off / es * es, &v, n, es);
        cl_scalar_fill(b + 32 + off / es * es, &v, n, es);
        if (memcmp(a, b, bytes + 64 + off))
          FAIL("%s fill es %d off %zu n %zu", k->name, es, off, n);
        free(a);
        free(b);
      }
}

static void test_copy(const cl_kernels *k) {
  /* memmove semantics, including every overlap distance */
  for (int dt = 0; dt < 4; dt++) {
    size_t es = esz(ints[dt]);
    for (int rep = 0; rep < 3000; rep++) {
      size_t n = rnd() % 400;
      if (rep < 200) n = rep;
      size_t tot = (n + 120) * es;
      uint8_t *a = malloc(tot), *b = malloc(tot);
      fillrand(a, tot);
      memcpy(b, a, tot);
      size_t so = (rnd() % 100) * es, dof = (rnd() % 100) * es;
      if (rnd() % 3 == 0) dof = so + ((rnd() % 12) - 6) * es;
      if (dof > 110 * es) dof = 0;

      int s1 = k->convert(a + dof, ints[dt], a + so, ints[dt], n);
      memmove(b + dof, b + so, n * es);
      if (s1 || memcmp(a, b, tot))
        FAIL("%s copy dt %d n %zu so %zu do %zu", k->name, ints[dt], n, so, dof);
      free(a);
      free(b);
    }
  }
  /* float dtypes */
  int fl[3] = {CODELAY_F16, CODELAY_BF16, CODELAY_F32};
  for (int i = 0; i < 3; i++) {
    size_t n = 1000, es = esz(fl[i]);
    uint8_t *a = malloc(n * es), *b = malloc(n * es), *c = malloc(n * es);
    fillrand(a, n * es);
    k->convert(b, fl[i], a, fl[i], n);
    if (memcmp(a, b, n * es)) FAIL("%s float copy", k->name);
    free(a);
    free(b);
    free(c);
  }
}

static void test_convert(const cl_kernels *k) {
  for (int si = 0; si < 4; si++)
    for (int di = 0; di < 4; di++) {
      if (si == di) continue;
      int sd = ints[si], dd = ints[di];
      for (int rep = 0; rep < 2000; rep++) {
        size_t n = rep < 300 ? (size_t)rep : rnd() % 2000;
        size_t off = rnd() % 8;
        uint8_t *src = malloc(n * esz(sd) + 8 * esz(sd));
        uint8_t *d1 = malloc(n * esz(dd) + 64 + 8), *d2 = malloc(n * esz(dd) + 64 + 8);
        int bad = rep % 3 == 0;
        fill_ints(src + off * esz(sd) * (rep & 1), sd, dd, n, 0);
        if (bad && n) {
          /* one bad value somewhere */
          uint8_t *tmp = malloc(esz(sd));
          fill_ints(tmp, sd, dd, 1, 1);
          memcpy(src + off * esz(sd) * (rep & 1) + (rnd() % n) * esz(sd), tmp, esz(sd));
          free(tmp);
        }
        memset(d1, 0x88, n * esz(dd) + 72);
        memset(d2, 0x88, n * esz(dd) + 72);
        const void *s = src + off * esz(sd) * (rep & 1);
        int r1 = k->convert(d1 + 32, dd, s, sd, n);
        int r2 = cl_scalar_convert(d2 + 32, dd, s, sd, n);
        if (r1 != r2)
          FAIL("%s convert %d->%d n %zu status %d vs %d", k->name, sd, dd, n, r1, r2);
        else if (!r1 && memcmp(d1, d2, n * esz(dd) + 72))
          FAIL("%s convert %d->%d n %zu data", k->name, sd, dd, n);
        else if (r1 &&
                 (memcmp(d1, d2, 32) || memcmp(d1 + 32 + n * esz(dd), d2 + 32 + n * esz(dd), 40)))
          FAIL("%s convert %d->%d n %zu guard on error", k->name, sd, dd, n);
        free(src);
        free(d1);
        free(d2);
      }
    }
}

static void test_tk(const cl_kernels *k) {
  for (int rep = 0; rep < 6000; rep++) {
    int64_t K = 1 + (int64_t)(rnd() % 20);
    if (rep % 5 == 0) K = 9;
    if (rep % 7 == 0) K = 17 + (int64_t)(rnd() % 30);
    int64_t delays[64];
    int mode = (int)(rnd() % 5);
    int64_t maxd = 1 + (int64_t)(rnd() % 20);
    for (int64_t q = 0; q < K; q++) {
      if (mode == 0)
        delays[q] = (int64_t)(rnd() % 2);
      else if (mode == 1)
        delays[q] = q == 0 ? 0 : 7 + q; /* Dia's staircase */
      else if (mode == 4)
        delays[q] = q == 0 ? 3 : K - q; /* a descending staircase */
      else
        delays[q] = (int64_t)(rnd() % (uint64_t)maxd);
    }
    if (mode == 3)
      for (int64_t q = 0; q < K; q++)
        delays[q] = 3;
    int64_t lead = (int64_t)(rnd() % 3);
    codelay_pattern *p;
    if (codelay_pattern_create(&p, K, delays, lead)) abort();
    int64_t inner = rnd() % 6 == 0 ? 1 + (int64_t)(rnd() % 40) : 1;
    int sd = ints[rnd() % 4], dd = sd;
    if (rnd() % 3 == 0) dd = ints[rnd() % 4];
    int sign = rnd() % 2 ? -1 : 1;
    int64_t maxo = p->max_offset, mino = p->min_offset;
    int64_t frames = (int64_t)(rnd() % 60);
    if (rep % 11 == 0) frames = (int64_t)(rnd() % 600);
    int64_t T, first;
    if (sign < 0) {
      first = maxo + (int64_t)(rnd() % 3);
      T = first + frames - mino + (int64_t)(rnd() % 2);
    } else {
      first = (int64_t)(rnd() % 3);
      T = first + frames + maxo + (int64_t)(rnd() % 2);
    }
    (void)mino;
    size_t nsrc = (size_t)(T * K * inner), ndst = (size_t)(frames * K * inner);
    uint8_t *src = malloc(nsrc * esz(sd) + 1);
    fill_ints(src, sd, dd, nsrc, 0);
    if (rnd() % 8 == 0 && nsrc) {
      uint8_t tmp[8];
      fill_ints(tmp, sd, dd, 1, 1);
      memcpy(src + (rnd() % nsrc) * esz(sd), tmp, esz(sd));
    }
    uint8_t *d1 = malloc(ndst * esz(dd) + 64), *d2 = malloc(ndst * esz(dd) + 64);
    memset(d1, 0x88, ndst * esz(dd) + 64);
    memset(d2, 0x88, ndst * esz(dd) + 64);
    cl_tk_args a = {d1 + 32, src, dd, sd, frames, inner, first, sign, p};
    cl_tk_args b = a;
    b.dst = d2 + 32;
    int r1 = k->tk_shift(&a), r2 = cl_scalar_tk_shift(&b);
    if (r1 != r2)
      FAIL("%s tk K %lld inner %lld %d->%d frames %lld sign %d status %d vs %d", k->name,
           (long long)K, (long long)inner, sd, dd, (long long)frames, sign, r1, r2);
    else if (!r1 && memcmp(d1, d2, ndst * esz(dd) + 64))
      FAIL("%s tk K %lld inner %lld %d->%d frames %lld sign %d ng %lld data", k->name, (long long)K,
           (long long)inner, sd, dd, (long long)frames, sign, (long long)p->n_groups);
    free(src);
    free(d1);
    free(d2);
    codelay_pattern_destroy(p);
  }
}

static void test_weights(const cl_kernels *k) {
  for (int rep = 0; rep < 6000; rep++) {
    int dt = ints[rnd() % 4];
    size_t n = rep < 200 ? (size_t)rep : rnd() % 3000;
    size_t nv = rnd() % 2 ? n : (n ? rnd() % (n + 1) : 0);
    uint8_t *tok = malloc(n * esz(dt) + 1);
    int64_t ids[16];
    int nids = (int)(rnd() % 17);
    for (int q = 0; q < nids; q++)
      ids[q] = (int64_t)(rnd() % 8) - 2 + (rnd() % 5 == 0 ? 300 : 0) +
               (rnd() % 9 == 0 ? (int64_t)1 << 33 : 0);
    int64_t ign = (int64_t)(rnd() % 6) - 2;
    if (rnd() % 5 == 0) ign += (int64_t)1 << 32;
    for (size_t i = 0; i < n; i++) {
      int64_t v = (int64_t)(rnd() % 8) - 2;
      if (rnd() % 10 == 0) v += 300;
      if (rnd() % 17 == 0) v += (int64_t)1 << 32;
      if (dt == CODELAY_U8) ((uint8_t *)tok)[i] = (uint8_t)v;
      if (dt == CODELAY_I16) ((int16_t *)tok)[i] = (int16_t)v;
      if (dt == CODELAY_I32) ((int32_t *)tok)[i] = (int32_t)v;
      if (dt == CODELAY_I64) ((int64_t *)tok)[i] = v;
    }
    float *w1 = malloc(n * 4 + 64), *w2 = malloc(n * 4 + 64);
    memset(w1, 0x88, n * 4 + 64);
    memset(w2, 0x88, n * 4 + 64);
    cl_weights_args a = {
        w1 + 8,           tok, dt, nids, n, nv, 0.37f * (float)(rnd() % 300), 0.5f, ids,
        (int)(rnd() % 2), ign};
    cl_weights_args b = a;
    b.dst = w2 + 8;
    double s1 = k->weights(&a), s2 = cl_scalar_weights(&b);
    if (s1 != s2 || memcmp(w1, w2, n * 4 + 64))
      FAIL("%s weights dt %d n %zu nv %zu nids %d: %.17g vs %.17g", k->name, dt, n, nv, nids, s1,
           s2);
    free(tok);
    free(w1);
    free(w2);
  }
}

#if defined(CL_CHECK_AVX512_EMU)
extern const cl_kernels cl_kernels_avx512_emu;
#endif

int main(void) {
  const cl_kernels *tabs[8];
  int nt = 0;
#if defined(CODELAY_HAVE_SSE41)
  if (codelay_backend_supported("sse41")) tabs[nt++] = &cl_kernels_sse41;
#endif
#if defined(CODELAY_HAVE_AVX2)
  if (codelay_backend_supported("avx2")) tabs[nt++] = &cl_kernels_avx2;
#endif
#if defined(CODELAY_HAVE_AVX512)
  if (codelay_backend_supported("avx512")) tabs[nt++] = &cl_kernels_avx512;
#endif
#if defined(CL_CHECK_AVX512_EMU)
  tabs[nt++] = &cl_kernels_avx512_emu;
#endif
  for (int t = 0; t < nt; t++) {
    const cl_kernels *k = tabs[t];
    int f0 = fails;
    test_fill(k);
    test_copy(k);
    test_convert(k);
    test_tk(k);
    test_weights(k);
    printf("check_x86: %s%s: %d failures\n", k->name,
#if defined(CL_CHECK_AVX512_EMU)
           k == &cl_kernels_avx512_emu ? " (through SIMDe)" :
#endif
                                       "",
           fails - f0);
  }
  return fails != 0;
}
