#include "validate.h"

int cl_view_has_elements(const codelay_view *v) {
  return v->batch > 0 && v->streams > 0 && v->steps > 0 && v->inner > 0;
}

int cl_check_view_null(const codelay_view *v) {
  if (!v) return CODELAY_ERR_NULL;
  if (!v->data && cl_view_has_elements(v)) return CODELAY_ERR_NULL;
  return CODELAY_OK;
}

int cl_check_view_arg(const codelay_view *v) {
  return v->flags != 0 ? CODELAY_ERR_ARG : CODELAY_OK;
}

static int mul_add_checked(int64_t *acc, int64_t a, int64_t b) {
  int64_t prod;
  if (__builtin_mul_overflow(a, b, &prod)) return 0;
  return !__builtin_add_overflow(*acc, prod, acc);
}

int cl_check_view_shape(const codelay_view *v, cl_extent *ext) {
  if (v->batch < 0 || v->streams < 0 || v->steps < 0 || v->inner < 1) return CODELAY_ERR_SHAPE;
  for (int i = 0; i < 3; i++)
    if (v->stride[i] < 0) return CODELAY_ERR_SHAPE;
  uintptr_t base = (uintptr_t)v->data;
  ext->lo = ext->hi = base;
  if (v->batch == 0 || v->streams == 0 || v->steps == 0) return CODELAY_OK;

  /* Last reachable element + 1, then bytes: every step overflow-checked in int64. */
  int64_t last = v->inner;
  if (!mul_add_checked(&last, v->batch - 1, v->stride[0]) ||
      !mul_add_checked(&last, v->streams - 1, v->stride[1]) ||
      !mul_add_checked(&last, v->steps - 1, v->stride[2]))
    return CODELAY_ERR_SHAPE;
  int64_t bytes;
  if (__builtin_mul_overflow(last, (int64_t)cl_dtype_size(v->dtype), &bytes))
    return CODELAY_ERR_SHAPE;
  if ((uint64_t)bytes > (uint64_t)SIZE_MAX || (uint64_t)bytes > UINTPTR_MAX - base)
    return CODELAY_ERR_SHAPE;
  /* Every cell count the kernels multiply out must fit too. */
  int64_t cells;
  if (__builtin_mul_overflow(v->batch, v->streams, &cells) ||
      __builtin_mul_overflow(cells, v->steps, &cells) ||
      __builtin_mul_overflow(cells, v->inner, &cells) ||
      __builtin_mul_overflow(cells, (int64_t)cl_dtype_size(v->dtype), &cells))
    return CODELAY_ERR_SHAPE;
  ext->hi = base + (uintptr_t)bytes;
  return CODELAY_OK;
}

int cl_check_lengths(const int64_t *lengths, int64_t batch, int64_t bound) {
  if (!lengths) return CODELAY_OK;
  for (int64_t b = 0; b < batch; b++)
    if (lengths[b] < 0 || lengths[b] > bound) return CODELAY_ERR_SHAPE;
  return CODELAY_OK;
}

int cl_extents_overlap(cl_extent a, cl_extent b) {
  return a.lo < a.hi && b.lo < b.hi && a.lo < b.hi && b.lo < a.hi;
}

int cl_same_view(const codelay_view *a, const codelay_view *b) {
  return a->data == b->data && a->dtype == b->dtype && a->batch == b->batch &&
         a->streams == b->streams && a->steps == b->steps && a->inner == b->inner &&
         a->stride[0] == b->stride[0] && a->stride[1] == b->stride[1] &&
         a->stride[2] == b->stride[2];
}
