/*
 * delay and undelay: one driver. Destination step s of stream k reads source step s + shift[k]
 * (shift = -o[k] for delay, +o[k] for undelay). Per (b, k) line the destination splits into a
 * head [0, lo), a data run [lo, hi) and a tail [hi, steps); the driver walks contiguous runs and
 * hands them to the active kernel table.
 */
#include "kernels.h"
#include "validate.h"

#include <string.h>

typedef struct shift_job {
  const codelay_pattern *p;
  const codelay_view *src, *dst, *mask;
  const uint8_t *head, *tail; /* K fill values each, in dst's dtype */
  const int64_t *lengths;
  int32_t sign; /* -1 delay, +1 undelay */
  size_t es_src, es_dst;
  const cl_kernels *kern;
} shift_job;

typedef struct line_span {
  int64_t lo, hi; /* data run [lo, hi) of the destination line */
} line_span;

static int64_t clamp64(int64_t x, int64_t lo, int64_t hi) {
  return x < lo ? lo : (x > hi ? hi : x);
}

static line_span span_of(const shift_job *j, int64_t b, int64_t k) {
  int64_t shift = j->sign * j->p->offset[k];
  int64_t len = j->lengths ? j->lengths[b] : j->src->steps;
  int64_t steps = j->dst->steps;
  line_span sp;
  sp.lo = clamp64(-shift, 0, steps);
  sp.hi = clamp64(len - shift, sp.lo, steps);
  return sp;
}

static char *cell(const codelay_view *v, size_t es, int64_t b, int64_t k, int64_t s) {
  return (char *)v->data + (size_t)(b * v->stride[0] + k * v->stride[1] + s * v->stride[2]) * es;
}

/*
 * n elements of value at d. The seams of a row (a delay's head, an undelay's tail) are mostly 0 to
 * a few elements: written here without the kernel table's indirect call, which for Moshi's rows
 * cost more than the element stores.
 */
static void fill_run(const shift_job *j, char *d, const uint8_t *value, size_t n) {
  const size_t es = j->es_dst;
  if (n > 4) {
    j->kern->fill(d, value, n, es);
    return;
  }
  for (size_t i = 0; i < n; i++, d += es) {
    switch (es) {
    case 1:
      *d = (char)*value;
      break;
    case 2:
      memcpy(d, value, 2);
      break;
    case 4:
      memcpy(d, value, 4);
      break;
    default:
      memcpy(d, value, 8);
      break;
    }
  }
}

static void write_mask_line(const shift_job *j, int64_t b, int64_t k, line_span sp) {
  const codelay_view *m = j->mask;
  if (!m) return;
  static const uint8_t one = 1, zero = 0;
  if (m->stride[2] == 1) {
    uint8_t *row = (uint8_t *)cell(m, 1, b, k, 0);
    j->kern->fill(row, &one, (size_t)sp.hi, 1);
    j->kern->fill(row + sp.hi, &zero, (size_t)(m->steps - sp.hi), 1);
    return;
  }
  for (int64_t t = 0; t < m->steps; t++)
    *(uint8_t *)cell(m, 1, b, k, t) = t < sp.hi;
}

/*
 * A time-major mask of one item: the frames where every stream has data are one fill of 1s,
 * those where none has are one fill of 0s; only the max-min offset frames between go cell by cell.
 */
static void write_mask_frames(const shift_job *j, int64_t b, const line_span *spans) {
  const codelay_view *m = j->mask;
  int64_t K = m->streams, steps = m->steps, all_hi = steps, any_hi = 0;
  for (int64_t k = 0; k < K; k++) {
    if (spans[k].hi < all_hi) all_hi = spans[k].hi;
    if (spans[k].hi > any_hi) any_hi = spans[k].hi;
  }
  static const uint8_t one = 1, zero = 0;
  uint8_t *frames = (uint8_t *)cell(m, 1, b, 0, 0);
  j->kern->fill(frames, &one, (size_t)(all_hi * K), 1);
  for (int64_t t = all_hi; t < any_hi; t++)
    for (int64_t k = 0; k < K; k++)
      frames[t * K + k] = t < spans[k].hi;
  j->kern->fill(frames + any_hi * K, &zero, (size_t)((steps - any_hi) * K), 1);
}

/*
 * Stream-major rows whose views are dense alike (same dtype, same steps, rows exactly steps *
 * inner apart in both): consecutive rows with the same shift and data run are then one shifted
 * copy of the whole block, and the elements it puts in the seams between rows are overwritten by
 * the rows' fills after it. Moshi's 17 rows per item become 4 copies: the per-row calls were
 * ~10% of the time of a [16, 17, 1250] delay. Consecutive items merge too when they are dense.
 */
static int64_t kt_merge_limit(const shift_job *j, int64_t b) {
  const codelay_view *src = j->src, *dst = j->dst;
  int64_t K = dst->streams, row = dst->stride[1];
  if (src->dtype != dst->dtype || src->steps != dst->steps || src->stride[1] != row ||
      row != dst->steps * dst->inner)
    return 0; /* no merging: every row alone */
  if (src->stride[0] == dst->stride[0] && dst->stride[0] == K * row) return dst->batch * K;
  return (b + 1) * K;
}

/* Stream-major rows: the data run is one shifted copy, then two fills (after, for in-place). */
static int shift_kt(const shift_job *j) {
  const codelay_view *src = j->src, *dst = j->dst;
  const int64_t K = dst->streams, n_rows = dst->batch * K;
  const size_t inner = (size_t)dst->inner;
  /* Rows are walked as (b, k) counters: a 64-bit division per row cost more than its fills. */
  int64_t r = 0, b = 0, k = 0;
  while (r < n_rows) {
    const line_span sp = span_of(j, b, k);
    const int64_t shift = j->sign * j->p->offset[k];
    /* Rows [r, end) share one copy: same shift and, across items, the same length. */
    int64_t end = r + 1, limit = kt_merge_limit(j, b), eb = b, ek = k + 1;
    for (; end < limit; end++, ek++) {
      if (ek == K) eb++, ek = 0;
      if (j->sign * j->p->offset[ek] != shift) break;
      if (eb != b && j->lengths && j->lengths[eb] != j->lengths[b]) break;
    }
    if (sp.hi > sp.lo) {
      char *d = cell(dst, j->es_dst, b, k, sp.lo);
      const char *s = cell(src, j->es_src, b, k, sp.lo + shift);
      size_t n = ((size_t)(end - 1 - r) * (size_t)dst->steps + (size_t)(sp.hi - sp.lo)) * inner;
      int st = j->kern->convert(d, dst->dtype, s, src->dtype, n);
      if (st) return st;
    }
    for (; r < end; r++) {
      char *drow = cell(dst, j->es_dst, b, k, 0);
      fill_run(j, drow, j->head + k * j->es_dst, (size_t)sp.lo * inner);
      fill_run(j, drow + (size_t)sp.hi * inner * j->es_dst, j->tail + k * j->es_dst,
               (size_t)(dst->steps - sp.hi) * inner);
      if (j->mask) write_mask_line(j, b, k, sp);
      if (++k == K) b++, k = 0;
    }
  }
  return CODELAY_OK;
}

/* One cell of any view: its data value or its fill. */
static int shift_cell(const shift_job *j, int64_t b, int64_t k, int64_t s, line_span sp) {
  char *d = cell(j->dst, j->es_dst, b, k, s);
  size_t inner = (size_t)j->dst->inner;
  if (s < sp.lo) {
    j->kern->fill(d, j->head + k * j->es_dst, inner, j->es_dst);
    return CODELAY_OK;
  }
  if (s >= sp.hi) {
    j->kern->fill(d, j->tail + k * j->es_dst, inner, j->es_dst);
    return CODELAY_OK;
  }
  const char *sc = cell(j->src, j->es_src, b, k, s + j->sign * j->p->offset[k]);
  return cl_scalar_convert(d, j->dst->dtype, sc, j->src->dtype, inner);
}

/*
 * Any strides, and every in-place TK or strided call: cell by cell, in the order that reads each
 * source cell before it is overwritten (delay reads backwards in time, undelay forwards).
 */
static int shift_generic(const shift_job *j) {
  const codelay_view *dst = j->dst;
  for (int64_t b = 0; b < dst->batch; b++) {
    for (int64_t k = 0; k < dst->streams; k++) {
      line_span sp = span_of(j, b, k);
      for (int64_t i = 0; i < dst->steps; i++) {
        int64_t s = j->sign < 0 ? dst->steps - 1 - i : i;
        int st = shift_cell(j, b, k, s, sp);
        if (st) return st;
      }
      write_mask_line(j, b, k, sp);
    }
  }
  return CODELAY_OK;
}

/*
 * One mixed frame (some streams in data, some in fill) of a same-dtype, inner = 1 TK item: each
 * element is its source cell or its fill, moved with a store of the element's size. Cell by cell
 * through shift_cell (an indirect fill or a convert call per element) this was ~1.3 us per Dia
 * item, a fifth of a [16, 3072, 9] delay. Elements of es bytes, es a constant after inlining.
 */
static inline void tk_mixed_frame_es(const shift_job *j, int64_t b, int64_t s,
                                     const line_span *spans, size_t es) {
  const codelay_view *dst = j->dst, *src = j->src;
  const int64_t K = dst->streams;
  char *d = cell(dst, es, b, 0, s);
  /* Source addresses only for cells in data: no pointer is formed outside the source. */
  for (int64_t k = 0; k < K; k++, d += es) {
    const void *v = s < spans[k].lo ? (const void *)(j->head + (size_t)k * es)
                    : s >= spans[k].hi
                        ? (const void *)(j->tail + (size_t)k * es)
                        : (const void *)cell(src, es, b, k, s + j->sign * j->p->offset[k]);
    memcpy(d, v, es);
  }
}

static void tk_mixed_frame(const shift_job *j, int64_t b, int64_t s, const line_span *spans) {
  switch (j->es_dst) {
  case 1:
    tk_mixed_frame_es(j, b, s, spans, 1);
    break;
  case 2:
    tk_mixed_frame_es(j, b, s, spans, 2);
    break;
  case 4:
    tk_mixed_frame_es(j, b, s, spans, 4);
    break;
  default:
    tk_mixed_frame_es(j, b, s, spans, 8);
    break;
  }
}

/*
 * Time-major frames of one batch item. Frames where every stream has data go to the kernel's
 * tk_shift in one span; the frames around it are done element by element (tk_mixed_frame for a
 * same-dtype, inner-1 item, else shift_cell, which converts), except that a frame that is all head
 * or all tail is a copy of the previous one.
 */
static int shift_tk_item(const shift_job *j, int64_t b, line_span *spans) {
  const codelay_view *dst = j->dst;
  int64_t K = dst->streams, steps = dst->steps;
  int64_t body_lo = 0, body_hi = steps, all_head_end = steps, all_tail_from = 0;
  for (int64_t k = 0; k < K; k++) {
    spans[k] = span_of(j, b, k);
    if (spans[k].lo > body_lo) body_lo = spans[k].lo;
    if (spans[k].hi < body_hi) body_hi = spans[k].hi;
    if (spans[k].lo < all_head_end) all_head_end = spans[k].lo;
    if (spans[k].hi > all_tail_from) all_tail_from = spans[k].hi;
  }
  if (body_hi < body_lo) body_hi = body_lo;
  size_t frame_bytes = (size_t)(K * dst->inner) * j->es_dst;

  if (body_hi > body_lo) {
    cl_tk_args a = {cell(dst, j->es_dst, b, 0, body_lo),
                    cell(j->src, j->es_src, b, 0, 0),
                    dst->dtype,
                    j->src->dtype,
                    body_hi - body_lo,
                    dst->inner,
                    body_lo,
                    j->sign,
                    j->p};
    int st = j->kern->tk_shift(&a);
    if (st) return st;
  }
  /* Same dtype, one element per cell: the mixed frames need no conversion (frames are dense). */
  const int fast_mixed = j->src->dtype == dst->dtype && dst->inner == 1;
  enum { MIXED, ALL_HEAD, ALL_TAIL } prev = MIXED;
  for (int64_t s = 0; s < steps; s++) {
    if (s == body_lo && body_hi > body_lo) {
      s = body_hi - 1;
      prev = MIXED;
      continue;
    }
    int kind = s < all_head_end ? ALL_HEAD : (s >= all_tail_from ? ALL_TAIL : MIXED);
    if (kind != MIXED && kind == (int)prev) {
      char *d = cell(dst, j->es_dst, b, 0, s);
      memcpy(d, d - frame_bytes, frame_bytes);
      continue;
    }
    if (fast_mixed) {
      tk_mixed_frame(j, b, s, spans);
    } else {
      for (int64_t k = 0; k < K; k++) {
        int st = shift_cell(j, b, k, s, spans[k]);
        if (st) return st;
      }
    }
    prev = kind;
  }
  if (j->mask && j->mask->stride[1] == 1 && j->mask->stride[2] == K) {
    write_mask_frames(j, b, spans);
    return CODELAY_OK;
  }
  for (int64_t k = 0; k < K; k++)
    write_mask_line(j, b, k, spans[k]);
  return CODELAY_OK;
}

/* The per-item spans need K entries; K is small, but it is unbounded, so chunk on the stack. */
enum { TK_MAX_STREAMS_ON_STACK = 1024 };

static int shift_tk(const shift_job *j) {
  line_span spans[TK_MAX_STREAMS_ON_STACK];
  for (int64_t b = 0; b < j->dst->batch; b++) {
    int st = shift_tk_item(j, b, spans);
    if (st) return st;
  }
  return CODELAY_OK;
}

static int is_kt_rows(const codelay_view *v) {
  return v->stride[2] == v->inner;
}

static int is_tk_frames(const codelay_view *v) {
  return v->stride[1] == v->inner && v->stride[2] == v->streams * v->inner;
}

static int run_shift(const shift_job *j) {
  const codelay_view *src = j->src, *dst = j->dst;
  if (dst->batch == 0 || dst->streams == 0 || dst->steps == 0) return CODELAY_OK;
  int in_place = cl_same_view(src, dst);
  if (is_kt_rows(src) && is_kt_rows(dst)) return shift_kt(j);
  if (!in_place && is_tk_frames(src) && is_tk_frames(dst) &&
      dst->streams <= TK_MAX_STREAMS_ON_STACK)
    return shift_tk(j);
  return shift_generic(j);
}

/* Validation shared by delay and undelay: phases NULL, ARG, DTYPE, SHAPE, ALIAS. */
static int validate_shift(const codelay_pattern *p, const codelay_view *src,
                          const codelay_view *dst, const void *head, const void *tail,
                          const int64_t *lengths, const codelay_view *mask) {
  if (!p || !head || !tail) return CODELAY_ERR_NULL;
  if (cl_check_view_null(src) || cl_check_view_null(dst)) return CODELAY_ERR_NULL;
  if (mask && cl_check_view_null(mask)) return CODELAY_ERR_NULL;

  if (cl_check_view_arg(src) || cl_check_view_arg(dst) || (mask && cl_check_view_arg(mask)))
    return CODELAY_ERR_ARG;

  if (!cl_dtype_size(src->dtype) || !cl_dtype_size(dst->dtype)) return CODELAY_ERR_DTYPE;
  int src_int = cl_dtype_is_int(src->dtype), dst_int = cl_dtype_is_int(dst->dtype);
  if (src_int != dst_int || (!src_int && src->dtype != dst->dtype)) return CODELAY_ERR_DTYPE;
  if (mask && mask->dtype != CODELAY_U8) return CODELAY_ERR_DTYPE;

  cl_extent es, ed, em = {0, 0};
  if (cl_check_view_shape(src, &es) || cl_check_view_shape(dst, &ed)) return CODELAY_ERR_SHAPE;
  if (mask && cl_check_view_shape(mask, &em)) return CODELAY_ERR_SHAPE;
  if (src->streams != p->streams || dst->streams != p->streams) return CODELAY_ERR_SHAPE;
  if (src->batch != dst->batch || src->inner != dst->inner) return CODELAY_ERR_SHAPE;
  if (mask && (mask->inner != 1 || mask->batch != dst->batch || mask->streams != dst->streams ||
               mask->steps != dst->steps))
    return CODELAY_ERR_SHAPE;
  if (cl_check_lengths(lengths, src->batch, src->steps)) return CODELAY_ERR_SHAPE;

  if (!cl_same_view(src, dst) && cl_extents_overlap(es, ed)) return CODELAY_ERR_ALIAS;
  if (mask && (cl_extents_overlap(em, es) || cl_extents_overlap(em, ed))) return CODELAY_ERR_ALIAS;
  return CODELAY_OK;
}

int codelay_delay(const codelay_pattern *p, const codelay_view *src, const codelay_view *dst,
                  const void *head_fill, const void *tail_fill, const int64_t *lengths) {
  int st = validate_shift(p, src, dst, head_fill, tail_fill, lengths, NULL);
  if (st) return st;
  shift_job j = {p,
                 src,
                 dst,
                 NULL,
                 head_fill,
                 tail_fill,
                 lengths,
                 -1,
                 cl_dtype_size(src->dtype),
                 cl_dtype_size(dst->dtype),
                 cl_active_kernels()};
  return run_shift(&j);
}

int codelay_undelay(const codelay_pattern *p, const codelay_view *src, const codelay_view *dst,
                    const void *fill, const int64_t *lengths, const codelay_view *mask) {
  int st = validate_shift(p, src, dst, fill, fill, lengths, mask);
  if (st) return st;
  shift_job j = {p,
                 src,
                 dst,
                 mask,
                 fill,
                 fill,
                 lengths,
                 +1,
                 cl_dtype_size(src->dtype),
                 cl_dtype_size(dst->dtype),
                 cl_active_kernels()};
  return run_shift(&j);
}
