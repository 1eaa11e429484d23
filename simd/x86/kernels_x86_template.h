/*
 * The x86 kernel bodies, written once and instantiated per ISA (libdeflate-style template).
 *
 * The including file (sse41.c, avx2.c, avx512.c; each compiled with only its own -m flags)
 * defines, before including this header:
 *   CL_VW                  vector width in bytes (16, 32, 64)
 *   vec                    the integer vector type
 *   vload/vstore           unaligned load/store of one vec
 *   vset1_64/vset1_32      broadcasts; vzero()
 *   vor, vadd_es           bitwise or, lane-wise add for a lane width given in bytes
 *   vtestz(a, b)           1 if (a & b) == 0
 *   vwiden(p, sd, dd)      load CL_VW*ssize/dsize bytes at p and widen them to a full vec
 *   vnarrow_64_32/32_16/16_8(a, b)
 *                          pack two vecs of wide lanes into one vec of half-width lanes, in
 *                          order (values are known to fit: truncation and saturation agree)
 *   tk_lanes_t, tk_lanes(lg, es), tk_gv_t, tk_gv_first(es), tk_gv_next(gv, es),
 *   tk_select(acc, lanes, gv, p, es)
 *                          TK blend: lanes holds the group of each es-byte lane (from the
 *                          pattern's lane_group bytes at lg), acc gets loadu(p) in the lanes
 *                          whose group equals the one gv stands for (gv starts at group 1)
 *   wm_t, wm_*, vsum32     masks over 32-bit lanes for the loss weights; wm64_t, wm64_*,
 *                          wm_from64, wm_store64 for 64-bit tokens (see x_weights_body);
 *                          CL_WEIGHTS_LO32 to compare 64-bit tokens in 32-bit lanes when the ids
 *                          fit (ISAs without cheap 64-bit compares, see weights_x86_template.h)
 * and CL_ISA_NAME, CL_KERNELS_SYMBOL; optionally CL_TK_STAIRCASE with tk_staircase4(args) for
 * i32 TK spans whose pattern has runs of consecutive streams with offsets stepping by +1 or -1
 * (AVX2: runs of 8, tk_staircase_avx2.h; SSE4.1: runs of 4, tk_staircase_sse41.h), returning 1
 * when it did the span. Every function here is static: each ISA's translation
 * unit has its own copy, so nothing compiled with -mavx2 can leak into another unit.
 */
#ifndef CL_VW
#error "define the ISA primitives before including kernels_x86_template.h"
#endif

#include "kernels.h"

#include <stdint.h>
#include <string.h>

#define CL_N64 (CL_VW / 8)
#define CL_N32 (CL_VW / 4)

#if defined(__GNUC__)
#define CL_INLINE static inline __attribute__((always_inline))
#else
#define CL_INLINE static inline
#endif

/* ------------------------------------------------------------------------------------------ */
/* fill                                                                                        */
/* ------------------------------------------------------------------------------------------ */

/* The value repeated over 8 bytes (little-endian: byte 0 starts an element). */
CL_INLINE uint64_t x_pattern(const void *value, size_t esize) {
  uint8_t u8;
  uint16_t u16;
  uint32_t u32;
  uint64_t u64;
  switch (esize) {
  case 1:
    memcpy(&u8, value, 1);
    return u8 * UINT64_C(0x0101010101010101);
  case 2:
    memcpy(&u16, value, 2);
    return u16 * UINT64_C(0x0001000100010001);
  case 4:
    memcpy(&u32, value, 4);
    return u32 | ((uint64_t)u32 << 32);
  default:
    memcpy(&u64, value, 8);
    return u64;
  }
}

/*
 * bytes < CL_VW, a multiple of the element size: two overlapping stores of the largest size
 * that fits. Every store starts a multiple of esize bytes from d, so the pattern stays in phase.
 */
CL_INLINE void x_fill_small(char *d, uint64_t pat, size_t bytes) {
#if CL_VW > 32
  if (bytes >= 32) {
    __m256i y = _mm256_set1_epi64x((long long)pat);
    _mm256_storeu_si256((__m256i *)d, y);
    _mm256_storeu_si256((__m256i *)(d + bytes - 32), y);
    return;
  }
#endif
#if CL_VW > 16
  if (bytes >= 16) {
    __m128i x = _mm_set1_epi64x((long long)pat);
    _mm_storeu_si128((__m128i *)d, x);
    _mm_storeu_si128((__m128i *)(d + bytes - 16), x);
    return;
  }
#endif
  if (bytes >= 8) {
    memcpy(d, &pat, 8);
    memcpy(d + bytes - 8, &pat, 8);
  } else if (bytes >= 4) {
    uint32_t p4 = (uint32_t)pat;
    memcpy(d, &p4, 4);
    memcpy(d + bytes - 4, &p4, 4);
  } else if (bytes >= 2) {
    uint16_t p2 = (uint16_t)pat;
    memcpy(d, &p2, 2);
    memcpy(d + bytes - 2, &p2, 2);
  } else if (bytes) {
    d[0] = (char)pat;
  }
}

static void x_fill(void *dst, const void *value, size_t n, size_t esize) {
  char *d = (char *)dst;
  size_t bytes = n * esize;
  /* Byte fills (masks, regions) are memset's job: libc's is tuned for every x86 generation. */
  if (esize == 1 && bytes >= 256) {
    memset(d, *(const uint8_t *)value, bytes);
    return;
  }
  uint64_t pat = x_pattern(value, esize);
  if (bytes < CL_VW) {
    x_fill_small(d, pat, bytes);
    return;
  }
  vec v = vset1_64((int64_t)pat);
  char *end = d + bytes;
  /* Unaligned head and tail once; aligned stores between (when d is element-aligned, an
   * aligned address is a whole number of elements from d, so the pattern stays in phase). */
  vstore(d, v);
  vstore(end - CL_VW, v);
  char *a = d + CL_VW;
  if (((uintptr_t)d & (esize - 1)) == 0)
    a = (char *)(((uintptr_t)d + CL_VW) & ~(uintptr_t)(CL_VW - 1));
  for (; a + 2 * CL_VW <= end; a += 2 * CL_VW) {
    vstore(a, v);
    vstore(a + CL_VW, v);
  }
  if (a + CL_VW <= end) vstore(a, v);
}

/* ------------------------------------------------------------------------------------------ */
/* copy with memmove semantics                                                                 */
/* ------------------------------------------------------------------------------------------ */

/* bytes < CL_VW: every load before any store, so this is also correct for overlapping ranges. */
CL_INLINE void x_copy_small(char *d, const char *s, size_t bytes) {
#if CL_VW > 32
  if (bytes >= 32) {
    __m256i a = _mm256_loadu_si256((const __m256i *)s);
    __m256i b = _mm256_loadu_si256((const __m256i *)(s + bytes - 32));
    _mm256_storeu_si256((__m256i *)d, a);
    _mm256_storeu_si256((__m256i *)(d + bytes - 32), b);
    return;
  }
#endif
#if CL_VW > 16
  if (bytes >= 16) {
    __m128i a = _mm_loadu_si128((const __m128i *)s);
    __m128i b = _mm_loadu_si128((const __m128i *)(s + bytes - 16));
    _mm_storeu_si128((__m128i *)d, a);
    _mm_storeu_si128((__m128i *)(d + bytes - 16), b);
    return;
  }
#endif
  if (bytes >= 8) {
    uint64_t a, b;
    memcpy(&a, s, 8);
    memcpy(&b, s + bytes - 8, 8);
    memcpy(d, &a, 8);
    memcpy(d + bytes - 8, &b, 8);
  } else if (bytes >= 4) {
    uint32_t a, b;
    memcpy(&a, s, 4);
    memcpy(&b, s + bytes - 4, 4);
    memcpy(d, &a, 4);
    memcpy(d + bytes - 4, &b, 4);
  } else if (bytes >= 2) {
    uint16_t a, b;
    memcpy(&a, s, 2);
    memcpy(&b, s + bytes - 2, 2);
    memcpy(d, &a, 2);
    memcpy(d + bytes - 2, &b, 2);
  } else if (bytes) {
    d[0] = s[0];
  }
}

/*
 * Forward copy, bytes >= CL_VW, valid when the ranges do not overlap or d + CL_VW <= s: a store
 * to d[x] then lands on s[x - (s - d)], a byte already read or before the source. Unaligned head
 * and tail vectors once, aligned stores in between, four loads before four stores.
 */
static void x_copy_fwd(char *d, const char *s, size_t bytes) {
  vec head = vload(s);
  vec tail = vload(s + bytes - CL_VW);
  vstore(d, head);
  size_t i = (size_t)(((uintptr_t)d + CL_VW) & ~(uintptr_t)(CL_VW - 1)) - (uintptr_t)d;
  for (; i + 4 * CL_VW <= bytes; i += 4 * CL_VW) {
    vec a = vload(s + i), b = vload(s + i + CL_VW);
    vec c = vload(s + i + 2 * CL_VW), e = vload(s + i + 3 * CL_VW);
    vstore(d + i, a);
    vstore(d + i + CL_VW, b);
    vstore(d + i + 2 * CL_VW, c);
    vstore(d + i + 3 * CL_VW, e);
  }
  for (; i + CL_VW <= bytes; i += CL_VW)
    vstore(d + i, vload(s + i));
  /* The tail was loaded first: with overlap (s - d >= CL_VW) it may have been overwritten since. */
  vstore(d + bytes - CL_VW, tail);
}

/* Backward copy, bytes >= CL_VW, for d >= s + CL_VW (the mirror image of x_copy_fwd). */
static void x_copy_bwd(char *d, const char *s, size_t bytes) {
  vec head = vload(s);
  vec tail = vload(s + bytes - CL_VW);
  vstore(d + bytes - CL_VW, tail);
  size_t i = (size_t)(((uintptr_t)d + bytes - 1) & ~(uintptr_t)(CL_VW - 1)) - (uintptr_t)d;
  /* i: the aligned end of the next store, in [bytes - CL_VW, bytes); the tail covers [i, bytes). */
  for (; i >= 4 * CL_VW; i -= 4 * CL_VW) {
    vec a = vload(s + i - CL_VW), b = vload(s + i - 2 * CL_VW);
    vec c = vload(s + i - 3 * CL_VW), e = vload(s + i - 4 * CL_VW);
    vstore(d + i - CL_VW, a);
    vstore(d + i - 2 * CL_VW, b);
    vstore(d + i - 3 * CL_VW, c);
    vstore(d + i - 4 * CL_VW, e);
  }
  for (; i >= CL_VW; i -= CL_VW)
    vstore(d + i - CL_VW, vload(s + i - CL_VW));
  vstore(d, head);
}

/* Overlap closer than one vector (in-place shifts by a few elements). */
static void x_copy_near(char *d, const char *s, size_t bytes) {
  size_t i;
  if (d < s) {
    /* Each store only reaches source bytes below the next load. */
    for (i = 0; i + CL_VW <= bytes; i += CL_VW)
      vstore(d + i, vload(s + i));
    for (; i < bytes; i++)
      d[i] = s[i];
  } else {
    for (i = bytes; i >= CL_VW; i -= CL_VW)
      vstore(d + i - CL_VW, vload(s + i - CL_VW));
    while (i > 0) {
      i--;
      d[i] = s[i];
    }
  }
}

static void x_copy(void *dst, const void *src, size_t bytes) {
  char *d = (char *)dst;
  const char *s = (const char *)src;
  if (d == s) return;
  if (bytes < CL_VW) {
    x_copy_small(d, s, bytes);
    return;
  }
  uintptr_t ud = (uintptr_t)d, us = (uintptr_t)s;
  /*
   * Apart runs go to libc's memcpy (it picks the widest copy this CPU has, and non-temporal
   * stores for huge runs), except where dst - src is a few bytes past a 4 KiB multiple: there
   * glibc's rep movsb path runs ~25x slower on AMD, and our own loop is the fast one. With
   * 16-byte vectors libc's copy (32-byte where the CPU has AVX2) wins from a few vectors on;
   * with 32-byte ones its call and size dispatch cost more than our loop below 1 KiB.
   */
  uintptr_t page_distance = (ud - us) & 4095;
  if ((ud + bytes <= us || us + bytes <= ud) && bytes >= (CL_VW >= 32 ? 1024u : 256u) &&
      (page_distance == 0 || page_distance >= 256)) {
    memcpy(d, s, bytes);
    return;
  }
  if (ud + bytes <= us || us + bytes <= ud || ud + CL_VW <= us) {
    x_copy_fwd(d, s, bytes);
  } else if (us + CL_VW <= ud) {
    x_copy_bwd(d, s, bytes);
  } else {
    x_copy_near(d, s, bytes);
  }
}

/* ------------------------------------------------------------------------------------------ */
/* integer conversion                                                                          */
/* ------------------------------------------------------------------------------------------ */

/* Source lanes that do not fit: v + bias (wrapping) must have no bit of `high` set. */
typedef struct x_range {
  int64_t bias;
  int64_t high;
} x_range;

CL_INLINE x_range x_range_for(int32_t dd, size_t ses) {
  x_range r;
  int64_t all = ses == 8 ? -1 : (int64_t)((UINT64_C(1) << (8 * ses)) - 1);
  switch (dd) {
  case CODELAY_U8:
    r.bias = 0;
    r.high = all & ~(int64_t)0xff;
    break;
  case CODELAY_I16:
    r.bias = 0x8000;
    r.high = all & ~(int64_t)0xffff;
    break;
  default:
    r.bias = INT64_C(0x80000000);
    r.high = all & ~(int64_t)0xffffffff;
    break;
  }
  return r;
}

/* A broadcast of a value of the lane width ses (bytes). */
CL_INLINE vec x_set1_lane(int64_t v, size_t ses) {
  switch (ses) {
  case 2:
    return vset1_32((int32_t)((uint32_t)(uint16_t)v * 0x10001u));
  case 4:
    return vset1_32((int32_t)v);
  default:
    return vset1_64(v);
  }
}

/* One dst vector from ratio = ses/dsize source vectors (2, 4 or 8), acc collects the check. */
CL_INLINE vec x_narrow_step(const char *s, size_t ses, int ratio, vec bias, vec *acc) {
  vec v[8];
  for (int r = 0; r < ratio; r++) {
    v[r] = vload(s + (size_t)r * CL_VW);
    *acc = vor(*acc, vadd_es(v[r], bias, ses));
  }
  if (ses == 8) {
    for (int r = 0; r < ratio; r += 2)
      v[r / 2] = vnarrow_64_32(v[r], v[r + 1]);
    ratio /= 2;
    if (ratio == 1) return v[0];
  }
  if (ses >= 4) {
    for (int r = 0; r < ratio; r += 2)
      v[r / 2] = vnarrow_32_16(v[r], v[r + 1]);
    ratio /= 2;
    if (ratio == 1) return v[0];
  }
  return vnarrow_16_8(v[0], v[1]);
}

/* Narrowing: one full dst vector per step, checked lane by lane, then an overlapping last step. */
CL_INLINE int x_narrow(char *d, int32_t dd, const char *s, int32_t sd, size_t n) {
  size_t ses = cl_dtype_size(sd), des = cl_dtype_size(dd);
  int ratio = (int)(ses / des);
  size_t nd = CL_VW / des; /* elements per step */
  if (n < nd) return cl_scalar_convert(d, dd, s, sd, n);
  x_range rg = x_range_for(dd, ses);
  vec bias = x_set1_lane(rg.bias, ses), acc = vzero();
  size_t i = 0;
  for (; i + nd <= n; i += nd)
    vstore(d + i * des, x_narrow_step(s + i * ses, ses, ratio, bias, &acc));
  if (i < n) {
    i = n - nd;
    vstore(d + i * des, x_narrow_step(s + i * ses, ses, ratio, bias, &acc));
  }
  return vtestz(acc, x_set1_lane(rg.high, ses)) ? CODELAY_OK : CODELAY_ERR_RANGE;
}

/* Widening never fails: one full dst vector per step from a part-vector load. */
CL_INLINE int x_widen(char *d, int32_t dd, const char *s, int32_t sd, size_t n) {
  size_t ses = cl_dtype_size(sd), des = cl_dtype_size(dd);
  size_t nd = CL_VW / des;
  if (n < nd) return cl_scalar_convert(d, dd, s, sd, n);
  size_t i = 0;
  for (; i + 2 * nd <= n; i += 2 * nd) {
    vec a = vwiden(s + i * ses, sd, dd);
    vec b = vwiden(s + (i + nd) * ses, sd, dd);
    vstore(d + i * des, a);
    vstore(d + (i + nd) * des, b);
  }
  if (i + nd <= n) {
    vstore(d + i * des, vwiden(s + i * ses, sd, dd));
    i += nd;
  }
  if (i < n) vstore(d + (n - nd) * des, vwiden(s + (n - nd) * ses, sd, dd));
  return CODELAY_OK;
}

/* Each (src, dst) pair its own instantiation, so the element sizes are constants in the loops. */
#define X_PAIR(sd, dd) ((sd)*8 + (dd))
static int x_convert_int(char *d, int32_t dd, const char *s, int32_t sd, size_t n) {
  switch (X_PAIR(sd, dd)) {
  case X_PAIR(CODELAY_U8, CODELAY_I16):
    return x_widen(d, CODELAY_I16, s, CODELAY_U8, n);
  case X_PAIR(CODELAY_U8, CODELAY_I32):
    return x_widen(d, CODELAY_I32, s, CODELAY_U8, n);
  case X_PAIR(CODELAY_U8, CODELAY_I64):
    return x_widen(d, CODELAY_I64, s, CODELAY_U8, n);
  case X_PAIR(CODELAY_I16, CODELAY_I32):
    return x_widen(d, CODELAY_I32, s, CODELAY_I16, n);
  case X_PAIR(CODELAY_I16, CODELAY_I64):
    return x_widen(d, CODELAY_I64, s, CODELAY_I16, n);
  case X_PAIR(CODELAY_I32, CODELAY_I64):
    return x_widen(d, CODELAY_I64, s, CODELAY_I32, n);
  case X_PAIR(CODELAY_I16, CODELAY_U8):
    return x_narrow(d, CODELAY_U8, s, CODELAY_I16, n);
  case X_PAIR(CODELAY_I32, CODELAY_U8):
    return x_narrow(d, CODELAY_U8, s, CODELAY_I32, n);
  case X_PAIR(CODELAY_I64, CODELAY_U8):
    return x_narrow(d, CODELAY_U8, s, CODELAY_I64, n);
  case X_PAIR(CODELAY_I32, CODELAY_I16):
    return x_narrow(d, CODELAY_I16, s, CODELAY_I32, n);
  case X_PAIR(CODELAY_I64, CODELAY_I16):
    return x_narrow(d, CODELAY_I16, s, CODELAY_I64, n);
  case X_PAIR(CODELAY_I64, CODELAY_I32):
    return x_narrow(d, CODELAY_I32, s, CODELAY_I64, n);
  default:
    return cl_scalar_convert(d, dd, s, sd, n);
  }
}

static int x_convert(void *dst, int32_t dst_dtype, const void *src, int32_t src_dtype, size_t n) {
  if (dst_dtype == src_dtype || !cl_dtype_is_int(dst_dtype) || !cl_dtype_is_int(src_dtype)) {
    x_copy(dst, src, n * cl_dtype_size(dst_dtype));
    return CODELAY_OK;
  }
  return x_convert_int((char *)dst, dst_dtype, (const char *)src, src_dtype, n);
}

/* ------------------------------------------------------------------------------------------ */
/* TK shift                                                                                    */
/* ------------------------------------------------------------------------------------------ */

/* Above this many distinct offsets a blend of one load per group is not worth it. */
#define X_TK_MAX_GROUPS 32

/* One output vector at element j (phase ph = j mod K): one load per group, blended by lanes. */
CL_INLINE vec x_tk_vec(const char *const *gp, size_t j, size_t ph, size_t es, const uint8_t *lg,
                       int ng) {
  tk_lanes_t lanes = tk_lanes(lg + ph, es);
  vec acc = vload(gp[0] + j * es);
  tk_gv_t gv = tk_gv_first(es);
  for (int g = 1; g < ng; g++) {
    acc = tk_select(acc, lanes, gv, gp[g] + j * es, es);
    gv = tk_gv_next(gv, es);
  }
  return acc;
}

/*
 * Whole vectors from j0 + n down to j0 (the first one overlapping when n is not a multiple),
 * for spans whose loads sit a little below the stores modulo 4 KiB (see x_tk_backward).
 */
CL_INLINE void x_tk_body_down(char *dst, const char *const *gp, size_t j0, size_t n, size_t es,
                              const uint8_t *lg, size_t K, int ng) {
  const size_t nl = CL_VW / es, step = nl % K;
  size_t j = j0 + n;
  size_t ph = (j - nl) % K;
  for (; j >= j0 + nl; j -= nl) {
    vstore(dst + (j - nl - j0) * es, x_tk_vec(gp, j - nl, ph, es, lg, ng));
    ph = ph >= step ? ph - step : ph + K - step;
  }
  if (j > j0) vstore(dst, x_tk_vec(gp, j0, j0 % K, es, lg, ng));
}

#if defined(CL_TK_PERIOD_MASKS)
/* Mask vectors of one period: at most this many bytes (on the stack). */
#define X_TK_MASK_BYTES 2048

/*
 * Two groups (Moshi, Kyutai DSM), whole vectors only: the lane masks repeat every P = lcm(K, nl) /
 * nl vectors, so they are built once in the order the loop visits them (upwards from j0, or
 * downwards from j0 + n - nl), and each vector is then two loads, a byte blend with its mask and a
 * store, with no phase to track (the lane-group compare loop runs ~14 instructions per vector and
 * DSM's TK delay was bound by that). Returns the number of elements done from the start (up) or
 * the end (down) of the range, a multiple of nl; 0 when the period does not fit X_TK_MASK_BYTES.
 */
CL_INLINE size_t x_tk_two_groups(char *dst, const char *g0, const char *g1, size_t j0, size_t n,
                                 size_t es, const uint8_t *lg, size_t K, int down) {
  const size_t nl = CL_VW / es;
  size_t L = K; /* lcm(K, nl): nl is a power of two */
  while (L % nl)
    L *= 2;
  const size_t P = L / nl, nv = n / nl;
  if (L * es > X_TK_MASK_BYTES || nv < 2 * P) return 0;
  union {
    vec v[X_TK_MASK_BYTES / CL_VW];
    unsigned char c[X_TK_MASK_BYTES];
  } mk;
  /*
   * Vector t of the loop starts at element first + t*step (step = -nl downwards, modulo 2^64).
   * Adding L (a multiple of K, larger than (P-1)*nl) keeps the mask index non-negative without
   * changing it mod K.
   */
  const size_t first = down ? j0 + n - nl : j0;
  const size_t step = down ? (size_t)0 - nl : nl;
  for (size_t t = 0; t < P; t++) {
    size_t k = (first + L + t * step) % K;
    for (size_t e = 0; e < nl; e++) {
      memset(mk.c + (t * nl + e) * es, lg[k] == 1 ? 0xff : 0, es);
      if (++k == K) k = 0;
    }
  }
  /* Two loops, not one with a signed step: that one ran 12-15% more instructions (callgrind). */
  if (!down) {
    size_t j = j0;
    for (size_t left = nv; left > 0;) {
      const size_t m = left < P ? left : P;
      for (size_t t = 0; t < m; t++, j += nl)
        vstore(dst + (j - j0) * es, vselect(vload(g0 + j * es), vload(g1 + j * es), mk.v[t]));
      left -= m;
    }
  } else {
    size_t j = j0 + n;
    for (size_t left = nv; left > 0;) {
      const size_t m = left < P ? left : P;
      for (size_t t = 0; t < m; t++) {
        j -= nl;
        vstore(dst + (j - j0) * es, vselect(vload(g0 + j * es), vload(g1 + j * es), mk.v[t]));
      }
      left -= m;
    }
  }
  return nv * nl;
}
#endif

/*
 * dst[0..n) = elements j0..j0+n of the span, inner == 1: element j is stream j mod K and reads
 * gp[group] + j*es. Each output vector is one load per group blended by the lanes' groups.
 */
CL_INLINE void x_tk_body(char *dst, const char *const *gp, size_t j0, size_t n, size_t es,
                         const codelay_pattern *p, int down) {
  const size_t K = (size_t)p->streams;
  const size_t nl = CL_VW / es;
  const uint8_t *lg = p->lane_group;
  const int ng = (int)p->n_groups;
  const size_t step = nl % K;
  size_t ph = j0 % K;
  size_t j = j0, end = j0 + n;
  if (n < nl) {
    for (; j < end; j++) {
      memcpy(dst + (j - j0) * es, gp[lg[ph]] + j * es, es);
      if (++ph == K) ph = 0;
    }
    return;
  }
  /*
   * Two groups (Moshi, Kyutai DSM) get loops with the count as a constant, and the group
   * pointers in a local array the compiler keeps in registers (the stores through char * could
   * otherwise alias the caller's gp).
   */
  const char *const g2[2] = {gp[0], gp[1]};
#if defined(CL_TK_PERIOD_MASKS)
  if (ng == 2) {
    const size_t done = x_tk_two_groups(dst, gp[0], gp[1], j0, n, es, lg, K, down);
    if (done) {
      /* The rest, fewer than nl elements at the other end: one vector overlapping the done part
       * (dst and src never overlap). */
      if (done < n) {
        const size_t at = down ? j0 : j0 + n - nl;
        vstore(dst + (at - j0) * es, x_tk_vec(g2, at, at % K, es, lg, 2));
      }
      return;
    }
  }
#endif
  if (down) {
    if (ng == 2)
      x_tk_body_down(dst, g2, j0, n, es, lg, K, 2);
    else
      x_tk_body_down(dst, gp, j0, n, es, lg, K, ng);
    return;
  }
  if (ng == 2) {
    for (; j + nl <= end; j += nl) {
      vstore(dst + (j - j0) * es, x_tk_vec(g2, j, ph, es, lg, 2));
      ph += step;
      if (ph >= K) ph -= K;
    }
  } else {
    for (; j + nl <= end; j += nl) {
      vstore(dst + (j - j0) * es, x_tk_vec(gp, j, ph, es, lg, ng));
      ph += step;
      if (ph >= K) ph -= K;
    }
  }
  /* Ragged end: one more vector ending at the last element (dst and src never overlap). */
  if (j < end) vstore(dst + (n - nl) * es, x_tk_vec(gp, end - nl, (end - nl) % K, es, lg, ng));
}

static void x_tk_body1(char *d, const char *const *gp, size_t j0, size_t n,
                       const codelay_pattern *p, int down) {
  x_tk_body(d, gp, j0, n, 1, p, down);
}
static void x_tk_body2(char *d, const char *const *gp, size_t j0, size_t n,
                       const codelay_pattern *p, int down) {
  x_tk_body(d, gp, j0, n, 2, p, down);
}
static void x_tk_body4(char *d, const char *const *gp, size_t j0, size_t n,
                       const codelay_pattern *p, int down) {
  x_tk_body(d, gp, j0, n, 4, p, down);
}
static void x_tk_body8(char *d, const char *const *gp, size_t j0, size_t n,
                       const codelay_pattern *p, int down) {
  x_tk_body(d, gp, j0, n, 8, p, down);
}

static void x_tk_run(char *d, const char *const *gp, size_t j0, size_t n, size_t es,
                     const codelay_pattern *p, int down) {
  switch (es) {
  case 1:
    x_tk_body1(d, gp, j0, n, p, down);
    break;
  case 2:
    x_tk_body2(d, gp, j0, n, p, down);
    break;
  case 4:
    x_tk_body4(d, gp, j0, n, p, down);
    break;
  default:
    x_tk_body8(d, gp, j0, n, p, down);
    break;
  }
}

/*
 * 4 KiB aliasing: a load whose address is a little past a recent store's, modulo 4096, is held
 * until that store commits, as if it depended on it. With page-aligned tensors (the common case)
 * a delay's loads sit a few frames below its stores, so a forward loop keeps loading just what
 * it stored a few iterations before (Kyutai DSM's delay on Zen 3: 1.4x slower than its undelay).
 * Such spans run downwards; an undelay's loads sit above the stores and run upwards.
 */
#define X_ALIAS_WINDOW 2048

static int x_tk_backward(const char *dst, const char *const *gp, int ng) {
  int up_bad = 0, down_bad = 0;
  for (int g = 0; g < ng; g++) {
    size_t d = (size_t)((uintptr_t)gp[g] - (uintptr_t)dst) & 4095; /* load - store */
    if (d >= 4096 - X_ALIAS_WINDOW)
      up_bad = 1;
    else if (d != 0 && d <= X_ALIAS_WINDOW)
      down_bad = 1;
  }
  return up_bad && !down_bad;
}

/* inner > 1: every (frame, stream) cell is `inner` contiguous elements: one vector copy each. */
static int x_tk_cells(const cl_tk_args *a) {
  const codelay_pattern *p = a->p;
  const size_t K = (size_t)p->streams, inner = (size_t)a->inner;
  const size_t ses = cl_dtype_size(a->src_dtype), des = cl_dtype_size(a->dst_dtype);
  const int same = a->src_dtype == a->dst_dtype || ses == des;
  int status = CODELAY_OK;
  char *d = (char *)a->dst;
  for (int64_t f = 0; f < a->frames; f++) {
    for (size_t k = 0; k < K; k++, d += inner * des) {
      int64_t sf = a->first + f + (int64_t)a->sign * p->offset[k];
      const char *s = (const char *)a->src + ((size_t)sf * K + k) * inner * ses;
      if (same) {
        x_copy(d, s, inner * des);
      } else if (x_convert_int(d, a->dst_dtype, s, a->src_dtype, inner) != CODELAY_OK) {
        status = CODELAY_ERR_RANGE;
      }
    }
  }
  return status;
}

static int x_tk_shift(const cl_tk_args *a) {
  const codelay_pattern *p = a->p;
  if (a->frames <= 0) return CODELAY_OK;
  const size_t ses = cl_dtype_size(a->src_dtype), des = cl_dtype_size(a->dst_dtype);
  const int same = a->src_dtype == a->dst_dtype || ses == des;
  if (a->inner != 1) {
    /* Cells shorter than a vector: the scalar loop is as good as it gets. */
    if ((size_t)a->inner * des < CL_VW || (!same && (size_t)a->inner < CL_VW / des))
      return cl_scalar_tk_shift(a);
    return x_tk_cells(a);
  }
  /*
   * A blend costs one load per group for every vector. With at least as many groups as lanes
   * (Dia's 9 distinct offsets on 8 i32 lanes) that is more memory traffic than the scalar loop's
   * one load and one store per element: measured 0.8x scalar for i32 and 0.45x for i64 under
   * AVX2 (but 2x faster for i16's 16 lanes). Hardware gathers (0.95x) and per-phase precomputed
   * masks (0.7x) were no better on Zen 3. Those patterns go to the scalar loop.
   */
  const size_t K = (size_t)p->streams;
  const size_t n = (size_t)a->frames * K;
  union {
    vec v[2048 / CL_VW];
    char c[2048];
  } buf;
  int status = CODELAY_OK;
#if defined(CL_TK_STAIRCASE)
  /*
   * A staircase (a diagonal of 4 or 8 streams) costs one load per frame and run, the blend one
   * load per group and vector: from 4 groups on the staircase wins (AVX2 on 4-7 groups: -30%
   * instructions on [1,64,4] with delays [0,1,2,3]).
   */
  if (same && des == 4 && (!p->lane_group || p->n_groups >= 4) && tk_staircase4(a))
    return CODELAY_OK;
#endif
  if (!p->lane_group || p->n_groups > X_TK_MAX_GROUPS || (size_t)p->n_groups >= CL_VW / ses) {
    if (same) return cl_scalar_tk_shift(a);
    /* Converting: scalar same-dtype frames into an L1-resident chunk, then a vector convert. */
    const int64_t per = (int64_t)(sizeof(buf) / (K * ses));
    if (per == 0) return cl_scalar_tk_shift(a);
    for (int64_t f = 0; f < a->frames; f += per) {
      cl_tk_args c = *a;
      c.dst = buf.c;
      c.dst_dtype = a->src_dtype;
      c.frames = a->frames - f < per ? a->frames - f : per;
      c.first = a->first + f;
      cl_scalar_tk_shift(&c);
      size_t m = (size_t)c.frames * K;
      if (x_convert_int((char *)a->dst + (size_t)f * K * des, a->dst_dtype, buf.c, a->src_dtype,
                        m) != CODELAY_OK)
        status = CODELAY_ERR_RANGE;
    }
    return status;
  }
  /* gp[g]: the address element 0 of the span would read if its stream were in group g. */
  const char *gp[X_TK_MAX_GROUPS];
  for (int64_t g = 0; g < p->n_groups; g++) {
    int64_t sf = a->first + (int64_t)a->sign * p->group_offset[g];
    gp[g] = (const char *)a->src + (intptr_t)(sf * (int64_t)K) * (intptr_t)ses;
  }
  if (p->n_groups == 1) {
    /* One offset: the span is a single shifted run. */
    if (same) {
      x_copy(a->dst, gp[0], n * des);
      return CODELAY_OK;
    }
    return x_convert_int((char *)a->dst, a->dst_dtype, gp[0], a->src_dtype, n);
  }
  if (same) {
    x_tk_run((char *)a->dst, gp, 0, n, des, p,
             x_tk_backward((const char *)a->dst, gp, (int)p->n_groups));
    return CODELAY_OK;
  }
  /* Converting: blend in the source dtype into an L1-resident chunk, then convert it. */
  const size_t chunk = sizeof(buf) / ses;
  for (size_t j = 0; j < n; j += chunk) {
    size_t m = n - j < chunk ? n - j : chunk;
    x_tk_run(buf.c, gp, j, m, ses, p, 0);
    if (x_convert_int((char *)a->dst + j * des, a->dst_dtype, buf.c, a->src_dtype, m) != CODELAY_OK)
      status = CODELAY_ERR_RANGE;
  }
  return status;
}

#include "weights_x86_template.h"

CL_HIDDEN const cl_kernels CL_KERNELS_SYMBOL = {
    CL_ISA_NAME, x_fill, x_convert, x_tk_shift, x_weights,
};
