/*
 * The kernel table: the only thing a backend provides. Every entry point validates, then walks
 * the views and calls these primitives on contiguous runs; kernels trust their arguments and never
 * allocate. Each backend (scalar, sse41, avx2, avx512, neon) defines one `const cl_kernels`.
 */
#ifndef CODELAY_KERNELS_H
#define CODELAY_KERNELS_H

#include "internal.h"

/* One span of time-major (TK) frames: dst frames [0, frames), each K*inner contiguous elements. */
typedef struct cl_tk_args {
  void *dst;       /* first dst frame of the span */
  const void *src; /* src frame 0 of the batch item (frame index base for src_frame) */
  int32_t dst_dtype, src_dtype;
  int64_t frames; /* dst frames in the span */
  int64_t inner;
  /*
   * dst frame f, stream k reads src frame (first + f + sign * p->offset[k]); the caller guarantees
   * that this frame exists for every f and k of the span (the head/tail edges are done elsewhere).
   * sign is -1 for delay, +1 for undelay.
   */
  int64_t first;
  int32_t sign;
  const codelay_pattern *p;
} cl_tk_args;

/* Loss weights for one contiguous run of tokens that all belong to stream k. */
typedef struct cl_weights_args {
  float *dst;
  const void *tokens;
  int32_t tok_dtype;
  int32_t n_pad_ids; /* 0..16 */
  size_t n;          /* elements in the run */
  size_t n_valid;    /* the first n_valid are inside the data (t + o[k] < S_b); rest get 0 */
  float weight;      /* stream_weight[k] */
  float pad_weight;  /* stream_weight[k] * pad_weight[k] */
  const int64_t *pad_ids;
  int32_t use_ignore_id;
  int64_t ignore_id;
} cl_weights_args;

typedef struct cl_kernels {
  const char *name;
  /* dst[0..n) = the esize-byte value at *value (esize 1, 2, 4 or 8). */
  void (*fill)(void *dst, const void *value, size_t n, size_t esize);
  /*
   * dst[0..n) = src[0..n) converted between dtypes. Same dtype (or any float pair of equal size
   * after validation) is a copy with memmove semantics: dst and src may overlap (in-place shifts).
   * Integer pairs of different dtypes never overlap; returns CODELAY_ERR_RANGE if a value does
   * not fit dst (dst contents then unspecified), else CODELAY_OK.
   */
  int (*convert)(void *dst, int32_t dst_dtype, const void *src, int32_t src_dtype, size_t n);
  /* A TK span (see cl_tk_args); src and dst never overlap. Returns CODELAY_OK or _ERR_RANGE. */
  int (*tk_shift)(const cl_tk_args *a);
  /*
   * Writes a->n weights and returns their sum as (double)n_plain * weight + (double)n_pad *
   * pad_weight, counting the valid non-pad and pad tokens: exact, and the same on every backend.
   */
  double (*weights)(const cl_weights_args *a);
} cl_kernels;

/* The active table (never NULL; first use runs the thread-safe detection and override). */
CL_HIDDEN const cl_kernels *cl_active_kernels(void);

/* Every backend's table; NULL entries are not compiled in. */
CL_HIDDEN extern const cl_kernels cl_kernels_scalar;
#if defined(CODELAY_HAVE_SSE41)
CL_HIDDEN extern const cl_kernels cl_kernels_sse41;
#endif
#if defined(CODELAY_HAVE_AVX2)
CL_HIDDEN extern const cl_kernels cl_kernels_avx2;
#endif
#if defined(CODELAY_HAVE_AVX512)
CL_HIDDEN extern const cl_kernels cl_kernels_avx512;
#endif
#if defined(CODELAY_HAVE_NEON)
CL_HIDDEN extern const cl_kernels cl_kernels_neon;
#endif

/* Scalar primitives, exported internally so SIMD backends can finish tails and odd cases. */
CL_HIDDEN void cl_scalar_fill(void *dst, const void *value, size_t n, size_t esize);
CL_HIDDEN int cl_scalar_convert(void *dst, int32_t dst_dtype, const void *src, int32_t src_dtype,
                                size_t n);
CL_HIDDEN int cl_scalar_tk_shift(const cl_tk_args *a);
CL_HIDDEN double cl_scalar_weights(const cl_weights_args *a);

#endif
