/*
 * The AVX2 TK staircase, part of avx2.c (included there after the vector primitives; compiled
 * with -mavx2 only).
 */
#if !defined(__AVX2__)
#error "include from avx2.c"
#endif

/*
 * TK staircase (Dia: streams 1..8 have offsets 8, 9, ..., 15): when 8 consecutive streams have
 * offsets stepping by +1 or -1, the 8 i32 lanes of those streams in output frame f come from 8
 * different source frames along a diagonal. A blend would need 8 loads per vector; instead, 8
 * source rows (the 8 streams of 8 consecutive frames) are loaded once, each rotated by its row
 * number, and transposed: every diagonal is then one column of the transposed block (or of the
 * block after it), picked with one blend and put in lane order with one permute. The other
 * streams are copied one by one. Returns 0 when the pattern has no such run.
 */
#define CL_TK_STAIRCASE 1

static inline void tr8x8(__m256i r[8]) {
  __m256i t0 = _mm256_unpacklo_epi32(r[0], r[1]), t1 = _mm256_unpackhi_epi32(r[0], r[1]);
  __m256i t2 = _mm256_unpacklo_epi32(r[2], r[3]), t3 = _mm256_unpackhi_epi32(r[2], r[3]);
  __m256i t4 = _mm256_unpacklo_epi32(r[4], r[5]), t5 = _mm256_unpackhi_epi32(r[4], r[5]);
  __m256i t6 = _mm256_unpacklo_epi32(r[6], r[7]), t7 = _mm256_unpackhi_epi32(r[6], r[7]);
  __m256i u0 = _mm256_unpacklo_epi64(t0, t2), u1 = _mm256_unpackhi_epi64(t0, t2);
  __m256i u2 = _mm256_unpacklo_epi64(t1, t3), u3 = _mm256_unpackhi_epi64(t1, t3);
  __m256i u4 = _mm256_unpacklo_epi64(t4, t6), u5 = _mm256_unpackhi_epi64(t4, t6);
  __m256i u6 = _mm256_unpacklo_epi64(t5, t7), u7 = _mm256_unpackhi_epi64(t5, t7);
  r[0] = _mm256_permute2x128_si256(u0, u4, 0x20);
  r[1] = _mm256_permute2x128_si256(u1, u5, 0x20);
  r[2] = _mm256_permute2x128_si256(u2, u6, 0x20);
  r[3] = _mm256_permute2x128_si256(u3, u7, 0x20);
  r[4] = _mm256_permute2x128_si256(u0, u4, 0x31);
  r[5] = _mm256_permute2x128_si256(u1, u5, 0x31);
  r[6] = _mm256_permute2x128_si256(u2, u6, 0x31);
  r[7] = _mm256_permute2x128_si256(u3, u7, 0x31);
}

/*
 * Rows 0..7 from row0 (row = the run's 8 streams of one source frame, rows K elements apart),
 * row r rotated by rot(r), transposed: t[c] lane r = rotated row r, lane c. Rows from nrows on
 * repeat the last one (their lanes are never used).
 */
static inline __attribute__((always_inline)) void
stair_block(__m256i t[8], const int32_t *row0, size_t K, int64_t nrows, const int sigma) {
  for (int r = 0; r < 8; r++) {
    const int64_t rr = r < nrows ? r : nrows - 1;
    const __m256i rot = sigma > 0
                            ? _mm256_setr_epi32(r & 7, (r + 1) & 7, (r + 2) & 7, (r + 3) & 7,
                                                (r + 4) & 7, (r + 5) & 7, (r + 6) & 7, (r + 7) & 7)
                            : _mm256_setr_epi32((-r) & 7, (1 - r) & 7, (2 - r) & 7, (3 - r) & 7,
                                                (4 - r) & 7, (5 - r) & 7, (6 - r) & 7, (7 - r) & 7);
    t[r] = _mm256_permutevar8x32_epi32(vload(row0 + (size_t)rr * K), rot);
  }
  tr8x8(t);
}

/*
 * Lanes of mask m from b, the others from a. The instruction takes the mask as an immediate, and
 * clang insists on a constant expression even where inlining makes m a constant: one case per
 * mask, folded to a single blend after inlining.
 */
#define STAIR_B1(m)                                                                                \
  case m:                                                                                          \
    return _mm256_blend_epi32(a, b, m);
#define STAIR_B4(m)  STAIR_B1(m) STAIR_B1(m + 1) STAIR_B1(m + 2) STAIR_B1(m + 3)
#define STAIR_B16(m) STAIR_B4(m) STAIR_B4(m + 4) STAIR_B4(m + 8) STAIR_B4(m + 12)
#define STAIR_B64(m) STAIR_B16(m) STAIR_B16(m + 16) STAIR_B16(m + 32) STAIR_B16(m + 48)
static inline __attribute__((always_inline)) __m256i stair_blend_mask(__m256i a, __m256i b, int m) {
  switch (m & 255) {
    STAIR_B64(0)
    STAIR_B64(64)
    STAIR_B64(128)
    STAIR_B64(192)
  }
  return a;
}
#undef STAIR_B64
#undef STAIR_B16
#undef STAIR_B4
#undef STAIR_B1

/* Lanes below i from b, the others from a. */
static inline __attribute__((always_inline)) __m256i stair_blend(__m256i a, __m256i b, int i) {
  return stair_blend_mask(a, b, (1 << i) - 1);
}

/* The column of the transposed blocks that holds output frame i of a block (0..7). */
static inline __attribute__((always_inline)) int stair_col(int i, const int sigma) {
  return sigma > 0 ? (-i) & 7 : (i + 7) & 7;
}

/*
 * Output frame i of a block: its diagonal starts at row i, so it is column c of the blend that
 * takes lanes below i from t1 (rows 8..15), put in lane order: lane l is lane (i + l) & 7
 * (sigma +1) or (i + 7 - l) & 7 (sigma -1). Only the frames whose column is in half h (0..3 or
 * 4..7): the caller transposes t1 a half at a time, to stay within 16 registers.
 */
static inline __attribute__((always_inline)) void stair_store_half(int32_t *out, size_t K,
                                                                   const __m256i t0[8],
                                                                   const __m256i t1[8], int h,
                                                                   const int sigma) {
#pragma GCC unroll 8
  for (int i = 0; i < 8; i++) {
    const int c = stair_col(i, sigma);
    if (c >> 2 != h) continue;
    const __m256i o = sigma > 0
                          ? _mm256_setr_epi32(i & 7, (i + 1) & 7, (i + 2) & 7, (i + 3) & 7,
                                              (i + 4) & 7, (i + 5) & 7, (i + 6) & 7, (i + 7) & 7)
                          : _mm256_setr_epi32((i + 7) & 7, (i + 6) & 7, (i + 5) & 7, (i + 4) & 7,
                                              (i + 3) & 7, (i + 2) & 7, (i + 1) & 7, i & 7);
    vstore(out + (size_t)i * K, _mm256_permutevar8x32_epi32(stair_blend(t0[c], t1[c], i), o));
  }
}

/*
 * Half h of stair_block for rows strictly inside the span, without shuffles for the rotation
 * and the 128-bit halves (the shuffle units bound the staircase on Zen 3): a 128-bit broadcast
 * load is a plain load, and a blend by a constant is not a shuffle. Half h of rotated row r is a
 * blend of two half-row loads 8 elements apart (where the rotation wraps), z[q] = [half h of
 * row q | half h of row q + 4], and the transpose needs only its in-half steps: t[4h + j] =
 * column 4h + j. Reads up to 8 elements before and 11 after a row's first element, i.e. into
 * the frames before and after it.
 */
static inline __attribute__((always_inline)) __m256i stair_bcast(const int32_t *p) {
  return _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)p));
}

static inline __attribute__((always_inline)) void
stair_half_inner(__m256i t[8], const int32_t *row0, size_t K, int h, const int sigma) {
  __m256i z[4];
#pragma GCC unroll 4
  for (int q = 0; q < 4; q++) {
    __m256i half[2];
    for (int u = 0; u < 2; u++) {
      const int r = q + 4 * u;
      const int32_t *p = row0 + (size_t)r * K;
      /* Rotated row r, lane x = row element (x + sigma * r) & 7: from p + x + sigma * r, or 8
       * elements back (sigma +1) or ahead (sigma -1) where that wraps out of the row. */
      const int a = sigma > 0 ? r : -r, w = sigma > 0 ? -8 : 8;
      int mask = 0;
      for (int x = 0; x < 4; x++) {
        const int e = x + 4 * h + a;
        if (e < 0 || e > 7) mask |= 0x11 << x;
      }
      const __m256i direct = stair_bcast(p + a + 4 * h);
      half[u] = mask ? stair_blend_mask(direct, stair_bcast(p + a + w + 4 * h), mask) : direct;
    }
    z[q] = _mm256_blend_epi32(half[0], half[1], 0xf0);
  }
  __m256i t0 = _mm256_unpacklo_epi32(z[0], z[1]), t1 = _mm256_unpackhi_epi32(z[0], z[1]);
  __m256i t2 = _mm256_unpacklo_epi32(z[2], z[3]), t3 = _mm256_unpackhi_epi32(z[2], z[3]);
  t[4 * h + 0] = _mm256_unpacklo_epi64(t0, t2);
  t[4 * h + 1] = _mm256_unpackhi_epi64(t0, t2);
  t[4 * h + 2] = _mm256_unpacklo_epi64(t1, t3);
  t[4 * h + 3] = _mm256_unpackhi_epi64(t1, t3);
}

/* The other streams of frames f0..f0+7 (Dia's stream 0), one element per frame. */
static inline __attribute__((always_inline)) void
stair_others(int32_t *out, const int32_t *in, size_t K, int64_t f0, const int64_t *other,
             const int64_t *other_rel, int n_other) {
  for (int q = 0; q < n_other; q++) {
    int32_t *d = out + other[q] + (size_t)f0 * K;
    const int32_t *sq = in + other_rel[q] + (size_t)f0 * K;
    for (int i = 0; i < 8; i++, d += K, sq += K)
      *d = *sq;
  }
}

/*
 * Every frame of the span, for one direction (sigma constant, so every index above is a
 * constant). Rows are source frames from base; frame f needs rows f..f+7, which the caller
 * guarantees exist (up to row F + 6). Consecutive blocks share a transposed half, so every row is
 * loaded and transposed once. The other streams go first in each block: a load just after a
 * store to the same 8 bytes waits for it, even when they do not overlap.
 */
static inline __attribute__((always_inline)) void
stair_run(int32_t *out, const int32_t *in, int64_t F, size_t K, int64_t s, int64_t base,
          const int64_t *other, const int64_t *other_rel, int n_other, const int sigma) {
  const int32_t *rows = in + (size_t)base * K + (size_t)s;
  int32_t *o = out + s;
  __m256i t0[8], t1[8];
  int64_t f0 = 0;
  stair_block(t0, rows, K, 8, sigma);
  for (; f0 + 8 <= F; f0 += 8) {
    const int32_t *r1 = rows + (size_t)(f0 + 8) * K;
    stair_others(out, in, K, f0, other, other_rel, n_other);
    /* Rows f0 + 8 .. f0 + 15 (f0 + 15 is used, and exists, when f0 + 9 <= F); the inner loads
     * also need the rows before and after them, i.e. up to row f0 + 16 <= F + 6. */
    if (f0 + 10 <= F) {
      stair_half_inner(t1, r1, K, 0, sigma);
      stair_store_half(o + (size_t)f0 * K, K, t0, t1, 0, sigma);
      stair_half_inner(t1, r1, K, 1, sigma);
      stair_store_half(o + (size_t)f0 * K, K, t0, t1, 1, sigma);
    } else {
      stair_block(t1, r1, K, f0 + 9 <= F ? 8 : 7, sigma);
      stair_store_half(o + (size_t)f0 * K, K, t0, t1, 0, sigma);
      stair_store_half(o + (size_t)f0 * K, K, t0, t1, 1, sigma);
    }
    for (int c = 0; c < 8; c++)
      t0[c] = t1[c];
  }
  if (f0 < F) {
    /* Ragged end: the last 8 frames again (rewriting the overlap with the same values). */
    f0 = F - 8;
    stair_others(out, in, K, f0, other, other_rel, n_other);
    stair_block(t0, rows + (size_t)f0 * K, K, 8, sigma);
    stair_block(t1, rows + (size_t)(f0 + 8) * K, K, 7, sigma);
    stair_store_half(o + (size_t)f0 * K, K, t0, t1, 0, sigma);
    stair_store_half(o + (size_t)f0 * K, K, t0, t1, 1, sigma);
  }
}

/*
 * One function per direction, so each keeps its registers to itself; Dia's K = 9 with one other
 * stream at 0 and the run at 1 also as constants, so every row, frame and other-stream address
 * is a base register plus an immediate (the loop is bound by instruction throughput: the pointer
 * arithmetic of a runtime K was a third of it).
 */
static __attribute__((noinline)) void stair_run_up(int32_t *out, const int32_t *in, int64_t F,
                                                   size_t K, int64_t s, int64_t base,
                                                   const int64_t *other, const int64_t *other_rel,
                                                   int n_other) {
  if (K == 9 && s == 1 && n_other == 1 && other[0] == 0)
    stair_run(out, in, F, 9, 1, base, other, other_rel, 1, 1);
  else
    stair_run(out, in, F, K, s, base, other, other_rel, n_other, 1);
}
static __attribute__((noinline)) void stair_run_down(int32_t *out, const int32_t *in, int64_t F,
                                                     size_t K, int64_t s, int64_t base,
                                                     const int64_t *other, const int64_t *other_rel,
                                                     int n_other) {
  if (K == 9 && s == 1 && n_other == 1 && other[0] == 0)
    stair_run(out, in, F, 9, 1, base, other, other_rel, 1, -1);
  else
    stair_run(out, in, F, K, s, base, other, other_rel, n_other, -1);
}

static int tk_staircase4(const cl_tk_args *a) {
  const codelay_pattern *p = a->p;
  const int64_t K = p->streams, F = a->frames;
  if (F < 8 || K < 8 || K > 64) return 0;
  int64_t s = -1;
  int delta = 0;
  for (int64_t c = 0; c + 8 <= K && s < 0; c++)
    for (int d = -1; d <= 1 && s < 0; d += 2) {
      int ok = 1;
      for (int l = 1; l < 8 && ok; l++)
        ok = p->offset[c + l] == p->offset[c] + l * d;
      if (ok) s = c, delta = d;
    }
  if (s < 0) return 0;

  /* Output frame f, run lane l reads source frame A + f + sigma * l. */
  const int sigma = a->sign * delta;
  const int64_t A = a->first + a->sign * p->offset[s];
  const int64_t base = sigma > 0 ? A : A - 7; /* source row of block row 0 for f0 = 0 */
  const int32_t *in = (const int32_t *)a->src;
  int32_t *out = (int32_t *)a->dst;
  int64_t other[64], other_rel[64];
  int n_other = 0;
  for (int64_t k = 0; k < K; k++)
    if (k < s || k >= s + 8) {
      other[n_other] = k;
      other_rel[n_other++] = (a->first + a->sign * p->offset[k]) * K + k; /* src of frame 0 */
    }
  if (sigma > 0)
    stair_run_up(out, in, F, (size_t)K, s, base, other, other_rel, n_other);
  else
    stair_run_down(out, in, F, (size_t)K, s, base, other, other_rel, n_other);
  return 1;
}
