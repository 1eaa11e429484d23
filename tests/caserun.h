/*
 * One parameterised case of the public ops, run against the naive reference of testutil.h:
 * guarded views, exact comparison, source untouched, nothing written outside the destination
 * views. Shared by the differential and guard suites.
 */
#ifndef CODELAY_CASERUN_H
#define CODELAY_CASERUN_H

#include "testutil.h"

enum { OP_DELAY = 0, OP_UNDELAY = 1, OP_REGIONS = 2, OP_WEIGHTS = 3, OP_COUNT = 4 };
#define TC_MAXK 320

typedef struct tcase {
  int op;
  int32_t sdt, ddt;                /* regions: ddt U8; weights: sdt = tokens (integer), ddt F32 */
  int64_t B, K, T, S, inner, lead; /* T aligned steps, S delayed steps, for every op */
  int64_t delays[TC_MAXK];
  int src_layout, dst_layout, mask_layout;
  size_t src_off, dst_off, mask_off; /* bytes after a 64-byte aligned point */
  int lengths;                       /* 0: NULL, 1: random per item in [0, bound] */
  int use_mask;                      /* undelay */
  int inplace;      /* delay/undelay: src and dst the very same view (needs T == S, sdt == ddt) */
  int same_ptr;     /* inplace: pass the same codelay_view pointer twice */
  int out_of_range; /* percent of source values drawn outside dst's range (integer pairs) */
  int null_empty;   /* empty views get data NULL */
  int null_spec;    /* weights: spec NULL */
  int use_sums;     /* weights */
} tcase;

static const char *const t_op_names[OP_COUNT] = {"delay", "undelay", "regions", "weights"};

static inline void tcase_describe(const tcase *c, uint64_t seed, char *buf, size_t n) {
  int w = snprintf(buf, n,
                   "seed=%" PRIu64 " op=%s %s->%s B=%" PRId64 " K=%" PRId64 " T=%" PRId64
                   " S=%" PRId64 " inner=%" PRId64 " lead=%" PRId64 " layouts=%d/%d/%d"
                   " offs=%zu/%zu/%zu lengths=%d mask=%d inplace=%d oor=%d spec=%s delays=",
                   seed, t_op_names[c->op], t_dtype_name(c->sdt), t_dtype_name(c->ddt), c->B, c->K,
                   c->T, c->S, c->inner, c->lead, c->src_layout, c->dst_layout, c->mask_layout,
                   c->src_off, c->dst_off, c->mask_off, c->lengths, c->use_mask, c->inplace,
                   c->out_of_range, c->null_spec ? "NULL" : "set");
  for (int64_t k = 0; k < c->K && w > 0 && (size_t)w < n; k++)
    w += snprintf(buf + w, n - (size_t)w, "%" PRId64 ",", c->delays[k]);
}

/* Random float weight: round values most of the time, arbitrary ones sometimes. */
static inline float t_rand_weight(trng *r) {
  static const float w[] = {0.0f, 0.5f, 1.0f, 2.0f, 100.0f, 0.25f, 3.0f};
  if (trng_chance(r, 70)) return w[trng_range(r, 0, 6)];
  return (float)trng_range(r, -3000000, 3000000) / 1048576.0f;
}

/* Runs case c with randomness from seed; ck_asserts on any difference. Returns the status. */
static inline int run_case(const tcase *c, uint64_t seed) {
  char desc[1024];
  tcase_describe(c, seed, desc, sizeof desc);
  trng r = trng_seeded(seed ^ 0xC0DE1A7ull);
  codelay_pattern *p = NULL;
  int rc = codelay_pattern_create(&p, c->K, c->delays, c->lead);
  T_ASSERT(rc == CODELAY_OK, "%s: pattern_create %d", desc, rc);
  int64_t off[TC_MAXK];
  for (int64_t k = 0; k < c->K; k++)
    off[k] = c->lead + c->delays[k];

  int64_t src_steps = c->op == OP_UNDELAY ? c->S : c->T;
  int64_t dst_steps = c->op == OP_UNDELAY || c->op == OP_WEIGHTS ? c->T : c->S;
  int32_t sdt = c->sdt, ddt = c->ddt;
  int has_src = c->op != OP_REGIONS;
  int64_t dinner = c->op == OP_REGIONS ? 1 : c->inner;
  tbuf src = {0}, dst = {0}, mask = {0};
  if (has_src)
    tbuf_make_ex(&src, &r, sdt, c->B, c->K, src_steps, c->inner, c->src_layout, c->src_off,
                 c->null_empty, c->inplace ? T_GUARD : 0);
  if (!c->inplace)
    tbuf_make(&dst, &r, ddt, c->B, c->K, dst_steps, dinner, c->dst_layout, c->dst_off,
              c->null_empty);
  int use_mask = c->op == OP_UNDELAY && c->use_mask;
  if (use_mask)
    tbuf_make(&mask, &r, CODELAY_U8, c->B, c->K, c->T, 1, c->mask_layout, c->mask_off,
              c->null_empty);
  tbuf *out = c->inplace ? &src : &dst;

  /* source values */
  int oor = c->out_of_range && t_is_int(sdt) && t_is_int(ddt) && t_can_overflow(sdt, ddt);
  int64_t pad_ids[16];
  codelay_weight_spec spec;
  memset(&spec, 0, sizeof spec);
  float sw[TC_MAXK], pw[TC_MAXK];
  if (c->op == OP_WEIGHTS) {
    spec.n_pad_ids = (int32_t)trng_range(&r, 0, 16);
    if (trng_chance(&r, 30)) spec.n_pad_ids = (int32_t)trng_range(&r, 0, 2);
    for (int q = 0; q < spec.n_pad_ids; q++)
      pad_ids[q] = trng_chance(&r, 90) ? t_rand_value(&r, sdt) : trng_range(&r, -70000, 70000);
    spec.pad_ids = spec.n_pad_ids || trng_chance(&r, 50) ? pad_ids : NULL;
    spec.use_ignore_id = trng_chance(&r, 60);
    spec.ignore_id = trng_chance(&r, 80) ? t_rand_value(&r, sdt) : -1;
    for (int64_t k = 0; k < c->K; k++)
      sw[k] = t_rand_weight(&r), pw[k] = t_rand_weight(&r);
    spec.stream_weight = trng_chance(&r, 75) ? sw : NULL;
    spec.pad_weight = trng_chance(&r, 75) ? pw : NULL;
  }
  for (int64_t b = 0; b < c->B; b++)
    for (int64_t k = 0; k < c->K; k++)
      for (int64_t s = 0; has_src && s < src_steps; s++)
        for (int64_t j = 0; j < c->inner; j++) {
          int64_t v;
          if (c->op == OP_WEIGHTS) {
            int64_t pick = trng_range(&r, 0, 99);
            if (pick < 30 && spec.n_pad_ids > 0)
              v = pad_ids[trng_range(&r, 0, spec.n_pad_ids - 1)];
            else if (pick < 45)
              v = spec.ignore_id;
            else
              v = t_rand_value(&r, sdt);
            if (!t_fits(v, sdt)) v = t_rand_value(&r, sdt);
          } else if (!t_is_int(sdt)) {
            v = t_rand_value(&r, sdt);
          } else if (oor && trng_chance(&r, c->out_of_range)) {
            v = t_rand_unfitting(&r, sdt, ddt);
          } else {
            v = t_rand_fitting(&r, sdt, ddt);
          }
          t_setv(t_elem(&src, b, k, s, j), sdt, v);
        }

  /* fills and lengths */
  unsigned char head[TC_MAXK * 8], tail[TC_MAXK * 8];
  for (int64_t k = 0; k < c->K; k++) {
    if (t_esize(ddt) == 0) break;
    t_setv(head + k * t_esize(ddt), ddt, t_rand_value(&r, ddt));
    t_setv(tail + k * t_esize(ddt), ddt, t_rand_value(&r, ddt));
  }
  int64_t lengths[64];
  int64_t bound = c->op == OP_DELAY || c->op == OP_REGIONS ? c->T : c->S;
  for (int64_t b = 0; b < c->B && b < 64; b++) {
    int64_t pick = trng_range(&r, 0, 3);
    lengths[b] = pick == 0 ? bound : pick == 1 ? 0 : trng_range(&r, 0, bound);
  }
  const int64_t *lens = c->lengths ? lengths : NULL;

  /* the reference, from the untouched source */
  int64_t n_out = c->B * c->K * dst_steps * dinner;
  int64_t *exp = (int64_t *)malloc(sizeof(int64_t) * (size_t)(n_out + 1));
  float *expw = (float *)malloc(sizeof(float) * (size_t)(n_out + 1));
  uint8_t *expm = (uint8_t *)malloc(
      (size_t)(c->B * c->K * c->T * (c->op == OP_REGIONS ? 0 : 1) + c->B * c->K * c->S + 1));
  double esums[TC_MAXK], sums[TC_MAXK];
  int want = CODELAY_OK;
  if (c->op == OP_DELAY)
    want = ref_delay(off, &src, ddt, c->S, head, tail, lens, exp);
  else if (c->op == OP_UNDELAY)
    want = ref_undelay(off, &src, ddt, c->T, head, lens, exp, expm);
  else if (c->op == OP_REGIONS)
    ref_regions(off, c->B, c->K, c->T, c->S, lens, expm);
  else
    ref_weights(off, &src, c->S, lens, c->null_spec ? NULL : &spec, expw, esums);
  for (int64_t k = 0; k < c->K; k++)
    sums[k] = NAN;

  if (has_src) tbuf_snapshot(&src);
  if (!c->inplace) tbuf_snapshot(&dst);
  if (use_mask) tbuf_snapshot(&mask);

  codelay_view dv = c->inplace ? src.v : dst.v;
  const codelay_view *dvp = c->inplace && c->same_ptr ? &src.v : &dv;
  int got = -999;
  if (c->op == OP_DELAY)
    got = codelay_delay(p, &src.v, dvp, head, tail, lens);
  else if (c->op == OP_UNDELAY)
    got = codelay_undelay(p, &src.v, dvp, head, lens, use_mask ? &mask.v : NULL);
  else if (c->op == OP_REGIONS)
    got = codelay_delay_regions(p, c->T, lens, &dst.v);
  else
    got = codelay_loss_weights(p, &src.v, c->S, lens, c->null_spec ? NULL : &spec, &dst.v,
                               c->use_sums ? sums : NULL);
  T_ASSERT(got == want, "%s: status %d, want %d", desc, got, want);

  /* nothing outside the views, and the source untouched (unless it is the destination) */
  long ch;
  if (has_src && !c->inplace) {
    ch = tbuf_changed(&src, 0);
    T_ASSERT(ch < 0, "%s: source byte %ld changed", desc, ch);
  }
  ch = tbuf_changed(out, 1);
  T_ASSERT(ch < 0, "%s: dst byte %ld outside the view changed (view starts at byte %ld)", desc, ch,
           (long)((unsigned char *)out->v.data - out->base));
  if (use_mask) {
    ch = tbuf_changed(&mask, 1);
    T_ASSERT(ch < 0, "%s: mask byte %ld outside the view changed", desc, ch);
  }

  if (want == CODELAY_OK) {
    int64_t i = 0, m = 0;
    for (int64_t b = 0; b < c->B; b++)
      for (int64_t k = 0; k < c->K; k++)
        for (int64_t s = 0; s < dst_steps; s++) {
          if (use_mask) {
            uint8_t mv = *t_elem(&mask, b, k, s, 0);
            T_ASSERT(mv == expm[m], "%s: mask[%" PRId64 ",%" PRId64 ",%" PRId64 "] = %u, want %u",
                     desc, b, k, s, mv, expm[m]);
          }
          m++;
          for (int64_t j = 0; j < dinner; j++, i++) {
            const unsigned char *q = t_elem(out, b, k, s, j);
            if (c->op == OP_WEIGHTS) {
              float gw;
              memcpy(&gw, q, 4);
              T_ASSERT(t_f32_bits(gw) == t_f32_bits(expw[i]),
                       "%s: weight[%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64
                       "] = %.9g, want %.9g",
                       desc, b, k, s, j, (double)gw, (double)expw[i]);
            } else if (c->op == OP_REGIONS) {
              T_ASSERT(*q == expm[i],
                       "%s: region[%" PRId64 ",%" PRId64 ",%" PRId64 "] = %u, want %u", desc, b, k,
                       s, *q, expm[i]);
            } else {
              int64_t gv = t_getv(q, ddt);
              T_ASSERT(gv == exp[i],
                       "%s: out[%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 "] = %" PRId64
                       ", want %" PRId64,
                       desc, b, k, s, j, gv, exp[i]);
            }
          }
        }
    if (c->op == OP_WEIGHTS && c->use_sums)
      for (int64_t k = 0; k < c->K; k++)
        T_ASSERT(t_sum_close(sums[k], esums[k]), "%s: sums[%" PRId64 "] = %.17g, want %.17g", desc,
                 k, sums[k], esums[k]);
  }

  free(exp);
  free(expw);
  free(expm);
  if (has_src) tbuf_free(&src);
  if (!c->inplace) tbuf_free(&dst);
  if (use_mask) tbuf_free(&mask);
  codelay_pattern_destroy(p);
  return got;
}

#endif
