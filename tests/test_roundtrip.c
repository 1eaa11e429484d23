/*
 * Round trip: undelay(delay(x)) == x wherever the undelay mask is 1 (and t < T_b), for random
 * patterns, shapes, layouts, dtypes (including a widening then narrowing integer trip) and
 * lengths; with S >= T + D and no lengths, the mask is all ones and the trip is exact.
 */
#include "testutil.h"

#include <pthread.h>

static void roundtrip_one(uint64_t seed, int inplace) {
  trng r = trng_seeded(seed);
  int64_t K = trng_range(&r, 1, 12), lead = trng_range(&r, 0, 3), delays[16], dmax = 0;
  for (int64_t k = 0; k < K; k++) {
    delays[k] = trng_chance(&r, 80) ? trng_range(&r, 0, 3) : trng_range(&r, 0, 20);
    if (delays[k] > dmax) dmax = delays[k];
  }
  int64_t D = lead + dmax;
  int64_t B = trng_range(&r, 1, 3), T = trng_range(&r, 0, 40), inner = trng_range(&r, 1, 4);
  if (trng_chance(&r, 50)) inner = 1;
  int full = trng_chance(&r, 50);
  int64_t S = full ? T + D + trng_range(&r, 0, 2) : trng_range(&r, 0, T + D + 2);
  if (inplace) S = T, full = 0;
  int32_t adt, ddt; /* aligned and delayed dtypes */
  if (trng_chance(&r, 30)) {
    adt = ddt = t_float_dtypes[trng_range(&r, 0, 2)];
  } else {
    adt = t_int_dtypes[trng_range(&r, 0, 3)];
    ddt = inplace ? adt : t_int_dtypes[trng_range(&r, 0, 3)];
  }
  int use_len = !full && trng_chance(&r, 50);
  int64_t lengths[3], ulengths[3];
  for (int64_t b = 0; b < B; b++) {
    lengths[b] = trng_range(&r, 0, T);
    ulengths[b] = lengths[b] + D < S ? lengths[b] + D : S;
  }
  char desc[256];
  snprintf(desc, sizeof desc,
           "roundtrip seed=%" PRIu64 " K=%" PRId64 " B=%" PRId64 " T=%" PRId64 " S=%" PRId64
           " inner=%" PRId64 " %s->%s lengths=%d inplace=%d",
           seed, K, B, T, S, inner, t_dtype_name(adt), t_dtype_name(ddt), use_len, inplace);

  codelay_pattern *p = NULL;
  T_ASSERT(codelay_pattern_create(&p, K, delays, lead) == CODELAY_OK, "pattern_create");
  tbuf x, y, z, m;
  if (inplace)
    tbuf_make(&x, &r, adt, B, K, T, inner, (int)trng_range(&r, 0, 2), 0, 0);
  else
    tbuf_make_src(&x, &r, adt, B, K, T, inner, (int)trng_range(&r, 0, 2), 0, 0);
  tbuf_make(&y, &r, ddt, B, K, S, inner, (int)trng_range(&r, 0, 2), 0, 0);
  tbuf_make(&z, &r, adt, B, K, T, inner, (int)trng_range(&r, 0, 2), 0, 0);
  tbuf_make(&m, &r, CODELAY_U8, B, K, T, 1, (int)trng_range(&r, 0, 2), 0, 0);
  int64_t *orig = (int64_t *)malloc(sizeof(int64_t) * (size_t)(B * K * T * inner + 1));
  int64_t i = 0;
  for (int64_t b = 0; b < B; b++)
    for (int64_t k = 0; k < K; k++)
      for (int64_t t = 0; t < T; t++)
        for (int64_t j = 0; j < inner; j++, i++) {
          int64_t v = t_is_int(adt) ? t_rand_fitting(&r, adt, ddt) : t_rand_value(&r, adt);
          t_setv(t_elem(&x, b, k, t, j), adt, v);
          orig[i] = v;
        }
  unsigned char hf[16 * 8], tf[16 * 8], uf[16 * 8];
  for (int64_t k = 0; k < K; k++) {
    t_setv(hf + k * t_esize(ddt), ddt, t_rand_value(&r, ddt));
    /* the tail lands in the undelayed output where t >= T_b: it must fit the aligned dtype */
    t_setv(tf + k * t_esize(ddt), ddt,
           t_is_int(ddt) ? t_rand_fitting(&r, ddt, adt) : t_rand_value(&r, ddt));
    t_setv(uf + k * t_esize(adt), adt, t_rand_value(&r, adt));
  }
  tbuf *mid = inplace ? &x : &y, *out = inplace ? &x : &z;
  int rc = codelay_delay(p, &x.v, &mid->v, hf, tf, use_len ? lengths : NULL);
  T_ASSERT(rc == CODELAY_OK, "%s: delay %d", desc, rc);
  rc = codelay_undelay(p, &mid->v, &out->v, uf, use_len ? ulengths : NULL, &m.v);
  T_ASSERT(rc == CODELAY_OK, "%s: undelay %d", desc, rc);
  i = 0;
  for (int64_t b = 0; b < B; b++) {
    int64_t Tb = use_len ? lengths[b] : T, Sb = use_len ? ulengths[b] : S;
    for (int64_t k = 0; k < K; k++)
      for (int64_t t = 0; t < T; t++) {
        uint8_t mv = *t_elem(&m, b, k, t, 0);
        int64_t o = lead + delays[k];
        T_ASSERT(mv == (t + o < Sb), "%s: mask[%" PRId64 ",%" PRId64 ",%" PRId64 "] = %u", desc, b,
                 k, t, mv);
        if (full && !use_len) T_ASSERT(mv == 1, "%s: mask 0 with S >= T + D", desc);
        for (int64_t j = 0; j < inner; j++, i++) {
          int64_t got = t_getv(t_elem(out, b, k, t, j), adt);
          int64_t want = mv && t < Tb ? orig[i]
                         : mv         ? t_getv(tf + k * t_esize(ddt), ddt)
                                      : t_getv(uf + k * t_esize(adt), adt);
          T_ASSERT(got == want,
                   "%s: out[%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 "] = %" PRId64
                   ", want %" PRId64,
                   desc, b, k, t, j, got, want);
        }
      }
  }
  free(orig);
  tbuf_free(&x);
  tbuf_free(&y);
  tbuf_free(&z);
  tbuf_free(&m);
  codelay_pattern_destroy(p);
}

START_TEST(test_roundtrip_random) {
  uint64_t base = t_base_seed() ^ 0x7007ull;
  for (int i = 0; i < 1500; i++)
    roundtrip_one(base + (uint64_t)i, 0);
}
END_TEST

START_TEST(test_roundtrip_inplace) {
  uint64_t base = t_base_seed() ^ 0x1A7Eull;
  for (int i = 0; i < 500; i++)
    roundtrip_one(base + (uint64_t)i, 1);
}
END_TEST

/* The seed example of the README: text + semantic + acoustic, delays [0,1,1]. */
START_TEST(test_roundtrip_seed_example) {
  int64_t delays[3] = {0, 1, 1};
  codelay_pattern *p = NULL;
  ck_assert_int_eq(codelay_pattern_create(&p, 3, delays, 0), CODELAY_OK);
  ck_assert_int_eq(codelay_pattern_max_offset(p), 1);
  int64_t x[12] = {101, 102, 103, 104, 201, 202, 203, 204, 301, 302, 303, 304}, y[15], z[12];
  int64_t head[3] = {32000, 2048, 2048}, tail[3] = {3, 2048, 2048}, fill[3] = {-1, -1, -1};
  codelay_view xv = codelay_view_kt(x, CODELAY_I64, 1, 3, 4, 1);
  codelay_view yv = codelay_view_kt(y, CODELAY_I64, 1, 3, 5, 1);
  codelay_view zv = codelay_view_kt(z, CODELAY_I64, 1, 3, 4, 1);
  ck_assert_int_eq(codelay_delay(p, &xv, &yv, head, tail, NULL), CODELAY_OK);
  int64_t want[15] = {101, 102, 103, 104, 3, 2048, 201, 202, 203, 204, 2048, 301, 302, 303, 304};
  for (int i = 0; i < 15; i++)
    ck_assert_int_eq(y[i], want[i]);
  uint8_t m[12];
  codelay_view mv = codelay_view_kt(m, CODELAY_U8, 1, 3, 4, 1);
  ck_assert_int_eq(codelay_undelay(p, &yv, &zv, fill, NULL, &mv), CODELAY_OK);
  for (int i = 0; i < 12; i++) {
    ck_assert_int_eq(z[i], x[i]);
    ck_assert_int_eq(m[i], 1);
  }
  codelay_pattern_destroy(p);
}
END_TEST

/* Patterns are immutable and shareable: threads delay and undelay through one pattern at once. */
typedef struct thread_job {
  const codelay_pattern *p;
  uint64_t seed;
  int mismatches;
} thread_job;

static void *thread_main(void *arg) {
  thread_job *j = (thread_job *)arg;
  enum { B = 2, K = 9, T = 50, S = 53 };
  static int32_t fill[K] = {-1, -2, -3, -4, -5, -6, -7, -8, -9};
  int32_t *x = (int32_t *)malloc(sizeof(int32_t) * B * K * T);
  int32_t *y = (int32_t *)malloc(sizeof(int32_t) * B * K * S);
  int32_t *z = (int32_t *)malloc(sizeof(int32_t) * B * K * T);
  trng r = trng_seeded(j->seed);
  for (int it = 0; it < 300 && x && y && z; it++) {
    for (int i = 0; i < B * K * T; i++)
      x[i] = (int32_t)trng_range(&r, -100000, 100000);
    codelay_view xv = codelay_view_tk(x, CODELAY_I32, B, K, T, 1);
    codelay_view yv = codelay_view_tk(y, CODELAY_I32, B, K, S, 1);
    codelay_view zv = codelay_view_kt(z, CODELAY_I32, B, K, T, 1);
    if (codelay_delay(j->p, &xv, &yv, fill, fill, NULL) != CODELAY_OK ||
        codelay_undelay(j->p, &yv, &zv, fill, NULL, NULL) != CODELAY_OK) {
      j->mismatches++;
      continue;
    }
    for (int b = 0; b < B; b++)
      for (int k = 0; k < K; k++)
        for (int t = 0; t < T; t++)
          if (z[(b * K + k) * T + t] != x[(b * T + t) * K + k]) j->mismatches++;
  }
  free(x);
  free(y);
  free(z);
  return NULL;
}

START_TEST(test_roundtrip_threads) {
  int64_t delays[9] = {0, 0, 1, 1, 1, 1, 1, 1, 1};
  codelay_pattern *p = NULL;
  ck_assert_int_eq(codelay_pattern_create(&p, 9, delays, 2), CODELAY_OK);
  enum { N = 4 };
  pthread_t th[N];
  thread_job jobs[N];
  for (int i = 0; i < N; i++) {
    jobs[i] = (thread_job){p, t_base_seed() + (uint64_t)i, 0};
    ck_assert_int_eq(pthread_create(&th[i], NULL, thread_main, &jobs[i]), 0);
  }
  for (int i = 0; i < N; i++) {
    ck_assert_int_eq(pthread_join(th[i], NULL), 0);
    ck_assert_int_eq(jobs[i].mismatches, 0);
  }
  codelay_pattern_destroy(p);
}
END_TEST

Suite *roundtrip_suite(void) {
  Suite *s = suite_create("roundtrip");
  TCase *tc = tcase_create("roundtrip");
  tcase_add_test(tc, test_roundtrip_random);
  tcase_add_test(tc, test_roundtrip_inplace);
  tcase_add_test(tc, test_roundtrip_seed_example);
  tcase_add_test(tc, test_roundtrip_threads);
  suite_add_tcase(s, tc);
  return s;
}
