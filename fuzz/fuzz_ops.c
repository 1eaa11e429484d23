/*
 * Differential fuzzer for the batch ops. The input decodes into a pattern (K, delays, lead), the
 * sizes B, T, S, inner, and per op: dtypes, view layouts (KT, TK, permuted and gapped strides,
 * broadcast sources), lengths, fills, the weight spec, in-place or not. Each op then runs on every
 * backend this build and CPU support and must give the status and the bytes of the naive
 * reference in fuzz_common.h (which is SPEC §1 element by element), so every backend also equals
 * scalar. Destination buffers start as sentinel bytes: gaps between cells must keep them, and
 * ASan catches anything past a buffer's end. Sources must be left untouched.
 */
#include "fuzz_common.h"

#define SENTINEL 0xA5

static const char *g_backends[8];
static int g_nbackends;

typedef struct ctx {
  codelay_pattern *p;
  int64_t K, B, T, S, inner;
  int64_t o[FZ_MAX_K];
  uint64_t rng;
} ctx;

/* Mostly small offsets; sometimes ones near INT32_MAX, where s - o[k] arithmetic could overflow. */
static int64_t decode_offset(fz_in *in) {
  uint8_t b = fz_u8(in);
  if (b < 192) return b % 8;
  if (b < 240) return b % 64;
  return INT32_MAX - (b % 4);
}

/* Small step counts mostly; up to 139 so that runs cover several vectors of every width. */
static int64_t decode_steps(fz_in *in) {
  uint8_t b = fz_u8(in);
  if (b < 160) return b % 12;
  if (b < 230) return b % 40;
  return 40 + b % 100;
}

static int64_t *decode_lengths(fz_in *in, int64_t B, int64_t bound, int64_t *buf) {
  if (!(fz_u8(in) & 1)) return NULL;
  for (int64_t b = 0; b < B; b++) {
    uint8_t x = fz_u8(in);
    buf[b] = x < 64 ? bound : (int64_t)(x % (uint64_t)(bound + 1)); /* full length is common */
  }
  return buf;
}

/* On a mismatch: everything needed to turn the input into a hand-written reproducer. */
static void describe(const char *op, const char *backend, const ctx *c, const codelay_view *src,
                     const codelay_view *dst, const int64_t *lengths, const unsigned char *got,
                     const unsigned char *want, size_t bytes) {
  fprintf(stderr, "%s on %s: K=%d B=%d T=%d S=%d inner=%d offsets", op, backend, (int)c->K,
          (int)c->B, (int)c->T, (int)c->S, (int)c->inner);
  for (int64_t k = 0; k < c->K; k++)
    fprintf(stderr, " %lld", (long long)c->o[k]);
  fprintf(stderr, "\n  src dtype %d strides %lld %lld %lld steps %lld%s\n", src->dtype,
          (long long)src->stride[0], (long long)src->stride[1], (long long)src->stride[2],
          (long long)src->steps, src->data == dst->data ? " (in place)" : "");
  fprintf(stderr, "  dst dtype %d strides %lld %lld %lld steps %lld\n", dst->dtype,
          (long long)dst->stride[0], (long long)dst->stride[1], (long long)dst->stride[2],
          (long long)dst->steps);
  if (lengths)
    for (int64_t b = 0; b < c->B; b++)
      fprintf(stderr, "  lengths[%d] = %lld\n", (int)b, (long long)lengths[b]);
  size_t es = fz_esize(dst->dtype);
  for (size_t i = 0; got && i < bytes; i++)
    if (got[i] != want[i]) {
      fprintf(stderr, "  first difference at element %zu of the buffer\n", i / es);
      break;
    }
}

static void check_untouched(const fz_buf *b, const unsigned char *snap) {
  FZ_CHECK(memcmp(b->mem, snap, b->bytes) == 0);
}

static unsigned char *dup_mem(const fz_buf *b) {
  unsigned char *m = (unsigned char *)malloc(b->bytes ? b->bytes : 1);
  FZ_CHECK(m != NULL);
  memcpy(m, b->mem, b->bytes);
  return m;
}

static void run_delay(ctx *c, fz_in *in) {
  int32_t sd = fz_all_dtypes[fz_pick(in, 7)];
  int32_t dd = fz_is_float(sd) ? sd : fz_int_dtypes[fz_pick(in, 4)];
  int inplace = c->T == c->S && sd == dd && fz_pick(in, 4) == 0;
  fz_buf src, dst;
  fz_make_view(&src, in, sd, c->B, c->K, c->T, c->inner, inplace ? 3 : 4);
  fz_fill_data(src.mem, src.bytes, sd, (int)fz_pick(in, 3), &c->rng);
  if (!inplace) {
    fz_make_view(&dst, in, dd, c->B, c->K, c->S, c->inner, 3);
    memset(dst.mem, SENTINEL, dst.bytes);
  }
  fz_buf *out = inplace ? &src : &dst;
  int64_t lbuf[4];
  const int64_t *lengths = decode_lengths(in, c->B, c->T, lbuf);
  unsigned char head[FZ_MAX_K * 8], tail[FZ_MAX_K * 8];
  fz_fill_values(head, c->K, dd, &c->rng);
  fz_fill_values(tail, c->K, dd, &c->rng);

  unsigned char *snap = dup_mem(&src);   /* the source as it was */
  unsigned char *initial = dup_mem(out); /* the destination as it was */
  unsigned char *ref = dup_mem(out);
  codelay_view sv = fz_view_on(&src, snap), rv = fz_view_on(out, ref);
  int want = fz_ref_delay(c->o, &sv, &rv, head, tail, lengths);

  for (int i = 0; i < g_nbackends; i++) {
    fz_select(g_backends[i]);
    memcpy(out->mem, initial, out->bytes);
    int got = codelay_delay(c->p, &src.v, &out->v, head, tail, lengths);
    if (got != want || (got == CODELAY_OK && memcmp(out->mem, ref, out->bytes) != 0)) {
      fprintf(stderr, "delay: status %d, reference %d\n", got, want);
      describe("delay", g_backends[i], c, &src.v, &out->v, lengths, out->mem, ref, out->bytes);
    }
    FZ_CHECK(got == want);
    if (got == CODELAY_OK) FZ_CHECK(memcmp(out->mem, ref, out->bytes) == 0);
    if (!inplace) check_untouched(&src, snap);
  }
  free(snap);
  free(initial);
  free(ref);
  fz_free_buf(&src);
  if (!inplace) fz_free_buf(&dst);
}

static void run_undelay(ctx *c, fz_in *in) {
  /* Here the source is delayed ([B,K,S]) and the destination aligned ([B,K,T]). */
  int32_t sd = fz_all_dtypes[fz_pick(in, 7)];
  int32_t dd = fz_is_float(sd) ? sd : fz_int_dtypes[fz_pick(in, 4)];
  int inplace = c->T == c->S && sd == dd && fz_pick(in, 4) == 0;
  fz_buf src, dst, mask;
  fz_make_view(&src, in, sd, c->B, c->K, c->S, c->inner, inplace ? 3 : 4);
  fz_fill_data(src.mem, src.bytes, sd, (int)fz_pick(in, 3), &c->rng);
  if (!inplace) {
    fz_make_view(&dst, in, dd, c->B, c->K, c->T, c->inner, 3);
    memset(dst.mem, SENTINEL, dst.bytes);
  }
  fz_buf *out = inplace ? &src : &dst;
  int use_mask = fz_u8(in) & 1;
  if (use_mask) {
    fz_make_view(&mask, in, CODELAY_U8, c->B, c->K, c->T, 1, 3);
    memset(mask.mem, SENTINEL, mask.bytes);
  }
  int64_t lbuf[4];
  const int64_t *lengths = decode_lengths(in, c->B, c->S, lbuf);
  unsigned char fill[FZ_MAX_K * 8];
  fz_fill_values(fill, c->K, dd, &c->rng);

  unsigned char *snap = dup_mem(&src);
  unsigned char *initial = dup_mem(out);
  unsigned char *ref = dup_mem(out);
  unsigned char *mref = use_mask ? dup_mem(&mask) : NULL;
  codelay_view sv = fz_view_on(&src, snap), rv = fz_view_on(out, ref);
  codelay_view mv = use_mask ? fz_view_on(&mask, mref) : src.v;
  int want = fz_ref_undelay(c->o, &sv, &rv, fill, lengths, use_mask ? &mv : NULL);

  for (int i = 0; i < g_nbackends; i++) {
    fz_select(g_backends[i]);
    memcpy(out->mem, initial, out->bytes);
    if (use_mask) memset(mask.mem, SENTINEL, mask.bytes);
    int got = codelay_undelay(c->p, &src.v, &out->v, fill, lengths, use_mask ? &mask.v : NULL);
    if (got != want || (got == CODELAY_OK && memcmp(out->mem, ref, out->bytes) != 0)) {
      fprintf(stderr, "undelay: status %d, reference %d\n", got, want);
      describe("undelay", g_backends[i], c, &src.v, &out->v, lengths, out->mem, ref, out->bytes);
    }
    FZ_CHECK(got == want);
    if (got == CODELAY_OK) {
      FZ_CHECK(memcmp(out->mem, ref, out->bytes) == 0);
      if (use_mask) FZ_CHECK(memcmp(mask.mem, mref, mask.bytes) == 0);
    }
    if (!inplace) check_untouched(&src, snap);
  }
  free(snap);
  free(initial);
  free(ref);
  free(mref);
  fz_free_buf(&src);
  if (!inplace) fz_free_buf(&dst);
  if (use_mask) fz_free_buf(&mask);
}

static void run_regions(ctx *c, fz_in *in) {
  fz_buf r;
  fz_make_view(&r, in, CODELAY_U8, c->B, c->K, c->S, 1, 3);
  int64_t lbuf[4];
  const int64_t *lengths = decode_lengths(in, c->B, c->T, lbuf);
  memset(r.mem, SENTINEL, r.bytes);
  unsigned char *ref = dup_mem(&r);
  codelay_view rv = fz_view_on(&r, ref);
  fz_ref_regions(c->o, c->T, lengths, &rv);
  for (int i = 0; i < g_nbackends; i++) {
    fz_select(g_backends[i]);
    memset(r.mem, SENTINEL, r.bytes);
    FZ_CHECK(codelay_delay_regions(c->p, c->T, lengths, &r.v) == CODELAY_OK);
    FZ_CHECK(memcmp(r.mem, ref, r.bytes) == 0);
  }
  free(ref);
  fz_free_buf(&r);
}

/*
 * Weights come from a set whose products with small counts are exact in double, so the sums are
 * independent of summation order and can be compared exactly (NaN and infinities are left out:
 * 0 * inf in a count-based sum is a separate question from correctness of the kernels).
 */
static const float weight_values[] = {1.0f, 0.5f,  0.0f,  2.0f,  100.0f,
                                      0.1f, -1.0f, 3.25f, 0.25f, 1.5f};

static void run_weights(ctx *c, fz_in *in) {
  int32_t td = fz_int_dtypes[fz_pick(in, 4)];
  fz_buf tok, w;
  fz_make_view(&tok, in, td, c->B, c->K, c->T, c->inner, 4);
  fz_fill_data(tok.mem, tok.bytes, td, (int)fz_pick(in, 2), &c->rng);
  fz_make_view(&w, in, CODELAY_F32, c->B, c->K, c->T, c->inner, 3);
  int64_t lbuf[4];
  const int64_t *lengths = decode_lengths(in, c->B, c->S, lbuf);

  float sw[FZ_MAX_K], pw[FZ_MAX_K];
  int64_t pad_ids[16];
  codelay_weight_spec spec;
  memset(&spec, 0, sizeof spec);
  uint8_t flags = fz_u8(in);
  for (int64_t k = 0; k < c->K; k++) {
    sw[k] = weight_values[fz_pick(in, 10)];
    pw[k] = weight_values[fz_pick(in, 10)];
  }
  spec.stream_weight = (flags & 1) ? sw : NULL;
  spec.pad_weight = (flags & 2) ? pw : NULL;
  spec.n_pad_ids = (int32_t)fz_pick(in, 17);
  for (int32_t j = 0; j < spec.n_pad_ids; j++) {
    uint8_t x = fz_u8(in);
    pad_ids[j] = x < 128 ? (int64_t)(x % 8) : fz_edge_values[x % FZ_N_EDGES];
  }
  spec.pad_ids = spec.n_pad_ids ? pad_ids : ((flags & 4) ? pad_ids : NULL);
  spec.use_ignore_id = (flags & 8) ? (int32_t)(1 + fz_pick(in, 3)) : 0; /* any non-zero is true */
  uint8_t ig = fz_u8(in);
  spec.ignore_id = ig < 128 ? (int64_t)(ig % 8) - 1 : fz_edge_values[ig % FZ_N_EDGES];
  const codelay_weight_spec *sp = (flags & 16) ? NULL : &spec;
  int use_sums = !(flags & 32);

  memset(w.mem, SENTINEL, w.bytes);
  unsigned char *tsnap = dup_mem(&tok);
  unsigned char *ref = dup_mem(&w);
  codelay_view rv = fz_view_on(&w, ref);
  double ref_sums[FZ_MAX_K];
  fz_ref_weights(c->o, &tok.v, c->S, lengths, sp, &rv, ref_sums);

  for (int i = 0; i < g_nbackends; i++) {
    fz_select(g_backends[i]);
    memset(w.mem, SENTINEL, w.bytes);
    double sums[FZ_MAX_K + 1];
    for (int k = 0; k <= FZ_MAX_K; k++)
      sums[k] = 12345.0;
    FZ_CHECK(codelay_loss_weights(c->p, &tok.v, c->S, lengths, sp, &w.v, use_sums ? sums : NULL) ==
             CODELAY_OK);
    FZ_CHECK(memcmp(w.mem, ref, w.bytes) == 0);
    for (int64_t k = 0; use_sums && k < c->K; k++) {
      if (sums[k] != ref_sums[k])
        fprintf(stderr, "weights on %s: sums[%d] %.17g, reference %.17g\n", g_backends[i], (int)k,
                sums[k], ref_sums[k]);
      FZ_CHECK(sums[k] == ref_sums[k]);
    }
    FZ_CHECK(sums[c->K] == 12345.0); /* nothing past [K] */
    check_untouched(&tok, tsnap);
  }
  free(tsnap);
  free(ref);
  fz_free_buf(&tok);
  fz_free_buf(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!g_nbackends) g_nbackends = fz_backends(g_backends);
  fz_in in = {data, size};
  ctx c;
  memset(&c, 0, sizeof c);
  c.K = 1 + fz_pick(&in, 12);
  int64_t lead = decode_offset(&in);
  int64_t delays[FZ_MAX_K], maxd = 0;
  for (int64_t k = 0; k < c.K; k++) {
    delays[k] = decode_offset(&in);
    if (delays[k] > INT32_MAX - lead) delays[k] = INT32_MAX - lead; /* keep o[k] legal */
    c.o[k] = lead + delays[k];
    if (delays[k] > maxd) maxd = delays[k];
  }
  FZ_CHECK(codelay_pattern_create(&c.p, c.K, delays, lead) == CODELAY_OK && c.p);
  FZ_CHECK(codelay_pattern_max_offset(c.p) == lead + maxd);
  c.B = fz_pick(&in, 4);
  c.T = decode_steps(&in);
  c.S = fz_u8(&in) < 64 ? c.T : decode_steps(&in); /* S == T is the common case (in place) */
  c.inner = fz_u8(&in) < 192 ? 1 : 1 + fz_pick(&in, 5);
  c.rng = fz_u64(&in);
  uint8_t ops = fz_u8(&in);
  if ((ops & 15) == 0) ops = 15; /* all four unless the input picks a subset */
  if (ops & 1) run_delay(&c, &in);
  if (ops & 2) run_undelay(&c, &in);
  if (ops & 4) run_regions(&c, &in);
  if (ops & 8) run_weights(&c, &in);
  codelay_pattern_destroy(c.p);
  return 0;
}
