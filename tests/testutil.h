/*
 * Shared helpers of the Check suites: a deterministic RNG, dtype access, guarded strided views
 * (every byte outside the view is a known sentinel and checked after each call), and a
 * deliberately naive reference of SPEC §1 that walks every element through one generic index
 * function. Everything is static inline so each suite includes what it uses.
 */
#ifndef CODELAY_TESTUTIL_H
#define CODELAY_TESTUTIL_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* posix_memalign, strtok_r, pthreads */
#endif

#include "codelay.h"

#include <check.h>
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- suites of the runner ---- */
Suite *golden_suite(void);
Suite *differential_suite(void);
Suite *roundtrip_suite(void);
Suite *guards_suite(void);
Suite *badinput_suite(void);
Suite *backends_suite(void);
Suite *stream_suite(void);

/*
 * Check's ck_assert_* report every *passing* assertion to the parent process (one write() per
 * check in fork mode): far too slow inside loops over millions of elements. T_ASSERT only calls
 * into Check when the condition fails.
 */
#define T_ASSERT(cond, ...)                                                                        \
  do {                                                                                             \
    if (!(cond)) ck_abort_msg(__VA_ARGS__);                                                        \
  } while (0)

/* ------------------------------------------------------------------------------ RNG ---- */
typedef struct trng {
  uint64_t s;
} trng;

static inline uint64_t trng_next(trng *r) { /* splitmix64: tiny, full period, good enough */
  uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static inline trng trng_seeded(uint64_t seed) {
  trng r = {seed * 0x2545F4914F6CDD1Dull + 0x1234567ull};
  trng_next(&r);
  return r;
}

/* Uniform in [lo, hi] (inclusive), any int64 bounds. */
static inline int64_t trng_range(trng *r, int64_t lo, int64_t hi) {
  uint64_t span = (uint64_t)hi - (uint64_t)lo;
  uint64_t x = trng_next(r);
  if (span == UINT64_MAX) return (int64_t)x;
  return (int64_t)((uint64_t)lo + x % (span + 1));
}

static inline int trng_chance(trng *r, int percent) {
  return (int)(trng_next(r) % 100) < percent;
}

/* The base seed of every randomized suite: CODELAY_TEST_SEED overrides it. */
static inline uint64_t t_base_seed(void) {
  const char *e = getenv("CODELAY_TEST_SEED");
  if (e && *e) return strtoull(e, NULL, 0);
  return 20261126ull;
}

/* ----------------------------------------------------------------------------- dtypes ---- */
static const int32_t t_int_dtypes[4] = {CODELAY_U8, CODELAY_I16, CODELAY_I32, CODELAY_I64};
static const int32_t t_float_dtypes[3] = {CODELAY_F16, CODELAY_BF16, CODELAY_F32};
static const int32_t t_all_dtypes[7] = {CODELAY_U8,  CODELAY_I16,  CODELAY_I32, CODELAY_I64,
                                        CODELAY_F16, CODELAY_BF16, CODELAY_F32};

static inline size_t t_esize(int32_t dt) {
  switch (dt) {
  case CODELAY_U8:
    return 1;
  case CODELAY_I16:
  case CODELAY_F16:
  case CODELAY_BF16:
    return 2;
  case CODELAY_I32:
  case CODELAY_F32:
    return 4;
  case CODELAY_I64:
    return 8;
  default:
    return 0;
  }
}

static inline int t_is_int(int32_t dt) {
  return dt == CODELAY_U8 || dt == CODELAY_I16 || dt == CODELAY_I32 || dt == CODELAY_I64;
}

static inline const char *t_dtype_name(int32_t dt) {
  switch (dt) {
  case CODELAY_U8:
    return "u8";
  case CODELAY_I16:
    return "i16";
  case CODELAY_I32:
    return "i32";
  case CODELAY_I64:
    return "i64";
  case CODELAY_F16:
    return "f16";
  case CODELAY_BF16:
    return "bf16";
  case CODELAY_F32:
    return "f32";
  default:
    return "?";
  }
}

static inline void t_int_range(int32_t dt, int64_t *lo, int64_t *hi) {
  switch (dt) {
  case CODELAY_U8:
    *lo = 0, *hi = 255;
    break;
  case CODELAY_I16:
    *lo = INT16_MIN, *hi = INT16_MAX;
    break;
  case CODELAY_I32:
    *lo = INT32_MIN, *hi = INT32_MAX;
    break;
  default:
    *lo = INT64_MIN, *hi = INT64_MAX;
    break;
  }
}

static inline int t_fits(int64_t v, int32_t dt) {
  int64_t lo, hi;
  t_int_range(dt, &lo, &hi);
  return v >= lo && v <= hi;
}

/*
 * A cell value as int64: the integer value for integer dtypes, the raw bits (zero-extended) for
 * float dtypes, which are only ever copied bit for bit.
 */
static inline int64_t t_getv(const void *p, int32_t dt) {
  switch (dt) {
  case CODELAY_U8: {
    uint8_t v;
    memcpy(&v, p, 1);
    return v;
  }
  case CODELAY_I16: {
    int16_t v;
    memcpy(&v, p, 2);
    return v;
  }
  case CODELAY_I32: {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
  }
  case CODELAY_I64: {
    int64_t v;
    memcpy(&v, p, 8);
    return v;
  }
  case CODELAY_F16:
  case CODELAY_BF16: {
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
  }
  case CODELAY_F32: {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
  }
  default:
    return 0;
  }
}

static inline void t_setv(void *p, int32_t dt, int64_t v) {
  switch (dt) {
  case CODELAY_U8: {
    uint8_t x = (uint8_t)v;
    memcpy(p, &x, 1);
    break;
  }
  case CODELAY_I16:
  case CODELAY_F16:
  case CODELAY_BF16: {
    uint16_t x = (uint16_t)v;
    memcpy(p, &x, 2);
    break;
  }
  case CODELAY_I32:
  case CODELAY_F32: {
    uint32_t x = (uint32_t)v;
    memcpy(p, &x, 4);
    break;
  }
  case CODELAY_I64:
    memcpy(p, &v, 8);
    break;
  default:
    break;
  }
}

/* Random value of dtype dt: integers often at the edges of dt's range, floats any bit pattern
 * (NaNs with payloads, infinities, signed zeros included). */
static inline int64_t t_rand_value(trng *r, int32_t dt) {
  if (!t_is_int(dt)) {
    uint64_t x = trng_next(r);
    if (dt == CODELAY_F32) {
      static const uint32_t special[] = {0x7FC00000u, 0xFFC00001u, 0x7F800001u, 0x7F800000u,
                                         0xFF800000u, 0x80000000u, 0u,          0x3F800000u};
      if (x % 8 == 0) return special[(x >> 8) % 8];
      return (int64_t)(uint32_t)(x >> 16);
    }
    return (int64_t)(uint16_t)(x >> 24);
  }
  int64_t lo, hi;
  t_int_range(dt, &lo, &hi);
  uint64_t pick = trng_next(r) % 16;
  if (pick == 0) return lo;
  if (pick == 1) return hi;
  if (pick == 2) return dt == CODELAY_U8 ? 1 : -1;
  if (pick == 3) return 0;
  if (pick < 8) return trng_range(r, lo > -300 ? lo : -300, hi < 300 ? hi : 300);
  return trng_range(r, lo, hi);
}

/* Random integer of dtype src that fits dtype dst (both integer), biased to dst's edges. */
static inline int64_t t_rand_fitting(trng *r, int32_t src, int32_t dst) {
  int64_t slo, shi, dlo, dhi;
  t_int_range(src, &slo, &shi);
  t_int_range(dst, &dlo, &dhi);
  int64_t lo = slo > dlo ? slo : dlo, hi = shi < dhi ? shi : dhi;
  uint64_t pick = trng_next(r) % 12;
  if (pick == 0) return lo;
  if (pick == 1) return hi;
  if (pick < 6) return trng_range(r, lo > -1000 ? lo : -1000, hi < 1000 ? hi : 1000);
  return trng_range(r, lo, hi);
}

/* Random integer of dtype src that does NOT fit dst (caller checks that one exists). */
static inline int64_t t_rand_unfitting(trng *r, int32_t src, int32_t dst) {
  int64_t slo, shi, dlo, dhi;
  t_int_range(src, &slo, &shi);
  t_int_range(dst, &dlo, &dhi);
  for (;;) {
    int64_t v;
    uint64_t pick = trng_next(r) % 4;
    if (pick == 0 && dhi < shi)
      v = dhi + 1;
    else if (pick == 1 && dlo > slo)
      v = dlo - 1;
    else
      v = trng_range(r, slo, shi);
    if (!t_fits(v, dst)) return v;
  }
}

static inline int t_can_overflow(int32_t src, int32_t dst) {
  int64_t slo, shi, dlo, dhi;
  t_int_range(src, &slo, &shi);
  t_int_range(dst, &dlo, &dhi);
  return slo < dlo || shi > dhi;
}

/* ----------------------------------------------------------------- guarded views ---- */
enum { TL_KT = 0, TL_TK = 1, TL_STRIDED = 2 };
#define T_GUARD 64

/* A view inside a sentinel-filled allocation; inview marks the bytes the view covers. */
typedef struct tbuf {
  unsigned char *base;   /* 64-byte aligned allocation */
  unsigned char *snap;   /* copy of base taken by tbuf_snapshot */
  unsigned char *inview; /* 1 for bytes that belong to an element of the view */
  size_t bytes;
  size_t es;
  int64_t n_elems;
  codelay_view v;
} tbuf;

static inline unsigned char t_sentinel(size_t i) {
  return (unsigned char)(0xA5u ^ (i * 37u));
}

/*
 * n bytes, 64-byte aligned, allocated at exactly that size: valgrind and ASan then catch any read
 * past the end of a source (sources get no trailing guard, so their last element is the
 * allocation's last byte).
 */
static inline void *t_alloc(size_t n) {
  void *p = NULL;
  T_ASSERT(posix_memalign(&p, 64, n ? n : 1) == 0 && p != NULL, "out of memory");
  return p;
}

static inline int64_t t_view_elems(const codelay_view *v) {
  return v->batch * v->streams * v->steps * v->inner;
}

static inline unsigned char *t_elem(const tbuf *t, int64_t b, int64_t k, int64_t s, int64_t j) {
  int64_t off = b * t->v.stride[0] + k * t->v.stride[1] + s * t->v.stride[2] + j;
  return (unsigned char *)t->v.data + (size_t)off * t->es;
}

/*
 * A [B][K][steps][inner] view of dtype dt: layout KT, TK, or strided (a random order of the three
 * outer dimensions with random padding between cells). The view starts off_bytes (a multiple of
 * the element size) after a 64-byte aligned point, with T_GUARD sentinel bytes on both sides.
 * If the view is empty its data is NULL when null_if_empty.
 */
static inline void tbuf_make_ex(tbuf *t, trng *r, int32_t dt, int64_t B, int64_t K, int64_t steps,
                                int64_t inner, int layout, size_t off_bytes, int null_if_empty,
                                size_t tail_guard) {
  memset(t, 0, sizeof *t);
  size_t es = t_esize(dt);
  if (es == 0) es = 1;
  t->es = es;
  int64_t ext[3] = {B, K, steps}, stride[3] = {0, 0, 0};
  if (layout == TL_KT) {
    stride[2] = inner, stride[1] = steps * inner, stride[0] = K * steps * inner;
  } else if (layout == TL_TK) {
    stride[1] = inner, stride[2] = K * inner, stride[0] = steps * K * inner;
  } else {
    int order[3] = {0, 1, 2}; /* order[2] innermost */
    for (int i = 2; i > 0; i--) {
      int j = (int)trng_range(r, 0, i), tmp = order[i];
      order[i] = order[j], order[j] = tmp;
    }
    int64_t cell = inner + trng_range(r, 0, 3);
    for (int i = 2; i >= 0; i--) {
      int d = order[i];
      stride[d] = cell;
      int64_t e = ext[d] > 0 ? ext[d] : 1;
      cell = e * cell + trng_range(r, 0, 2);
    }
    /* a dimension of extent 1 may have any stride (PyTorch gives 0 or odd ones after
       unsqueeze/expand); it must not matter */
    for (int d = 0; d < 3; d++)
      if (ext[d] == 1 && trng_chance(r, 40))
        stride[d] = trng_chance(r, 50) ? 0 : trng_range(r, 1, (int64_t)1 << 40);
  }
  int64_t n = B * K * steps * inner;
  t->n_elems = n;
  int64_t extent = 0;
  if (n > 0) {
    extent = inner;
    for (int d = 0; d < 3; d++)
      extent += (ext[d] - 1) * stride[d];
  }
  off_bytes = off_bytes / es * es;
  t->bytes = T_GUARD + off_bytes + (size_t)extent * es + tail_guard;
  t->base = (unsigned char *)t_alloc(t->bytes);
  t->snap = (unsigned char *)t_alloc(t->bytes);
  t->inview = (unsigned char *)calloc(t->bytes, 1);
  T_ASSERT(t->inview != NULL, "out of memory");
  for (size_t i = 0; i < t->bytes; i++)
    t->base[i] = t_sentinel(i);
  codelay_view v = {t->base + T_GUARD + off_bytes,    dt, 0, B, K, steps, inner,
                    {stride[0], stride[1], stride[2]}};
  if (n == 0 && null_if_empty) v.data = NULL;
  t->v = v;
  for (int64_t b = 0; b < B; b++)
    for (int64_t k = 0; k < K; k++)
      for (int64_t s = 0; s < steps; s++)
        for (int64_t j = 0; j < inner; j++) {
          unsigned char *p = t_elem(t, b, k, s, j);
          memset(t->inview + (p - t->base), 1, es);
        }
}

/* A destination: guard bytes on both sides. */
static inline void tbuf_make(tbuf *t, trng *r, int32_t dt, int64_t B, int64_t K, int64_t steps,
                             int64_t inner, int layout, size_t off_bytes, int null_if_empty) {
  tbuf_make_ex(t, r, dt, B, K, steps, inner, layout, off_bytes, null_if_empty, T_GUARD);
}

/* A source: nothing after its last element, so over-reads leave the allocation. */
static inline void tbuf_make_src(tbuf *t, trng *r, int32_t dt, int64_t B, int64_t K, int64_t steps,
                                 int64_t inner, int layout, size_t off_bytes, int null_if_empty) {
  tbuf_make_ex(t, r, dt, B, K, steps, inner, layout, off_bytes, null_if_empty, 0);
}

static inline void tbuf_free(tbuf *t) {
  free(t->base);
  free(t->snap);
  free(t->inview);
  memset(t, 0, sizeof *t);
}

static inline void tbuf_snapshot(tbuf *t) {
  memcpy(t->snap, t->base, t->bytes);
}

/* Byte index of the first change since the snapshot (outside the view only if outside_only). */
static inline long tbuf_changed(const tbuf *t, int outside_only) {
  for (size_t i = 0; i < t->bytes; i++)
    if (t->base[i] != t->snap[i] && (!outside_only || !t->inview[i])) return (long)i;
  return -1;
}

/* ----------------------------------------------------------- the naive reference ---- */
/* Everything below walks element by element through t_elem, the SPEC §1 formulas verbatim. */

/* delay: src [B,K,T] -> exp [B][K][S][inner] (canonical order). Returns the expected status. */
static inline int ref_delay(const int64_t *off, const tbuf *src, int32_t ddt, int64_t S,
                            const void *head, const void *tail, const int64_t *lengths,
                            int64_t *exp) {
  const codelay_view *v = &src->v;
  size_t des = t_esize(ddt);
  int st = CODELAY_OK;
  int64_t i = 0;
  for (int64_t b = 0; b < v->batch; b++) {
    int64_t Tb = lengths ? lengths[b] : v->steps;
    for (int64_t k = 0; k < v->streams; k++)
      for (int64_t s = 0; s < S; s++)
        for (int64_t j = 0; j < v->inner; j++, i++) {
          int64_t t = s - off[k];
          if (t < 0) {
            exp[i] = t_getv((const unsigned char *)head + k * des, ddt);
          } else if (t < Tb) {
            exp[i] = t_getv(t_elem(src, b, k, t, j), v->dtype);
            if (t_is_int(ddt) && !t_fits(exp[i], ddt)) st = CODELAY_ERR_RANGE;
          } else {
            exp[i] = t_getv((const unsigned char *)tail + k * des, ddt);
          }
        }
  }
  return st;
}

/* undelay: src [B,K,S] -> exp [B][K][T][inner], expmask [B][K][T]. */
static inline int ref_undelay(const int64_t *off, const tbuf *src, int32_t ddt, int64_t T,
                              const void *fill, const int64_t *lengths, int64_t *exp,
                              uint8_t *expmask) {
  const codelay_view *v = &src->v;
  size_t des = t_esize(ddt);
  int st = CODELAY_OK;
  int64_t i = 0, m = 0;
  for (int64_t b = 0; b < v->batch; b++) {
    int64_t Sb = lengths ? lengths[b] : v->steps;
    for (int64_t k = 0; k < v->streams; k++)
      for (int64_t t = 0; t < T; t++, m++) {
        int in = t + off[k] < Sb;
        expmask[m] = (uint8_t)in;
        for (int64_t j = 0; j < v->inner; j++, i++) {
          if (in) {
            exp[i] = t_getv(t_elem(src, b, k, t + off[k], j), v->dtype);
            if (t_is_int(ddt) && !t_fits(exp[i], ddt)) st = CODELAY_ERR_RANGE;
          } else {
            exp[i] = t_getv((const unsigned char *)fill + k * des, ddt);
          }
        }
      }
  }
  return st;
}

/* regions: exp [B][K][S] of 0 head, 1 data, 2 tail. */
static inline void ref_regions(const int64_t *off, int64_t B, int64_t K, int64_t T, int64_t S,
                               const int64_t *lengths, uint8_t *exp) {
  int64_t i = 0;
  for (int64_t b = 0; b < B; b++) {
    int64_t Tb = lengths ? lengths[b] : T;
    for (int64_t k = 0; k < K; k++)
      for (int64_t s = 0; s < S; s++, i++) {
        int64_t t = s - off[k];
        exp[i] = (uint8_t)(t < 0 ? 0 : t < Tb ? 1 : 2);
      }
  }
}

/* loss weights: tokens [B,K,T] -> exp [B][K][T][inner], sums[K]. */
static inline void ref_weights(const int64_t *off, const tbuf *tok, int64_t S,
                               const int64_t *lengths, const codelay_weight_spec *spec, float *exp,
                               double *sums) {
  const codelay_view *v = &tok->v;
  int64_t i = 0;
  for (int64_t k = 0; k < v->streams; k++)
    sums[k] = 0.0;
  for (int64_t b = 0; b < v->batch; b++) {
    int64_t Sb = lengths ? lengths[b] : S;
    for (int64_t k = 0; k < v->streams; k++) {
      float sw = spec && spec->stream_weight ? spec->stream_weight[k] : 1.0f;
      float pw = spec && spec->pad_weight ? spec->pad_weight[k] : 1.0f;
      for (int64_t t = 0; t < v->steps; t++)
        for (int64_t j = 0; j < v->inner; j++, i++) {
          int64_t x = t_getv(t_elem(tok, b, k, t, j), v->dtype);
          int valid = t + off[k] < Sb;
          if (spec && spec->use_ignore_id && x == spec->ignore_id) valid = 0;
          int pad = 0;
          if (spec)
            for (int32_t q = 0; q < spec->n_pad_ids; q++)
              if (spec->pad_ids[q] == x) pad = 1;
          float w = 0.0f;
          if (valid) w = pad ? sw * pw : sw;
          exp[i] = w;
          sums[k] += (double)w;
        }
    }
  }
}

static inline int t_sum_close(double got, double want) {
  double d = fabs(got - want), m = fabs(got) > fabs(want) ? fabs(got) : fabs(want);
  return d <= 1e-9 * m;
}

static inline uint32_t t_f32_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}

#endif
