/*
 * The NEON backend. Written once with NEON intrinsics: on aarch64 it compiles natively (NEON is
 * the baseline there, so `auto` binds it); on x86 the very same source compiles through SIMDe's
 * NEON headers, so every x86 test run also exercises this logic (registered as "neon", never
 * chosen by `auto` there).
 *
 * Every load and store goes through byte pointers (vld1q_u8/vst1q_u8 plus reinterprets): views
 * may start at any address, and SIMDe on x86 must never see a misaligned typed pointer.
 * Little-endian lane order is assumed (vuzp1 as truncating narrow), as on every aarch64 Linux.
 */
#if defined(__aarch64__) || defined(_M_ARM64)
#if defined(__AARCH64EB__)
#error "codelay's NEON backend assumes little-endian lanes"
#endif
#include <arm_neon.h>
#else
/* Never put /usr/include/simde on the include path: SIMDe ships a check.h of its own. */
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/arm/neon.h>
#if defined(__clang__)
/* SIMDe's portable loops carry "vectorize" pragmas; when clang inlines them into our loops and
 * cannot honour the hint it warns (-Wpass-failed), which -Werror would turn into a failure. */
#pragma clang diagnostic ignored "-Wpass-failed"
#endif
#endif

#include "kernels.h"

#include <string.h>

#if defined(__GNUC__)
#define CL_ALWAYS_INLINE static inline __attribute__((always_inline))
#else
#define CL_ALWAYS_INLINE static inline
#endif

/* ---------------------------------------------------------------------------------------------
 * fill: one broadcast register, 64-byte unrolled stores, and one overlapping store for the tail
 * (16 is a multiple of every esize, so a store ending at the last byte is element-aligned).
 */
static void neon_fill(void *dst, const void *value, size_t n, size_t esize) {
  uint8_t *d = dst;
  size_t bytes = n * esize;
  uint8x16_t v;
  switch (esize) {
  case 1: {
    uint8_t x;
    memcpy(&x, value, 1);
    v = vdupq_n_u8(x);
    break;
  }
  case 2: {
    uint16_t x;
    memcpy(&x, value, 2);
    v = vreinterpretq_u8_u16(vdupq_n_u16(x));
    break;
  }
  case 4: {
    uint32_t x;
    memcpy(&x, value, 4);
    v = vreinterpretq_u8_u32(vdupq_n_u32(x));
    break;
  }
  case 8: {
    uint64_t x;
    memcpy(&x, value, 8);
    v = vreinterpretq_u8_u64(vdupq_n_u64(x));
    break;
  }
  default:
    cl_scalar_fill(dst, value, n, esize);
    return;
  }
  if (bytes < 16) {
    /* Pieces of 8, 4, 2, 1 bytes: each is a multiple of esize, so the pattern stays in phase. */
    uint8_t tmp[16];
    vst1q_u8(tmp, v);
    size_t i = 0;
    for (size_t piece = 8; piece > 0; piece >>= 1)
      if (bytes & piece) {
        memcpy(d + i, tmp, piece);
        i += piece;
      }
    return;
  }
  size_t i = 0;
  for (; i + 64 <= bytes; i += 64) {
    vst1q_u8(d + i, v);
    vst1q_u8(d + i + 16, v);
    vst1q_u8(d + i + 32, v);
    vst1q_u8(d + i + 48, v);
  }
  for (; i + 16 <= bytes; i += 16)
    vst1q_u8(d + i, v);
  if (i < bytes) vst1q_u8(d + bytes - 16, v);
}

/* ---------------------------------------------------------------------------------------------
 * Same-dtype copy with memmove semantics (in-place shifts overlap). Each chunk is loaded whole
 * before it is stored, so copying forward when dst < src and backward when dst > src never
 * overwrites source bytes that are still to be read.
 */
static void neon_move(uint8_t *d, const uint8_t *s, size_t bytes) {
  if (d == s || bytes == 0) return;
  if (d < s || d >= s + bytes) {
    size_t i = 0;
    for (; i + 64 <= bytes; i += 64) {
      uint8x16_t a = vld1q_u8(s + i), b = vld1q_u8(s + i + 16);
      uint8x16_t c = vld1q_u8(s + i + 32), e = vld1q_u8(s + i + 48);
      vst1q_u8(d + i, a);
      vst1q_u8(d + i + 16, b);
      vst1q_u8(d + i + 32, c);
      vst1q_u8(d + i + 48, e);
    }
    for (; i + 16 <= bytes; i += 16)
      vst1q_u8(d + i, vld1q_u8(s + i));
    if (i < bytes) {
      if (bytes >= 16 && (d + bytes <= s || d >= s + bytes)) {
        /* Disjoint: one overlapping vector for the ragged end. */
        vst1q_u8(d + bytes - 16, vld1q_u8(s + bytes - 16));
      } else {
        for (; i < bytes; i++)
          d[i] = s[i];
      }
    }
  } else {
    size_t i = bytes;
    for (; i >= 64; i -= 64) {
      uint8x16_t a = vld1q_u8(s + i - 64), b = vld1q_u8(s + i - 48);
      uint8x16_t c = vld1q_u8(s + i - 32), e = vld1q_u8(s + i - 16);
      vst1q_u8(d + i - 64, a);
      vst1q_u8(d + i - 48, b);
      vst1q_u8(d + i - 32, c);
      vst1q_u8(d + i - 16, e);
    }
    for (; i >= 16; i -= 16)
      vst1q_u8(d + i - 16, vld1q_u8(s + i - 16));
    while (i > 0) {
      i--;
      d[i] = s[i];
    }
  }
}

/* ---------------------------------------------------------------------------------------------
 * Integer conversion. Narrowing checks each source lane against the destination range with one
 * subtract and one unsigned compare ((x - lo) mod 2^w > hi - lo exactly when x is outside), ORs
 * the result into a sticky flag tested once at the end (dst is unspecified on failure), then
 * truncates with vuzp1 (the low half of every lane, two registers into one). Widening is
 * vmovl: zero-extension from u8, sign-extension from the signed types.
 */

/* Lanes of v (lane width w bytes) outside [lo, lo + span] as an all-ones byte mask. */
CL_ALWAYS_INLINE uint8x16_t out_of_range(uint8x16_t v, size_t w, int64_t lo, uint64_t span) {
  switch (w) {
  case 2:
    return vreinterpretq_u8_u16(
        vcgtq_u16(vsubq_u16(vreinterpretq_u16_u8(v), vdupq_n_u16((uint16_t)lo)),
                  vdupq_n_u16((uint16_t)span)));
  case 4:
    return vreinterpretq_u8_u32(
        vcgtq_u32(vsubq_u32(vreinterpretq_u32_u8(v), vdupq_n_u32((uint32_t)lo)),
                  vdupq_n_u32((uint32_t)span)));
  default:
    return vreinterpretq_u8_u64(vcgtq_u64(
        vsubq_u64(vreinterpretq_u64_u8(v), vdupq_n_u64((uint64_t)lo)), vdupq_n_u64(span)));
  }
}

/* Two registers of 2w-byte lanes -> one of w-byte lanes, keeping the low half of each lane. */
CL_ALWAYS_INLINE uint8x16_t narrow_pair(uint8x16_t a, uint8x16_t b, size_t w) {
  switch (w) {
  case 1:
    return vuzp1q_u8(a, b);
  case 2:
    return vreinterpretq_u8_u16(vuzp1q_u16(vreinterpretq_u16_u8(a), vreinterpretq_u16_u8(b)));
  default:
    return vreinterpretq_u8_u32(vuzp1q_u32(vreinterpretq_u32_u8(a), vreinterpretq_u32_u8(b)));
  }
}

/* One register of w-byte lanes -> two of 2w-byte lanes (first half, second half). */
CL_ALWAYS_INLINE void widen_one(uint8x16_t v, size_t w, int is_signed, uint8x16_t *lo,
                                uint8x16_t *hi) {
  switch (w) {
  case 1: /* the only 1-byte dtype is u8 */
    *lo = vreinterpretq_u8_u16(vmovl_u8(vget_low_u8(v)));
    *hi = vreinterpretq_u8_u16(vmovl_high_u8(v));
    return;
  case 2:
    if (is_signed) {
      int16x8_t s = vreinterpretq_s16_u8(v);
      *lo = vreinterpretq_u8_s32(vmovl_s16(vget_low_s16(s)));
      *hi = vreinterpretq_u8_s32(vmovl_high_s16(s));
    } else {
      uint16x8_t u = vreinterpretq_u16_u8(v);
      *lo = vreinterpretq_u8_u32(vmovl_u16(vget_low_u16(u)));
      *hi = vreinterpretq_u8_u32(vmovl_high_u16(u));
    }
    return;
  default:
    if (is_signed) {
      int32x4_t s = vreinterpretq_s32_u8(v);
      *lo = vreinterpretq_u8_s64(vmovl_s32(vget_low_s32(s)));
      *hi = vreinterpretq_u8_s64(vmovl_high_s32(s));
    } else {
      uint32x4_t u = vreinterpretq_u32_u8(v);
      *lo = vreinterpretq_u8_u64(vmovl_u32(vget_low_u32(u)));
      *hi = vreinterpretq_u8_u64(vmovl_high_u32(u));
    }
    return;
  }
}

/* One source register, range-checked into the sticky flag. */
CL_ALWAYS_INLINE uint8x16_t load_checked(const uint8_t *p, size_t se, int64_t lo, uint64_t span,
                                         uint8x16_t *bad) {
  uint8x16_t v = vld1q_u8(p);
  *bad = vorrq_u8(*bad, out_of_range(v, se, lo, span));
  return v;
}

/* 2, 4 or 8 source registers of se-byte lanes -> one register of se/2, se/4 or se/8-byte lanes.
 * Written out level by level (not as a loop over an array) so every block stays in registers. */
CL_ALWAYS_INLINE uint8x16_t narrow2(const uint8_t *p, size_t se, int64_t lo, uint64_t span,
                                    uint8x16_t *bad) {
  uint8x16_t a = load_checked(p, se, lo, span, bad);
  uint8x16_t b = load_checked(p + 16, se, lo, span, bad);
  return narrow_pair(a, b, se / 2);
}

CL_ALWAYS_INLINE uint8x16_t narrow4(const uint8_t *p, size_t se, int64_t lo, uint64_t span,
                                    uint8x16_t *bad) {
  uint8x16_t a = narrow2(p, se, lo, span, bad), b = narrow2(p + 32, se, lo, span, bad);
  return narrow_pair(a, b, se / 4);
}

CL_ALWAYS_INLINE uint8x16_t narrow8(const uint8_t *p, size_t se, int64_t lo, uint64_t span,
                                    uint8x16_t *bad) {
  uint8x16_t a = narrow4(p, se, lo, span, bad), b = narrow4(p + 64, se, lo, span, bad);
  return narrow_pair(a, b, se / 8);
}

/* Each block produces one 16-byte destination register from se/de source registers. */
CL_ALWAYS_INLINE int narrow_run(uint8_t *d, size_t de, int32_t dd, const uint8_t *s, size_t se,
                                int32_t sd, size_t n, int64_t lo, uint64_t span) {
  const size_t per = 16 / de; /* elements per block */
  uint8x16_t bad = vdupq_n_u8(0);
  size_t i = 0;
  for (; i + per <= n; i += per) {
    const uint8_t *sp = s + i * se;
    uint8x16_t v = se == 2 * de   ? narrow2(sp, se, lo, span, &bad)
                   : se == 4 * de ? narrow4(sp, se, lo, span, &bad)
                                  : narrow8(sp, se, lo, span, &bad);
    vst1q_u8(d + i * de, v);
  }
  if (vmaxvq_u8(bad)) return CODELAY_ERR_RANGE;
  return cl_scalar_convert(d + i * de, dd, s + i * se, sd, n - i);
}

/* One register of w-byte lanes widened to de-byte lanes and stored (de/w registers). */
CL_ALWAYS_INLINE void widen_store(uint8_t *dp, uint8x16_t v, size_t w, size_t de, int sg) {
  uint8x16_t a, b, a0, a1, b0, b1, x, y;
  widen_one(v, w, sg, &a, &b);
  if (de == 2 * w) {
    vst1q_u8(dp, a);
    vst1q_u8(dp + 16, b);
    return;
  }
  widen_one(a, 2 * w, sg, &a0, &a1);
  widen_one(b, 2 * w, sg, &b0, &b1);
  if (de == 4 * w) {
    vst1q_u8(dp, a0);
    vst1q_u8(dp + 16, a1);
    vst1q_u8(dp + 32, b0);
    vst1q_u8(dp + 48, b1);
    return;
  }
  const uint8x16_t q[4] = {a0, a1, b0, b1};
  for (int j = 0; j < 4; j++) {
    widen_one(q[j], 4 * w, sg, &x, &y);
    vst1q_u8(dp + 32 * j, x);
    vst1q_u8(dp + 32 * j + 16, y);
  }
}

/* Each block reads one 16-byte source register and writes de/se destination registers. */
CL_ALWAYS_INLINE int widen_run(uint8_t *d, size_t de, int32_t dd, const uint8_t *s, size_t se,
                               int32_t sd, size_t n) {
  const size_t per = 16 / se;
  const int is_signed = sd != CODELAY_U8;
  size_t i = 0;
  for (; i + per <= n; i += per)
    widen_store(d + i * de, vld1q_u8(s + i * se), se, de, is_signed);
  return cl_scalar_convert(d + i * de, dd, s + i * se, sd, n - i);
}

/* The pair's element sizes as one switch label. */
#define PAIR(s, d) ((s)*8 + (d))

static int neon_convert(void *dst, int32_t dst_dtype, const void *src, int32_t src_dtype,
                        size_t n) {
  uint8_t *d = dst;
  const uint8_t *s = src;
  if (dst_dtype == src_dtype || !cl_dtype_is_int(src_dtype) || !cl_dtype_is_int(dst_dtype)) {
    neon_move(d, s, n * cl_dtype_size(dst_dtype));
    return CODELAY_OK;
  }
  switch (PAIR(cl_dtype_size(src_dtype), cl_dtype_size(dst_dtype))) {
  /* Widening never fails: u8 zero-extends, the signed types sign-extend. */
  case PAIR(1, 2):
    return widen_run(d, 2, dst_dtype, s, 1, src_dtype, n);
  case PAIR(1, 4):
    return widen_run(d, 4, dst_dtype, s, 1, src_dtype, n);
  case PAIR(1, 8):
    return widen_run(d, 8, dst_dtype, s, 1, src_dtype, n);
  case PAIR(2, 4):
    return widen_run(d, 4, dst_dtype, s, 2, src_dtype, n);
  case PAIR(2, 8):
    return widen_run(d, 8, dst_dtype, s, 2, src_dtype, n);
  case PAIR(4, 8):
    return widen_run(d, 8, dst_dtype, s, 4, src_dtype, n);
  /* Narrowing: to u8 the range is [0, 255], otherwise the signed range of the destination. */
  case PAIR(2, 1):
    return narrow_run(d, 1, dst_dtype, s, 2, src_dtype, n, 0, UINT8_MAX);
  case PAIR(4, 1):
    return narrow_run(d, 1, dst_dtype, s, 4, src_dtype, n, 0, UINT8_MAX);
  case PAIR(8, 1):
    return narrow_run(d, 1, dst_dtype, s, 8, src_dtype, n, 0, UINT8_MAX);
  case PAIR(4, 2):
    return narrow_run(d, 2, dst_dtype, s, 4, src_dtype, n, INT16_MIN, UINT16_MAX);
  case PAIR(8, 2):
    return narrow_run(d, 2, dst_dtype, s, 8, src_dtype, n, INT16_MIN, UINT16_MAX);
  case PAIR(8, 4):
    return narrow_run(d, 4, dst_dtype, s, 8, src_dtype, n, INT32_MIN, UINT32_MAX);
  default:
    return cl_scalar_convert(dst, dst_dtype, src, src_dtype, n);
  }
}

/* ---------------------------------------------------------------------------------------------
 * TK frames, inner = 1. In the flat element index i of a span, dst[i] = src_g[i] where src_g is
 * the source shifted by the offset of the group of stream (i mod K). So each output register is
 * one load per group present in its lanes, blended with vbslq under byte masks. The lanes' phase
 * (i mod K) advances by L = 16/esize per register and repeats after P = K / gcd(K, L) registers.
 *
 * When the span covers at least one period, a table of P phases x C entries (C = the most groups
 * any phase holds; shorter phases padded with all-zero masks) is built once per call on the
 * stack from p->lane_group: the loop then does exactly C loads, C-1 mask loads and blends and one
 * store per register, with C fixed so that the common C <= 4 loops are fully unrolled and run
 * phase-major (below). Dia's [0,8..15] over 9 streams has C = 4 for i32: 4 loads, 3 blends and
 * one store per 4 elements, where scalar does 4 loads and 4 stores. Otherwise (short spans, or a
 * table that would not fit) the masks come from p->lane_group on the fly, one load per group: worth
 * it only while groups <= L, else each element is copied on its own.
 */
#define TK_MAX_PHASES  64
#define TK_MAX_ENTRIES 256
#define TK_CHUNK       256 /* elements blended per step when a conversion follows */
_Static_assert(TK_CHUNK % 16 == 0, "chunks must start on a register boundary for every esize");

typedef struct tk_plan {
  const uint8_t *gb[256]; /* per group: the source shifted by that group's offset */
  const uint8_t *lane_group;
  const int32_t *stream_group;
  size_t e, L, K;
  int32_t n_groups;
  enum { TK_TABLE, TK_MASKS, TK_CELLS } mode;
  size_t P, C; /* the table: P phases of C entries, phase j at entry j * C */
  const uint8_t *ent_src[TK_MAX_ENTRIES];
  uint8_t ent_mask[TK_MAX_ENTRIES][16];
} tk_plan;

/* Byte indices that repeat each lane's group byte esize times: vqtbl1q turns lane groups into
 * byte groups for any element size. */
static const uint8_t expand_idx[4][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7},
    {0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3},
    {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1},
};

static size_t gcd_size(size_t a, size_t b) {
  while (b) {
    size_t t = a % b;
    a = b;
    b = t;
  }
  return a;
}

/* The distinct groups among lanes lg[0..L), in lane order; returns how many. */
static size_t tk_phase_groups(const uint8_t *lg, size_t L, uint8_t out[16]) {
  size_t n = 0;
  for (size_t l = 0; l < L; l++) {
    size_t c = 0;
    while (c < n && out[c] != lg[l])
      c++;
    if (c == n) out[n++] = lg[l];
  }
  return n;
}

/*
 * The mode tk_plan_mode will pick for a span of n_elems elements, without building anything;
 * *P and *C get the table's shape when it is TK_TABLE. Apart from tk_plan_mode, the staircase's
 * cost model asks (its alternative is whatever this picks).
 */
static int tk_choose_mode(const tk_plan *pl, size_t n_elems, size_t *P_out, size_t *C_out) {
  const int fallback = (size_t)pl->n_groups <= pl->L ? TK_MASKS : TK_CELLS;
  const size_t P = pl->K / gcd_size(pl->K, pl->L);
  /* Building costs about one pass over a period: worth it once the span covers one. */
  if (P > TK_MAX_PHASES || n_elems < P * pl->L) return fallback;
  uint8_t grp[16];
  size_t C = 1;
  for (size_t j = 0; j < P; j++) {
    size_t c = tk_phase_groups(pl->lane_group + (j * pl->L) % pl->K, pl->L, grp);
    if (c > C) C = c;
  }
  if (P * C > TK_MAX_ENTRIES) return fallback;
  *P_out = P;
  *C_out = C;
  return TK_TABLE;
}

static void tk_plan_mode(tk_plan *pl, size_t n_elems) {
  size_t P = 0, C = 0;
  pl->mode = tk_choose_mode(pl, n_elems, &P, &C);
  if (pl->mode != TK_TABLE) return;
  uint8_t grp[16];
  for (size_t j = 0; j < P; j++) {
    const uint8_t *lg = pl->lane_group + (j * pl->L) % pl->K;
    size_t c = tk_phase_groups(lg, pl->L, grp);
    for (size_t q = 0; q < C; q++) {
      size_t ent = j * C + q;
      if (q < c) {
        pl->ent_src[ent] = pl->gb[grp[q]];
        for (size_t b = 0; b < 16; b++)
          pl->ent_mask[ent][b] = lg[b / pl->e] == grp[q] ? 0xff : 0;
      } else { /* padding: a valid source under an all-zero mask blends nothing */
        pl->ent_src[ent] = pl->gb[grp[0]];
        memset(pl->ent_mask[ent], 0, 16);
      }
    }
  }
  pl->P = P;
  pl->C = C;
}

/* Registers from element i (a multiple of L) while a whole one fits before end; returns the new
 * i. C is a constant in the unrolled instantiations. Entry 0 of a phase needs no mask. */
CL_ALWAYS_INLINE size_t tk_table_run(const tk_plan *pl, uint8_t *out, size_t i0, size_t i,
                                     size_t end, const size_t C) {
  const size_t e = pl->e, L = pl->L, wrap = pl->P * C;
  size_t ent = ((i / L) % pl->P) * C;
  for (; i + L <= end; i += L) {
    const size_t off = i * e;
    uint8x16_t v = vld1q_u8(pl->ent_src[ent] + off);
    for (size_t c = 1; c < C; c++)
      v = vbslq_u8(vld1q_u8(pl->ent_mask[ent + c]), vld1q_u8(pl->ent_src[ent + c] + off), v);
    vst1q_u8(out + (i - i0) * e, v);
    ent += C;
    if (ent == wrap) ent = 0;
  }
  return i;
}

/*
 * C <= 4: phase-major. The registers of one phase, one period (P * L elements) apart, share
 * their sources' relative positions and masks, so each phase's C pointers and C - 1 masks are
 * held in registers while the loop walks that phase through a block of periods; the next phase
 * then revisits the same block (sized to stay in L1). The inner loop is C loads, C - 1 blends
 * and a store per register: no table lookups at all.
 */
#define TK_BLOCK_BYTES 8192

CL_ALWAYS_INLINE size_t tk_table_loop(const tk_plan *pl, uint8_t *out, size_t i0, size_t i,
                                      size_t end, const size_t C) {
  const size_t e = pl->e, L = pl->L, P = pl->P, per = P * L, stride = per * e;
  size_t stop = (i + per - 1) / per * per; /* the first period boundary at or after i */
  i = tk_table_run(pl, out, i0, i, stop < end ? stop : end, C);
  size_t block = TK_BLOCK_BYTES / stride;
  if (block == 0) block = 1;
  while (end - i >= per) {
    size_t nper = (end - i) / per;
    if (nper > block) nper = block;
    for (size_t j = 0; j < P; j++) {
      const uint8_t *sp[4];
      uint8x16_t mk[4];
      for (size_t c = 0; c < C; c++) {
        sp[c] = pl->ent_src[j * C + c] + (i + j * L) * e;
        mk[c] = vld1q_u8(pl->ent_mask[j * C + c]);
      }
      uint8_t *op = out + (i + j * L - i0) * e;
      for (size_t m = 0, off = 0; m < nper; m++, off += stride) {
        uint8x16_t v = vld1q_u8(sp[0] + off);
        for (size_t c = 1; c < C; c++)
          v = vbslq_u8(mk[c], vld1q_u8(sp[c] + off), v);
        vst1q_u8(op + off, v);
      }
    }
    i += nper * per;
  }
  return tk_table_run(pl, out, i0, i, end, C);
}

/* One element per step, the stream phase k kept as a counter (no division per element). */
#define TK_CELL_LOOP(T)                                                                            \
  for (; i < end; i++) {                                                                           \
    T v;                                                                                           \
    memcpy(&v, pl->gb[pl->stream_group[k]] + i * sizeof(T), sizeof(T));                            \
    memcpy(out + (i - i0) * sizeof(T), &v, sizeof(T));                                             \
    if (++k == pl->K) k = 0;                                                                       \
  }

static void tk_cells(const tk_plan *pl, uint8_t *out, size_t i0, size_t i, size_t end) {
  size_t k = i % pl->K;
  switch (pl->e) {
  case 1:
    TK_CELL_LOOP(uint8_t);
    return;
  case 2:
    TK_CELL_LOOP(uint16_t);
    return;
  case 4:
    TK_CELL_LOOP(uint32_t);
    return;
  default:
    TK_CELL_LOOP(uint64_t);
    return;
  }
}

/* Elements [i0, i0 + cnt) of the span into out (i0 a multiple of L). */
static void tk_blend(const tk_plan *pl, uint8_t *out, size_t i0, size_t cnt) {
  const size_t e = pl->e, L = pl->L, end = i0 + cnt;
  size_t i = i0;
  if (pl->mode == TK_TABLE) {
    switch (pl->C) {
    case 1:
      i = tk_table_loop(pl, out, i0, i, end, 1);
      break;
    case 2:
      i = tk_table_loop(pl, out, i0, i, end, 2);
      break;
    case 3:
      i = tk_table_loop(pl, out, i0, i, end, 3);
      break;
    case 4:
      i = tk_table_loop(pl, out, i0, i, end, 4);
      break;
    default:
      i = tk_table_run(pl, out, i0, i, end, pl->C);
      break;
    }
  } else if (pl->mode == TK_MASKS) {
    const uint8x16_t idx = vld1q_u8(expand_idx[e == 1 ? 0 : e == 2 ? 1 : e == 4 ? 2 : 3]);
    const size_t step = L % pl->K;
    size_t ph = i0 % pl->K;
    for (; i + L <= end; i += L) {
      /* lane_group has K + CL_MAX_LANES entries, so 16 bytes from any phase < K are there. */
      uint8x16_t grp = vqtbl1q_u8(vld1q_u8(pl->lane_group + ph), idx);
      uint8x16_t v = vld1q_u8(pl->gb[0] + i * e);
      for (int32_t g = 1; g < pl->n_groups; g++)
        v = vbslq_u8(vceqq_u8(grp, vdupq_n_u8((uint8_t)g)), vld1q_u8(pl->gb[g] + i * e), v);
      vst1q_u8(out + (i - i0) * e, v);
      ph += step;
      if (ph >= pl->K) ph -= pl->K;
    }
  }
  tk_cells(pl, out, i0, i, end);
}

/*
 * inner > 1, or more than 255 groups (no lane_group): every cell is a contiguous run of `inner`
 * elements, and neighbouring streams with the same offset merge into one longer run.
 */
static int tk_runs(const cl_tk_args *a, size_t se, size_t de) {
  const codelay_pattern *p = a->p;
  const int64_t K = p->streams;
  const size_t inner = (size_t)a->inner;
  for (int64_t f = 0; f < a->frames; f++) {
    uint8_t *d = (uint8_t *)a->dst + (size_t)(f * K) * inner * de;
    int64_t k = 0;
    while (k < K) {
      int64_t k2 = k + 1;
      while (k2 < K && p->offset[k2] == p->offset[k])
        k2++;
      int64_t sf = a->first + f + a->sign * p->offset[k];
      const uint8_t *s = (const uint8_t *)a->src + (size_t)(sf * K + k) * inner * se;
      int st = neon_convert(d + (size_t)k * inner * de, a->dst_dtype, s, a->src_dtype,
                            (size_t)(k2 - k) * inner);
      if (st) return st;
      k = k2;
    }
  }
  return CODELAY_OK;
}

/* ---------------------------------------------------------------------------------------------
 * TK staircase, 4-byte elements (Dia: streams 1..4 and 5..8 have offsets 8..11 and 12..15).
 * When 4 consecutive streams s..s+3 have offsets stepping by d = +1 or -1, lane l of output
 * frame f reads source frame A + f + sigma * l (A: lane 0's frame for f = 0, sigma = sign * d).
 * With R[j] = the run's 4 streams of source frame base + j (one load; base = A for sigma +1,
 * A - 3 for sigma -1), lane l of frame f is lane l of row R[f + l] (sigma +1) or R[f + 3 - l]
 * (sigma -1): the diagonal is a blend of whole rows, no shuffle at all. A two-level blend tree
 * shares its first level between frames:
 *
 *   P[j]    = vbsl(m1, R[j + 1], R[j])   sigma +1: (R[j], R[j+1], R[j], R[j+1]), m1 = odd lanes
 *                                        sigma -1: (R[j+1], R[j], R[j+1], R[j]), m1 = even lanes
 *   frame f = vbsl(m2, P[f + 2], P[f])   m2 = lanes 2-3 (sigma +1) or lanes 0-1 (sigma -1)
 *
 * and each P[j] serves frames j and j - 2. Per frame and run: one row load, two blends with
 * constant masks, one store, where the blend table (above) needs four loads, three blends and a
 * store per four elements of Dia and the cells a load and a store per element. The direction is
 * only in the masks, so runs stepping either way share one loop.
 *
 * The span is done in chunks of frames that stay in L1, one job (a loop over the chunk's frames)
 * per one or two runs plus the leftover stream just before them, so every line of a chunk is
 * written while it is cached; other leftover streams are copied element by element per chunk.
 * Frame f of a run reads rows f..f+3, so a chunk of n frames reads rows 0..n+2: exactly the source
 * frames its lanes read, which the span's contract guarantees exist.
 */
#define STAIR_CHUNK_BYTES 8192 /* output bytes per chunk; with the source rows, within L1 */

/* [sigma > 0][level]: m1, m2 as above, as all-ones 32-bit lanes. */
static const uint32_t stair_masks[2][2][4] = {
    {{~0u, 0, ~0u, 0}, {~0u, ~0u, 0, 0}},
    {{0, ~0u, 0, ~0u}, {0, 0, ~0u, ~0u}},
};

/* +1 or -1 when streams k..k+3 have offsets stepping by that, else 0. */
static int stair_step(const int64_t *o, size_t k, size_t K) {
  if (k + 4 > K) return 0;
  for (int d = -1; d <= 1; d += 2)
    if (o[k + 1] == o[k] + d && o[k + 2] == o[k] + 2 * d && o[k + 3] == o[k] + 3 * d) return d;
  return 0;
}

/* How many disjoint runs of 4 the chunk loop finds (greedily from the left). */
static size_t stair_count_runs(const int64_t *o, size_t K) {
  size_t runs = 0;
  for (size_t k = 0; k < K;) {
    if (stair_step(o, k, K)) {
      runs++;
      k += 4;
    } else {
      k++;
    }
  }
  return runs;
}

/*
 * Whether the staircase beats the path tk_shift would take otherwise, in instructions per frame:
 * a run costs 4 (load, two blends, store), a leftover stream 3 (a load and a store, plus its
 * share of a loop of its own: with a run and many leftovers, [0,1,2,3,3,...,3] over 17 streams,
 * callgrind counted 15% more instructions than the table at 2 per leftover); the blend
 * table 2C per register of 4 lanes (C loads, C - 1 blends, a store); the on-the-fly masks
 * about 3 per group per register; the cells 3 per element (a load, a store, the loop); and
 * without lane groups the per-segment conversions of tk_runs lose to anything.
 */
static int stair_worth(const codelay_pattern *p, const tk_plan *pl, size_t n_elems) {
  const size_t K = (size_t)p->streams;
  const size_t runs = stair_count_runs(p->offset, K);
  if (runs == 0) return 0;
  if (!p->lane_group) return 1;
  const size_t stair = 4 * runs + 3 * (K - 4 * runs);
  size_t P = 0, C = 0, other;
  switch (tk_choose_mode(pl, n_elems, &P, &C)) {
  case TK_TABLE:
    other = 2 * C * K / 4;
    break;
  case TK_MASKS:
    other = 3 * (size_t)pl->n_groups * K / 4;
    break;
  default:
    other = 3 * K;
    break;
  }
  return stair < other;
}

typedef struct stair_job {
  uint8_t *out[2];       /* each run's first stream in output frame 0 of the chunk */
  const uint8_t *row[2]; /* the same streams in its row R[0] */
  int up[2];             /* sigma > 0 */
  uint8_t *one_out;      /* the leftover stream in output frame 0, or NULL */
  const uint8_t *one_in; /* its source element */
} stair_job;

CL_ALWAYS_INLINE uint32x4_t stair_load(const uint8_t *p) {
  return vreinterpretq_u32_u8(vld1q_u8(p));
}

CL_ALWAYS_INLINE void stair_store(uint8_t *p, uint32x4_t v) {
  vst1q_u8(p, vreinterpretq_u8_u32(v));
}

/*
 * vbsl(m, b, a) written as a ^ ((a ^ b) & m). Both compilers turn this form into one BSL/BIT/BIF;
 * clang 14 lowers vbslq_u32 itself to (b & m) | (a & ~m), hoists ~m out of the loop, and then
 * emits and, and, orr for every blend: three instructions instead of one.
 */
CL_ALWAYS_INLINE uint32x4_t stair_blend(uint32x4_t m, uint32x4_t b, uint32x4_t a) {
  return veorq_u32(a, vandq_u32(veorq_u32(a, b), m));
}

CL_ALWAYS_INLINE void stair_copy4(uint8_t *d, const uint8_t *s) {
  uint32_t v;
  memcpy(&v, s, 4);
  memcpy(d, &v, 4);
}

/*
 * One job over the n frames of a chunk (fs = bytes per frame). runs (1 or 2) and one (0 or 1)
 * are constants in each instance, so the per-run state lives in registers.
 */
CL_ALWAYS_INLINE void stair_body(const stair_job *j, size_t fs, size_t n, const int runs,
                                 const int one) {
  uint32x4_t m1[2], m2[2], p0[2], p1[2], r2[2];
  const uint8_t *row[2];
  uint8_t *out[2];
  /* Locals, and the small loops unrolled, so that nothing is reloaded from the job or spilled
   * (the element copies store through byte pointers, which may alias the job). */
  uint8_t *const one_out = j->one_out;
  const uint8_t *const one_in = j->one_in;
#pragma GCC unroll 2
  for (int r = 0; r < runs; r++) {
    m1[r] = vld1q_u32(stair_masks[j->up[r]][0]);
    m2[r] = vld1q_u32(stair_masks[j->up[r]][1]);
    const uint32x4_t a = stair_load(j->row[r]), b = stair_load(j->row[r] + fs);
    r2[r] = stair_load(j->row[r] + 2 * fs);
    p0[r] = stair_blend(m1[r], b, a);
    p1[r] = stair_blend(m1[r], r2[r], b);
    row[r] = j->row[r] + 3 * fs; /* R[3]: the row frame 0 adds */
    out[r] = j->out[r];
  }
  size_t f = 0;
  /* Four frames per step: the window (P[f], P[f+1], R[f+2]) comes back to the same variables, so
   * the unrolled body needs no register copies. */
  for (; f + 4 <= n; f += 4) {
    const size_t i = f * fs;
    if (one) {
#pragma GCC unroll 4
      for (size_t q = 0; q < 4; q++)
        stair_copy4(one_out + i + q * fs, one_in + i + q * fs);
    }
#pragma GCC unroll 2
    for (int r = 0; r < runs; r++) {
      const uint8_t *s = row[r] + i;
      uint8_t *w = out[r] + i;
      uint32x4_t r3 = stair_load(s);
      const uint32x4_t p2 = stair_blend(m1[r], r3, r2[r]);
      stair_store(w, stair_blend(m2[r], p2, p0[r]));
      r2[r] = stair_load(s + fs);
      const uint32x4_t p3 = stair_blend(m1[r], r2[r], r3);
      stair_store(w + fs, stair_blend(m2[r], p3, p1[r]));
      r3 = stair_load(s + 2 * fs);
      p0[r] = stair_blend(m1[r], r3, r2[r]);
      stair_store(w + 2 * fs, stair_blend(m2[r], p0[r], p2));
      r2[r] = stair_load(s + 3 * fs);
      p1[r] = stair_blend(m1[r], r2[r], r3);
      stair_store(w + 3 * fs, stair_blend(m2[r], p1[r], p3));
    }
  }
  for (; f < n; f++) {
    const size_t i = f * fs;
    if (one) stair_copy4(one_out + i, one_in + i);
#pragma GCC unroll 2
    for (int r = 0; r < runs; r++) {
      const uint32x4_t r3 = stair_load(row[r] + i);
      const uint32x4_t p2 = stair_blend(m1[r], r3, r2[r]);
      stair_store(out[r] + i, stair_blend(m2[r], p2, p0[r]));
      p0[r] = p1[r];
      p1[r] = p2;
      r2[r] = r3;
    }
  }
}

typedef void (*stair_fn)(const stair_job *j, size_t fs, size_t n);
#define STAIR_FN(name, runs, one)                                                                  \
  static void name(const stair_job *j, size_t fs, size_t n) {                                      \
    stair_body(j, fs, n, runs, one);                                                               \
  }
STAIR_FN(stair_run1, 1, 0)
STAIR_FN(stair_run1_one, 1, 1)
STAIR_FN(stair_run2, 2, 0)
STAIR_FN(stair_run2_one, 2, 1)
#undef STAIR_FN
static const stair_fn stair_fns[2][2] = {{stair_run1, stair_run1_one},
                                         {stair_run2, stair_run2_one}};

/* A leftover stream's n frames of a chunk, one element per frame. */
static void stair_copy_one(uint8_t *d, const uint8_t *s, size_t fs, size_t n) {
#pragma GCC unroll 4
  for (size_t f = 0; f < n; f++, s += fs, d += fs)
    stair_copy4(d, s);
}

/* The source element of stream k for output frame f (for a run: its lane 0's, frame A + f). */
static const uint8_t *stair_src(const cl_tk_args *a, int64_t f, size_t k) {
  const int64_t K = a->p->streams;
  return (const uint8_t *)a->src +
         ((size_t)((a->first + f + a->sign * a->p->offset[k]) * K) + k) * 4;
}

/* The span (4-byte elements, no conversion, at least one run: see stair_worth). */
static void tk_staircase(const cl_tk_args *a) {
  const int64_t *o = a->p->offset;
  const size_t K = (size_t)a->p->streams, F = (size_t)a->frames, fs = K * 4;
  /* At least 8 frames, so the 3 rows a run reads beyond its frames stay a small extra. */
  size_t chunk = STAIR_CHUNK_BYTES / fs;
  if (chunk < 8) chunk = 8;
  for (size_t f0 = 0; f0 < F; f0 += chunk) {
    const size_t n = F - f0 < chunk ? F - f0 : chunk;
    uint8_t *dst = (uint8_t *)a->dst + f0 * fs;
    /* Runs are taken greedily from the left; a second run right after the first joins its job,
     * and so does the leftover stream just before it. */
    size_t pending = SIZE_MAX; /* a leftover stream not copied yet (the one just before k) */
    for (size_t k = 0; k < K;) {
      int d = stair_step(o, k, K);
      if (!d) {
        if (pending != SIZE_MAX)
          stair_copy_one(dst + pending * 4, stair_src(a, (int64_t)f0, pending), fs, n);
        pending = k++;
        continue;
      }
      stair_job j = {{NULL, NULL}, {NULL, NULL}, {0, 0}, NULL, NULL};
      int runs = 0;
      do {
        const int up = a->sign * d > 0;
        j.out[runs] = dst + k * 4;
        j.row[runs] = stair_src(a, (int64_t)f0, k) - (up ? 0 : 3 * fs);
        j.up[runs] = up;
        runs++;
        k += 4;
      } while (runs < 2 && (d = stair_step(o, k, K)) != 0);
      if (pending != SIZE_MAX) {
        j.one_out = dst + pending * 4;
        j.one_in = stair_src(a, (int64_t)f0, pending);
      }
      stair_fns[runs - 1][pending != SIZE_MAX](&j, fs, n);
      pending = SIZE_MAX;
    }
    if (pending != SIZE_MAX)
      stair_copy_one(dst + pending * 4, stair_src(a, (int64_t)f0, pending), fs, n);
  }
}

static int neon_tk_shift(const cl_tk_args *a) {
  const codelay_pattern *p = a->p;
  if (a->frames <= 0) return CODELAY_OK;
  const size_t se = cl_dtype_size(a->src_dtype), de = cl_dtype_size(a->dst_dtype);
  const size_t K = (size_t)p->streams;
  const uint8_t *src = a->src;
  if (p->n_groups == 1) {
    /* One offset for every stream: the whole span is one contiguous run. */
    const uint8_t *s =
        src + (size_t)(a->first + a->sign * p->group_offset[0]) * K * (size_t)a->inner * se;
    return neon_convert(a->dst, a->dst_dtype, s, a->src_dtype,
                        (size_t)a->frames * K * (size_t)a->inner);
  }
  if (a->inner > 1) return tk_runs(a, se, de);

  tk_plan pl;
  pl.lane_group = p->lane_group;
  pl.stream_group = p->stream_group;
  pl.e = se;
  pl.L = 16 / se;
  pl.K = K;
  pl.n_groups = (int32_t)p->n_groups;
  const size_t n = (size_t)a->frames * K;
  /* Equal 4-byte sizes are the same dtype (i32, f32) after validation: a plain copy of bits. */
  if (se == 4 && de == 4 && stair_worth(p, &pl, n)) {
    tk_staircase(a);
    return CODELAY_OK;
  }
  if (!p->lane_group) return tk_runs(a, se, de);
  /* Each group's base is a whole source frame that exists (the caller guarantees it for every
   * dst frame of the span), so every lane of every load is inside the source. */
  for (int32_t g = 0; g < pl.n_groups; g++)
    pl.gb[g] = src + (size_t)(a->first + a->sign * p->group_offset[g]) * K * se;
  tk_plan_mode(&pl, n);

  int converting = a->src_dtype != a->dst_dtype && cl_dtype_is_int(a->src_dtype) &&
                   cl_dtype_is_int(a->dst_dtype);
  if (!converting) {
    tk_blend(&pl, a->dst, 0, n);
    return CODELAY_OK;
  }
  /* Blend in the source dtype, then convert: only values that land in dst are range-checked. */
  uint8_t tmp[TK_CHUNK * 8];
  for (size_t i0 = 0; i0 < n; i0 += TK_CHUNK) {
    size_t cnt = n - i0 < TK_CHUNK ? n - i0 : TK_CHUNK;
    tk_blend(&pl, tmp, i0, cnt);
    int st = neon_convert((uint8_t *)a->dst + i0 * de, a->dst_dtype, tmp, a->src_dtype, cnt);
    if (st) return st;
  }
  return CODELAY_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Loss weights. Sixteen tokens per block whatever the dtype: compare against the ignore id and
 * each pad id at the token's width, bring the masks to 32-bit lanes, select the weight with
 * vbslq, zero the ignored lanes, and count pad and ignored lanes by subtracting all-ones masks.
 * Ids that the token dtype cannot hold never match (as in scalar) and are dropped up front.
 */
typedef struct wt_ids {
  int64_t pad[16];
  int32_t n_pad;
  int use_ign;
  int64_t ign;
} wt_ids;

CL_ALWAYS_INLINE void wt_masks(const uint8_t *t, int32_t dt, const wt_ids *ids, uint32x4_t pm[4],
                               uint32x4_t im[4]) {
  switch (dt) {
  case CODELAY_U8: {
    uint8x16_t v = vld1q_u8(t), p = vdupq_n_u8(0), q = vdupq_n_u8(0);
    for (int32_t j = 0; j < ids->n_pad; j++)
      p = vorrq_u8(p, vceqq_u8(v, vdupq_n_u8((uint8_t)ids->pad[j])));
    if (ids->use_ign) q = vceqq_u8(v, vdupq_n_u8((uint8_t)ids->ign));
    /* All-ones bytes sign-extend to all-ones words. */
    int16x8_t p0 = vmovl_s8(vget_low_s8(vreinterpretq_s8_u8(p)));
    int16x8_t p1 = vmovl_high_s8(vreinterpretq_s8_u8(p));
    int16x8_t q0 = vmovl_s8(vget_low_s8(vreinterpretq_s8_u8(q)));
    int16x8_t q1 = vmovl_high_s8(vreinterpretq_s8_u8(q));
    pm[0] = vreinterpretq_u32_s32(vmovl_s16(vget_low_s16(p0)));
    pm[1] = vreinterpretq_u32_s32(vmovl_high_s16(p0));
    pm[2] = vreinterpretq_u32_s32(vmovl_s16(vget_low_s16(p1)));
    pm[3] = vreinterpretq_u32_s32(vmovl_high_s16(p1));
    im[0] = vreinterpretq_u32_s32(vmovl_s16(vget_low_s16(q0)));
    im[1] = vreinterpretq_u32_s32(vmovl_high_s16(q0));
    im[2] = vreinterpretq_u32_s32(vmovl_s16(vget_low_s16(q1)));
    im[3] = vreinterpretq_u32_s32(vmovl_high_s16(q1));
    return;
  }
  case CODELAY_I16:
    for (int h = 0; h < 2; h++) {
      int16x8_t v = vreinterpretq_s16_u8(vld1q_u8(t + 16 * h));
      uint16x8_t p = vdupq_n_u16(0), q = vdupq_n_u16(0);
      for (int32_t j = 0; j < ids->n_pad; j++)
        p = vorrq_u16(p, vceqq_s16(v, vdupq_n_s16((int16_t)ids->pad[j])));
      if (ids->use_ign) q = vceqq_s16(v, vdupq_n_s16((int16_t)ids->ign));
      int16x8_t ps = vreinterpretq_s16_u16(p), qs = vreinterpretq_s16_u16(q);
      pm[2 * h] = vreinterpretq_u32_s32(vmovl_s16(vget_low_s16(ps)));
      pm[2 * h + 1] = vreinterpretq_u32_s32(vmovl_high_s16(ps));
      im[2 * h] = vreinterpretq_u32_s32(vmovl_s16(vget_low_s16(qs)));
      im[2 * h + 1] = vreinterpretq_u32_s32(vmovl_high_s16(qs));
    }
    return;
  case CODELAY_I32:
    for (int h = 0; h < 4; h++) {
      int32x4_t v = vreinterpretq_s32_u8(vld1q_u8(t + 16 * h));
      uint32x4_t p = vdupq_n_u32(0), q = vdupq_n_u32(0);
      for (int32_t j = 0; j < ids->n_pad; j++)
        p = vorrq_u32(p, vceqq_s32(v, vdupq_n_s32((int32_t)ids->pad[j])));
      if (ids->use_ign) q = vceqq_s32(v, vdupq_n_s32((int32_t)ids->ign));
      pm[h] = p;
      im[h] = q;
    }
    return;
  default:
    for (int h = 0; h < 4; h++) {
      int64x2_t v0 = vreinterpretq_s64_u8(vld1q_u8(t + 32 * h));
      int64x2_t v1 = vreinterpretq_s64_u8(vld1q_u8(t + 32 * h + 16));
      uint64x2_t p0 = vdupq_n_u64(0), p1 = vdupq_n_u64(0), q0 = p0, q1 = p0;
      for (int32_t j = 0; j < ids->n_pad; j++) {
        int64x2_t id = vdupq_n_s64(ids->pad[j]);
        p0 = vorrq_u64(p0, vceqq_s64(v0, id));
        p1 = vorrq_u64(p1, vceqq_s64(v1, id));
      }
      if (ids->use_ign) {
        int64x2_t id = vdupq_n_s64(ids->ign);
        q0 = vceqq_s64(v0, id);
        q1 = vceqq_s64(v1, id);
      }
      pm[h] = vuzp1q_u32(vreinterpretq_u32_u64(p0), vreinterpretq_u32_u64(p1));
      im[h] = vuzp1q_u32(vreinterpretq_u32_u64(q0), vreinterpretq_u32_u64(q1));
    }
    return;
  }
}

static int64_t load_token(const uint8_t *t, int32_t dt) {
  switch (dt) {
  case CODELAY_U8:
    return *t;
  case CODELAY_I16: {
    int16_t v;
    memcpy(&v, t, 2);
    return v;
  }
  case CODELAY_I32: {
    int32_t v;
    memcpy(&v, t, 4);
    return v;
  }
  default: {
    int64_t v;
    memcpy(&v, t, 8);
    return v;
  }
  }
}

static double neon_weights(const cl_weights_args *a) {
  const int32_t dt = a->tok_dtype;
  const size_t te = cl_dtype_size(dt);
  int64_t lo = INT64_MIN, hi = INT64_MAX;
  if (dt == CODELAY_U8) lo = 0, hi = UINT8_MAX;
  if (dt == CODELAY_I16) lo = INT16_MIN, hi = INT16_MAX;
  if (dt == CODELAY_I32) lo = INT32_MIN, hi = INT32_MAX;

  wt_ids ids;
  ids.n_pad = 0;
  for (int32_t j = 0; j < a->n_pad_ids && j < 16; j++) {
    int64_t id = a->pad_ids[j];
    int dup = 0;
    for (int32_t c = 0; c < ids.n_pad; c++)
      dup |= ids.pad[c] == id;
    if (id >= lo && id <= hi && !dup) ids.pad[ids.n_pad++] = id;
  }
  ids.use_ign = a->use_ignore_id && a->ignore_id >= lo && a->ignore_id <= hi;
  ids.ign = a->ignore_id;

  const uint8_t *tok = a->tokens;
  uint8_t *dst = (uint8_t *)a->dst;
  const size_t nv = a->n_valid;
  size_t n_pad = 0, n_ign = 0, i = 0;

  if (ids.n_pad == 0 && !ids.use_ign) {
    /* Nothing to compare: every valid token gets the plain weight. */
    neon_fill(dst, &a->weight, nv, 4);
    i = nv;
  } else {
    const float32x4_t wv = vdupq_n_f32(a->weight), pv = vdupq_n_f32(a->pad_weight);
    while (i + 16 <= nv) {
      /* Lane counters flushed every 2^20 blocks: at most 2^22 per lane, far from overflow. */
      uint32x4_t cpad = vdupq_n_u32(0), cign = vdupq_n_u32(0);
      for (size_t blocks = 0; i + 16 <= nv && blocks < ((size_t)1 << 20); i += 16, blocks++) {
        uint32x4_t pm[4], im[4];
        wt_masks(tok + i * te, dt, &ids, pm, im);
        for (int h = 0; h < 4; h++) {
          uint32x4_t padk = vbicq_u32(pm[h], im[h]);
          uint32x4_t w = vreinterpretq_u32_f32(vbslq_f32(pm[h], pv, wv));
          w = vbicq_u32(w, im[h]);
          vst1q_u8(dst + (i + 4 * (size_t)h) * 4, vreinterpretq_u8_u32(w));
          cpad = vsubq_u32(cpad, padk);
          cign = vsubq_u32(cign, im[h]);
        }
      }
      n_pad += (size_t)vaddlvq_u32(cpad);
      n_ign += (size_t)vaddlvq_u32(cign);
    }
    for (; i < nv; i++) {
      int64_t t = load_token(tok + i * te, dt);
      float w = 0.0f;
      if (!(ids.use_ign && t == ids.ign)) {
        int is_pad = 0;
        for (int32_t j = 0; j < ids.n_pad; j++)
          is_pad |= t == ids.pad[j];
        w = is_pad ? a->pad_weight : a->weight;
        n_pad += (size_t)is_pad;
      } else {
        n_ign++;
      }
      memcpy(dst + i * 4, &w, 4);
    }
  }
  const float zero = 0.0f;
  if (a->n > nv) neon_fill(dst + nv * 4, &zero, a->n - nv, 4);
  size_t n_plain = nv - n_pad - n_ign;
  return (double)n_plain * a->weight + (double)n_pad * a->pad_weight;
}

const cl_kernels cl_kernels_neon = {"neon", neon_fill, neon_convert, neon_tk_shift, neon_weights};
