/* Loss weights (moshi-finetune's formula, generalised) and the per-stream normalisers. */
#include "kernels.h"
#include "validate.h"

#include <string.h>

static int validate_weights(const codelay_pattern *p, const codelay_view *tokens,
                            int64_t delayed_steps, const int64_t *lengths,
                            const codelay_weight_spec *spec, const codelay_view *weights) {
  if (!p || cl_check_view_null(tokens) || cl_check_view_null(weights)) return CODELAY_ERR_NULL;
  if (spec && spec->n_pad_ids > 0 && !spec->pad_ids) return CODELAY_ERR_NULL;
  if (cl_check_view_arg(tokens) || cl_check_view_arg(weights)) return CODELAY_ERR_ARG;
  if (spec && (spec->n_pad_ids < 0 || spec->n_pad_ids > 16)) return CODELAY_ERR_ARG;
  if (!cl_dtype_is_int(tokens->dtype) || weights->dtype != CODELAY_F32) return CODELAY_ERR_DTYPE;
  cl_extent et, ew;
  if (cl_check_view_shape(tokens, &et) || cl_check_view_shape(weights, &ew))
    return CODELAY_ERR_SHAPE;
  if (tokens->streams != p->streams || weights->streams != p->streams ||
      tokens->batch != weights->batch || tokens->steps != weights->steps ||
      tokens->inner != weights->inner || delayed_steps < 0 ||
      cl_check_lengths(lengths, tokens->batch, delayed_steps))
    return CODELAY_ERR_SHAPE;
  if (cl_extents_overlap(et, ew)) return CODELAY_ERR_ALIAS;
  return CODELAY_OK;
}

int codelay_loss_weights(const codelay_pattern *p, const codelay_view *tokens,
                         int64_t delayed_steps, const int64_t *lengths,
                         const codelay_weight_spec *spec, const codelay_view *weights,
                         double *sums) {
  int st = validate_weights(p, tokens, delayed_steps, lengths, spec, weights);
  if (st) return st;
  static const codelay_weight_spec none = {NULL, NULL, NULL, 0, 0, 0};
  if (!spec) spec = &none;

  const cl_kernels *kern = cl_active_kernels();
  size_t es = cl_dtype_size(tokens->dtype);
  int64_t K = tokens->streams, T = tokens->steps, inner = tokens->inner;
  int rows = tokens->stride[2] == inner && weights->stride[2] == inner;
  if (sums) memset(sums, 0, (size_t)K * sizeof(double));
  /* An empty view may have NULL data: no row pointer may be formed from it. */
  if (tokens->batch == 0 || T == 0) return CODELAY_OK;

  for (int64_t b = 0; b < tokens->batch; b++) {
    int64_t len = lengths ? lengths[b] : delayed_steps;
    for (int64_t k = 0; k < K; k++) {
      float w = spec->stream_weight ? spec->stream_weight[k] : 1.0f;
      float pw = w * (spec->pad_weight ? spec->pad_weight[k] : 1.0f);
      int64_t valid = len - p->offset[k];
      valid = valid < 0 ? 0 : (valid > T ? T : valid);
      cl_weights_args a = {NULL, NULL,          tokens->dtype,       spec->n_pad_ids, 0, 0, w,
                           pw,   spec->pad_ids, spec->use_ignore_id, spec->ignore_id};
      double sum = 0;
      const char *trow =
          (const char *)tokens->data + (size_t)(b * tokens->stride[0] + k * tokens->stride[1]) * es;
      float *wrow = (float *)weights->data + b * weights->stride[0] + k * weights->stride[1];
      if (rows) {
        a.dst = wrow;
        a.tokens = trow;
        a.n = (size_t)(T * inner);
        a.n_valid = (size_t)(valid * inner);
        sum = kern->weights(&a);
      } else {
        /* Strided or time-major: one run of `inner` per cell. */
        a.n = (size_t)inner;
        for (int64_t t = 0; t < T; t++) {
          a.dst = wrow + t * weights->stride[2];
          a.tokens = trow + (size_t)(t * tokens->stride[2]) * es;
          a.n_valid = t < valid ? (size_t)inner : 0;
          sum += cl_scalar_weights(&a);
        }
      }
      if (sums) sums[k] += sum;
    }
  }
  return CODELAY_OK;
}
