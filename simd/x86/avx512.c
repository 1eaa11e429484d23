/*
 * The AVX-512 backend (F + BW + VL): 64-byte vectors, k-masks for the TK blends (one merging
 * masked load per offset group) and for the loss weights. Compiled with
 * -mavx512f -mavx512bw -mavx512vl only (see the top CMakeLists.txt).
 */
/*
 * CL_X86_AVX512_EMULATED: a test-only build that first includes <simde/x86/avx512.h> with
 * SIMDE_ENABLE_NATIVE_ALIASES, so this logic also runs on CPUs without AVX-512
 * (scripts/test-qemu-x86.sh builds it that way; the library never does).
 */
#if !defined(CL_X86_AVX512_EMULATED)
#if !defined(__AVX512F__) || !defined(__AVX512BW__) || !defined(__AVX512VL__)
#error "avx512.c must be compiled with -mavx512f -mavx512bw -mavx512vl"
#endif
#include <immintrin.h>
#endif

#include "kernels.h"

#include <stdint.h>
#include <string.h>

#define CL_VW       64
#define CL_ISA_NAME "avx512"
#if !defined(CL_KERNELS_SYMBOL)
#define CL_KERNELS_SYMBOL cl_kernels_avx512
#endif

typedef __m512i vec;

static inline vec vload(const void *p) {
  return _mm512_loadu_si512(p);
}
static inline void vstore(void *p, vec v) {
  _mm512_storeu_si512(p, v);
}
static inline vec vzero(void) {
  return _mm512_setzero_si512();
}
static inline vec vset1_64(int64_t v) {
  return _mm512_set1_epi64((long long)v);
}
static inline vec vset1_32(int32_t v) {
  return _mm512_set1_epi32(v);
}
static inline vec vor(vec a, vec b) {
  return _mm512_or_si512(a, b);
}
static inline int vtestz(vec a, vec b) {
  return _mm512_test_epi64_mask(a, b) == 0;
}
static inline vec vadd_es(vec a, vec b, size_t es) {
  switch (es) {
  case 2:
    return _mm512_add_epi16(a, b);
  case 4:
    return _mm512_add_epi32(a, b);
  default:
    return _mm512_add_epi64(a, b);
  }
}

/* Part-vector loads: 32, 16 and 8 bytes. */
static inline __m256i load_half(const void *p) {
  return _mm256_loadu_si256((const __m256i *)p);
}
static inline __m128i load_quarter(const void *p) {
  return _mm_loadu_si128((const __m128i *)p);
}
static inline __m128i load_eighth(const void *p) {
  return _mm_loadl_epi64((const __m128i *)p);
}

#define X_WPAIR(sd, dd) ((sd)*8 + (dd))
static inline vec vwiden(const void *p, int32_t sd, int32_t dd) {
  switch (X_WPAIR(sd, dd)) {
  case X_WPAIR(CODELAY_U8, CODELAY_I16):
    return _mm512_cvtepu8_epi16(load_half(p));
  case X_WPAIR(CODELAY_U8, CODELAY_I32):
    return _mm512_cvtepu8_epi32(load_quarter(p));
  case X_WPAIR(CODELAY_U8, CODELAY_I64):
    return _mm512_cvtepu8_epi64(load_eighth(p));
  case X_WPAIR(CODELAY_I16, CODELAY_I32):
    return _mm512_cvtepi16_epi32(load_half(p));
  case X_WPAIR(CODELAY_I16, CODELAY_I64):
    return _mm512_cvtepi16_epi64(load_quarter(p));
  default:
    return _mm512_cvtepi32_epi64(load_half(p));
  }
}

/* Two-source permutes pick the low halves of every lane in one instruction. */
static inline vec vnarrow_64_32(vec a, vec b) {
  const vec idx = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
  return _mm512_permutex2var_epi32(a, idx, b);
}
static inline vec vnarrow_32_16(vec a, vec b) {
  const vec idx = _mm512_set_epi16(62, 60, 58, 56, 54, 52, 50, 48, 46, 44, 42, 40, 38, 36, 34, 32,
                                   30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
  return _mm512_permutex2var_epi16(a, idx, b);
}
static inline vec vnarrow_16_8(vec a, vec b) {
  /* packus works per 128-bit lane (values are known to be 0..255); one permute restores order. */
  const vec idx = _mm512_set_epi64(7, 5, 3, 1, 6, 4, 2, 0);
  return _mm512_permutexvar_epi64(idx, _mm512_packus_epi16(a, b));
}

/*
 * TK blend: the 64 lane-group bytes at lg (in bounds: lane_group has K + 64 entries and the
 * phase is below K) compared bytewise give a 64-bit mask whose low CL_VW/es bits are exactly the
 * element lanes; a merging masked load per group then builds the output vector.
 */
typedef vec tk_lanes_t;
typedef vec tk_gv_t;
static inline tk_lanes_t tk_lanes(const uint8_t *lg, size_t es) {
  (void)es;
  return _mm512_loadu_si512(lg);
}
static inline tk_gv_t tk_gv_first(size_t es) {
  (void)es;
  return _mm512_set1_epi8(1);
}
static inline tk_gv_t tk_gv_next(tk_gv_t gv, size_t es) {
  (void)es;
  return _mm512_add_epi8(gv, _mm512_set1_epi8(1));
}
static inline vec tk_select(vec acc, tk_lanes_t lanes, tk_gv_t gv, const void *p, size_t es) {
  __mmask64 m = _mm512_cmpeq_epi8_mask(lanes, gv);
  switch (es) {
  case 1:
    return _mm512_mask_loadu_epi8(acc, m, p);
  case 2:
    return _mm512_mask_loadu_epi16(acc, (__mmask32)m, p);
  case 4:
    return _mm512_mask_loadu_epi32(acc, (__mmask16)m, p);
  default:
    return _mm512_mask_loadu_epi64(acc, (__mmask8)m, p);
  }
}

/* Weights: k-masks over 16 lanes of 32 bits. */
typedef __mmask16 wm_t;
static inline wm_t wm_zero(void) {
  return 0;
}
static inline wm_t wm_eq32(vec a, vec b) {
  return _mm512_cmpeq_epi32_mask(a, b);
}
typedef __mmask8 wm64_t;
static inline wm64_t wm64_eq(vec a, vec b) {
  return _mm512_cmpeq_epi64_mask(a, b);
}
static inline wm64_t wm64_or(wm64_t a, wm64_t b) {
  return (wm64_t)(a | b);
}
static inline wm_t wm_from64(wm64_t a, wm64_t b) {
  return (wm_t)((unsigned)a | ((unsigned)b << 8));
}
static inline void wm_store64(float *p, vec w) {
  vstore(p, w);
}
static inline wm_t wm_or(wm_t a, wm_t b) {
  return (wm_t)(a | b);
}
static inline vec wm_select(wm_t m, vec a, vec b) {
  return _mm512_mask_blend_epi32(m, a, b);
}
static inline vec wm_clear(wm_t m, vec a) {
  return _mm512_maskz_mov_epi32((wm_t)~m, a);
}
static inline vec wm_count(vec cnt, wm_t m) {
  return _mm512_mask_sub_epi32(cnt, m, cnt, _mm512_set1_epi32(-1));
}
static inline uint64_t vsum32(vec v) {
  return (uint32_t)_mm512_reduce_add_epi32(v);
}

#include "kernels_x86_template.h"
