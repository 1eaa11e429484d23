/*
 * Streaming (codelay_stream_*) against the batch ops, through the public API only:
 *   DELAY:   T pushes (+ D flushes) == codelay_delay(S = T (+ D), head = tail = fill), flush mask
 * == (codelay_delay_regions == data); UNDELAY: S pushes + flushes == codelay_undelay(T = S) with
 * its mask; with items advancing at different paces (active), every dtype, random patterns (lead
 * 0..3, unsorted and repeated delays), ready flags, untouched outputs, Moshi / DSM timing, state
 * errors and bad input.
 */
#include "testutil.h"

Suite *stream_suite(void);

#define SENTINEL 0xA5

/* xorshift64*: deterministic, seeded per test. */
static uint64_t rng_next(uint64_t *st) {
  uint64_t x = *st;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *st = x;
  return x * 0x2545F4914F6CDD1DULL;
}
static int64_t rng_range(uint64_t *st, int64_t lo, int64_t hi) { /* [lo, hi] */
  return lo + (int64_t)(rng_next(st) % (uint64_t)(hi - lo + 1));
}

/* Random element bytes; float dtypes get their top exponent bit cleared (no NaN/Inf patterns, so
 * any bit-exact copy path compares equal with memcmp). */
static void rand_elems(uint64_t *st, void *dst, size_t n, int32_t dtype) {
  const size_t es = t_esize(dtype);
  unsigned char *d = dst;
  for (size_t i = 0; i < n; i++) {
    uint64_t v = rng_next(st);
    if (dtype == CODELAY_F16 || dtype == CODELAY_BF16) v &= ~(uint64_t)0x4000;
    if (dtype == CODELAY_F32) v &= ~(uint64_t)0x40000000;
    memcpy(d + i * es, &v, es); /* little-endian low bytes; fine on any host for random data */
  }
}

static int all_bytes(const void *p, size_t n, unsigned char v) {
  const unsigned char *c = p;
  for (size_t i = 0; i < n; i++)
    if (c[i] != v) return 0;
  return 1;
}

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  ck_assert_ptr_nonnull(p);
  return p;
}

static void *xcalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size);
  ck_assert_ptr_nonnull(p);
  return p;
}

static codelay_pattern *make_pattern(int64_t K, const int64_t *delays, int64_t lead) {
  codelay_pattern *p = NULL;
  ck_assert_int_eq(codelay_pattern_create(&p, K, delays, lead), CODELAY_OK);
  return p;
}

/*
 * One scenario: B items, item b pushes T[b] frames of K elements (the `use_active` variant lets
 * items skip calls at random, so they advance at different paces), then flushes until drained.
 * Every item's emitted rows are compared with its own batch op (B = 1, TK layout).
 */
static void run_scenario(uint64_t *st, int32_t mode, int32_t dtype, int64_t B, int64_t K,
                         const int64_t *delays, int64_t lead, int64_t Tmax, int use_active) {
  const size_t es = t_esize(dtype), fb = (size_t)K * es;
  codelay_pattern *p = make_pattern(K, delays, lead);
  const int64_t D = codelay_pattern_max_offset(p);
  const int64_t Smax = Tmax + D + 1;
  int64_t bad = 0; /* per-element mismatches, asserted after each phase (Check asserts are slow) */

  unsigned char *fill = xmalloc(fb);
  rand_elems(st, fill, (size_t)K, dtype);
  codelay_stream *s = NULL;
  ck_assert_int_eq(codelay_stream_create(&s, p, mode, dtype, B, fill), CODELAY_OK);
  ck_assert_ptr_nonnull(s);
  /* The stream keeps its own copies: the pattern and the fill may go away. */
  codelay_pattern_destroy(p);
  unsigned char *fill_copy = xmalloc(fb);
  memcpy(fill_copy, fill, fb);
  memset(fill, 0x5A, fb);

  int64_t *T = xmalloc(sizeof(int64_t) * (size_t)B);
  int64_t *pos = xcalloc((size_t)B, sizeof(int64_t));
  int64_t *n_push_out = xcalloc((size_t)B, sizeof(int64_t));
  int64_t *n_out = xcalloc((size_t)B, sizeof(int64_t));
  const int64_t Tcommon = rng_range(st, 0, Tmax);
  for (int64_t b = 0; b < B; b++)
    T[b] = use_active ? rng_range(st, 0, Tmax) : Tcommon;

  /* at least one frame per item, even for Tmax = 0 (keeps GCC's -Warray-bounds quiet) */
  unsigned char *in = xmalloc((size_t)B * (size_t)(Tmax > 0 ? Tmax : 1) * fb); /* [B][Tmax][K] */
  unsigned char *got = xmalloc((size_t)B * (size_t)Smax * fb);                 /* [B][Smax][K] */
  uint8_t *got_mask = xmalloc((size_t)B * (size_t)Smax * (size_t)K);           /* flush masks */
  rand_elems(st, in, (size_t)B * (size_t)Tmax * (size_t)K, dtype);
  memset(got_mask, 1, (size_t)B * (size_t)Smax * (size_t)K);

  unsigned char *frame = xmalloc((size_t)B * fb), *out = xmalloc((size_t)B * fb);
  uint8_t *active = xmalloc((size_t)B), *ready = xmalloc((size_t)B);
  uint8_t *mask = xmalloc((size_t)B * (size_t)K);

  /* --- pushes --- */
  for (;;) {
    int any = 0;
    for (int64_t b = 0; b < B; b++) {
      const int want = pos[b] < T[b];
      active[b] = (uint8_t)(want && (!use_active || rng_range(st, 0, 2) != 0));
      any |= want;
    }
    if (!any) break;
    int all_on = 1;
    for (int64_t b = 0; b < B; b++)
      all_on &= active[b];
    if (!all_on && !use_active) ck_abort_msg("lockstep items out of step");
    rand_elems(st, frame, (size_t)B * (size_t)K, dtype); /* inactive rows: garbage, ignored */
    for (int64_t b = 0; b < B; b++)
      if (active[b])
        memcpy(frame + (size_t)b * fb, in + ((size_t)b * (size_t)Tmax + (size_t)pos[b]) * fb, fb);
    memset(out, SENTINEL, (size_t)B * fb);
    memset(ready, 0x77, (size_t)B);
    /* Lockstep: alternate between active = NULL and an all-ones mask (same meaning). */
    const uint8_t *act = use_active ? active : (rng_range(st, 0, 1) ? active : NULL);
    ck_assert_int_eq(codelay_stream_push(s, frame, act, out, ready), CODELAY_OK);
    for (int64_t b = 0; b < B; b++) {
      const unsigned char *row = out + (size_t)b * fb;
      if (!active[b]) {
        bad += ready[b] != 0 || !all_bytes(row, fb, SENTINEL);
        continue;
      }
      const int expect_ready = mode == CODELAY_STREAM_DELAY || pos[b] >= D;
      bad += ready[b] != expect_ready;
      if (ready[b]) {
        memcpy(got + ((size_t)b * (size_t)Smax + (size_t)n_out[b]) * fb, row, fb);
        n_out[b]++;
        n_push_out[b]++;
      } else {
        bad += !all_bytes(row, fb, SENTINEL);
      }
      pos[b]++;
    }
  }

  ck_assert_msg(bad == 0, "push: %lld wrong ready flags or touched rows", (long long)bad);

  /* --- flushes: until every item reports drained, then once more --- */
  for (int64_t call = 0;; call++) {
    ck_assert_int_le(call, D + 2);
    memset(out, SENTINEL, (size_t)B * fb);
    memset(mask, SENTINEL, (size_t)B * (size_t)K);
    memset(ready, 0x77, (size_t)B);
    const int with_mask = rng_range(st, 0, 3) != 0;
    ck_assert_int_eq(codelay_stream_flush(s, out, with_mask ? mask : NULL, ready), CODELAY_OK);
    int any = 0;
    for (int64_t b = 0; b < B; b++) {
      bad += ready[b] > 1;
      const unsigned char *row = out + (size_t)b * fb;
      const uint8_t *mrow = mask + (size_t)b * (size_t)K;
      if (!ready[b]) {
        bad += !all_bytes(row, fb, SENTINEL) || !all_bytes(mrow, (size_t)K, SENTINEL);
        continue;
      }
      any = 1;
      ck_assert_int_lt(n_out[b], Smax);
      memcpy(got + ((size_t)b * (size_t)Smax + (size_t)n_out[b]) * fb, row, fb);
      if (with_mask) {
        for (int64_t k = 0; k < K; k++)
          bad += mrow[k] > 1;
        memcpy(got_mask + ((size_t)b * (size_t)Smax + (size_t)n_out[b]) * (size_t)K, mrow,
               (size_t)K);
      } else {
        bad += !all_bytes(mrow, (size_t)K, SENTINEL);
        memset(got_mask + ((size_t)b * (size_t)Smax + (size_t)n_out[b]) * (size_t)K, 0xEE,
               (size_t)K);
      }
      n_out[b]++;
    }
    if (!any) break;
  }

  ck_assert_msg(bad == 0, "flush: %lld bad flags or touched rows", (long long)bad);

  /* Push after flush: CODELAY_ERR_STATE, nothing written. */
  memset(out, SENTINEL, (size_t)B * fb);
  memset(ready, SENTINEL, (size_t)B);
  ck_assert_int_eq(codelay_stream_push(s, frame, NULL, out, ready), CODELAY_ERR_STATE);
  ck_assert(all_bytes(out, (size_t)B * fb, SENTINEL));
  ck_assert(all_bytes(ready, (size_t)B, SENTINEL));

  /* --- compare each item with its own batch op --- */
  p = make_pattern(K, delays, lead);
  for (int64_t b = 0; b < B; b++) {
    const int64_t Tb = T[b];
    const unsigned char *inb = in + (size_t)b * (size_t)Tmax * fb;
    const unsigned char *gotb = got + (size_t)b * (size_t)Smax * fb;
    const uint8_t *gmb = got_mask + (size_t)b * (size_t)Smax * (size_t)K;
    codelay_view src = codelay_view_tk((void *)inb, dtype, 1, K, Tb, 1);
    if (mode == CODELAY_STREAM_DELAY) {
      const int64_t S = Tb + D;
      ck_assert_int_eq(n_push_out[b], Tb);
      ck_assert_int_eq(n_out[b], S);
      unsigned char *want = xmalloc((size_t)S * fb);
      uint8_t *reg = xmalloc((size_t)S * (size_t)K);
      codelay_view dst = codelay_view_tk(want, dtype, 1, K, S, 1);
      ck_assert_int_eq(codelay_delay(p, &src, &dst, fill_copy, fill_copy, NULL), CODELAY_OK);
      ck_assert_msg(memcmp(want, gotb, (size_t)S * fb) == 0, "DELAY item %lld differs",
                    (long long)b);
      /* And the push part alone is delay(S = T). */
      if (Tb > 0) {
        unsigned char *want_t = xmalloc((size_t)Tb * fb);
        codelay_view dt = codelay_view_tk(want_t, dtype, 1, K, Tb, 1);
        ck_assert_int_eq(codelay_delay(p, &src, &dt, fill_copy, fill_copy, NULL), CODELAY_OK);
        ck_assert(memcmp(want_t, gotb, (size_t)Tb * fb) == 0);
        free(want_t);
      }
      codelay_view rv = codelay_view_tk(reg, CODELAY_U8, 1, K, S, 1);
      ck_assert_int_eq(codelay_delay_regions(p, Tb, NULL, &rv), CODELAY_OK);
      for (int64_t j = Tb; j < S; j++)
        for (int64_t k = 0; k < K; k++) {
          const uint8_t g = gmb[(size_t)j * (size_t)K + (size_t)k];
          bad += g != 0xEE && g != (reg[(size_t)j * (size_t)K + (size_t)k] == 1);
        }
      free(want);
      free(reg);
    } else {
      const int64_t Tout = Tb;
      ck_assert_int_eq(n_push_out[b], Tb > D ? Tb - D : 0);
      ck_assert_int_eq(n_out[b], Tout);
      unsigned char *want = xmalloc((size_t)Tout * fb);
      uint8_t *wm = xmalloc((size_t)Tout * (size_t)K);
      codelay_view dst = codelay_view_tk(want, dtype, 1, K, Tout, 1);
      codelay_view mv = codelay_view_tk(wm, CODELAY_U8, 1, K, Tout, 1);
      ck_assert_int_eq(codelay_undelay(p, &src, &dst, fill_copy, NULL, &mv), CODELAY_OK);
      ck_assert_msg(memcmp(want, gotb, (size_t)Tout * fb) == 0, "UNDELAY item %lld differs",
                    (long long)b);
      for (int64_t j = 0; j < Tout; j++)
        for (int64_t k = 0; k < K; k++) {
          const uint8_t w = wm[(size_t)j * (size_t)K + (size_t)k];
          if (j < n_push_out[b]) {
            bad += w != 1; /* a pushed-out aligned frame is all data */
          } else {
            const uint8_t g = gmb[(size_t)j * (size_t)K + (size_t)k];
            bad += g != 0xEE && g != w;
          }
        }
      free(want);
      free(wm);
    }
  }
  codelay_pattern_destroy(p);
  ck_assert_msg(bad == 0, "%lld mask values differ from the batch op", (long long)bad);

  /* reset: positions back to 0 and push allowed again; the first push behaves as the very first. */
  ck_assert_int_eq(codelay_stream_reset(s), CODELAY_OK);
  memset(out, SENTINEL, (size_t)B * fb);
  for (int64_t b = 0; b < B; b++)
    memcpy(frame + (size_t)b * fb, in + (size_t)b * (size_t)Tmax * fb, Tmax > 0 ? fb : 0);
  if (Tmax > 0) {
    ck_assert_int_eq(codelay_stream_push(s, frame, NULL, out, ready), CODELAY_OK);
    for (int64_t b = 0; b < B; b++)
      ck_assert_int_eq(ready[b], mode == CODELAY_STREAM_DELAY || D == 0);
  }

  codelay_stream_destroy(s);
  free(fill);
  free(fill_copy);
  free(T);
  free(pos);
  free(n_push_out);
  free(n_out);
  free(in);
  free(got);
  free(got_mask);
  free(frame);
  free(out);
  free(active);
  free(ready);
  free(mask);
}

static void random_pattern(uint64_t *st, int64_t *K, int64_t *delays, int64_t *lead) {
  *K = rng_range(st, 1, 7);
  const int64_t dmax = rng_range(st, 0, 6);
  for (int64_t k = 0; k < *K; k++)
    delays[k] = rng_range(st, 0, dmax); /* unsorted, repeats */
  *lead = rng_range(st, 0, 3);
}

/* Randomized: a few hundred scenarios per mode, all dtypes, lockstep and ragged paces. */
START_TEST(test_stream_random) {
  uint64_t st = 0x9E3779B97F4A7C15ULL ^ (uint64_t)_i;
  const int32_t mode = _i == 0 ? CODELAY_STREAM_DELAY : CODELAY_STREAM_UNDELAY;
  for (int c = 0; c < 250; c++) {
    int64_t K, delays[8], lead;
    random_pattern(&st, &K, delays, &lead);
    const int32_t dtype = t_all_dtypes[c % 7];
    const int64_t B = rng_range(&st, 1, 4), Tmax = rng_range(&st, 0, 14);
    run_scenario(&st, mode, dtype, B, K, delays, lead, Tmax, c % 2);
  }
}
END_TEST

/* Every dtype through a fixed, realistic pattern (Moshi, K=17, lead 0 and 1). */
START_TEST(test_stream_all_dtypes) {
  uint64_t st = 12345;
  int64_t delays[17] = {0};
  for (int k = 1; k < 17; k++)
    delays[k] = (k == 1 || k == 9) ? 0 : 1;
  for (int d = 0; d < 7; d++)
    for (int32_t mode = CODELAY_STREAM_DELAY; mode <= CODELAY_STREAM_UNDELAY; mode++)
      for (int64_t lead = 0; lead <= 1; lead++) {
        run_scenario(&st, mode, t_all_dtypes[d], 3, 17, delays, lead, 9, 0);
        run_scenario(&st, mode, t_all_dtypes[d], 3, 17, delays, lead, 9, 1);
      }
}
END_TEST

/* Edge patterns: D = 0 (pure copy), one stream, a single large delay, T shorter than D. */
START_TEST(test_stream_edges) {
  uint64_t st = 777;
  const int64_t zero[3] = {0, 0, 0}, big[2] = {9, 0}, one[1] = {4};
  /* K = 64, D = 260 (+ lead): R * K is above the stream's precomputed-table limit (16384 entries),
   * so this exercises the table-free read path over a few full turns of the ring. */
  int64_t wide[64];
  for (int k = 0; k < 64; k++)
    wide[k] = (k * 37) % 261;
  wide[5] = 260;
  for (int32_t mode = CODELAY_STREAM_DELAY; mode <= CODELAY_STREAM_UNDELAY; mode++) {
    run_scenario(&st, mode, CODELAY_I64, 2, 3, zero, 0, 5, 0);
    run_scenario(&st, mode, CODELAY_I32, 2, 3, zero, 2, 5, 1);
    run_scenario(&st, mode, CODELAY_I16, 3, 2, big, 0, 4, 0); /* T < D */
    run_scenario(&st, mode, CODELAY_U8, 3, 2, big, 1, 25, 1);
    run_scenario(&st, mode, CODELAY_F32, 1, 1, one, 3, 0, 0); /* nothing pushed */
    run_scenario(&st, mode, CODELAY_BF16, 1, 1, one, 0, 20, 0);
    for (int rep = 0; rep < 2; rep++) {
      run_scenario(&st, mode, CODELAY_I64, 2, 64, wide, rep, 800, 0);
      run_scenario(&st, mode, CODELAY_U8, 3, 64, wide, 0, 800, 1);
    }
  }
}
END_TEST

/*
 * Moshi's inference timing: delays [0, 0,1x7, 0,1x7] (K = 17, lead 0, D = 1). UNDELAY gives
 * nothing for the first D pushes, then aligned frame t = n - D on push n, stream k read from the
 * delayed frame t + o[k]. Same for DSM/Hibiki (K = 33, delay 2, D = 2).
 */
static void check_timing(int64_t K, int64_t dly) {
  int64_t delays[33] = {0};
  for (int64_t k = 0; k < K; k++) {
    const int64_t half = (K - 1) / 2;
    delays[k] = (k == 0 || k == 1 || k == 1 + half) ? 0 : dly;
  }
  codelay_pattern *p = make_pattern(K, delays, 0);
  const int64_t D = codelay_pattern_max_offset(p);
  ck_assert_int_eq(D, dly);
  int64_t fill[33];
  for (int64_t k = 0; k < K; k++)
    fill[k] = k == 0 ? 32000 : 2048;
  codelay_stream *u = NULL, *d = NULL;
  ck_assert_int_eq(codelay_stream_create(&u, p, CODELAY_STREAM_UNDELAY, CODELAY_I64, 2, fill),
                   CODELAY_OK);
  ck_assert_int_eq(codelay_stream_create(&d, p, CODELAY_STREAM_DELAY, CODELAY_I64, 2, fill),
                   CODELAY_OK);
  /* Rows are [B][K] contiguous: index b * K + k. */
  enum { N = 8 };
  int64_t aligned[N][2 * 33], delayed[N][2 * 33];
  for (int n = 0; n < N; n++)
    for (int64_t b = 0; b < 2; b++)
      for (int64_t k = 0; k < K; k++)
        aligned[n][b * K + k] = 1000 * n + 100 * b + k;
  for (int n = 0; n < N; n++) {
    /* Model side: aligned tokens -> delayed frame n, ready at once. */
    uint8_t ready[2] = {9, 9};
    ck_assert_int_eq(codelay_stream_push(d, aligned[n], NULL, delayed[n], ready), CODELAY_OK);
    ck_assert(ready[0] == 1 && ready[1] == 1);
    for (int64_t b = 0; b < 2; b++)
      for (int64_t k = 0; k < K; k++) {
        const int64_t want = n >= delays[k] ? aligned[n - delays[k]][b * K + k] : fill[k];
        ck_assert_int_eq(delayed[n][b * K + k], want);
      }
    /* Decoder side: delayed frames -> aligned frame n - D once n >= D. */
    int64_t out[2 * 33];
    memset(out, SENTINEL, sizeof out);
    ck_assert_int_eq(codelay_stream_push(u, delayed[n], NULL, out, ready), CODELAY_OK);
    if (n < D) {
      ck_assert(ready[0] == 0 && ready[1] == 0);
      ck_assert(all_bytes(out, sizeof out, SENTINEL));
    } else {
      ck_assert(ready[0] == 1 && ready[1] == 1);
      for (int64_t b = 0; b < 2; b++)
        for (int64_t k = 0; k < K; k++)
          ck_assert_int_eq(out[b * K + k], aligned[n - D][b * K + k]);
    }
  }
  codelay_stream_destroy(u);
  codelay_stream_destroy(d);
  codelay_pattern_destroy(p);
}

START_TEST(test_stream_moshi_timing) {
  check_timing(17, 1);
  check_timing(33, 2);
}
END_TEST

/* Items at different paces with explicit per-call active masks, checked step by step. */
START_TEST(test_stream_active_explicit) {
  const int64_t delays[2] = {0, 2};
  codelay_pattern *p = make_pattern(2, delays, 0);
  const int32_t fill[2] = {-1, -2};
  codelay_stream *s = NULL;
  ck_assert_int_eq(codelay_stream_create(&s, p, CODELAY_STREAM_DELAY, CODELAY_I32, 2, fill),
                   CODELAY_OK);
  /* item 0 pushes every call, item 1 only on calls 1 and 3. */
  const uint8_t act[4][2] = {{1, 0}, {1, 1}, {1, 0}, {1, 1}};
  int32_t out[2][2];
  uint8_t ready[2];
  int32_t want1[2][2] = {{110, -2}, {130, -2}}; /* item 1's frames n=0,1: stream 1 still fill */
  for (int c = 0; c < 4; c++) {
    int32_t frame[2][2] = {{10 * c, 10 * c + 1}, {100 + 10 * c, 100 + 10 * c + 1}};
    memset(out, SENTINEL, sizeof out);
    ck_assert_int_eq(codelay_stream_push(s, frame, act[c], out, ready), CODELAY_OK);
    ck_assert_int_eq(ready[0], 1);
    ck_assert_int_eq(out[0][0], 10 * c);
    ck_assert_int_eq(out[0][1], c >= 2 ? 10 * (c - 2) + 1 : -2);
    ck_assert_int_eq(ready[1], act[c][1]);
    if (act[c][1]) {
      ck_assert_int_eq(out[1][0], want1[c / 2][0]);
      ck_assert_int_eq(out[1][1], want1[c / 2][1]);
    } else {
      ck_assert(all_bytes(out[1], sizeof out[1], SENTINEL));
    }
  }
  /* flush: item 0 (4 frames) emits its tail; item 1 (2 frames) too, at its own position. */
  uint8_t mask[2][2];
  ck_assert_int_eq(codelay_stream_flush(s, out, &mask[0][0], ready), CODELAY_OK);
  ck_assert(ready[0] == 1 && ready[1] == 1);
  ck_assert_int_eq(out[0][0], -1);
  ck_assert_int_eq(mask[0][0], 0);
  ck_assert_int_eq(out[0][1], 21); /* frame 2, stream 1 */
  ck_assert_int_eq(mask[0][1], 1);
  ck_assert_int_eq(out[1][1], 111); /* item 1's frame 0 (pushed on call 1), stream 1 */
  ck_assert_int_eq(mask[1][1], 1);
  ck_assert_int_eq(codelay_stream_flush(s, out, &mask[0][0], ready), CODELAY_OK);
  ck_assert_int_eq(out[0][1], 31);
  ck_assert_int_eq(out[1][1], 131);
  memset(out, SENTINEL, sizeof out);
  memset(mask, SENTINEL, sizeof mask);
  ck_assert_int_eq(codelay_stream_flush(s, out, &mask[0][0], ready), CODELAY_OK);
  ck_assert(ready[0] == 0 && ready[1] == 0);
  ck_assert(all_bytes(out, sizeof out, SENTINEL));
  ck_assert(all_bytes(mask, sizeof mask, SENTINEL));
  codelay_stream_destroy(s);
  codelay_pattern_destroy(p);
}
END_TEST

/* frame == out works in place (each row is stored before it is overwritten). */
START_TEST(test_stream_in_place) {
  const int64_t delays[3] = {1, 0, 2};
  codelay_pattern *p = make_pattern(3, delays, 1);
  const int64_t fill[3] = {7, 8, 9};
  for (int32_t mode = CODELAY_STREAM_DELAY; mode <= CODELAY_STREAM_UNDELAY; mode++) {
    codelay_stream *a = NULL, *b = NULL;
    ck_assert_int_eq(codelay_stream_create(&a, p, mode, CODELAY_I64, 2, fill), CODELAY_OK);
    ck_assert_int_eq(codelay_stream_create(&b, p, mode, CODELAY_I64, 2, fill), CODELAY_OK);
    for (int n = 0; n < 10; n++) {
      int64_t f[6], io[6], out[6];
      uint8_t r1[2], r2[2];
      for (int i = 0; i < 6; i++)
        f[i] = io[i] = 100 * n + i;
      memset(out, SENTINEL, sizeof out);
      ck_assert_int_eq(codelay_stream_push(a, f, NULL, out, r1), CODELAY_OK);
      ck_assert_int_eq(codelay_stream_push(b, io, NULL, io, r2), CODELAY_OK);
      ck_assert(memcmp(r1, r2, 2) == 0);
      if (r1[0]) ck_assert(memcmp(out, io, sizeof out) == 0);
    }
    codelay_stream_destroy(a);
    codelay_stream_destroy(b);
  }
  codelay_pattern_destroy(p);
}
END_TEST

/* ERR_STATE after flush until reset; reset replays the same sequence to the same outputs. */
START_TEST(test_stream_state_reset) {
  const int64_t delays[4] = {0, 3, 1, 1};
  codelay_pattern *p = make_pattern(4, delays, 0);
  const int16_t fill[4] = {-5, -6, -7, -8};
  for (int32_t mode = CODELAY_STREAM_DELAY; mode <= CODELAY_STREAM_UNDELAY; mode++) {
    codelay_stream *s = NULL;
    ck_assert_int_eq(codelay_stream_create(&s, p, mode, CODELAY_I16, 3, fill), CODELAY_OK);
    int16_t outs[2][12][12];
    uint8_t rd[2][12][3];
    for (int run = 0; run < 2; run++) {
      for (int n = 0; n < 6; n++) {
        int16_t f[12];
        for (int i = 0; i < 12; i++)
          f[i] = (int16_t)(n * 12 + i);
        memset(outs[run][n], 0, sizeof outs[run][n]);
        ck_assert_int_eq(codelay_stream_push(s, f, NULL, outs[run][n], rd[run][n]), CODELAY_OK);
      }
      for (int n = 6; n < 12; n++) {
        memset(outs[run][n], 0, sizeof outs[run][n]);
        ck_assert_int_eq(codelay_stream_flush(s, outs[run][n], NULL, rd[run][n]), CODELAY_OK);
        /* Any push in between is refused and changes nothing. */
        int16_t f[12] = {0}, o[12];
        uint8_t r[3] = {SENTINEL, SENTINEL, SENTINEL};
        memset(o, SENTINEL, sizeof o);
        ck_assert_int_eq(codelay_stream_push(s, f, NULL, o, r), CODELAY_ERR_STATE);
        ck_assert(all_bytes(o, sizeof o, SENTINEL) && all_bytes(r, 3, SENTINEL));
      }
      ck_assert_int_eq(codelay_stream_reset(s), CODELAY_OK);
    }
    ck_assert(memcmp(outs[0], outs[1], sizeof outs[0]) == 0);
    ck_assert(memcmp(rd[0], rd[1], sizeof rd[0]) == 0);
    codelay_stream_destroy(s);
  }
  codelay_pattern_destroy(p);
}
END_TEST

/* A ragged reset: items stopped at different positions all restart from position 0. */
START_TEST(test_stream_reset_ragged) {
  const int64_t delays[2] = {0, 1};
  codelay_pattern *p = make_pattern(2, delays, 0);
  const int32_t fill[2] = {-1, -1};
  codelay_stream *s = NULL;
  ck_assert_int_eq(codelay_stream_create(&s, p, CODELAY_STREAM_UNDELAY, CODELAY_I32, 2, fill),
                   CODELAY_OK);
  int32_t f[4] = {1, 2, 3, 4}, o[4];
  uint8_t r[2];
  const uint8_t only0[2] = {1, 0};
  ck_assert_int_eq(codelay_stream_push(s, f, only0, o, r), CODELAY_OK);
  ck_assert_int_eq(codelay_stream_push(s, f, only0, o, r), CODELAY_OK);
  ck_assert(r[0] == 1 && r[1] == 0);
  ck_assert_int_eq(codelay_stream_reset(s), CODELAY_OK);
  ck_assert_int_eq(codelay_stream_push(s, f, NULL, o, r), CODELAY_OK);
  ck_assert(r[0] == 0 && r[1] == 0); /* both items back before their first aligned frame */
  ck_assert_int_eq(codelay_stream_push(s, f, NULL, o, r), CODELAY_OK);
  ck_assert(r[0] == 1 && r[1] == 1);
  codelay_stream_destroy(s);
  codelay_pattern_destroy(p);
}
END_TEST

START_TEST(test_stream_bad_input) {
  const int64_t delays[3] = {0, 1, 2};
  codelay_pattern *p = make_pattern(3, delays, 0);
  const int64_t fill[3] = {-1, -2, -3};
  codelay_stream *s = (codelay_stream *)(uintptr_t)0x1; /* must stay untouched on failure */
  codelay_stream *const sent = s;

  /* create: NULL, then ARG, then DTYPE, then SHAPE, in that order. */
  ck_assert_int_eq(codelay_stream_create(NULL, p, CODELAY_STREAM_DELAY, CODELAY_I64, 1, fill),
                   CODELAY_ERR_NULL);
  ck_assert_int_eq(codelay_stream_create(&s, NULL, CODELAY_STREAM_DELAY, CODELAY_I64, 1, fill),
                   CODELAY_ERR_NULL);
  ck_assert_int_eq(codelay_stream_create(&s, p, CODELAY_STREAM_DELAY, CODELAY_I64, 1, NULL),
                   CODELAY_ERR_NULL);
  ck_assert_int_eq(codelay_stream_create(&s, NULL, 0, 0, 0, fill), CODELAY_ERR_NULL);
  ck_assert_int_eq(codelay_stream_create(&s, p, 0, CODELAY_I64, 1, fill), CODELAY_ERR_ARG);
  ck_assert_int_eq(codelay_stream_create(&s, p, 3, CODELAY_I64, 1, fill), CODELAY_ERR_ARG);
  ck_assert_int_eq(codelay_stream_create(&s, p, -1, 0, 0, fill), CODELAY_ERR_ARG);
  ck_assert_int_eq(codelay_stream_create(&s, p, CODELAY_STREAM_DELAY, 0, 1, fill),
                   CODELAY_ERR_DTYPE);
  ck_assert_int_eq(codelay_stream_create(&s, p, CODELAY_STREAM_UNDELAY, 8, 1, fill),
                   CODELAY_ERR_DTYPE);
  ck_assert_int_eq(codelay_stream_create(&s, p, CODELAY_STREAM_UNDELAY, -3, 0, fill),
                   CODELAY_ERR_DTYPE);
  ck_assert_int_eq(codelay_stream_create(&s, p, CODELAY_STREAM_DELAY, CODELAY_I64, 0, fill),
                   CODELAY_ERR_SHAPE);
  ck_assert_int_eq(codelay_stream_create(&s, p, CODELAY_STREAM_DELAY, CODELAY_I64, -1, fill),
                   CODELAY_ERR_SHAPE);
  ck_assert_int_eq(codelay_stream_create(&s, p, CODELAY_STREAM_DELAY, CODELAY_I64, INT64_MAX, fill),
                   CODELAY_ERR_SHAPE);
  ck_assert_int_eq(
      codelay_stream_create(&s, p, CODELAY_STREAM_DELAY, CODELAY_U8, INT64_MAX / 4, fill),
      CODELAY_ERR_SHAPE);
  ck_assert_ptr_eq(s, sent);

  /* The largest offset a pattern allows, over a large batch: representable, not allocatable. */
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_MEMORY__)
#if defined(__has_feature)
#if !__has_feature(address_sanitizer) && !__has_feature(memory_sanitizer)
#define STREAM_TRY_NOMEM 1
#endif
#else
#define STREAM_TRY_NOMEM 1
#endif
#endif
#ifdef STREAM_TRY_NOMEM
  {
    const int64_t huge[1] = {INT32_MAX};
    codelay_pattern *hp = make_pattern(1, huge, 0);
    const int64_t hf[1] = {0};
    const int rc = codelay_stream_create(&s, hp, CODELAY_STREAM_DELAY, CODELAY_I64,
                                         (int64_t)1 << 21, hf); /* 2^21 * 2^32 * 8 = 2^56 bytes */
    ck_assert_int_eq(rc, CODELAY_ERR_NOMEM);
    ck_assert_ptr_eq(s, sent);
    codelay_pattern_destroy(hp);
  }
#endif

  ck_assert_int_eq(codelay_stream_create(&s, p, CODELAY_STREAM_DELAY, CODELAY_I64, 2, fill),
                   CODELAY_OK);
  int64_t frame[6] = {1, 2, 3, 4, 5, 6}, out[6];
  uint8_t ready[2], mask[6];
  memset(out, SENTINEL, sizeof out);
  memset(ready, SENTINEL, sizeof ready);
  memset(mask, SENTINEL, sizeof mask);
  ck_assert_int_eq(codelay_stream_push(NULL, frame, NULL, out, ready), CODELAY_ERR_NULL);
  ck_assert_int_eq(codelay_stream_push(s, NULL, NULL, out, ready), CODELAY_ERR_NULL);
  ck_assert_int_eq(codelay_stream_push(s, frame, NULL, NULL, ready), CODELAY_ERR_NULL);
  ck_assert_int_eq(codelay_stream_push(s, frame, NULL, out, NULL), CODELAY_ERR_NULL);
  /* Partial overlaps of out with frame, or of ready with out, are refused. */
  int64_t big[12] = {0};
  ck_assert_int_eq(codelay_stream_push(s, big, NULL, big + 1, ready), CODELAY_ERR_ALIAS);
  ck_assert_int_eq(codelay_stream_push(s, frame, NULL, out, (uint8_t *)out), CODELAY_ERR_ALIAS);
  ck_assert_int_eq(codelay_stream_flush(NULL, out, mask, ready), CODELAY_ERR_NULL);
  ck_assert_int_eq(codelay_stream_flush(s, NULL, mask, ready), CODELAY_ERR_NULL);
  ck_assert_int_eq(codelay_stream_flush(s, out, mask, NULL), CODELAY_ERR_NULL);
  ck_assert_int_eq(codelay_stream_flush(s, out, (uint8_t *)out + 1, ready), CODELAY_ERR_ALIAS);
  ck_assert_int_eq(codelay_stream_reset(NULL), CODELAY_ERR_NULL);
  ck_assert(all_bytes(out, sizeof out, SENTINEL));
  ck_assert(all_bytes(ready, sizeof ready, SENTINEL));
  ck_assert(all_bytes(mask, sizeof mask, SENTINEL));
  ck_assert(all_bytes(big, sizeof big, 0));
  /* None of the failures above flushed or moved the stream: the first push is frame 0. */
  ck_assert_int_eq(codelay_stream_push(s, frame, NULL, out, ready), CODELAY_OK);
  ck_assert(ready[0] == 1 && ready[1] == 1);
  ck_assert(out[0] == 1 && out[1] == -2 && out[2] == -3 && out[3] == 4 && out[4] == -2 &&
            out[5] == -3);
  codelay_stream_destroy(s);
  codelay_stream_destroy(NULL);
  codelay_pattern_destroy(p);
}
END_TEST

Suite *stream_suite(void) {
  Suite *su = suite_create("stream");
  TCase *tc = tcase_create("stream");
  tcase_set_timeout(tc, 60);
  tcase_add_loop_test(tc, test_stream_random, 0, 2);
  tcase_add_test(tc, test_stream_all_dtypes);
  tcase_add_test(tc, test_stream_edges);
  tcase_add_test(tc, test_stream_moshi_timing);
  tcase_add_test(tc, test_stream_active_explicit);
  tcase_add_test(tc, test_stream_in_place);
  tcase_add_test(tc, test_stream_state_reset);
  tcase_add_test(tc, test_stream_reset_ragged);
  tcase_add_test(tc, test_stream_bad_input);
  suite_add_tcase(su, tc);
  return su;
}
