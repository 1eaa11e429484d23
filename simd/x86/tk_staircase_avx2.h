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
 * streams of the frame are copied one by one. Returns 0 when the pattern has no such run.
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

/* Rows first..first+7 (row = the run's 8 streams of one source frame), each rotated by its
 * index, transposed: t[c] lane r = rotated row r, lane c. Rows above last repeat last. */
static inline void stair_block(__m256i t[8], const int32_t *row0, size_t K, int64_t nrows,
                               const __m256i rot[8]) {
  for (int r = 0; r < 8; r++) {
    int64_t rr = r < nrows ? r : nrows - 1;
    t[r] = _mm256_permutevar8x32_epi32(vload(row0 + (size_t)rr * K), rot[r]);
  }
  tr8x8(t);
}

/* The block loop for one direction (sigma constant, so every index below is a constant). */
static inline __attribute__((always_inline)) void
stair_run(int32_t *out, const int32_t *in, int64_t F, int64_t K, int64_t s, int64_t base,
          const int64_t *others, const int64_t *rel, int n_others, const int sigma) {
  __m256i rot[8];
  for (int i = 0; i < 8; i++) {
    int32_t ri[8];
    for (int j = 0; j < 8; j++)
      ri[j] = sigma > 0 ? (j + i) & 7 : (j - i) & 7;
    rot[i] = vload(ri);
  }
  __m256i t0[8], t1[8];
  int64_t have = -1; /* f0 whose second block is in t1 */
  for (int64_t f0 = 0; f0 < F; f0 += 8) {
    if (f0 + 8 > F) f0 = F - 8; /* ragged end: one overlapping block, same values again */
    const int32_t *row0 = in + (size_t)((base + f0) * K + s);
    if (have >= 0 && have + 8 == f0) { /* t1 was loaded with all 8 rows */
      for (int c = 0; c < 8; c++)
        t0[c] = t1[c];
    } else {
      stair_block(t0, row0, (size_t)K, 8, rot);
    }
    /* Block rows 8..14 exist (some lane of this block uses each); row 15 is only used (as row 7
     * of the next block, which then reuses t1) when that block starts at f0 + 8. */
    stair_block(t1, row0 + 8 * (size_t)K, (size_t)K, f0 + 16 <= F ? 8 : 7, rot);
    have = f0;
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) {
      const int c = sigma > 0 ? (-i) & 7 : (i + 7) & 7;
      /* Lanes below i come from the second block; then lane l of the output is lane
       * (i + l) & 7 (sigma +1) or (i + 7 - l) & 7 (sigma -1) of the blend. */
      const __m256i m =
          _mm256_setr_epi32(0 < i ? -1 : 0, 1 < i ? -1 : 0, 2 < i ? -1 : 0, 3 < i ? -1 : 0,
                            4 < i ? -1 : 0, 5 < i ? -1 : 0, 6 < i ? -1 : 0, 7 < i ? -1 : 0);
      const __m256i o = sigma > 0
                            ? _mm256_setr_epi32(i & 7, (i + 1) & 7, (i + 2) & 7, (i + 3) & 7,
                                                (i + 4) & 7, (i + 5) & 7, (i + 6) & 7, (i + 7) & 7)
                            : _mm256_setr_epi32((i + 7) & 7, (i + 6) & 7, (i + 5) & 7, (i + 4) & 7,
                                                (i + 3) & 7, (i + 2) & 7, (i + 1) & 7, i & 7);
      __m256i b = _mm256_blendv_epi8(t0[c], t1[c], m);
      vstore(out + (size_t)((f0 + i) * K + s), _mm256_permutevar8x32_epi32(b, o));
      for (int q = 0; q < n_others; q++)
        out[(f0 + i) * K + others[q]] = in[rel[q] + (f0 + i) * K];
    }
  }
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
  int64_t others[64], rel[64];
  int n_others = 0;
  for (int64_t k = 0; k < K; k++)
    if (k < s || k >= s + 8) {
      others[n_others] = k;
      rel[n_others++] = (a->first + a->sign * p->offset[k]) * K + k; /* element of frame 0 */
    }

  if (sigma > 0)
    stair_run(out, in, F, K, s, base, others, rel, n_others, 1);
  else
    stair_run(out, in, F, K, s, base, others, rel, n_others, -1);
  return 1;
}
