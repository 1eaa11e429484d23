/*
 * The scalar backend: the reference every SIMD backend is checked against, and the finisher for
 * their tails. Plain C, but not naive: typed loops per element size, memmove for same-dtype
 * runs, no per-element dispatch.
 */
#include "kernels.h"

#include <string.h>

void cl_scalar_fill(void *dst, const void *value, size_t n, size_t esize) {
  if (n == 0) return; /* dst may be the NULL data of an empty view */
  switch (esize) {
  case 1:
    memset(dst, *(const uint8_t *)value, n);
    return;
  case 2: {
    uint16_t v, *d = dst;
    memcpy(&v, value, 2);
    for (size_t i = 0; i < n; i++)
      d[i] = v;
    return;
  }
  case 4: {
    uint32_t v, *d = dst;
    memcpy(&v, value, 4);
    for (size_t i = 0; i < n; i++)
      d[i] = v;
    return;
  }
  default: {
    uint64_t v, *d = dst;
    memcpy(&v, value, 8);
    for (size_t i = 0; i < n; i++)
      d[i] = v;
    return;
  }
  }
}

static int64_t load_int(const void *src, int32_t dtype, size_t i) {
  switch (dtype) {
  case CODELAY_U8:
    return ((const uint8_t *)src)[i];
  case CODELAY_I16:
    return ((const int16_t *)src)[i];
  case CODELAY_I32:
    return ((const int32_t *)src)[i];
  default:
    return ((const int64_t *)src)[i];
  }
}

/*
 * Element loops that the compiler must not turn back into a libc call (see copy_elements).
 * dst < src copies forward, dst > src backward: both are safe for overlapping runs.
 */
#if defined(__clang__)
#define CL_NO_LIBC_IDIOM __attribute__((no_builtin("memcpy", "memmove")))
#elif defined(__GNUC__)
#define CL_NO_LIBC_IDIOM __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define CL_NO_LIBC_IDIOM
#endif

#define DEFINE_COPY_LOOP(NAME, T)                                                                  \
  CL_NO_LIBC_IDIOM static void NAME(T *d, const T *s, size_t n) {                                  \
    if ((uintptr_t)d < (uintptr_t)s)                                                               \
      for (size_t i = 0; i < n; i++)                                                               \
        d[i] = s[i];                                                                               \
    else                                                                                           \
      for (size_t i = n; i-- > 0;)                                                                 \
        d[i] = s[i];                                                                               \
  }
DEFINE_COPY_LOOP(copy_loop8, uint8_t)
DEFINE_COPY_LOOP(copy_loop16, uint16_t)
DEFINE_COPY_LOOP(copy_loop32, uint32_t)
DEFINE_COPY_LOOP(copy_loop64, uint64_t)

/*
 * Same-dtype runs. glibc's memcpy and memmove (rep movsb) run ~25x slower on this project's AMD
 * EPYC machines when dst - src is a small positive distance modulo 4 KiB, which is exactly a
 * delay of a few steps between page-aligned buffers (10 KiB: 3.4 us against 0.13 us). There, a
 * plain element loop; everywhere else libc's copy is the fastest scalar code there is.
 */
static void copy_elements(void *dst, const void *src, size_t n, size_t esize) {
  size_t bytes = n * esize;
  uintptr_t distance = ((uintptr_t)dst - (uintptr_t)src) & 4095;
  if (dst == src || bytes == 0) return;
  if (bytes < 1024 || distance == 0 || distance >= 256) {
    memmove(dst, src, bytes);
    return;
  }
  switch (esize) {
  case 1:
    copy_loop8(dst, src, n);
    return;
  case 2:
    copy_loop16(dst, src, n);
    return;
  case 4:
    copy_loop32(dst, src, n);
    return;
  default:
    copy_loop64(dst, src, n);
    return;
  }
}

/* One loop per (src, dst) pair would be 12 functions; the switch hoists out of the loop anyway. */
#define CONVERT_LOOP(DST_T, LO, HI)                                                                \
  do {                                                                                             \
    DST_T *d = dst;                                                                                \
    for (size_t i = 0; i < n; i++) {                                                               \
      int64_t v = load_int(src, src_dtype, i);                                                     \
      if (v < (LO) || v > (HI)) return CODELAY_ERR_RANGE;                                          \
      d[i] = (DST_T)v;                                                                             \
    }                                                                                              \
  } while (0)

int cl_scalar_convert(void *dst, int32_t dst_dtype, const void *src, int32_t src_dtype, size_t n) {
  if (dst_dtype == src_dtype || !cl_dtype_is_int(src_dtype)) {
    copy_elements(dst, src, n, cl_dtype_size(dst_dtype));
    return CODELAY_OK;
  }
  switch (dst_dtype) {
  case CODELAY_U8:
    CONVERT_LOOP(uint8_t, 0, UINT8_MAX);
    break;
  case CODELAY_I16:
    CONVERT_LOOP(int16_t, INT16_MIN, INT16_MAX);
    break;
  case CODELAY_I32:
    CONVERT_LOOP(int32_t, INT32_MIN, INT32_MAX);
    break;
  default:
    CONVERT_LOOP(int64_t, INT64_MIN, INT64_MAX);
    break;
  }
  return CODELAY_OK;
}

/* Same-dtype TK span, one frame at a time: each stream's cell is a fixed-distance copy. */
#define TK_COPY_LOOP(T)                                                                            \
  do {                                                                                             \
    T *d = a->dst;                                                                                 \
    const T *s = a->src;                                                                           \
    for (int64_t f = 0; f < a->frames; f++, d += K) {                                              \
      const T *sf = s + (a->first + f) * K;                                                        \
      for (int64_t k = 0; k < K; k++)                                                              \
        d[k] = sf[k + rel[k]];                                                                     \
    }                                                                                              \
  } while (0)

int cl_scalar_tk_shift(const cl_tk_args *a) {
  const codelay_pattern *p = a->p;
  int64_t K = p->streams;
  size_t es_dst = cl_dtype_size(a->dst_dtype), es_src = cl_dtype_size(a->src_dtype);
  if (a->inner == 1 && a->dst_dtype == a->src_dtype && K <= 64) {
    /* Element distance from dst cell (f, k) to its source, relative to src frame first + f. */
    int64_t rel[64];
    for (int64_t k = 0; k < K; k++)
      rel[k] = a->sign * p->offset[k] * K;
    switch (es_dst) {
    case 1:
      TK_COPY_LOOP(uint8_t);
      return CODELAY_OK;
    case 2:
      TK_COPY_LOOP(uint16_t);
      return CODELAY_OK;
    case 4:
      TK_COPY_LOOP(uint32_t);
      return CODELAY_OK;
    default:
      TK_COPY_LOOP(uint64_t);
      return CODELAY_OK;
    }
  }
  size_t inner = (size_t)a->inner;
  for (int64_t f = 0; f < a->frames; f++) {
    char *d = (char *)a->dst + (size_t)(f * K) * inner * es_dst;
    for (int64_t k = 0; k < K; k++, d += inner * es_dst) {
      int64_t sf = a->first + f + a->sign * p->offset[k];
      const char *s = (const char *)a->src + (size_t)(sf * K + k) * inner * es_src;
      int st = cl_scalar_convert(d, a->dst_dtype, s, a->src_dtype, inner);
      if (st) return st;
    }
  }
  return CODELAY_OK;
}

double cl_scalar_weights(const cl_weights_args *a) {
  size_t n_plain = 0, n_pad = 0;
  for (size_t i = 0; i < a->n_valid; i++) {
    int64_t tok = load_int(a->tokens, a->tok_dtype, i);
    float w = 0.0f;
    if (!(a->use_ignore_id && tok == a->ignore_id)) {
      int is_pad = 0;
      for (int32_t j = 0; j < a->n_pad_ids; j++)
        is_pad |= tok == a->pad_ids[j];
      w = is_pad ? a->pad_weight : a->weight;
      n_pad += (size_t)is_pad;
      n_plain += (size_t)!is_pad;
    }
    a->dst[i] = w;
  }
  for (size_t i = a->n_valid; i < a->n; i++)
    a->dst[i] = 0.0f;
  return (double)n_plain * a->weight + (double)n_pad * a->pad_weight;
}

const cl_kernels cl_kernels_scalar = {"scalar", cl_scalar_fill, cl_scalar_convert,
                                      cl_scalar_tk_shift, cl_scalar_weights};
