/* Region labels of a delayed sequence: 0 head, 1 data, 2 tail (the three cases of delay). */
#include "kernels.h"
#include "validate.h"

int codelay_delay_regions(const codelay_pattern *p, int64_t aligned_steps, const int64_t *lengths,
                          const codelay_view *regions) {
  if (!p || cl_check_view_null(regions)) return CODELAY_ERR_NULL;
  if (cl_check_view_arg(regions)) return CODELAY_ERR_ARG;
  if (regions->dtype != CODELAY_U8) return CODELAY_ERR_DTYPE;
  cl_extent ext;
  if (cl_check_view_shape(regions, &ext) || regions->inner != 1 || regions->streams != p->streams ||
      aligned_steps < 0 || cl_check_lengths(lengths, regions->batch, aligned_steps))
    return CODELAY_ERR_SHAPE;

  /* An empty view may have NULL data: no row pointer may be formed from it. */
  if (regions->batch == 0 || regions->streams == 0 || regions->steps == 0) return CODELAY_OK;
  const cl_kernels *kern = cl_active_kernels();
  static const uint8_t label[3] = {0, 1, 2};
  int64_t steps = regions->steps;
  for (int64_t b = 0; b < regions->batch; b++) {
    int64_t len = lengths ? lengths[b] : aligned_steps;
    for (int64_t k = 0; k < regions->streams; k++) {
      int64_t o = p->offset[k];
      int64_t lo = o < steps ? o : steps;
      int64_t hi = len < steps - lo ? lo + len : steps;
      uint8_t *row = (uint8_t *)regions->data + b * regions->stride[0] + k * regions->stride[1];
      if (regions->stride[2] == 1) {
        kern->fill(row, &label[0], (size_t)lo, 1);
        kern->fill(row + lo, &label[1], (size_t)(hi - lo), 1);
        kern->fill(row + hi, &label[2], (size_t)(steps - hi), 1);
        continue;
      }
      for (int64_t s = 0; s < steps; s++)
        row[s * regions->stride[2]] = s < lo ? 0 : (s < hi ? 1 : 2);
    }
  }
  return CODELAY_OK;
}
