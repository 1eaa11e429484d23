/*
 * The AVX2 TK staircase, part of avx2.c (included there after the vector primitives; compiled
 * with -mavx2 only).
 */
#if !defined(__AVX2__)
#error "include from avx2.c"
#endif

/*
 * TK staircase (Dia: streams 1..8 have offsets 8, 9, ..., 15): when 8 consecutive streams have
 * offsets stepping by +1 or -1, lane l of output frame f (stream s + l) reads source frame
 * A + f + sigma * l: the 8 lanes come from 8 different source frames, one lane each. With R[j] =
 * the run's 8 streams of source frame j (one load), lane l of the output is lane l of row
 * R[f + sigma * l]: the diagonal is a blend of rows, no shuffle at all. A blend tree shares its
 * levels between frames: A[j] = R[j] with the odd lanes of its neighbour row, B[j] = A[j] with
 * lanes 2-3 and 6-7 of A two rows on, and frame f = B with lanes 4-7 of B four rows on. Each
 * frame then costs one row load, three constant blends and one store, and every row is loaded
 * once. (The SSE4.1 staircase found the idea for 4 lanes; the previous AVX2 kernel transposed
 * rotated 8x8 blocks and was bound by its shuffles, at ~2.5x fewer frames per cycle.) The other
 * streams are copied one by one. Returns 0 when the pattern has no such run.
 */
#define CL_TK_STAIRCASE 1

/* Lanes of the constant mask m from b, the others from a. */
#define STAIR_BLEND(a, b, m) _mm256_blend_epi32((a), (b), (m))

/*
 * The run's 8 streams of every frame of the span, for one direction (sigma constant). Rows are
 * source frames from base (sigma +1: frame f lane l reads row f + l; sigma -1: row f + 7 - l),
 * so frame f needs rows f..f+7, which the caller guarantees exist (rows 0..F + 6). The rings hold
 * the rows and tree levels still needed, indexed by row & 7 (constants after unrolling).
 */
static inline __attribute__((always_inline)) void
stair_run(int32_t *out, const int32_t *in, int64_t F, size_t K, int64_t s, int64_t base,
          const int64_t *other, const int64_t *other_rel, int n_other, const int sigma) {
  const int32_t *rows = in + (size_t)base * K + (size_t)s;
  int32_t *o = out + s;
  __m256i R[8], A[8], B[8];
  /* The tree with the odd/upper parts from the later row (sigma +1) or the earlier (sigma -1). */
#define STAIR_A(j)                                                                                 \
  (sigma > 0 ? STAIR_BLEND(R[(j)&7], R[((j) + 1) & 7], 0xaa)                                       \
             : STAIR_BLEND(R[((j) + 1) & 7], R[(j)&7], 0xaa))
#define STAIR_B(j)                                                                                 \
  (sigma > 0 ? STAIR_BLEND(A[(j)&7], A[((j) + 2) & 7], 0xcc)                                       \
             : STAIR_BLEND(A[((j) + 2) & 7], A[(j)&7], 0xcc))
#define STAIR_C(j)                                                                                 \
  (sigma > 0 ? STAIR_BLEND(B[(j)&7], B[((j) + 4) & 7], 0xf0)                                       \
             : STAIR_BLEND(B[((j) + 4) & 7], B[(j)&7], 0xf0))
  int64_t f0 = 0;
  for (;;) {
    /* Rows f0..f0+6 and their tree levels, then blocks of 8 frames with constant ring slots. */
    const int32_t *r0 = rows + (size_t)f0 * K;
    for (int j = 0; j < 7; j++)
      R[j] = vload(r0 + (size_t)j * K);
    for (int j = 0; j < 6; j++)
      A[j] = STAIR_A(j);
    for (int j = 0; j < 4; j++)
      B[j] = STAIR_B(j);
    for (; f0 + 8 <= F; f0 += 8) {
      const int32_t *r7 = rows + (size_t)(f0 + 7) * K;
      int32_t *of = o + (size_t)f0 * K;
      /* The other streams first: a load just after a store to the same 8 bytes waits for it. */
      for (int q = 0; q < n_other; q++) {
        int32_t *d = out + other[q] + (size_t)f0 * K;
        const int32_t *sq = in + other_rel[q] + (size_t)f0 * K;
        for (int i = 0; i < 8; i++, d += K, sq += K)
          *d = *sq;
      }
#pragma GCC unroll 8
      for (int i = 0; i < 8; i++) {
        /* Frame f0 + i: row i + 7 is new; levels A[i + 6], B[i + 4] and the frame follow. */
        R[(i + 7) & 7] = vload(r7 + (size_t)i * K);
        A[(i + 6) & 7] = STAIR_A(i + 6);
        B[(i + 4) & 7] = STAIR_B(i + 4);
        vstore(of + (size_t)i * K, STAIR_C(i));
      }
    }
    if (f0 == F) break;
    /* Ragged end: the last 8 frames again from a fresh start (the overlap gets the same values). */
    f0 = F - 8;
  }
#undef STAIR_A
#undef STAIR_B
#undef STAIR_C
}

/*
 * One function per direction, so each keeps its registers to itself; Dia's K = 9 with one other
 * stream at 0 and the run at 1 also as constants, so every row, frame and other-stream address
 * is a base register plus an immediate (the loop is bound by instruction throughput).
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
  /* Too few frames or streams for 8-lane runs: the 4-lane staircase (tk_staircase_sse41.h). */
  if (F < 8 || K < 8 || K > 64) return stair4_span(a);
  int64_t s = -1;
  int delta = 0;
  for (int64_t c = 0; c + 8 <= K && s < 0; c++)
    for (int d = -1; d <= 1 && s < 0; d += 2) {
      int ok = 1;
      for (int l = 1; l < 8 && ok; l++)
        ok = p->offset[c + l] == p->offset[c] + l * d;
      if (ok) s = c, delta = d;
    }
  if (s < 0) return stair4_span(a);

  /* Output frame f, run lane l reads source frame A + f + sigma * l. */
  const int sigma = a->sign * delta;
  const int64_t A = a->first + a->sign * p->offset[s];
  const int64_t base = sigma > 0 ? A : A - 7; /* source frame of row 0 */
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
