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

/* Lanes of b where m's bytes are set, else a (TK blends with precomputed masks). */
#define CL_TK_PERIOD_MASKS 1
static inline vec vselect(vec a, vec b, vec m) {
  return _mm256_blendv_epi8(a, b, m);
}

#include "tk_staircase_sse41.h" /* runs of 4 to 7 streams */
#include "tk_staircase_avx2.h"

/* Weights: masks are vectors of 32-bit lanes; 64-bit tokens are compared in 32-bit lanes when
 * that saves compares (CL_WEIGHTS_LO32, see weights_x86_template.h). */
#define CL_WEIGHTS_LO32 1
typedef vec wm_t;
static inline wm_t wm_zero(void) {
  return _mm256_setzero_si256();
}
static inline wm_t wm_eq32(vec a, vec b) {
  return _mm256_cmpeq_epi32(a, b);
}
typedef vec wm64_t;
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
