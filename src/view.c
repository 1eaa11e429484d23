/* Constructors for the two contiguous layouts. */
#include "internal.h"

codelay_view codelay_view_kt(void *data, int32_t dtype, int64_t batch, int64_t streams,
                             int64_t steps, int64_t inner) {
  codelay_view v = {data, dtype, 0, batch, streams, steps, inner, {0, 0, 0}};
  v.stride[2] = inner;
  v.stride[1] = steps * inner;
  v.stride[0] = streams * steps * inner;
  return v;
}

codelay_view codelay_view_tk(void *data, int32_t dtype, int64_t batch, int64_t streams,
                             int64_t steps, int64_t inner) {
  codelay_view v = {data, dtype, 0, batch, streams, steps, inner, {0, 0, 0}};
  v.stride[1] = inner;
  v.stride[2] = streams * inner;
  v.stride[0] = steps * streams * inner;
  return v;
}
