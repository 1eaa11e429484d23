/* Benchmark cases and their set-up; see cases.h. */
#include "cases.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Delay patterns of SPEC §2. */
static const int64_t d_moshi17[17] = {0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1};
static const int64_t d_moshi9[9] = {0, 0, 1, 1, 1, 1, 1, 1, 1};
static const int64_t d_logits8[8] = {0, 1, 1, 1, 1, 1, 1, 1};
static const int64_t d_dia9[9] = {0, 8, 9, 10, 11, 12, 13, 14, 15};
static const int64_t d_dsm33[33] = {0, 0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
                                    0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2};
static const int64_t d_small4[4] = {0, 1, 2, 3};

enum { I64 = CODELAY_I64, I32 = CODELAY_I32, F32 = CODELAY_F32, U8 = CODELAY_U8 };

/* kernel, shape, op, layout, src, dst, B, K, T, inner, gate B, gate T, delays, lead, in place,
 * mask. Names are stable: the report, the thresholds and the callgrind baseline key on them. */
const bc_case bc_cases[] = {
    {"delay", "moshi_kt_i64", BC_DELAY, BC_KT, I64, I64, 16, 17, 1250, 1, 2, 1250, d_moshi17, 0, 0,
     0},
    {"undelay", "moshi_kt_i64", BC_UNDELAY, BC_KT, I64, I64, 16, 17, 1250, 1, 2, 1250, d_moshi17, 0,
     0, 1},
    {"delay", "moshi_kt_i32", BC_DELAY, BC_KT, I32, I32, 16, 17, 1250, 1, 2, 1250, d_moshi17, 0, 0,
     0},
    {"undelay", "moshi_kt_i32", BC_UNDELAY, BC_KT, I32, I32, 16, 17, 1250, 1, 2, 1250, d_moshi17, 0,
     0, 1},
    {"delay", "moshi_kt_i64_to_i32", BC_DELAY, BC_KT, I64, I32, 16, 17, 1250, 1, 2, 1250, d_moshi17,
     0, 0, 0},
    {"undelay", "logits_kt_f32", BC_UNDELAY, BC_KT, F32, F32, 2, 8, 1250, 2048, 1, 32, d_logits8, 0,
     0, 1},
    {"undelay", "logits_kt_f32_inplace", BC_UNDELAY, BC_KT, F32, F32, 2, 8, 1250, 2048, 1, 32,
     d_logits8, 0, 1, 1},
    {"delay", "dia_tk_i32", BC_DELAY, BC_TK, I32, I32, 16, 9, 3072, 1, 2, 3072, d_dia9, 0, 0, 0},
    {"undelay", "dia_tk_i32", BC_UNDELAY, BC_TK, I32, I32, 16, 9, 3072, 1, 2, 3072, d_dia9, 0, 0,
     1},
    {"delay", "dsm_kt_i32", BC_DELAY, BC_KT, I32, I32, 8, 33, 3000, 1, 1, 3000, d_dsm33, 0, 0, 0},
    {"delay", "dsm_tk_i32", BC_DELAY, BC_TK, I32, I32, 8, 33, 3000, 1, 1, 3000, d_dsm33, 0, 0, 0},
    {"undelay", "dsm_tk_i32", BC_UNDELAY, BC_TK, I32, I32, 8, 33, 3000, 1, 1, 3000, d_dsm33, 0, 0,
     1},
    {"weights", "moshi_kt_i64", BC_WEIGHTS, BC_KT, I64, F32, 16, 9, 1250, 1, 2, 1250, d_moshi9, 0,
     0, 0},
    {"regions", "moshi_kt", BC_REGIONS, BC_KT, U8, U8, 16, 17, 1250, 1, 2, 1250, d_moshi17, 0, 0,
     0},
    {"stream_delay", "moshi_1x17_i64", BC_STREAM_DELAY, BC_KT, I64, I64, 1, 17, 1, 1, 1, 1,
     d_moshi17, 0, 0, 0},
    {"stream_delay", "dsm_16x33_i64", BC_STREAM_DELAY, BC_KT, I64, I64, 16, 33, 1, 1, 16, 1,
     d_dsm33, 0, 0, 0},
    {"stream_undelay", "moshi_1x17_i64", BC_STREAM_UNDELAY, BC_KT, I64, I64, 1, 17, 1, 1, 1, 1,
     d_moshi17, 0, 0, 0},
    {"delay", "small_kt_i64", BC_DELAY, BC_KT, I64, I64, 1, 4, 64, 1, 1, 64, d_small4, 0, 0, 0},
    {"undelay", "small_kt_i64", BC_UNDELAY, BC_KT, I64, I64, 1, 4, 64, 1, 1, 64, d_small4, 0, 0, 1},
    {"delay", "small_tk_i32", BC_DELAY, BC_TK, I32, I32, 1, 4, 64, 1, 1, 64, d_small4, 0, 0, 0},
};
const size_t bc_n_cases = sizeof bc_cases / sizeof bc_cases[0];

static size_t dtype_size(int32_t dt) {
  switch (dt) {
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

static void store(void *base, int32_t dt, size_t i, int64_t v) {
  switch (dt) {
  case CODELAY_U8:
    ((uint8_t *)base)[i] = (uint8_t)v;
    break;
  case CODELAY_I16:
    ((int16_t *)base)[i] = (int16_t)v;
    break;
  case CODELAY_I32:
    ((int32_t *)base)[i] = (int32_t)v;
    break;
  case CODELAY_I64:
    ((int64_t *)base)[i] = v;
    break;
  case CODELAY_F32:
    ((float *)base)[i] = (float)v;
    break;
  default:
    break;
  }
}

/*
 * Cache-line aligned (page aligned when large, so a run does not depend on where malloc put the
 * block) and pre-faulted: first-touch page faults would otherwise be timed in the first iteration
 * and counted by callgrind.
 */
static void *alloc_faulted(size_t bytes) {
  size_t align = bytes >= (1u << 20) ? 4096 : 64;
  size_t n = (bytes + align - 1) / align * align;
  if (n == 0) n = align;
  void *p = aligned_alloc(align, n);
  if (p) memset(p, 0, n);
  return p;
}

static void *g_scratch;
static size_t g_scratch_size;

static int ensure_scratch(size_t bytes) {
  if (bytes <= g_scratch_size) return 0;
  void *p = alloc_faulted(bytes);
  if (!p) return -1;
  /* Different bytes from the outputs' zeros, so the copy is not of equal data. */
  memset(p, 0x5a, bytes);
  free(g_scratch);
  g_scratch = p;
  g_scratch_size = bytes;
  return 0;
}

void bc_free_scratch(void) {
  free(g_scratch);
  g_scratch = NULL;
  g_scratch_size = 0;
}

/* A fixed-seed generator: every run, and the callgrind gate, sees the same data. */
static uint64_t rng_next(uint64_t *s) {
  uint64_t x = *s;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  *s = x;
  return x;
}

static codelay_view make_view(const bc_case *c, void *data, int32_t dtype, int64_t batch,
                              int64_t steps, int64_t inner) {
  return c->layout == BC_TK ? codelay_view_tk(data, dtype, batch, c->streams, steps, inner)
                            : codelay_view_kt(data, dtype, batch, c->streams, steps, inner);
}

/* Token-like data: audio codes below 2048, with the pad ids 0 and 3 and the ignore id -1 mixed
 * in (they matter to the loss weights). Floats get small values. */
static void fill_data(void *data, int32_t dtype, size_t n, uint64_t seed) {
  uint64_t s = seed;
  for (size_t i = 0; i < n; i++) {
    uint64_t r = rng_next(&s);
    int64_t v = (int64_t)(r % 2048);
    if ((r >> 20) % 16 == 0) v = (int64_t)((r >> 24) % 3) - 1; /* -1, 0 or 1 */
    if ((r >> 28) % 16 == 0) v = 3;
    if (dtype == CODELAY_F32)
      ((float *)data)[i] = (float)(r >> 40) * (1.0f / 16777216.0f);
    else
      store(data, dtype, i, v < 0 && dtype == CODELAY_U8 ? 0 : v);
  }
}

int bc_setup(bc_inst *in, const bc_case *c, int gate) {
  memset(in, 0, sizeof *in);
  in->c = c;
  in->batch = gate ? c->gate_batch : c->batch;
  in->steps = gate ? c->gate_steps : c->steps;
  int rc = codelay_pattern_create(&in->p, c->streams, c->delays, c->lead);
  if (rc != CODELAY_OK) return rc;

  const int64_t K = c->streams;
  const size_t ssz = dtype_size(c->src_dtype), dsz = dtype_size(c->dst_dtype);
  in->head = calloc((size_t)K, 8);
  in->tail = calloc((size_t)K, 8);
  if (!in->head || !in->tail) return CODELAY_ERR_NOMEM;
  for (int64_t k = 0; k < K; k++) {
    if (c->dst_dtype == CODELAY_F32) {
      ((float *)in->head)[k] = NAN;
      ((float *)in->tail)[k] = NAN;
    } else {
      /* Moshi: the text stream's special token is 32000 (text_card), audio's 2048 (card). */
      store(in->head, c->dst_dtype, (size_t)k, k == 0 ? 32000 : 2048);
      store(in->tail, c->dst_dtype, (size_t)k, k == 0 ? 3 : 2048);
    }
  }

  if (c->op == BC_STREAM_DELAY || c->op == BC_STREAM_UNDELAY) {
    size_t n = (size_t)(in->batch * K);
    in->src = alloc_faulted(n * ssz);
    in->dst = alloc_faulted(n * dsz);
    in->ready = alloc_faulted((size_t)in->batch);
    if (!in->src || !in->dst || !in->ready) return CODELAY_ERR_NOMEM;
    fill_data(in->src, c->src_dtype, n, 0x9e3779b97f4a7c15u);
    rc = codelay_stream_create(&in->stream, in->p,
                               c->op == BC_STREAM_DELAY ? CODELAY_STREAM_DELAY
                                                        : CODELAY_STREAM_UNDELAY,
                               c->dst_dtype, in->batch, in->head);
    if (rc != CODELAY_OK) return rc;
    in->read_bytes = n * ssz;
    in->write_bytes = n * dsz + (size_t)in->batch;
    in->elements = (int64_t)n;
    in->cpy_dst[0] = in->dst;
    in->cpy_bytes[0] = n * dsz;
    in->cpy_src0 = in->src;
    in->cpy_dst[1] = in->ready;
    in->cpy_bytes[1] = (size_t)in->batch;
    return ensure_scratch(in->write_bytes) ? CODELAY_ERR_NOMEM : CODELAY_OK;
  }

  const size_t n = (size_t)(in->batch * K * in->steps * c->inner);
  const size_t cells = (size_t)(in->batch * K * in->steps);
  in->elements = (int64_t)n;
  if (c->op != BC_REGIONS) {
    in->src = alloc_faulted(n * ssz);
    if (!in->src) return CODELAY_ERR_NOMEM;
    fill_data(in->src, c->src_dtype, n, 0x2545f4914f6cdd1du);
    in->vsrc = make_view(c, in->src, c->src_dtype, in->batch, in->steps, c->inner);
    in->read_bytes = n * ssz;
  }
  if (c->in_place) {
    in->dst = in->src;
    in->vdst = in->vsrc;
  } else {
    in->dst = alloc_faulted(n * dsz);
    if (!in->dst) return CODELAY_ERR_NOMEM;
    in->vdst = make_view(c, in->dst, c->dst_dtype, in->batch, in->steps, c->inner);
  }
  in->write_bytes = n * dsz;
  in->cpy_dst[0] = in->dst;
  in->cpy_bytes[0] = n * dsz;
  if (in->src && !c->in_place && n * ssz >= n * dsz) in->cpy_src0 = in->src;
  if (c->with_mask) {
    in->mask = alloc_faulted(cells);
    if (!in->mask) return CODELAY_ERR_NOMEM;
    in->vmask = make_view(c, in->mask, CODELAY_U8, in->batch, in->steps, 1);
    in->write_bytes += cells;
    in->cpy_dst[1] = in->mask;
    in->cpy_bytes[1] = cells;
  }
  if (c->op == BC_WEIGHTS) {
    /* moshi-finetune: text PAD 3 and EPAD 0 weigh 0.5, the first audio codebook 100, ignore -1 */
    static const int64_t pad_ids[2] = {3, 0};
    in->stream_weight = calloc((size_t)K, sizeof(float));
    in->pad_weight = calloc((size_t)K, sizeof(float));
    in->sums = calloc((size_t)K, sizeof(double));
    if (!in->stream_weight || !in->pad_weight || !in->sums) return CODELAY_ERR_NOMEM;
    for (int64_t k = 0; k < K; k++) {
      in->stream_weight[k] = k == 1 ? 100.0f : 1.0f;
      in->pad_weight[k] = k == 0 ? 0.5f : 1.0f;
    }
    in->spec.stream_weight = in->stream_weight;
    in->spec.pad_weight = in->pad_weight;
    in->spec.pad_ids = pad_ids;
    in->spec.n_pad_ids = 2;
    in->spec.use_ignore_id = 1;
    in->spec.ignore_id = -1;
  }
  return ensure_scratch(in->write_bytes) ? CODELAY_ERR_NOMEM : CODELAY_OK;
}

int bc_run(bc_inst *in) {
  const bc_case *c = in->c;
  switch (c->op) {
  case BC_DELAY:
    return codelay_delay(in->p, &in->vsrc, c->in_place ? &in->vsrc : &in->vdst, in->head, in->tail,
                         NULL);
  case BC_UNDELAY:
    return codelay_undelay(in->p, &in->vsrc, c->in_place ? &in->vsrc : &in->vdst, in->head, NULL,
                           c->with_mask ? &in->vmask : NULL);
  case BC_REGIONS:
    return codelay_delay_regions(in->p, in->steps, NULL, &in->vdst);
  case BC_WEIGHTS:
    return codelay_loss_weights(in->p, &in->vsrc, in->steps, NULL, &in->spec, &in->vdst, in->sums);
  case BC_STREAM_DELAY:
  case BC_STREAM_UNDELAY:
    return codelay_stream_push(in->stream, in->src, NULL, in->dst, in->ready);
  default:
    return CODELAY_ERR_ARG;
  }
}

void bc_memcpy(bc_inst *in) {
  const unsigned char *scratch = g_scratch;
  memcpy(in->cpy_dst[0], in->cpy_src0 ? in->cpy_src0 : scratch, in->cpy_bytes[0]);
  if (!in->cpy_src0) scratch += in->cpy_bytes[0];
  if (in->cpy_bytes[1]) memcpy(in->cpy_dst[1], scratch, in->cpy_bytes[1]);
}

void bc_free(bc_inst *in) {
  codelay_stream_destroy(in->stream);
  codelay_pattern_destroy(in->p);
  if (in->dst != in->src) free(in->dst);
  free(in->src);
  free(in->mask);
  free(in->ready);
  free(in->head);
  free(in->tail);
  free(in->stream_weight);
  free(in->pad_weight);
  free(in->sums);
  memset(in, 0, sizeof *in);
}
