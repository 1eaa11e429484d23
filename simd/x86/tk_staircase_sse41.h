/*
 * The SSE4.1 TK staircase, part of sse41.c (its staircase) and of avx2.c (for runs of 4 to 7
 * streams, which the 8-lane staircase cannot take). Uses only SSE4.1 intrinsics.
 */
#if !defined(__SSE4_1__)
#error "include from sse41.c or avx2.c"
#endif

/*
 * TK staircase for runs of 4 streams (Dia: streams 1..4 and 5..8 have offsets 8..11 and
 * 12..15): when 4 consecutive streams s..s+3 have offsets stepping by d = +1 or -1, lane l of
 * output frame f (stream s + l) comes from source frame A + f + sigma * l (A: lane 0's frame for
 * f = 0, sigma = sign * d), so the 4 lanes come from 4 different source frames along a diagonal.
 * With R[j] = the run's 4 streams of source frame j (one load), every lane l of output frame f
 * sits in lane l of its row (for sigma +1: R[f], R[f+1], R[f+2], R[f+3] in lanes 0..3), so the
 * diagonal is a blend of rows: no shuffle at all. Two blends per frame suffice, since the pairs
 * P[j] = (R[j], R[j+1], R[j], R[j+1]) are each shared by two frames: frame f = lanes 0-1 of P[f]
 * and lanes 2-3 of P[f+2]. Per frame and run: one load, two blends, one store. (Rotating rows,
 * transposing 4x4 blocks and rotating each frame into lane order would cost 3.5 shuffles per
 * frame, on fewer ports than blends.) Float loads, blends and stores move the i32 and f32 bits
 * unchanged; blendps runs on more ports than pblendw on Intel cores.
 *
 * The span is done in chunks of frames that stay in L1, one job (a loop over the chunk's frames)
 * per one or two runs, so every line of a chunk is written while it is cached. Returns 0 when the
 * pattern has no such run.
 */
/* Output bytes per chunk: with its source rows (a few frames more), well inside a 32 KiB L1. */
#define STAIR4_CHUNK_BYTES 4096

/* +1 or -1 when streams k..k+3 have offsets stepping by that, else 0. */
static inline int stair4_step(const int64_t *o, int64_t k, int64_t K) {
  if (k + 4 > K) return 0;
  for (int d = -1; d <= 1; d += 2)
    if (o[k + 1] == o[k] + d && o[k + 2] == o[k] + 2 * d && o[k + 3] == o[k] + 3 * d) return d;
  return 0;
}

static inline __attribute__((always_inline)) __m128 stair4_load(const int32_t *p) {
  return _mm_loadu_ps((const float *)p);
}

/*
 * P[j] from rows lo = R[j] and hi = R[j+1]. sigma +1: lanes (R[j], R[j+1], R[j], R[j+1]);
 * sigma -1: rows are numbered from the other end of the diagonal, (R[j+1], R[j], R[j+1], R[j]).
 * The first operand is always the one that dies here (lo; below, P[f]): SSE's blend overwrites
 * it, so no register copy is needed. (Immediates: one constant per branch, as clang requires.)
 */
static inline __attribute__((always_inline)) __m128 stair4_pair(__m128 lo, __m128 hi,
                                                                const int sigma) {
  return sigma > 0 ? _mm_blend_ps(lo, hi, 0xa) : _mm_blend_ps(lo, hi, 0x5);
}

/* Output frame f from a = P[f] and b = P[f+2]: sigma +1 lanes (R[f], R[f+1], R[f+2], R[f+3]),
 * sigma -1 lanes (R[f+3], R[f+2], R[f+1], R[f]). */
static inline __attribute__((always_inline)) __m128 stair4_frame(__m128 a, __m128 b,
                                                                 const int sigma) {
  return sigma > 0 ? _mm_blend_ps(a, b, 0xc) : _mm_blend_ps(a, b, 0x3);
}

/*
 * One loop over the n frames of a chunk: up to two runs with the same sigma (Dia's streams 1..8)
 * and the other stream just before them (Dia's stream 0). One loop instead of a pass per run
 * and per other stream: measured 25-35% faster on Dia (one sweep over the chunk's lines, one
 * loop's overhead, and the other stream costs a load and a store per frame).
 */
typedef struct stair4_job {
  float *out[2];         /* each run's first stream in output frame 0 of the chunk */
  const int32_t *row[2]; /* the same in its row R[0]: source frame A (sigma +1) or A - 3 */
  int32_t *one_out;      /* the other stream in output frame 0 */
  const int32_t *one_in; /* its source element */
} stair4_job;

/*
 * Frame f of a run reads rows f..f+3, so rows 0..n+2 are read: exactly the source frames the
 * run's streams read. Runs (1 or 2), one (0 or 1) and sigma are constants in each instance.
 * (Walking down instead, as the blend kernels do against 4 KiB aliasing in delays, measured no
 * faster for Dia's delay and 20-30% slower for its undelay on Zen 3.)
 */
static inline __attribute__((always_inline)) void stair4_body(const stair4_job *j, size_t K,
                                                              int64_t n, const int sigma,
                                                              const int runs, const int one) {
  float *out[2];
  const int32_t *row[2];
  __m128 p0[2], p1[2], r2[2], r3[2];
#pragma GCC unroll 2
  for (int r = 0; r < runs; r++) {
    const __m128 a = stair4_load(j->row[r]), b = stair4_load(j->row[r] + K);
    r2[r] = stair4_load(j->row[r] + 2 * K);
    p0[r] = stair4_pair(a, b, sigma);
    p1[r] = stair4_pair(b, r2[r], sigma);
    row[r] = j->row[r] + 3 * K;
    out[r] = j->out[r];
  }
  int32_t *od = j->one_out;
  const int32_t *os = j->one_in;
  int64_t f = 0;
  /*
   * Four frames per step: SSE's two-operand blends overwrite an input, and after four frames the
   * window of pairs is back in the same registers without copies.
   */
  for (; f + 4 <= n; f += 4) {
    const size_t i = (size_t)f * K;
    if (one) {
      od[i] = os[i];
      od[i + K] = os[i + K];
      od[i + 2 * K] = os[i + 2 * K];
      od[i + 3 * K] = os[i + 3 * K];
    }
#pragma GCC unroll 2
    for (int r = 0; r < runs; r++) {
      const int32_t *q = row[r] + i;
      float *w = out[r] + i;
      r3[r] = stair4_load(q);
      const __m128 p2 = stair4_pair(r2[r], r3[r], sigma);
      _mm_storeu_ps(w, stair4_frame(p0[r], p2, sigma));
      r2[r] = stair4_load(q + K);
      const __m128 p3 = stair4_pair(r3[r], r2[r], sigma);
      _mm_storeu_ps(w + K, stair4_frame(p1[r], p3, sigma));
      r3[r] = stair4_load(q + 2 * K);
      p0[r] = stair4_pair(r2[r], r3[r], sigma);
      _mm_storeu_ps(w + 2 * K, stair4_frame(p2, p0[r], sigma));
      r2[r] = stair4_load(q + 3 * K);
      p1[r] = stair4_pair(r3[r], r2[r], sigma);
      _mm_storeu_ps(w + 3 * K, stair4_frame(p3, p1[r], sigma));
    }
  }
  for (; f < n; f++) {
    const size_t i = (size_t)f * K;
    if (one) od[i] = os[i];
#pragma GCC unroll 2
    for (int r = 0; r < runs; r++) {
      r3[r] = stair4_load(row[r] + i);
      const __m128 p2 = stair4_pair(r2[r], r3[r], sigma);
      _mm_storeu_ps(out[r] + i, stair4_frame(p0[r], p2, sigma));
      p0[r] = p1[r];
      p1[r] = p2;
      r2[r] = r3[r];
    }
  }
}

/* One function per shape, so the blend immediates and the loop's parts are constants. */
typedef void (*stair4_fn)(const stair4_job *j, size_t K, int64_t n);
#define STAIR4_FN(name, sigma, runs, one)                                                          \
  static __attribute__((noinline)) void name(const stair4_job *j, size_t K, int64_t n) {           \
    stair4_body(j, K, n, sigma, runs, one);                                                        \
  }
STAIR4_FN(stair4_down1, -1, 1, 0)
STAIR4_FN(stair4_down1_one, -1, 1, 1)
STAIR4_FN(stair4_down2, -1, 2, 0)
STAIR4_FN(stair4_down2_one, -1, 2, 1)
STAIR4_FN(stair4_up1, 1, 1, 0)
STAIR4_FN(stair4_up1_one, 1, 1, 1)
STAIR4_FN(stair4_up2, 1, 2, 0)
STAIR4_FN(stair4_up2_one, 1, 2, 1)
#undef STAIR4_FN
/* [sigma > 0][runs - 1][one] */
static const stair4_fn stair4_fns[2][2][2] = {
    {{stair4_down1, stair4_down1_one}, {stair4_down2, stair4_down2_one}},
    {{stair4_up1, stair4_up1_one}, {stair4_up2, stair4_up2_one}},
};

/* An other stream's n frames of a chunk, one element per frame. */
static void stair4_copy_one(int32_t *d, const int32_t *s, size_t K, int64_t n) {
#pragma GCC unroll 4
  for (int64_t f = 0; f < n; f++, s += K, d += K)
    *d = *s;
}

/* The source element of stream k for output frame f (for a run: its lane 0's, frame A + f). */
static inline const int32_t *stair4_src(const cl_tk_args *a, int64_t f, int64_t k) {
  const size_t K = (size_t)a->p->streams;
  return (const int32_t *)a->src + (size_t)(a->first + f + a->sign * a->p->offset[k]) * K +
         (size_t)k;
}

static int stair4_span(const cl_tk_args *a) {
  const codelay_pattern *p = a->p;
  const int64_t K = p->streams, F = a->frames;
  const int64_t *o = p->offset;
  int any = 0;
  for (int64_t k = 0; k + 4 <= K && !any; k++)
    any = stair4_step(o, k, K) != 0;
  if (!any) return 0;

  int32_t *out = (int32_t *)a->dst;
  const size_t Ku = (size_t)K;
  /* At least 8 frames, so the 3 rows a run reads beyond its frames stay a small extra. */
  int64_t chunk = STAIR4_CHUNK_BYTES / (4 * K);
  if (chunk < 8) chunk = 8;
  for (int64_t f0 = 0; f0 < F; f0 += chunk) {
    const int64_t n = F - f0 < chunk ? F - f0 : chunk;
    int32_t *dst = out + (size_t)f0 * Ku;
    /*
     * Runs are taken greedily from the left, a second run with the same sigma right after the
     * first joins its job, and so does the other stream right before it; the streams left over
     * are copied one by one.
     */
    int64_t pending = -1; /* an other stream not copied yet (the one just before k) */
    for (int64_t k = 0; k < K;) {
      const int d = stair4_step(o, k, K);
      if (!d) {
        if (pending >= 0) stair4_copy_one(dst + pending, stair4_src(a, f0, pending), Ku, n);
        pending = k++;
        continue;
      }
      const int sigma = a->sign * d;
      stair4_job j = {{NULL, NULL}, {NULL, NULL}, NULL, NULL};
      int runs = 0;
      do {
        j.out[runs] = (float *)(dst + k);
        j.row[runs] = stair4_src(a, f0, k) - (sigma > 0 ? 0 : 3 * Ku);
        runs++;
        k += 4;
      } while (runs < 2 && a->sign * stair4_step(o, k, K) == sigma);
      if (pending >= 0) {
        j.one_out = dst + pending;
        j.one_in = stair4_src(a, f0, pending);
      }
      stair4_fns[sigma > 0][runs - 1][pending >= 0](&j, Ku, n);
      pending = -1;
    }
    if (pending >= 0) stair4_copy_one(dst + pending, stair4_src(a, f0, pending), Ku, n);
  }
  return 1;
}
