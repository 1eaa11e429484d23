/* Pattern creation: offsets, and streams grouped by distinct offset for the TK kernels. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

int codelay_pattern_create(codelay_pattern **out, int64_t streams, const int64_t *delays,
                           int64_t lead) {
  if (!out || !delays) return CODELAY_ERR_NULL;
  if (streams < 1 || streams > (int64_t)(SIZE_MAX / 64)) return CODELAY_ERR_SHAPE;
  if (lead < 0 || lead > INT32_MAX) return CODELAY_ERR_DELAY;
  for (int64_t k = 0; k < streams; k++)
    if (delays[k] < 0 || delays[k] > INT32_MAX - lead) return CODELAY_ERR_DELAY;

  /* One allocation: the struct, then every array, each 8-byte aligned. */
  size_t n = (size_t)streams;
  size_t lanes = n + CL_MAX_LANES;
  size_t bytes = sizeof(codelay_pattern) + 3 * n * sizeof(int64_t) + n * sizeof(int32_t) +
                 ((lanes + 7) & ~(size_t)7);
  codelay_pattern *p = calloc(1, bytes);
  if (!p) return CODELAY_ERR_NOMEM;
  int64_t *arrays = (int64_t *)(p + 1);
  p->delays = arrays;
  p->offset = arrays + n;
  p->group_offset = arrays + 2 * n;
  p->stream_group = (int32_t *)(arrays + 3 * n);
  uint8_t *lane_group = (uint8_t *)(p->stream_group + n);

  p->streams = streams;
  p->lead = lead;
  memcpy(p->delays, delays, n * sizeof(int64_t));
  p->max_offset = 0;
  p->min_offset = INT64_MAX;
  for (size_t k = 0; k < n; k++) {
    p->offset[k] = lead + delays[k];
    if (p->offset[k] > p->max_offset) p->max_offset = p->offset[k];
    if (p->offset[k] < p->min_offset) p->min_offset = p->offset[k];
  }

  /* Distinct offsets, ascending (K is small: quadratic is fine and allocation-free). */
  p->n_groups = 0;
  int64_t prev = -1;
  for (;;) {
    int64_t next = INT64_MAX;
    for (size_t k = 0; k < n; k++)
      if (p->offset[k] > prev && p->offset[k] < next) next = p->offset[k];
    if (next == INT64_MAX) break;
    for (size_t k = 0; k < n; k++)
      if (p->offset[k] == next) p->stream_group[k] = (int32_t)p->n_groups;
    p->group_offset[p->n_groups++] = next;
    prev = next;
  }

  if (p->n_groups <= 255) {
    for (size_t i = 0; i < lanes; i++)
      lane_group[i] = (uint8_t)p->stream_group[i % n];
    p->lane_group = lane_group;
  }
  *out = p;
  return CODELAY_OK;
}

void codelay_pattern_destroy(codelay_pattern *p) {
  free(p);
}

int64_t codelay_pattern_max_offset(const codelay_pattern *p) {
  return p ? p->max_offset : -1;
}
