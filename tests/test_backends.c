/*
 * checkasm-style kernel test: every backend table compiled in and runnable on this CPU is called
 * primitive by primitive (fill, convert for every dtype pair, tk_shift, weights) on
 * sentinel-filled buffers at every start alignment and every length 0..2x64 (plus large ones),
 * and compared with the scalar table bit for bit: outputs, return values, and every byte outside
 * the output. Backends this CPU lacks are skipped, not failed.
 */
#include "testutil.h"

#include "kernels.h"

#define MAXLEN 130
#define G      64 /* guard bytes on both sides */

typedef struct backend_table {
  const char *name;
  const cl_kernels *k;
} backend_table;

/* The tables to test: every compiled-in backend this CPU runs (scalar too: it checks its guards).
 */
static int runnable_tables(backend_table *out) {
  int n = 0;
  out[n++] = (backend_table){"scalar", &cl_kernels_scalar};
#if defined(CODELAY_HAVE_SSE41)
  if (codelay_backend_supported("sse41")) out[n++] = (backend_table){"sse41", &cl_kernels_sse41};
#endif
#if defined(CODELAY_HAVE_AVX2)
  if (codelay_backend_supported("avx2")) out[n++] = (backend_table){"avx2", &cl_kernels_avx2};
#endif
#if defined(CODELAY_HAVE_AVX512)
  if (codelay_backend_supported("avx512")) out[n++] = (backend_table){"avx512", &cl_kernels_avx512};
#endif
#if defined(CODELAY_HAVE_NEON)
  if (codelay_backend_supported("neon")) out[n++] = (backend_table){"neon", &cl_kernels_neon};
#endif
  /*
   * CTest runs this binary once per backend: then only the forced backend's table is tested
   * (each table is covered by its own run, and the runs stay short). Without CODELAY_BACKEND
   * (or with "auto") every runnable table is tested.
   */
  const char *forced = getenv("CODELAY_BACKEND");
  if (forced && *forced && strcmp(forced, "auto") != 0) {
    for (int i = 0; i < n; i++)
      if (!strcmp(out[i].name, forced)) {
        out[0] = out[i];
        return 1;
      }
  }
  return n;
}

static const size_t extra_lengths[] = {255, 256, 257, 1000, 4099};
#define N_EXTRA ((int)(sizeof extra_lengths / sizeof extra_lengths[0]))

/* Length number i: 0..MAXLEN, then the extra ones. */
static size_t length_at(int i) {
  return i <= MAXLEN ? (size_t)i : extra_lengths[i - MAXLEN - 1];
}
#define N_LENGTHS (MAXLEN + 1 + N_EXTRA)

/* Two sentinel-filled buffers (reference and backend) with the output region at [G + off, ...). */
typedef struct pair_buf {
  unsigned char *ref, *got;
  size_t bytes;
} pair_buf;

static void pair_make(pair_buf *b, size_t bytes) {
  b->bytes = bytes;
  b->ref = (unsigned char *)t_alloc(bytes);
  b->got = (unsigned char *)t_alloc(bytes);
  for (size_t i = 0; i < bytes; i++)
    b->ref[i] = b->got[i] = t_sentinel(i);
}

static void pair_free(pair_buf *b) {
  free(b->ref);
  free(b->got);
}

/* Checks got against ref: all bytes equal when full, else only bytes outside [lo, hi). */
static void pair_check(const pair_buf *b, size_t lo, size_t hi, int full, const char *what) {
  for (size_t i = 0; i < b->bytes; i++) {
    if (i == lo) i = hi; /* the guard bytes only; the output is compared below */
    if (i >= b->bytes) break;
    T_ASSERT(b->ref[i] == t_sentinel(i), "%s: scalar wrote byte %zu outside [%zu,%zu)", what, i, lo,
             hi);
    T_ASSERT(b->got[i] == t_sentinel(i), "%s: byte %zu outside the output [%zu,%zu) changed", what,
             i, lo, hi);
  }
  if (full && memcmp(b->got + lo, b->ref + lo, hi - lo) != 0)
    for (size_t i = lo; i < hi; i++)
      T_ASSERT(b->got[i] == b->ref[i], "%s: output byte %zu (element byte %zu) = %02x, want %02x",
               what, i, i - lo, b->got[i], b->ref[i]);
}

START_TEST(test_kernel_fill) {
  backend_table tabs[8];
  int nt = runnable_tables(tabs);
  trng r = trng_seeded(t_base_seed() ^ 0xF111ull);
  for (int t = 0; t < nt; t++)
    for (size_t es = 1; es <= 8; es *= 2)
      for (size_t off = 0; off < 64; off += es)
        for (int li = 0; li < N_LENGTHS; li++) {
          size_t n = length_at(li);
          if (li > MAXLEN && off % 16 != 0) continue;
          pair_buf b;
          pair_make(&b, G + off + n * es + G);
          uint64_t v = trng_next(&r);
          cl_kernels_scalar.fill(b.ref + G + off, &v, n, es);
          tabs[t].k->fill(b.got + G + off, &v, n, es);
          char what[128];
          snprintf(what, sizeof what, "%s fill es=%zu off=%zu n=%zu", tabs[t].name, es, off, n);
          pair_check(&b, G + off, G + off + n * es, 1, what);
          pair_free(&b);
        }
}
END_TEST

typedef struct dpair {
  int32_t d, s;
} dpair;

/* Every integer pair, every same float, and the equal-size float pair. */
static int all_pairs(dpair *out) {
  int n = 0;
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++)
      out[n++] = (dpair){t_int_dtypes[i], t_int_dtypes[j]};
  for (int i = 0; i < 3; i++)
    out[n++] = (dpair){t_float_dtypes[i], t_float_dtypes[i]};
  out[n++] = (dpair){CODELAY_F16, CODELAY_BF16};
  out[n++] = (dpair){CODELAY_BF16, CODELAY_F16};
  return n;
}

/* Source values: in dst's range, but with one out-of-range value in some runs (bad_at). */
static void fill_source(trng *r, unsigned char *src, int32_t sdt, int32_t ddt, size_t n,
                        long bad_at) {
  size_t es = t_esize(sdt);
  for (size_t i = 0; i < n; i++) {
    int64_t v;
    if (!t_is_int(sdt) || !t_is_int(ddt))
      v = t_rand_value(r, sdt);
    else if ((long)i == bad_at)
      v = t_rand_unfitting(r, sdt, ddt);
    else
      v = t_rand_fitting(r, sdt, ddt);
    t_setv(src + i * es, sdt, v);
  }
}

START_TEST(test_kernel_convert) {
  backend_table tabs[8];
  int nt = runnable_tables(tabs);
  dpair pairs[32];
  int np = all_pairs(pairs);
  trng r = trng_seeded(t_base_seed() ^ 0xC0117ull);
  for (int t = 0; t < nt; t++)
    for (int pi = 0; pi < np; pi++) {
      int32_t dd = pairs[pi].d, sd = pairs[pi].s;
      size_t des = t_esize(dd), ses = t_esize(sd);
      int can_fail = t_is_int(sd) && t_is_int(dd) && t_can_overflow(sd, dd);
      for (size_t off = 0; off < 64; off += des)
        for (int li = 0; li < N_LENGTHS; li++) {
          size_t n = length_at(li);
          if (li > MAXLEN && off % 16 != 0) continue;
          size_t soff = ((off * 5 + n * 3) % 64) / ses * ses;
          unsigned char *src = (unsigned char *)t_alloc(soff + n * ses);
          memset(src, 0xC3, soff + n * ses);
          long bad_at = can_fail && n > 0 && trng_chance(&r, 30)
                            ? (long)trng_range(&r, 0, (int64_t)n - 1)
                            : -1;
          fill_source(&r, src + soff, sd, dd, n, bad_at);
          unsigned char *srccopy = (unsigned char *)t_alloc(soff + n * ses);
          memcpy(srccopy, src, soff + n * ses);
          pair_buf b;
          pair_make(&b, G + off + n * des + G);
          int want = cl_kernels_scalar.convert(b.ref + G + off, dd, src + soff, sd, n);
          int got = tabs[t].k->convert(b.got + G + off, dd, src + soff, sd, n);
          char what[160];
          snprintf(what, sizeof what, "%s convert %s->%s dst off=%zu src off=%zu n=%zu bad_at=%ld",
                   tabs[t].name, t_dtype_name(sd), t_dtype_name(dd), off, soff, n, bad_at);
          T_ASSERT(want == (bad_at >= 0 ? CODELAY_ERR_RANGE : CODELAY_OK), "%s: scalar returned %d",
                   what, want);
          T_ASSERT(got == want, "%s: returned %d, want %d", what, got, want);
          pair_check(&b, G + off, G + off + n * des, want == CODELAY_OK, what);
          T_ASSERT(!memcmp(src, srccopy, soff + n * ses), "%s: source changed", what);
          pair_free(&b);
          free(src);
          free(srccopy);
        }
    }
}
END_TEST

/* Same-dtype convert is a memmove: overlapping src and dst in both directions. */
START_TEST(test_kernel_convert_overlap) {
  backend_table tabs[8];
  int nt = runnable_tables(tabs);
  trng r = trng_seeded(t_base_seed() ^ 0x0E7ull);
  for (int t = 0; t < nt; t++)
    for (int di = 0; di < 7; di++) {
      int32_t dt = t_all_dtypes[di];
      size_t es = t_esize(dt);
      for (int li = 0; li <= MAXLEN; li++) {
        size_t n = (size_t)li;
        for (int shift = -9; shift <= 9; shift += (li % 3) + 1) {
          size_t total = n + 20;
          unsigned char *ref = (unsigned char *)t_alloc(total * es);
          unsigned char *got = (unsigned char *)t_alloc(total * es);
          for (size_t i = 0; i < total; i++)
            t_setv(ref + i * es, dt, t_rand_value(&r, dt));
          memcpy(got, ref, total * es);
          size_t s0 = 10, d0 = (size_t)(10 + shift);
          memmove(ref + d0 * es, ref + s0 * es, n * es);
          int rc = tabs[t].k->convert(got + d0 * es, dt, got + s0 * es, dt, n);
          T_ASSERT(rc == CODELAY_OK, "convert overlap returned %d", rc);
          T_ASSERT(!memcmp(ref, got, total * es), "%s convert %s overlap shift=%d n=%zu",
                   tabs[t].name, t_dtype_name(dt), shift, n);
          free(ref);
          free(got);
        }
      }
    }
}
END_TEST

/* Patterns the TK kernels must handle: the public systems' and random ones. */
static const int64_t pat_moshi[9] = {0, 0, 1, 1, 1, 1, 1, 1, 1};
static const int64_t pat_dia[9] = {0, 8, 9, 10, 11, 12, 13, 14, 15};
static const int64_t pat_ac[4] = {0, 1, 2, 3};
static const int64_t pat_one[1] = {0};
static const int64_t pat_seed[3] = {0, 1, 1};
static const int64_t pat_moshiko[17] = {0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1};
static const int64_t pat_unsorted[5] = {3, 0, 3, 1, 0};

static codelay_pattern *make_pattern(int idx, trng *r, int *heavy) {
  const int64_t *d = NULL;
  int64_t K = 0, buf[300], lead = idx % 3;
  *heavy = 0;
  switch (idx) {
  case 0:
    d = pat_moshi, K = 9;
    break;
  case 1:
    d = pat_dia, K = 9;
    break;
  case 2:
    d = pat_ac, K = 4;
    break;
  case 3:
    d = pat_one, K = 1;
    break;
  case 4:
    d = pat_seed, K = 3;
    break;
  case 5:
    d = pat_moshiko, K = 17;
    break;
  case 6:
    d = pat_unsorted, K = 5;
    break;
  case 7: /* Kyutai DSM, K = 33 */
    K = 33;
    for (int k = 0; k < 33; k++)
      buf[k] = (k == 0 || k == 1 || k == 17) ? 0 : 2;
    d = buf;
    break;
  case 8: /* more distinct offsets than a lane group index holds: the fallback path */
    K = 300;
    for (int k = 0; k < 300; k++)
      buf[k] = 299 - k;
    d = buf;
    *heavy = 1;
    break;
  case 9:
  case 10: {
    /* A staircase (Dia's shape, generalised): 8 consecutive streams whose offsets step by +1
     * (case 9) or -1 (case 10) somewhere in K = 8..40 streams, the others anything. */
    K = trng_range(r, 8, 40);
    int64_t s = trng_range(r, 0, K - 8), step = idx == 9 ? 1 : -1, o0 = trng_range(r, 7, 20);
    for (int64_t k = 0; k < K; k++)
      buf[k] = k >= s && k < s + 8 ? o0 + step * (k - s) : trng_range(r, 0, 20);
    d = buf;
    break;
  }
  case 11: /* adjacent 4-stream staircases stepping in opposite directions, one stream before */
    K = 13;
    for (int64_t k = 0; k < 13; k++)
      buf[k] = k == 0 ? 5 : (k - 1) / 4 % 2 ? 20 - (k - 1) % 4 : 3 + (k - 1) % 4;
    d = buf;
    break;
  default:
    K = trng_range(r, 1, 40);
    for (int64_t k = 0; k < K; k++)
      buf[k] = trng_range(r, 0, trng_chance(r, 50) ? 3 : 20);
    d = buf;
    break;
  }
  codelay_pattern *p = NULL;
  ck_assert_int_eq(codelay_pattern_create(&p, K, d, lead), CODELAY_OK);
  return p;
}
#define N_PATTERNS 17

/* One tk_shift call on scalar and backend t; checks everything. */
static void tk_one(const backend_table *tab, trng *r, const codelay_pattern *p, int32_t dd,
                   int32_t sd, int64_t inner, int32_t sign, int64_t frames, size_t off,
                   int may_fail) {
  int64_t K = p->streams, D = p->max_offset, m = p->min_offset;
  int64_t first = sign < 0 ? D + trng_range(r, 0, 2) : trng_range(r, 0, 2);
  int64_t src_frames = sign < 0 ? first + frames - m : first + frames + D;
  src_frames += trng_range(r, 0, 1);
  size_t des = t_esize(dd), ses = t_esize(sd);
  size_t soff = (size_t)trng_range(r, 0, 63) / ses * ses;
  size_t n_src = (size_t)(src_frames * K * inner), n_dst = (size_t)(frames * K * inner);
  unsigned char *src = (unsigned char *)t_alloc(soff + n_src * ses);
  memset(src, 0xC3, soff + n_src * ses);
  long bad_at = may_fail && n_src > 0 && t_is_int(sd) && t_is_int(dd) && t_can_overflow(sd, dd) &&
                        trng_chance(r, 25)
                    ? (long)trng_range(r, 0, (int64_t)n_src - 1)
                    : -1;
  fill_source(r, src + soff, sd, dd, n_src, bad_at);
  pair_buf b;
  pair_make(&b, G + off + n_dst * des + G);
  cl_tk_args a = {b.ref + G + off, src + soff, dd, sd, frames, inner, first, sign, p};
  int want = cl_kernels_scalar.tk_shift(&a);
  a.dst = b.got + G + off;
  int got = tab->k->tk_shift(&a);
  char what[200];
  snprintf(what, sizeof what,
           "%s tk_shift K=%" PRId64 " D=%" PRId64 " %s->%s inner=%" PRId64
           " sign=%d frames=%" PRId64 " first=%" PRId64 " off=%zu soff=%zu bad_at=%ld",
           tab->name, K, D, t_dtype_name(sd), t_dtype_name(dd), inner, sign, frames, first, off,
           soff, bad_at);
  T_ASSERT(got == want, "%s: returned %d, want %d", what, got, want);
  pair_check(&b, G + off, G + off + n_dst * des, want == CODELAY_OK, what);
  pair_free(&b);
  free(src);
}

START_TEST(test_kernel_tk_shift) {
  backend_table tabs[8];
  int nt = runnable_tables(tabs);
  trng r = trng_seeded(t_base_seed() ^ 0x7C5ull ^ ((uint64_t)_i << 32));
  int heavy;
  codelay_pattern *p = make_pattern(_i, &r, &heavy);
  static const dpair pairs[] = {
      {CODELAY_U8, CODELAY_U8},    {CODELAY_I16, CODELAY_I16}, {CODELAY_I32, CODELAY_I32},
      {CODELAY_I64, CODELAY_I64},  {CODELAY_F16, CODELAY_F16}, {CODELAY_BF16, CODELAY_BF16},
      {CODELAY_F32, CODELAY_F32},  {CODELAY_I32, CODELAY_I64}, {CODELAY_I64, CODELAY_I32},
      {CODELAY_I16, CODELAY_I64},  {CODELAY_I64, CODELAY_I16}, {CODELAY_I16, CODELAY_I32},
      {CODELAY_I32, CODELAY_I16},  {CODELAY_U8, CODELAY_I64},  {CODELAY_I64, CODELAY_U8},
      {CODELAY_F16, CODELAY_BF16},
  };
  for (int t = 0; t < nt; t++)
    for (size_t pi = 0; pi < sizeof pairs / sizeof pairs[0]; pi++) {
      int32_t dd = pairs[pi].d, sd = pairs[pi].s;
      size_t des = t_esize(dd);
      for (int32_t sign = -1; sign <= 1; sign += 2)
        for (int64_t inner = 1; inner <= 3; inner++) {
          if (inner > 1 && (pi % 3 != 0 || heavy)) continue;
          /* every span length up to 2x64 elements (and a little more), then longer spans; the
             start offset cycles through 0..63 */
          if (heavy && pi % 4 != 0) continue;
          int64_t maxf = heavy ? 1 : 2 * 64 / p->streams + 4;
          for (int64_t frames = 0; frames <= maxf + 2; frames++) {
            int64_t fr = frames <= maxf ? frames : (frames == maxf + 1 ? 64 : 131);
            size_t off = ((size_t)frames * 13 * des) % 64;
            tk_one(&tabs[t], &r, p, dd, sd, inner, sign, fr, off, 1);
          }
          /* every start offset for a few lengths */
          if (inner == 1 && !heavy)
            for (size_t off = 0; off < 64; off += des) {
              tk_one(&tabs[t], &r, p, dd, sd, inner, sign, 1, off, 0);
              tk_one(&tabs[t], &r, p, dd, sd, inner, sign, 7, off, 0);
              tk_one(&tabs[t], &r, p, dd, sd, inner, sign, 64 / p->streams + 3, off, 1);
            }
          if (!heavy && pi % 4 == 0) tk_one(&tabs[t], &r, p, dd, sd, inner, sign, 1000, 0, 1);
        }
    }
  codelay_pattern_destroy(p);
}
END_TEST

START_TEST(test_kernel_weights) {
  backend_table tabs[8];
  int nt = runnable_tables(tabs);
  trng r = trng_seeded(t_base_seed() ^ 0x3E16ull);
  for (int t = 0; t < nt; t++)
    for (int di = 0; di < 4; di++) {
      int32_t tdt = t_int_dtypes[di];
      size_t tes = t_esize(tdt);
      for (size_t off = 0; off < 64; off += 4)
        for (int li = 0; li < N_LENGTHS; li++) {
          size_t n = length_at(li);
          if (li > MAXLEN && off % 16 != 0) continue;
          int64_t pad_ids[16];
          int32_t n_pad =
              (int32_t)(trng_chance(&r, 30) ? trng_range(&r, 0, 2) : trng_range(&r, 0, 16));
          for (int q = 0; q < n_pad; q++)
            pad_ids[q] =
                trng_chance(&r, 90) ? t_rand_value(&r, tdt) : trng_range(&r, -70000, 70000);
          /* Sometimes the ignore id is also a pad id (the ignore id wins). */
          int64_t ignore = n_pad > 0 && trng_chance(&r, 10) ? pad_ids[trng_range(&r, 0, n_pad - 1)]
                                                            : t_rand_value(&r, tdt);
          size_t soff = ((off * 3 + n) % 64) / tes * tes;
          unsigned char *tok = (unsigned char *)t_alloc(soff + n * tes);
          memset(tok, 0xC3, soff + n * tes);
          for (size_t i = 0; i < n; i++) {
            int64_t v, pick = trng_range(&r, 0, 99);
            if (pick < 35 && n_pad > 0)
              v = pad_ids[trng_range(&r, 0, n_pad - 1)];
            else if (pick < 50)
              v = ignore;
            else
              v = t_rand_value(&r, tdt);
            if (!t_fits(v, tdt)) v = 1;
            t_setv(tok + soff + i * tes, tdt, v);
          }
          size_t n_valid = trng_chance(&r, 60) ? n : (size_t)trng_range(&r, 0, (int64_t)n);
          /* Pads weighing what the other tokens weigh (Moshi's audio streams) have their own
           * path in the SIMD kernels; signed zeros, infinities and NaN must agree there too. */
          static const float special[5] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN};
          float w = trng_chance(&r, 5) ? special[trng_range(&r, 0, 4)]
                                       : (float)trng_range(&r, 0, 400) / 4.0f;
          int64_t pick_pw = trng_range(&r, 0, 99);
          float pw = pick_pw < 25   ? w
                     : pick_pw < 30 ? special[trng_range(&r, 0, 4)]
                     : pick_pw < 65 ? 0.0f
                                    : (float)trng_range(&r, -100, 100) / 8.0f;
          pair_buf b;
          pair_make(&b, G + off + n * 4 + G);
          cl_weights_args a = {(float *)(void *)(b.ref + G + off),
                               tok + soff,
                               tdt,
                               n_pad,
                               n,
                               n_valid,
                               w,
                               pw,
                               n_pad || trng_chance(&r, 50) ? pad_ids : NULL,
                               (int32_t)trng_chance(&r, 60),
                               ignore};
          double want = cl_kernels_scalar.weights(&a);
          a.dst = (float *)(void *)(b.got + G + off);
          double got = tabs[t].k->weights(&a);
          char what[200];
          snprintf(what, sizeof what,
                   "%s weights %s off=%zu soff=%zu n=%zu n_valid=%zu n_pad=%d ignore=%d",
                   tabs[t].name, t_dtype_name(tdt), off, soff, n, n_valid, n_pad, a.use_ignore_id);
          T_ASSERT(got == want || (isnan(got) && isnan(want)), "%s: returned %.17g, want %.17g",
                   what, got, want);
          pair_check(&b, G + off, G + off + n * 4, 1, what);
          pair_free(&b);
          free(tok);
        }
    }
}
END_TEST

/* Which tables ran: a skipped backend is reported, not failed. */
START_TEST(test_kernel_tables) {
  backend_table tabs[8];
  int nt = runnable_tables(tabs);
  ck_assert_int_ge(nt, 1);
  ck_assert_str_eq(cl_kernels_scalar.name, "scalar");
  for (int t = 0; t < nt; t++) {
    ck_assert_str_eq(tabs[t].k->name, tabs[t].name);
    ck_assert_ptr_nonnull(tabs[t].k->fill);
    ck_assert_ptr_nonnull(tabs[t].k->convert);
    ck_assert_ptr_nonnull(tabs[t].k->tk_shift);
    ck_assert_ptr_nonnull(tabs[t].k->weights);
  }
  /* the active table is one of them and has the active backend's name */
  ck_assert_str_eq(cl_active_kernels()->name, codelay_backend_name());
}
END_TEST

Suite *backends_suite(void) {
  Suite *s = suite_create("backends");
  TCase *tc = tcase_create("kernels");
  tcase_add_test(tc, test_kernel_tables);
  tcase_add_test(tc, test_kernel_fill);
  tcase_add_test(tc, test_kernel_convert);
  tcase_add_test(tc, test_kernel_convert_overlap);
  tcase_add_loop_test(tc, test_kernel_tk_shift, 0, N_PATTERNS);
  tcase_add_test(tc, test_kernel_weights);
  suite_add_tcase(s, tc);
  return s;
}
