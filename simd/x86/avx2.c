/* The AVX2 backend: 32-byte vectors. Compiled with -mavx2 only (see the top CMakeLists.txt). */
#if !defined(__AVX2__)
#error "avx2.c must be compiled with -mavx2"
#endif

#include "kernels.h"

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#define CL_VW             32
#define CL_ISA_NAME       "avx2"
#define CL_KERNELS_SYMBOL cl_kernels_avx2

typedef __m256i vec;

static inline vec vload(const void *p) {
  return _mm256_loadu_si256((const __m256i *)p);
}
static inline void vstore(void *p, vec v) {
  _mm256_storeu_si256((__m256i *)p, v);
}
static inline vec vzero(void) {
  return _mm256_setzero_si256();
}
static inline vec vset1_64(int64_t v) {
  return _mm256_set1_epi64x((long long)v);
}
static inline vec vset1_32(int32_t v) {
  return _mm256_set1_epi32(v);
}
static inline vec vor(vec a, vec b) {
  return _mm256_or_si256(a, b);
}
static inline int vtestz(vec a, vec b) {
  return _mm256_testz_si256(a, b);
}
static inline vec vadd_es(vec a, vec b, size_t es) {
  switch (es) {
  case 2:
    return _mm256_add_epi16(a, b);
  case 4:
    return _mm256_add_epi32(a, b);
  default:
    return _mm256_add_epi64(a, b);
  }
}

/* Part-vector loads: 16, 8 and 4 bytes. */
static inline __m128i load_half(const void *p) {
  return _mm_loadu_si128((const __m128i *)p);
}
static inline __m128i load_quarter(const void *p) {
  return _mm_loadl_epi64((const __m128i *)p);
}
static inline __m128i load_eighth(const void *p) {
  int32_t v;
  memcpy(&v, p, 4);
  return _mm_cvtsi32_si128(v);
}

#define X_WPAIR(sd, dd) ((sd)*8 + (dd))
static inline vec vwiden(const void *p, int32_t sd, int32_t dd) {
  switch (X_WPAIR(sd, dd)) {
  case X_WPAIR(CODELAY_U8, CODELAY_I16):
    return _mm256_cvtepu8_epi16(load_half(p));
  case X_WPAIR(CODELAY_U8, CODELAY_I32):
    return _mm256_cvtepu8_epi32(load_quarter(p));
  case X_WPAIR(CODELAY_U8, CODELAY_I64):
    return _mm256_cvtepu8_epi64(load_eighth(p));
  case X_WPAIR(CODELAY_I16, CODELAY_I32):
    return _mm256_cvtepi16_epi32(load_half(p));
  case X_WPAIR(CODELAY_I16, CODELAY_I64):
    return _mm256_cvtepi16_epi64(load_quarter(p));
  default:
    return _mm256_cvtepi32_epi64(load_half(p));
  }
}

/* Packs work per 128-bit lane; one cross-lane permute restores the order. */
static inline vec vnarrow_64_32(vec a, vec b) {
  __m256 s = _mm256_shuffle_ps(_mm256_castsi256_ps(a), _mm256_castsi256_ps(b), 0x88);
  return _mm256_permute4x64_epi64(_mm256_castps_si256(s), 0xd8);
}
static inline vec vnarrow_32_16(vec a, vec b) {
  return _mm256_permute4x64_epi64(_mm256_packs_epi32(a, b), 0xd8);
}
static inline vec vnarrow_16_8(vec a, vec b) {
  return _mm256_permute4x64_epi64(_mm256_packus_epi16(a, b), 0xd8);
}

/* TK blend: lane groups widened to the element width, compared, blended. */
typedef vec tk_lanes_t;
typedef vec tk_gv_t;
static inline tk_lanes_t tk_lanes(const uint8_t *lg, size_t es) {
  switch (es) {
  case 1:
    return vload(lg);
  case 2:
    return _mm256_cvtepu8_epi16(load_half(lg));
  case 4:
    return _mm256_cvtepu8_epi32(load_quarter(lg));
  default:
    return _mm256_cvtepu8_epi64(load_eighth(lg));
  }
}
static inline tk_gv_t tk_gv_first(size_t es) {
  switch (es) {
  case 1:
    return _mm256_set1_epi8(1);
  case 2:
    return _mm256_set1_epi16(1);
  case 4:
    return _mm256_set1_epi32(1);
  default:
    return _mm256_set1_epi64x(1);
  }
}
static inline tk_gv_t tk_gv_next(tk_gv_t gv, size_t es) {
  switch (es) {
  case 1:
    return _mm256_add_epi8(gv, _mm256_set1_epi8(1));
  case 2:
    return _mm256_add_epi16(gv, _mm256_set1_epi16(1));
  case 4:
    return _mm256_add_epi32(gv, _mm256_set1_epi32(1));
  default:
    return _mm256_add_epi64(gv, _mm256_set1_epi64x(1));
  }
}
static inline vec tk_select(vec acc, tk_lanes_t lanes, tk_gv_t gv, const void *p, size_t es) {
  vec m;
  switch (es) {
  case 1:
    m = _mm256_cmpeq_epi8(lanes, gv);
    break;
  case 2:
    m = _mm256_cmpeq_epi16(lanes, gv);
    break;
  case 4:
    m = _mm256_cmpeq_epi32(lanes, gv);
    break;
  default:
    m = _mm256_cmpeq_epi64(lanes, gv);
    break;
  }
  return _mm256_blendv_epi8(acc, vload(p), m);
}

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

/* Weights: masks are vectors of 32-bit lanes. */
typedef vec wm_t;
static inline wm_t wm_zero(void) {
  return _mm256_setzero_si256();
}
static inline wm_t wm_eq32(vec a, vec b) {
  return _mm256_cmpeq_epi32(a, b);
}
typedef vec wm64_t;
static inline wm64_t wm64_zero(void) {
  return _mm256_setzero_si256();
}
static inline wm64_t wm64_eq(vec a, vec b) {
  return _mm256_cmpeq_epi64(a, b);
}
static inline wm64_t wm64_or(wm64_t a, wm64_t b) {
  return _mm256_or_si256(a, b);
}
/* In-lane narrowing only: lanes come out as tokens 0 1 4 5 2 3 6 7; wm_store64 reorders once. */
static inline wm_t wm_from64(wm64_t a, wm64_t b) {
  return _mm256_castps_si256(
      _mm256_shuffle_ps(_mm256_castsi256_ps(a), _mm256_castsi256_ps(b), 0x88));
}
static inline void wm_store64(float *p, vec w) {
  vstore(p, _mm256_permute4x64_epi64(w, 0xd8));
}
static inline wm_t wm_or(wm_t a, wm_t b) {
  return _mm256_or_si256(a, b);
}
static inline wm_t wm_andnot(wm_t a, wm_t b) {
  return _mm256_andnot_si256(a, b);
}
static inline vec wm_select(wm_t m, vec a, vec b) {
  return _mm256_castps_si256(
      _mm256_blendv_ps(_mm256_castsi256_ps(a), _mm256_castsi256_ps(b), _mm256_castsi256_ps(m)));
}
static inline vec wm_clear(wm_t m, vec a) {
  return _mm256_andnot_si256(m, a);
}
static inline vec wm_count(vec cnt, wm_t m) {
  return _mm256_sub_epi32(cnt, m);
}
static inline uint64_t vsum32(vec v) {
  __m128i x = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  x = _mm_add_epi32(x, _mm_shuffle_epi32(x, 0x4e));
  x = _mm_add_epi32(x, _mm_shuffle_epi32(x, 0xb1));
  return (uint32_t)_mm_cvtsi128_si32(x);
}

#include "kernels_x86_template.h"
