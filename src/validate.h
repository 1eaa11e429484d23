/*
 * Argument validation, in the order SPEC §4 fixes: NULL, ARG, DTYPE, SHAPE, ALIAS. Each entry
 * point runs the phases over all of its arguments before it writes anything.
 */
#ifndef CODELAY_VALIDATE_H
#define CODELAY_VALIDATE_H

#include "internal.h"

/* Byte range [lo, hi) a view can touch; lo == hi when it has no elements. */
typedef struct cl_extent {
  uintptr_t lo, hi;
} cl_extent;

/* NULL view, or NULL data in a view that has elements. */
CL_HIDDEN int cl_check_view_null(const codelay_view *v);
/* flags != 0. */
CL_HIDDEN int cl_check_view_arg(const codelay_view *v);
/* Sizes, strides and the byte extent (overflow-checked); fills *ext. Assumes a known dtype. */
CL_HIDDEN int cl_check_view_shape(const codelay_view *v, cl_extent *ext);
/* lengths NULL, or every lengths[b] in [0, bound]. */
CL_HIDDEN int cl_check_lengths(const int64_t *lengths, int64_t batch, int64_t bound);
CL_HIDDEN int cl_extents_overlap(cl_extent a, cl_extent b);
/* The very same view: same data, dtype, shape and strides (in-place). */
CL_HIDDEN int cl_same_view(const codelay_view *a, const codelay_view *b);
CL_HIDDEN int cl_view_has_elements(const codelay_view *v);

#endif
