/*
 * Bad-input fuzzer: arbitrary bytes become the arguments of every entry point, starting from a
 * valid call and mutating fields into edge values (NULL or wrapping data pointers, unknown
 * dtypes, flags, negative, zero and huge sizes and strides, out-of-range lengths, views placed so
 * that they overlap). An independent predictor, written from SPEC §4 and docs/bad-input.md,
 * computes the status each call must return (first failing phase of NULL, ARG, DTYPE, SHAPE,
 * ALIAS). The fuzzer asserts:
 *   - the status is the predicted one;
 *   - a failing call changed no byte of any memory it was given (views live in one arena, which is
 *     compared byte for byte, and so are the fills, lengths, sums and output pointers);
 *   - a call that succeeds wrote nothing outside the cells of its output views;
 *   - nothing crashes, reads or writes out of bounds, or leaks (ASan/UBSan/LSan).
 * Calls whose arguments are valid but would reach outside the arena (or run too long) are not
 * made: such arguments are the caller's promise, not the library's to check.
 */
#include "fuzz_common.h"

#define ARENA   8192
#define SLOT    32 /* data offsets are multiples of this: aligned for every dtype */
#define MAXWORK (1 << 14)

/* The arena and everything else the library may be handed; all compared after a failing call. */
static unsigned char *g_arena; /* ARENA bytes */
static unsigned char g_before[ARENA];
static unsigned char g_touch[ARENA]; /* 1 where a successful call may write */

/* ASan: a huge allocation returns NULL (CODELAY_ERR_NOMEM) instead of aborting the process. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) {
  return "allocator_may_return_null=1";
}

static const int64_t interesting[] = {0,
                                      1,
                                      2,
                                      3,
                                      4,
                                      5,
                                      7,
                                      8,
                                      16,
                                      -1,
                                      -2,
                                      INT64_MIN,
                                      INT64_MAX,
                                      INT64_MAX / 2,
                                      INT64_MAX / 8 + 1,
                                      (int64_t)1 << 31,
                                      (int64_t)1 << 32,
                                      (int64_t)1 << 40,
                                      (int64_t)1 << 62,
                                      3037000500ll, /* ~sqrt(INT64_MAX): products overflow */
                                      INT32_MAX,
                                      (int64_t)INT32_MAX + 1};
#define N_INTERESTING (sizeof interesting / sizeof interesting[0])

static int64_t pick_interesting(fz_in *in) {
  return interesting[fz_pick(in, N_INTERESTING)];
}

/* ---- the predictor -------------------------------------------------------------------------- */

typedef unsigned __int128 u128;

static int has_elements(const codelay_view *v) {
  return v->batch > 0 && v->streams > 0 && v->steps > 0 && v->inner > 0;
}

static int view_null(const codelay_view *v) {
  return v == NULL || (v->data == NULL && has_elements(v));
}

/* [lo, hi) in bytes, as SPEC §4 defines a view's memory; lo == hi when it has no elements. */
typedef struct extent {
  uintptr_t lo, hi;
} extent;

/* SHAPE checks of one view (dtype known): sizes, strides, byte reach and cell count overflow. */
static int view_shape_bad(const codelay_view *v, extent *e) {
  if (v->batch < 0 || v->streams < 0 || v->steps < 0 || v->inner < 1) return 1;
  if (v->stride[0] < 0 || v->stride[1] < 0 || v->stride[2] < 0) return 1;
  uintptr_t base = (uintptr_t)v->data;
  e->lo = e->hi = base;
  if (!has_elements(v)) return 0;
  u128 last = (u128)(v->batch - 1) * (u128)v->stride[0] + (u128)(v->streams - 1) * v->stride[1] +
              (u128)(v->steps - 1) * v->stride[2] + (u128)v->inner;
  u128 bytes = last * fz_esize(v->dtype);
  if (last > INT64_MAX || bytes > INT64_MAX || bytes > (u128)(UINTPTR_MAX - base)) return 1;
  u128 cells = (u128)v->batch * (u128)v->streams;
  if (cells > INT64_MAX) return 1;
  cells *= (u128)v->steps;
  if (cells > INT64_MAX) return 1;
  cells *= (u128)v->inner;
  if (cells > INT64_MAX) return 1;
  cells *= fz_esize(v->dtype);
  if (cells > INT64_MAX) return 1;
  e->hi = base + (uintptr_t)bytes;
  return 0;
}

static int overlap(extent a, extent b) {
  return a.lo < a.hi && b.lo < b.hi && a.lo < b.hi && b.lo < a.hi;
}

static int same_view(const codelay_view *a, const codelay_view *b) {
  return a->data == b->data && a->dtype == b->dtype && a->batch == b->batch &&
         a->streams == b->streams && a->steps == b->steps && a->inner == b->inner &&
         a->stride[0] == b->stride[0] && a->stride[1] == b->stride[1] &&
         a->stride[2] == b->stride[2];
}

static int lengths_bad(const int64_t *lengths, int64_t B, int64_t bound) {
  for (int64_t b = 0; lengths && b < B; b++)
    if (lengths[b] < 0 || lengths[b] > bound) return 1;
  return 0;
}

/* ---- memory the calls are given ---------------------------------------------------------- */

/* 1 if the view's every byte is inside the arena (or it has no elements). */
static int in_arena(const codelay_view *v) {
  if (!has_elements(v)) return 1;
  uintptr_t a = (uintptr_t)g_arena, base = (uintptr_t)v->data;
  if (base < a || base >= a + ARENA) return 0;
  u128 last = (u128)(v->batch - 1) * (u128)v->stride[0] + (u128)(v->streams - 1) * v->stride[1] +
              (u128)(v->steps - 1) * v->stride[2] + (u128)v->inner;
  return last * fz_esize(v->dtype) <= (u128)(a + ARENA - base);
}

static u128 work_of(const codelay_view *v) {
  if (!has_elements(v)) return 0;
  return (u128)v->batch * (u128)v->streams * (u128)v->steps * (u128)v->inner;
}

/* Marks the cells of an output view as writable for the post-success check. */
static void mark_cells(const codelay_view *v) {
  if (!v || !has_elements(v)) return;
  size_t es = fz_esize(v->dtype);
  for (int64_t b = 0; b < v->batch; b++)
    for (int64_t k = 0; k < v->streams; k++)
      for (int64_t s = 0; s < v->steps; s++) {
        size_t off = (size_t)((unsigned char *)fz_at(v, b, k, s, 0) - g_arena);
        memset(g_touch + off, 1, (size_t)v->inner * es);
      }
}

static void mark_bytes(const void *p, size_t n) {
  if (!p || !n) return;
  size_t off = (size_t)((const unsigned char *)p - g_arena);
  memset(g_touch + off, 1, n);
}

/* After a successful call: only the marked bytes may differ. */
static void check_only_marked_changed(void) {
  for (size_t i = 0; i < ARENA; i++)
    if (!g_touch[i] && g_arena[i] != g_before[i]) {
      fprintf(stderr, "byte %zu of the arena changed outside the output views\n", i);
      FZ_CHECK(0);
    }
}

static void check_arena_untouched(void) {
  FZ_CHECK(memcmp(g_arena, g_before, ARENA) == 0);
}

static void *decode_ptr(fz_in *in) {
  uint8_t c = fz_u8(in);
  if (c == 255) return NULL;
  if (c == 254) return (void *)(uintptr_t)(UINTPTR_MAX - 63); /* wraps: must never be touched */
  return g_arena + (size_t)(c % (ARENA / SLOT)) * SLOT;
}

/* A valid contiguous view of small size, then 0..3 mutations of single fields. */
static void decode_view(fz_in *in, codelay_view *v, int32_t dtype, int64_t K, int64_t B,
                        int64_t steps, int64_t inner) {
  /* The constructors multiply the sizes: give them small ones, then set the real ones. */
  int64_t small_steps = steps >= 0 && steps <= 64 ? steps : 1;
  *v = (fz_u8(in) & 1) ? codelay_view_tk(NULL, dtype, B, K, small_steps, inner)
                       : codelay_view_kt(NULL, dtype, B, K, small_steps, inner);
  v->steps = steps;
  v->data = g_arena + (size_t)fz_pick(in, ARENA / SLOT) * SLOT;
  uint8_t m = fz_u8(in);
  int n = m < 128 ? 0 : (m < 200 ? 1 : (m < 240 ? 2 : 3));
  for (int i = 0; i < n; i++) {
    switch (fz_pick(in, 11)) {
    case 0:
      v->data = decode_ptr(in);
      break;
    case 1: {
      static const int32_t dts[] = {0, 8, -1, INT32_MIN, 1, 2, 3, 4, 5, 6, 7};
      v->dtype = dts[fz_pick(in, sizeof dts / sizeof dts[0])];
      break;
    }
    case 2:
      v->flags = (fz_u8(in) & 1) ? 1 : INT32_MIN;
      break;
    case 3:
      v->batch = pick_interesting(in);
      break;
    case 4:
      v->streams = pick_interesting(in);
      break;
    case 5:
      v->steps = pick_interesting(in);
      break;
    case 6:
      v->inner = pick_interesting(in);
      break;
    default:
      v->stride[fz_pick(in, 3)] = pick_interesting(in);
      break;
    }
  }
}

/* lengths: NULL or B values (B <= 8 only: the library reads B of them). */
static int64_t *decode_lengths(fz_in *in, int64_t *buf, int64_t B, int64_t bound) {
  if (B < 0 || B > 8 || !(fz_u8(in) & 1)) return NULL;
  for (int64_t b = 0; b < 8; b++) {
    uint8_t c = fz_u8(in);
    buf[b] = c < 200 ? (bound > 0 ? (int64_t)(c % ((uint64_t)bound + 1)) : 0)
                     : (c & 1 && bound < INT64_MAX ? bound + 1 : pick_interesting(in));
  }
  return buf;
}

/* Fill values, outside the arena; NULL sometimes. Compared after every call. */
static unsigned char g_fill[2][FZ_MAX_K * 8], g_fill_before[2][FZ_MAX_K * 8];
static int64_t g_len[8], g_len_before[8];

static void snapshot_small(void) {
  memcpy(g_fill_before, g_fill, sizeof g_fill);
  memcpy(g_len_before, g_len, sizeof g_len);
}

static void check_small_untouched(void) {
  FZ_CHECK(memcmp(g_fill_before, g_fill, sizeof g_fill) == 0);
  FZ_CHECK(memcmp(g_len_before, g_len, sizeof g_len) == 0);
}

static void report(const char *op, int got, int want) {
  if (got != want) fprintf(stderr, "%s: status %d, predicted %d\n", op, got, want);
  FZ_CHECK(got == want);
}

/* ---- pattern ------------------------------------------------------------------------------- */

static int64_t g_delays[FZ_MAX_K];

static codelay_pattern *fuzz_pattern(fz_in *in, int64_t *K_out) {
  int64_t K = 1 + fz_pick(in, 6), lead = fz_pick(in, 4);
  for (int k = 0; k < FZ_MAX_K; k++)
    g_delays[k] = fz_pick(in, 6);
  uint8_t m = fz_u8(in);
  if (m & 1) K = pick_interesting(in);
  if (m & 2) lead = pick_interesting(in);
  if (m & 4) g_delays[fz_pick(in, FZ_MAX_K)] = pick_interesting(in);
  int null_out = (m & 0x18) == 0x18, null_delays = (m & 0x60) == 0x60;

  int want;
  if (null_out || null_delays)
    want = CODELAY_ERR_NULL;
  else if (K < 1 || (uint64_t)K > SIZE_MAX / 64)
    want = CODELAY_ERR_SHAPE; /* fewer than 1, or so many that K * 64 bytes overflows size_t */
  else if (lead < 0 || lead > INT32_MAX)
    want = CODELAY_ERR_DELAY;
  else if (K > FZ_MAX_K)
    want = 1; /* valid lead: the library would read K delays; not ours to give */
  else {
    want = CODELAY_OK;
    for (int64_t k = 0; k < K; k++)
      if (g_delays[k] < 0 || g_delays[k] > INT32_MAX - lead) want = CODELAY_ERR_DELAY;
  }
  codelay_pattern *p = (codelay_pattern *)(uintptr_t)0x1234; /* must stay unless OK */
  if (want != 1) {
    int64_t saved[FZ_MAX_K];
    memcpy(saved, g_delays, sizeof saved);
    int got = codelay_pattern_create(null_out ? NULL : &p, K, null_delays ? NULL : g_delays, lead);
    report("pattern_create", got, want);
    FZ_CHECK(memcmp(saved, g_delays, sizeof saved) == 0);
    if (got == CODELAY_OK) {
      int64_t mx = 0;
      for (int64_t k = 0; k < K; k++)
        if (g_delays[k] > mx) mx = g_delays[k];
      FZ_CHECK(codelay_pattern_max_offset(p) == lead + mx);
      *K_out = K;
      return p;
    }
    FZ_CHECK(p == (codelay_pattern *)(uintptr_t)0x1234);
  }
  /* Fall back to a valid pattern for the op calls. */
  int64_t d[3] = {0, 1, 2};
  FZ_CHECK(codelay_pattern_create(&p, 3, d, 0) == CODELAY_OK);
  *K_out = 3;
  return p;
}

/* ---- the ops ------------------------------------------------------------------------------- */

static void do_shift(fz_in *in, codelay_pattern *p, int64_t K, int undelay) {
  int32_t sd = fz_all_dtypes[fz_pick(in, 7)];
  int32_t dd = fz_is_float(sd) ? sd : fz_int_dtypes[fz_pick(in, 4)];
  int64_t B = fz_pick(in, 4), T = fz_pick(in, 6), S = fz_pick(in, 6), inner = 1 + fz_pick(in, 2);
  codelay_view src, dst, mask;
  decode_view(in, &src, sd, K, B, undelay ? S : T, inner);
  uint8_t c = fz_u8(in);
  if ((c & 3) == 0) {
    dst = src;   /* in place, unless a mutation makes it a partial overlap */
    if (c & 4) { /* wrapping add: strides may already be INT64_MAX */
      int a = (int)fz_pick(in, 3);
      dst.stride[a] = (int64_t)((uint64_t)dst.stride[a] + 1 + fz_pick(in, 2));
    }
    if (c & 8) dst.steps = fz_pick(in, 6);
  } else {
    decode_view(in, &dst, dd, K, B, undelay ? T : S, inner);
  }
  int use_mask = undelay && (c & 16);
  if (use_mask) decode_view(in, &mask, CODELAY_U8, K, B, dst.steps, 1);
  if (use_mask && (c & 32)) mask.data = (fz_u8(in) & 1) ? src.data : dst.data;
  int64_t *lengths = decode_lengths(in, g_len, src.batch, src.steps);
  uint8_t nulls = fz_u8(in);
  const void *head = (nulls & 0x03) == 0x03 ? NULL : g_fill[0];
  const void *tail = (nulls & 0x0c) == 0x0c ? NULL : g_fill[1];
  const codelay_pattern *pp = (nulls & 0x30) == 0x30 ? NULL : p;
  int null_src = (nulls & 0xc0) == 0xc0, null_dst = (nulls & 0xc0) == 0x80;
  const codelay_view *sp = null_src ? NULL : &src, *dp = null_dst ? NULL : &dst;
  const codelay_view *mp = use_mask ? &mask : NULL;
  if (undelay) tail = head; /* undelay has one fill */

  /* Predict. */
  int want;
  extent es, ed, em = {0, 0};
  if (!pp || !head || !tail || view_null(sp) || view_null(dp) || (mp && view_null(mp)))
    want = CODELAY_ERR_NULL;
  else if (src.flags || dst.flags || (mp && mp->flags))
    want = CODELAY_ERR_ARG;
  else if (!fz_esize(src.dtype) || !fz_esize(dst.dtype) ||
           fz_is_int(src.dtype) != fz_is_int(dst.dtype) ||
           (fz_is_float(src.dtype) && src.dtype != dst.dtype) || (mp && mp->dtype != CODELAY_U8))
    want = CODELAY_ERR_DTYPE;
  else if (view_shape_bad(&src, &es) || view_shape_bad(&dst, &ed) ||
           (mp && view_shape_bad(mp, &em)) || src.streams != K || dst.streams != K ||
           src.batch != dst.batch || src.inner != dst.inner ||
           (mp && (mp->inner != 1 || mp->batch != dst.batch || mp->streams != dst.streams ||
                   mp->steps != dst.steps)) ||
           (lengths_bad(lengths, src.batch, src.steps)))
    want = CODELAY_ERR_SHAPE;
  else if ((!same_view(&src, &dst) && overlap(es, ed)) ||
           (mp && (overlap(em, es) || overlap(em, ed))))
    want = CODELAY_ERR_ALIAS;
  else
    want = CODELAY_OK;

  if (want == CODELAY_OK) {
    /* A valid call: make it only if it stays in the arena and is short. */
    if (!in_arena(&src) || !in_arena(&dst) || (mp && !in_arena(mp))) return;
    if (work_of(&dst) > MAXWORK) return;
    /* Zero strides in an output make cells share memory: the call is valid, its contents are
     * order-dependent, and only the footprint check below applies. */
  }
  /* Lengths beyond the first 8 are never read: B <= 8 whenever lengths is not NULL. */
  memcpy(g_before, g_arena, ARENA);
  snapshot_small();
  int got = undelay ? codelay_undelay(pp, sp, dp, head, lengths, mp)
                    : codelay_delay(pp, sp, dp, head, tail, lengths);
  check_small_untouched();
  if (want != CODELAY_OK) {
    report(undelay ? "undelay" : "delay", got, want);
    check_arena_untouched();
    return;
  }
  int range_possible = fz_is_int(src.dtype) && src.dtype != dst.dtype;
  if (!(got == CODELAY_OK || (range_possible && got == CODELAY_ERR_RANGE)))
    report(undelay ? "undelay" : "delay", got, want);
  memset(g_touch, 0, ARENA);
  mark_cells(&dst);
  if (mp) mark_cells(mp);
  check_only_marked_changed();
}

static void do_regions(fz_in *in, codelay_pattern *p, int64_t K) {
  int64_t B = fz_pick(in, 4), T = fz_pick(in, 6), S = fz_pick(in, 8);
  codelay_view r;
  decode_view(in, &r, CODELAY_U8, K, B, S, 1);
  uint8_t c = fz_u8(in);
  int64_t aligned = (c & 1) ? pick_interesting(in) : T;
  int64_t *lengths = decode_lengths(in, g_len, r.batch, aligned);
  const codelay_pattern *pp = (c & 6) == 6 ? NULL : p;
  const codelay_view *rp = (c & 24) == 24 ? NULL : &r;
  extent e;
  int want;
  if (!pp || view_null(rp))
    want = CODELAY_ERR_NULL;
  else if (r.flags)
    want = CODELAY_ERR_ARG;
  else if (r.dtype != CODELAY_U8)
    want = CODELAY_ERR_DTYPE;
  else if (view_shape_bad(&r, &e) || r.inner != 1 || r.streams != K || aligned < 0 ||
           lengths_bad(lengths, r.batch, aligned))
    want = CODELAY_ERR_SHAPE;
  else
    want = CODELAY_OK;
  if (want == CODELAY_OK && (!in_arena(&r) || work_of(&r) > MAXWORK)) return;
  memcpy(g_before, g_arena, ARENA);
  snapshot_small();
  int got = codelay_delay_regions(pp, aligned, lengths, rp);
  check_small_untouched();
  report("regions", got, want);
  if (want != CODELAY_OK) {
    check_arena_untouched();
    return;
  }
  memset(g_touch, 0, ARENA);
  mark_cells(&r);
  check_only_marked_changed();
}

static void do_weights(fz_in *in, codelay_pattern *p, int64_t K) {
  int32_t td = fz_int_dtypes[fz_pick(in, 4)];
  int64_t B = fz_pick(in, 4), T = fz_pick(in, 6), inner = 1 + fz_pick(in, 2);
  codelay_view tok, w;
  decode_view(in, &tok, td, K, B, T, inner);
  decode_view(in, &w, CODELAY_F32, K, B, T, inner);
  uint8_t c = fz_u8(in);
  if ((c & 3) == 3) w.data = tok.data;
  int64_t delayed = (c & 4) ? pick_interesting(in) : (int64_t)fz_pick(in, 8);
  int64_t *lengths = decode_lengths(in, g_len, tok.batch, delayed);
  static float sw[FZ_MAX_K], pw[FZ_MAX_K];
  static int64_t ids[32];
  for (int k = 0; k < FZ_MAX_K; k++)
    sw[k] = pw[k] = 0.5f;
  codelay_weight_spec spec = {(c & 8) ? sw : NULL, (c & 16) ? pw : NULL, ids, 0, 0, -1};
  uint8_t s = fz_u8(in);
  static const int32_t npads[] = {0, 1, 2, 16, 17, -1, INT32_MAX, INT32_MIN};
  spec.n_pad_ids = npads[s & 7];
  if (s & 8) spec.pad_ids = NULL;
  spec.use_ignore_id = (s >> 4) & 1;
  const codelay_weight_spec *specp = (s & 0x60) == 0x60 ? NULL : &spec;
  uint8_t nulls = fz_u8(in);
  const codelay_pattern *pp = (nulls & 3) == 3 ? NULL : p;
  const codelay_view *tp = (nulls & 12) == 12 ? NULL : &tok;
  const codelay_view *wp = (nulls & 48) == 48 ? NULL : &w;
  static double sums[FZ_MAX_K + 1];
  double *sums_p = (nulls & 64) ? NULL : sums;
  for (int k = 0; k <= FZ_MAX_K; k++)
    sums[k] = 777.0;

  extent et, ew;
  int want;
  if (!pp || view_null(tp) || view_null(wp) ||
      (specp && specp->n_pad_ids > 0 && specp->pad_ids == NULL))
    want = CODELAY_ERR_NULL;
  else if (tok.flags || w.flags || (specp && (specp->n_pad_ids < 0 || specp->n_pad_ids > 16)))
    want = CODELAY_ERR_ARG;
  else if (!fz_is_int(tok.dtype) || w.dtype != CODELAY_F32)
    want = CODELAY_ERR_DTYPE;
  else if (view_shape_bad(&tok, &et) || view_shape_bad(&w, &ew) || tok.streams != K ||
           w.streams != K || tok.batch != w.batch || tok.steps != w.steps || tok.inner != w.inner ||
           delayed < 0 || lengths_bad(lengths, tok.batch, delayed))
    want = CODELAY_ERR_SHAPE;
  else if (overlap(et, ew))
    want = CODELAY_ERR_ALIAS;
  else
    want = CODELAY_OK;
  if (want == CODELAY_OK &&
      (!in_arena(&tok) || !in_arena(&w) || work_of(&w) > MAXWORK || work_of(&tok) > MAXWORK))
    return;
  memcpy(g_before, g_arena, ARENA);
  snapshot_small();
  int got = codelay_loss_weights(pp, tp, delayed, lengths, specp, wp, sums_p);
  check_small_untouched();
  report("loss_weights", got, want);
  FZ_CHECK(sums[FZ_MAX_K] == 777.0);
  if (want != CODELAY_OK) {
    check_arena_untouched();
    for (int k = 0; k < FZ_MAX_K; k++)
      FZ_CHECK(sums[k] == 777.0);
    return;
  }
  memset(g_touch, 0, ARENA);
  mark_cells(&w);
  check_only_marked_changed();
}

/* Streams: create with bad arguments, then push/flush with NULLs and overlapping buffers. */
static int range_overlap(const void *a, size_t an, const void *b, size_t bn) {
  uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;
  return an && bn && x < y + bn && y < x + an;
}

static void do_stream(fz_in *in, codelay_pattern *p, int64_t K) {
  uint8_t c = fz_u8(in);
  int32_t mode = (c & 1) ? CODELAY_STREAM_UNDELAY : CODELAY_STREAM_DELAY;
  int32_t dt = fz_all_dtypes[fz_pick(in, 7)];
  int64_t B = 1 + fz_pick(in, 4);
  if (c & 2) {
    static const int32_t modes[] = {0, 3, -1, INT32_MAX};
    mode = modes[fz_pick(in, 4)];
  }
  if (c & 4) {
    static const int32_t dts[] = {0, 8, -1};
    dt = dts[fz_pick(in, 3)];
  }
  if (c & 8) {
    /* 1 << 62 and above overflow the ring size whatever K, D and the dtype */
    static const int64_t bs[] = {0, -1, INT64_MIN, INT64_MAX, (int64_t)1 << 62};
    B = bs[fz_pick(in, 5)];
  }
  int null_out = (c & 0x30) == 0x30, null_fill = (c & 0xc0) == 0xc0;
  int want;
  if (null_out || null_fill)
    want = CODELAY_ERR_NULL;
  else if (mode != CODELAY_STREAM_DELAY && mode != CODELAY_STREAM_UNDELAY)
    want = CODELAY_ERR_ARG;
  else if (!fz_esize(dt))
    want = CODELAY_ERR_DTYPE;
  else if (B < 1 || B >= ((int64_t)1 << 62))
    want = CODELAY_ERR_SHAPE;
  else
    want = CODELAY_OK;
  /* The ring holds 2 (D + 1) frames per item: with offsets near INT32_MAX it may not fit. */
  u128 ring = 2 * ((u128)codelay_pattern_max_offset(p) + 1) * (u128)K * fz_esize(dt) *
              (u128)(B > 0 ? B : 0);
  int nomem_ok = want == CODELAY_OK && ring > ((u128)1 << 32);
  /* A valid stream that needs a huge ring may well get it: not a call to make under a fuzzer's
   * memory limit. */
  if (want == CODELAY_OK && ring > ((u128)1 << 28)) return;
  codelay_stream *s = (codelay_stream *)(uintptr_t)0x4321;
  snapshot_small();
  int got =
      codelay_stream_create(null_out ? NULL : &s, p, mode, dt, B, null_fill ? NULL : g_fill[0]);
  check_small_untouched();
  if (!(nomem_ok && got == CODELAY_ERR_NOMEM)) report("stream_create", got, want);
  if (got != CODELAY_OK) {
    FZ_CHECK(s == (codelay_stream *)(uintptr_t)0x4321);
    return;
  }
  size_t es = fz_esize(dt), rows = (size_t)(B * K) * es, nb = (size_t)B, nm = (size_t)(B * K);
  int flushed = 0; /* a successful flush makes push CODELAY_ERR_STATE until reset */

  for (int call = 0; call < 4 && in->n; call++) {
    uint8_t op = fz_u8(in);
    /* Byte-granular placement (u8 arrays need no alignment; frames get their element size). */
    unsigned char *frame = g_arena + (size_t)fz_u8(in) * 8;
    unsigned char *out = (op & 4) ? frame : g_arena + (size_t)fz_u8(in) * 8;
    uint8_t *ready = g_arena + (size_t)fz_u8(in) * 9;
    uint8_t *aux = g_arena + (size_t)fz_u8(in) * 7; /* active (push) or mask (flush) */
    uint8_t n = fz_u8(in);
    int flush = op & 1;
    if ((op & 2) && flush) aux = NULL;
    if ((op & 2) && !flush && (op & 8)) aux = ready; /* active == ready is allowed */
    if ((n & 3) == 3) out = NULL;
    if ((n & 12) == 12) ready = NULL;
    if ((n & 48) == 48) frame = NULL;
    codelay_stream *sp = (n & 192) == 192 ? NULL : s;
    int w;
    if (!flush) {
      if (!sp || !frame || !out || !ready)
        w = CODELAY_ERR_NULL;
      else if ((frame != out && range_overlap(frame, rows, out, rows)) ||
               range_overlap(ready, nb, out, rows) || range_overlap(ready, nb, frame, rows) ||
               (aux && range_overlap(aux, nb, out, rows)) ||
               (aux && aux != ready && range_overlap(aux, nb, ready, nb)))
        w = CODELAY_ERR_ALIAS;
      else
        w = flushed ? CODELAY_ERR_STATE : CODELAY_OK;
    } else {
      if (!sp || !out || !ready)
        w = CODELAY_ERR_NULL;
      else if (range_overlap(ready, nb, out, rows) ||
               (aux && (range_overlap(aux, nm, out, rows) || range_overlap(aux, nm, ready, nb))))
        w = CODELAY_ERR_ALIAS;
      else
        w = CODELAY_OK;
    }
    /* Keep successful calls inside the arena. */
    uintptr_t end = (uintptr_t)g_arena + ARENA;
    if ((w == CODELAY_OK || w == CODELAY_ERR_STATE) &&
        ((uintptr_t)out + rows > end || (uintptr_t)frame + rows > end ||
         (uintptr_t)ready + nb > end || (aux && (uintptr_t)aux + nm > end)))
      continue;
    memcpy(g_before, g_arena, ARENA);
    got = flush ? codelay_stream_flush(sp, out, aux, ready)
                : codelay_stream_push(sp, frame, aux, out, ready);
    report(flush ? "stream_flush" : "stream_push", got, w);
    if (w != CODELAY_OK) {
      check_arena_untouched();
      continue;
    }
    if (flush) flushed = 1;
    memset(g_touch, 0, ARENA);
    mark_bytes(out, rows);
    mark_bytes(ready, nb);
    if (flush) mark_bytes(aux, nm);
    check_only_marked_changed();
  }
  FZ_CHECK(codelay_stream_reset(NULL) == CODELAY_ERR_NULL);
  FZ_CHECK(codelay_stream_reset(s) == CODELAY_OK);
  codelay_stream_destroy(s);
}

static void do_misc(fz_in *in) {
  int st = (int)(int32_t)(uint32_t)fz_u64(in);
  const char *str = codelay_status_string(st);
  FZ_CHECK(str != NULL && strncmp(str, "CODELAY_", 8) == 0);
  FZ_CHECK(codelay_pattern_max_offset(NULL) == -1);
  {
    codelay_stream *s = NULL;
    int64_t d = 0;
    FZ_CHECK(codelay_stream_create(&s, NULL, CODELAY_STREAM_DELAY, CODELAY_U8, 1, &d) ==
                 CODELAY_ERR_NULL &&
             s == NULL);
  }
  codelay_pattern_destroy(NULL);
  codelay_stream_destroy(NULL);
  static const char *const names[] = {"auto", "scalar", "sse41", "avx2",    "avx512", "neon",
                                      "",     "AVX2",   "avx",   "scalar ", "sse4.1", NULL};
  const char *name = names[fz_pick(in, sizeof names / sizeof names[0])];
  char raw[9];
  if (fz_u8(in) == 7) { /* arbitrary bytes as a name */
    for (int i = 0; i < 8; i++)
      raw[i] = (char)fz_u8(in);
    raw[8] = 0;
    name = raw;
  }
  const char *before = codelay_backend_name();
  int known = 0;
  for (int i = 0; i < 6 && name; i++)
    known |= strcmp(name, names[i]) == 0;
  int sup = codelay_backend_supported(name);
  FZ_CHECK(sup == 0 || sup == 1);
  if (!known) FZ_CHECK(sup == 0);
  if (name && strcmp(name, "auto") == 0) FZ_CHECK(sup == 1);
  if (name && strcmp(name, "scalar") == 0) FZ_CHECK(sup == 1);
  int got = codelay_backend_select(name);
  int want = !name ? CODELAY_ERR_NULL : (sup ? CODELAY_OK : CODELAY_ERR_BACKEND);
  report("backend_select", got, want);
  if (got != CODELAY_OK) FZ_CHECK(strcmp(codelay_backend_name(), before) == 0);
  if (got == CODELAY_OK && strcmp(name, "auto") != 0)
    FZ_CHECK(strcmp(codelay_backend_name(), name) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!g_arena) {
    g_arena = (unsigned char *)aligned_alloc(64, ARENA);
    FZ_CHECK(g_arena != NULL);
  }
  fz_in in = {data, size};
  uint64_t rng = fz_u64(&in);
  for (size_t i = 0; i < ARENA; i++)
    g_arena[i] = (unsigned char)fz_rand(&rng);
  for (size_t i = 0; i < sizeof g_fill; i++)
    ((unsigned char *)g_fill)[i] = (unsigned char)fz_rand(&rng);
  for (int i = 0; i < 8; i++)
    g_len[i] = (int64_t)(fz_rand(&rng) % 5);
  int64_t K;
  codelay_pattern *p = fuzz_pattern(&in, &K);
  for (int round = 0; round < 4 && in.n; round++) {
    switch (fz_pick(&in, 6)) {
    case 0:
      do_shift(&in, p, K, 0);
      break;
    case 1:
      do_shift(&in, p, K, 1);
      break;
    case 2:
      do_regions(&in, p, K);
      break;
    case 3:
      do_weights(&in, p, K);
      break;
    case 4:
      do_stream(&in, p, K);
      break;
    default:
      do_misc(&in);
      break;
    }
  }
  codelay_pattern_destroy(p);
  return 0;
}
