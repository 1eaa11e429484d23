/* Internal declarations shared by the library's translation units; never installed. */
#ifndef CODELAY_INTERNAL_H
#define CODELAY_INTERNAL_H

#include "codelay.h"

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define CL_HIDDEN __attribute__((visibility("hidden")))
#else
#define CL_HIDDEN
#endif

/*
 * The pattern precomputes everything a kernel needs, once: offsets, and the streams grouped by
 * distinct offset (the TK kernels build each output vector as a blend of one load per group).
 */
struct codelay_pattern {
  int64_t streams;
  int64_t lead;
  int64_t max_offset;
  int64_t min_offset;
  int64_t *delays;       /* [streams] as given */
  int64_t *offset;       /* [streams] lead + delays[k] */
  int64_t n_groups;      /* distinct offsets */
  int64_t *group_offset; /* [n_groups] ascending */
  int32_t *stream_group; /* [streams] index into group_offset */
  /*
   * lane_group[i] = stream_group[i mod streams] for i in [0, streams + CL_MAX_LANES): the group of
   * every lane of a vector that starts at any stream phase, so SIMD code derives blend masks with
   * one load and compare instead of a division per lane.
   */
  uint8_t *lane_group; /* NULL when n_groups > 255 (TK kernels then fall back to scalar) */
};

#define CL_MAX_LANES 64 /* the widest vector in elements: 64 bytes of u8 */

/*
 * Size in bytes of a dtype, 0 if unknown; and whether it is an integer dtype. Inline: the SIMD
 * kernels ask once per contiguous run, and a call into another translation unit per run showed in
 * the small cases.
 */
static inline size_t cl_dtype_size(int32_t dtype) {
  switch (dtype) {
  case CODELAY_U8:
    return 1;
  case CODELAY_I16:
  case CODELAY_F16:
  case CODELAY_BF16:
    return 2;
  case CODELAY_I32:
  case CODELAY_F32:
    return 4;
  case CODELAY_I64:
    return 8;
  default:
    return 0;
  }
}

static inline int cl_dtype_is_int(int32_t dtype) {
  return dtype == CODELAY_U8 || dtype == CODELAY_I16 || dtype == CODELAY_I32 ||
         dtype == CODELAY_I64;
}

#endif
