/* Constructors for the two contiguous layouts. */
#include "internal.h"

/*
 * a * b, or -1 when it overflows (or a size is negative): validation then rejects the view with
 * CODELAY_ERR_SHAPE instead of the constructor computing a wrapped stride (undefined behaviour).
 */
static int64_t stride_product(int64_t a, int64_t b) {
  int64_t r;
  if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &r)) return -1;
  return r;
}

codelay_view codelay_view_kt(void *data, int32_t dtype, int64_t batch, int64_t streams,
                             int64_t steps, int64_t inner) {
  codelay_view v = {data, dtype, 0, batch, streams, steps, inner, {0, 0, 0}};
  v.stride[2] = inner;
  v.stride[1] = stride_product(steps, inner);
  v.stride[0] = v.stride[1] < 0 ? -1 : stride_product(streams, v.stride[1]);
  return v;
}

codelay_view codelay_view_tk(void *data, int32_t dtype, int64_t batch, int64_t streams,
                             int64_t steps, int64_t inner) {
  codelay_view v = {data, dtype, 0, batch, streams, steps, inner, {0, 0, 0}};
  v.stride[1] = inner;
  v.stride[2] = stride_product(streams, inner);
  v.stride[0] = v.stride[2] < 0 ? -1 : stride_product(steps, v.stride[2]);
  return v;
}
