/*
 * Bad input (SPEC §4): every failure of every entry point, each with its exact status, in the
 * order of precedence NULL, ARG, DTYPE, SHAPE, ALIAS, and with every output buffer (destination,
 * mask, sums) and the source left byte for byte as they were.
 */
#include "testutil.h"

#include <ctype.h>
#include <limits.h>

enum { E_DELAY = 0, E_UNDELAY = 1, E_REGIONS = 2, E_WEIGHTS = 3, E_COUNT = 4 };
static const char *const e_names[E_COUNT] = {"delay", "undelay", "regions", "weights"};

#define B_  2
#define K_  3
#define T_  5
#define S_  8
#define IN_ 2
#define BUF 2048 /* int64 slots per buffer */

/* A valid call of one entry point; each test breaks one or two things and calls it. */
typedef struct fx {
  int op;
  codelay_pattern *p;
  const codelay_pattern *pp;
  int64_t srcbuf[BUF], dstbuf[BUF], srccopy[BUF], dstcopy[BUF];
  uint8_t maskbuf[1024], maskcopy[1024];
  double sums[8], sumscopy[8];
  codelay_view src, dst, mask;
  const codelay_view *srcp, *dstp, *maskp;
  int64_t head[K_], tail[K_];
  const void *headp, *tailp;
  int64_t lengths[B_];
  const int64_t *lens;
  int64_t steps_arg; /* aligned_steps (regions) or delayed_steps (weights) */
  int64_t pad_ids[20];
  float sw[K_], pw[K_];
  codelay_weight_spec spec;
  const codelay_weight_spec *specp;
  double *sumsp;
} fx;

static fx *fx_new(int op) {
  fx *f = (fx *)calloc(1, sizeof(fx));
  ck_assert_ptr_nonnull(f);
  f->op = op;
  int64_t delays[K_] = {0, 2, 1};
  ck_assert_int_eq(codelay_pattern_create(&f->p, K_, delays, 1), CODELAY_OK);
  f->pp = f->p;
  for (int i = 0; i < BUF; i++)
    f->srcbuf[i] = i % 97, f->dstbuf[i] = (int64_t)0x5A5A5A5A5A5A5A5Aull;
  memset(f->maskbuf, 0xA7, sizeof f->maskbuf);
  for (int i = 0; i < 8; i++)
    f->sums[i] = -12345.0;
  for (int k = 0; k < K_; k++)
    f->head[k] = 7000 + k, f->tail[k] = 8000 + k, f->sw[k] = 1.5f, f->pw[k] = 0.5f;
  f->headp = f->head, f->tailp = f->tail;
  f->lengths[0] = 1, f->lengths[1] = 0;
  switch (op) {
  case E_DELAY:
    f->src = codelay_view_kt(f->srcbuf, CODELAY_I32, B_, K_, T_, IN_);
    f->dst = codelay_view_kt(f->dstbuf, CODELAY_I32, B_, K_, S_, IN_);
    break;
  case E_UNDELAY:
    f->src = codelay_view_kt(f->srcbuf, CODELAY_I32, B_, K_, S_, IN_);
    f->dst = codelay_view_kt(f->dstbuf, CODELAY_I32, B_, K_, T_, IN_);
    f->mask = codelay_view_kt(f->maskbuf, CODELAY_U8, B_, K_, T_, 1);
    f->maskp = &f->mask;
    break;
  case E_REGIONS:
    f->dst = codelay_view_kt(f->dstbuf, CODELAY_U8, B_, K_, S_, 1);
    f->steps_arg = T_;
    break;
  default:
    f->src = codelay_view_kt(f->srcbuf, CODELAY_I64, B_, K_, T_, 1);
    f->dst = codelay_view_kt(f->dstbuf, CODELAY_F32, B_, K_, T_, 1);
    f->steps_arg = S_;
    f->pad_ids[0] = 3, f->pad_ids[1] = 0;
    codelay_weight_spec spec = {f->sw, f->pw, f->pad_ids, 2, 1, -1};
    f->spec = spec;
    f->specp = &f->spec;
    f->sumsp = f->sums;
    break;
  }
  f->srcp = &f->src, f->dstp = &f->dst;
  memcpy(f->srccopy, f->srcbuf, sizeof f->srcbuf);
  memcpy(f->dstcopy, f->dstbuf, sizeof f->dstbuf);
  memcpy(f->maskcopy, f->maskbuf, sizeof f->maskbuf);
  memcpy(f->sumscopy, f->sums, sizeof f->sums);
  return f;
}

static int fx_call(fx *f) {
  switch (f->op) {
  case E_DELAY:
    return codelay_delay(f->pp, f->srcp, f->dstp, f->headp, f->tailp, f->lens);
  case E_UNDELAY:
    return codelay_undelay(f->pp, f->srcp, f->dstp, f->headp, f->lens, f->maskp);
  case E_REGIONS:
    return codelay_delay_regions(f->pp, f->steps_arg, f->lens, f->dstp);
  default:
    return codelay_loss_weights(f->pp, f->srcp, f->steps_arg, f->lens, f->specp, f->dstp, f->sumsp);
  }
}

static void fx_free(fx *f) {
  codelay_pattern_destroy(f->p);
  free(f);
}

/* Runs f's call; checks the status and, for failures, that nothing was written. */
static void fx_expect(fx *f, int want, const char *what, int line) {
  int got = fx_call(f);
  ck_assert_msg(got == want, "line %d: %s: %s returned %d (%s), want %d", line, e_names[f->op],
                what, got, codelay_status_string(got), want);
  if (want != CODELAY_OK) {
    ck_assert_msg(!memcmp(f->srcbuf, f->srccopy, sizeof f->srcbuf), "line %d: %s: %s: src written",
                  line, e_names[f->op], what);
    ck_assert_msg(!memcmp(f->dstbuf, f->dstcopy, sizeof f->dstbuf), "line %d: %s: %s: dst written",
                  line, e_names[f->op], what);
    ck_assert_msg(!memcmp(f->maskbuf, f->maskcopy, sizeof f->maskbuf),
                  "line %d: %s: %s: mask written", line, e_names[f->op], what);
    ck_assert_msg(!memcmp(f->sums, f->sumscopy, sizeof f->sums), "line %d: %s: %s: sums written",
                  line, e_names[f->op], what);
  }
}

/* EXPECT(op, status, statements that break the valid call held in f) */
#define EXPECT(op_, want_, ...)                                                                    \
  do {                                                                                             \
    fx *f = fx_new(op_);                                                                           \
    __VA_ARGS__;                                                                                   \
    fx_expect(f, want_, #__VA_ARGS__, __LINE__);                                                   \
    fx_free(f);                                                                                    \
  } while (0)

#define HAS_SRC(op) ((op) != E_REGIONS)

START_TEST(test_valid_baseline) {
  for (int op = 0; op < E_COUNT; op++) {
    EXPECT(op, CODELAY_OK, (void)0);
    EXPECT(op, CODELAY_OK, f->lens = f->lengths);
  }
  EXPECT(E_UNDELAY, CODELAY_OK, f->maskp = NULL);
  EXPECT(E_WEIGHTS, CODELAY_OK, f->specp = NULL);
  EXPECT(E_WEIGHTS, CODELAY_OK, f->sumsp = NULL);
  EXPECT(E_WEIGHTS, CODELAY_OK, f->spec.n_pad_ids = 0; f->spec.pad_ids = NULL);
  EXPECT(E_WEIGHTS, CODELAY_OK, f->spec.n_pad_ids = 16;
         for (int i = 0; i < 16; i++) f->pad_ids[i] = i);
  EXPECT(E_WEIGHTS, CODELAY_OK, f->spec.stream_weight = NULL; f->spec.pad_weight = NULL);
}
END_TEST

START_TEST(test_null) {
  for (int op = 0; op < E_COUNT; op++) {
    EXPECT(op, CODELAY_ERR_NULL, f->pp = NULL);
    EXPECT(op, CODELAY_ERR_NULL, f->dstp = NULL);
    EXPECT(op, CODELAY_ERR_NULL, f->dst.data = NULL);
    if (HAS_SRC(op)) {
      EXPECT(op, CODELAY_ERR_NULL, f->srcp = NULL);
      EXPECT(op, CODELAY_ERR_NULL, f->src.data = NULL);
    }
  }
  EXPECT(E_DELAY, CODELAY_ERR_NULL, f->headp = NULL);
  EXPECT(E_DELAY, CODELAY_ERR_NULL, f->tailp = NULL);
  EXPECT(E_UNDELAY, CODELAY_ERR_NULL, f->headp = NULL); /* the fill */
  EXPECT(E_UNDELAY, CODELAY_ERR_NULL, f->mask.data = NULL);
  EXPECT(E_WEIGHTS, CODELAY_ERR_NULL, f->spec.pad_ids = NULL);
  /* data may be NULL when the view has no elements */
  EXPECT(E_DELAY, CODELAY_OK, f->src.steps = 0; f->src.data = NULL);
  EXPECT(E_DELAY, CODELAY_OK, f->dst.steps = 0; f->dst.data = NULL);
  EXPECT(E_DELAY, CODELAY_OK, f->src.batch = f->dst.batch = 0; f->src.data = f->dst.data = NULL);
  EXPECT(E_UNDELAY, CODELAY_OK, f->dst.steps = f->mask.steps = 0;
         f->dst.data = f->mask.data = NULL);
  EXPECT(E_REGIONS, CODELAY_OK, f->dst.steps = 0; f->dst.data = NULL);
  EXPECT(E_WEIGHTS, CODELAY_OK, f->src.steps = f->dst.steps = 0; f->src.data = f->dst.data = NULL);
}
END_TEST

START_TEST(test_arg) {
  for (int op = 0; op < E_COUNT; op++) {
    EXPECT(op, CODELAY_ERR_ARG, f->dst.flags = 1);
    EXPECT(op, CODELAY_ERR_ARG, f->dst.flags = INT32_MIN);
    if (HAS_SRC(op)) EXPECT(op, CODELAY_ERR_ARG, f->src.flags = 2);
  }
  EXPECT(E_UNDELAY, CODELAY_ERR_ARG, f->mask.flags = 1);
  EXPECT(E_WEIGHTS, CODELAY_ERR_ARG, f->spec.n_pad_ids = 17);
  EXPECT(E_WEIGHTS, CODELAY_ERR_ARG, f->spec.n_pad_ids = -1);
  EXPECT(E_WEIGHTS, CODELAY_ERR_ARG, f->spec.n_pad_ids = INT32_MAX);
}
END_TEST

START_TEST(test_dtype) {
  static const int32_t unknown[] = {0, 8, -1, 99, INT32_MAX};
  for (size_t u = 0; u < sizeof unknown / sizeof unknown[0]; u++) {
    int32_t d = unknown[u];
    for (int op = 0; op < E_COUNT; op++) {
      EXPECT(op, CODELAY_ERR_DTYPE, f->dst.dtype = d);
      if (HAS_SRC(op)) EXPECT(op, CODELAY_ERR_DTYPE, f->src.dtype = d);
    }
    EXPECT(E_UNDELAY, CODELAY_ERR_DTYPE, f->mask.dtype = d);
  }
  /* float src/dst that differ, float/int mixes */
  for (int op = E_DELAY; op <= E_UNDELAY; op++) {
    EXPECT(op, CODELAY_ERR_DTYPE, f->src.dtype = CODELAY_F32; f->dst.dtype = CODELAY_F16);
    EXPECT(op, CODELAY_ERR_DTYPE, f->src.dtype = CODELAY_F16; f->dst.dtype = CODELAY_BF16);
    EXPECT(op, CODELAY_ERR_DTYPE, f->src.dtype = CODELAY_BF16; f->dst.dtype = CODELAY_F16);
    EXPECT(op, CODELAY_ERR_DTYPE, f->src.dtype = CODELAY_F32; f->dst.dtype = CODELAY_I32);
    EXPECT(op, CODELAY_ERR_DTYPE, f->src.dtype = CODELAY_I32; f->dst.dtype = CODELAY_F32);
    EXPECT(op, CODELAY_ERR_DTYPE, f->src.dtype = CODELAY_I16; f->dst.dtype = CODELAY_BF16);
    EXPECT(op, CODELAY_ERR_DTYPE, f->src.dtype = CODELAY_F16; f->dst.dtype = CODELAY_U8);
    /* allowed: any integer pair, equal floats */
    EXPECT(op, CODELAY_OK, f->src.dtype = CODELAY_I16; f->dst.dtype = CODELAY_I64);
    EXPECT(op, CODELAY_OK, f->src.dtype = CODELAY_F32; f->dst.dtype = CODELAY_F32);
    EXPECT(op, CODELAY_OK, f->src.dtype = CODELAY_BF16; f->dst.dtype = CODELAY_BF16);
  }
  /* mask and regions U8; weights F32; tokens an integer dtype */
  EXPECT(E_UNDELAY, CODELAY_ERR_DTYPE, f->mask.dtype = CODELAY_I16);
  EXPECT(E_UNDELAY, CODELAY_ERR_DTYPE, f->mask.dtype = CODELAY_F32);
  EXPECT(E_REGIONS, CODELAY_ERR_DTYPE, f->dst.dtype = CODELAY_I32);
  EXPECT(E_REGIONS, CODELAY_ERR_DTYPE, f->dst.dtype = CODELAY_F16);
  EXPECT(E_WEIGHTS, CODELAY_ERR_DTYPE, f->dst.dtype = CODELAY_F16);
  EXPECT(E_WEIGHTS, CODELAY_ERR_DTYPE, f->dst.dtype = CODELAY_BF16);
  EXPECT(E_WEIGHTS, CODELAY_ERR_DTYPE, f->dst.dtype = CODELAY_I32);
  EXPECT(E_WEIGHTS, CODELAY_ERR_DTYPE, f->src.dtype = CODELAY_F32);
  EXPECT(E_WEIGHTS, CODELAY_ERR_DTYPE, f->src.dtype = CODELAY_F16);
  EXPECT(E_WEIGHTS, CODELAY_OK, f->src.dtype = CODELAY_U8);
  EXPECT(E_WEIGHTS, CODELAY_OK, f->src.dtype = CODELAY_I16);
}
END_TEST

START_TEST(test_shape) {
  for (int op = 0; op < E_COUNT; op++) {
    /* negative sizes, inner < 1 */
    EXPECT(op, CODELAY_ERR_SHAPE, f->dst.steps = -1);
    EXPECT(op, CODELAY_ERR_SHAPE, f->dst.batch = -1);
    EXPECT(op, CODELAY_ERR_SHAPE, f->dst.streams = -1);
    EXPECT(op, CODELAY_ERR_SHAPE, f->dst.inner = 0);
    EXPECT(op, CODELAY_ERR_SHAPE, f->dst.inner = -3);
    EXPECT(op, CODELAY_ERR_SHAPE, f->dst.steps = INT64_MIN);
    /* streams different from the pattern's K */
    EXPECT(op, CODELAY_ERR_SHAPE, f->dst.streams = K_ - 1);
    EXPECT(op, CODELAY_ERR_SHAPE, f->dst.streams = K_ + 1);
    /* a byte size that overflows int64 / size_t */
    EXPECT(op, CODELAY_ERR_SHAPE, f->dst.steps = INT64_MAX / 2);
    EXPECT(op, CODELAY_ERR_SHAPE, f->dst.steps = ((int64_t)1 << 61) / f->dst.inner;
           f->dst.stride[2] = f->dst.inner; f->dst.stride[1] = f->dst.steps * f->dst.inner;
           f->dst.stride[0] = K_ * f->dst.stride[1]);
    EXPECT(op, CODELAY_ERR_SHAPE, f->dst.stride[0] = INT64_MAX);
    EXPECT(op, CODELAY_ERR_SHAPE, f->dst.stride[1] = INT64_MAX);
    /* lengths outside [0, bound] */
    int64_t bound = op == E_DELAY || op == E_REGIONS ? T_ : S_;
    EXPECT(op, CODELAY_ERR_SHAPE, f->lens = f->lengths; f->lengths[1] = -1);
    EXPECT(op, CODELAY_ERR_SHAPE, f->lens = f->lengths; f->lengths[0] = bound + 1);
    EXPECT(op, CODELAY_ERR_SHAPE, f->lens = f->lengths; f->lengths[1] = INT64_MIN);
    EXPECT(op, CODELAY_ERR_SHAPE, f->lens = f->lengths; f->lengths[1] = INT64_MAX);
    EXPECT(op, CODELAY_OK, f->lens = f->lengths; f->lengths[0] = bound; f->lengths[1] = 0);
    if (HAS_SRC(op)) {
      EXPECT(op, CODELAY_ERR_SHAPE, f->src.steps = -2);
      EXPECT(op, CODELAY_ERR_SHAPE, f->src.batch = -1);
      EXPECT(op, CODELAY_ERR_SHAPE, f->src.inner = 0);
      EXPECT(op, CODELAY_ERR_SHAPE, f->src.streams = K_ + 1);
      EXPECT(op, CODELAY_ERR_SHAPE, f->src.steps = INT64_MAX / 3);
      /* batch / streams / inner that differ between views */
      EXPECT(op, CODELAY_ERR_SHAPE, f->src.batch = 1);
      EXPECT(op, CODELAY_ERR_SHAPE, f->dst.batch = 1);
      EXPECT(op, CODELAY_ERR_SHAPE, f->src.streams = K_ - 1);
      EXPECT(op, CODELAY_ERR_SHAPE, f->src.inner = f->dst.inner + 1);
    }
  }
  for (int op = 0; op < E_COUNT; op++) {
    /* negative strides; data whose byte extent wraps past the end of the address space */
    EXPECT(op, CODELAY_ERR_SHAPE, f->dst.stride[2] = -1);
    EXPECT(op, CODELAY_ERR_SHAPE, f->dst.stride[0] = -f->dst.stride[0]);
    EXPECT(op, CODELAY_ERR_SHAPE, f->dst.data = (void *)(UINTPTR_MAX - 15));
    /* zero strides: the extent fits, the cell count does not */
    EXPECT(op, CODELAY_ERR_SHAPE, f->dst.steps = INT64_MAX / 2; f->dst.stride[0] = 0;
           f->dst.stride[1] = 0; f->dst.stride[2] = 0);
    /* the constructors of a view whose strides overflow give a view validation rejects */
    EXPECT(op, CODELAY_ERR_SHAPE,
           f->dst = codelay_view_tk(f->dstbuf, f->dst.dtype, 1, K_, INT64_MAX / 2, 1));
    EXPECT(op, CODELAY_ERR_SHAPE,
           f->dst = codelay_view_kt(f->dstbuf, f->dst.dtype, 1, K_, INT64_MAX / 2, 4));
  }
  /* n_pad_ids ids but no pointer: NULL comes before the n_pad_ids range (ARG) */
  EXPECT(E_WEIGHTS, CODELAY_ERR_NULL, f->spec.pad_ids = NULL; f->spec.n_pad_ids = 17);
  /* the length bound is the source's steps (delay, undelay) */
  EXPECT(E_DELAY, CODELAY_ERR_SHAPE, f->lens = f->lengths; f->lengths[0] = S_);
  EXPECT(E_UNDELAY, CODELAY_OK, f->lens = f->lengths; f->lengths[0] = S_);
  /* mask: inner 1 and dst's batch, streams and steps */
  EXPECT(E_UNDELAY, CODELAY_ERR_SHAPE, f->mask.inner = 2);
  EXPECT(E_UNDELAY, CODELAY_ERR_SHAPE, f->mask.inner = 0);
  EXPECT(E_UNDELAY, CODELAY_ERR_SHAPE, f->mask.batch = 1);
  EXPECT(E_UNDELAY, CODELAY_ERR_SHAPE, f->mask.streams = K_ - 1);
  EXPECT(E_UNDELAY, CODELAY_ERR_SHAPE, f->mask.steps = T_ - 1);
  EXPECT(E_UNDELAY, CODELAY_ERR_SHAPE, f->mask.steps = -1);
  /* regions: inner 1; aligned_steps >= 0 and the bound of lengths */
  EXPECT(E_REGIONS, CODELAY_ERR_SHAPE, f->dst.inner = 2);
  EXPECT(E_REGIONS, CODELAY_ERR_SHAPE, f->steps_arg = -1);
  EXPECT(E_REGIONS, CODELAY_OK, f->steps_arg = 0);
  EXPECT(E_REGIONS, CODELAY_OK, f->steps_arg = INT64_MAX);
  /* weights: delayed_steps >= 0 and the bound of lengths; tokens/weights steps equal */
  EXPECT(E_WEIGHTS, CODELAY_ERR_SHAPE, f->steps_arg = -1);
  EXPECT(E_WEIGHTS, CODELAY_OK, f->steps_arg = 0);
  EXPECT(E_WEIGHTS, CODELAY_ERR_SHAPE, f->dst.steps = T_ - 1);
  EXPECT(E_WEIGHTS, CODELAY_ERR_SHAPE, f->src.steps = T_ + 1; f->src.stride[1] = T_ + 1);
}
END_TEST

START_TEST(test_alias) {
  for (int op = E_DELAY; op <= E_UNDELAY; op++) {
    /* dst overlapping src by one element, by one byte, or the same memory with other strides */
    EXPECT(op, CODELAY_ERR_ALIAS, f->dst.data = (int32_t *)f->src.data + 1);
    EXPECT(op, CODELAY_ERR_ALIAS, f->dst.data = (char *)f->src.data + 1);
    EXPECT(op, CODELAY_ERR_ALIAS, f->dst.data = (int32_t *)f->src.data + 50);
    EXPECT(op, CODELAY_ERR_ALIAS, f->src.data = (int32_t *)f->dst.data + 3);
    EXPECT(op, CODELAY_ERR_ALIAS, f->maskp = NULL; f->dst = f->src; f->dst.stride[0] += 1);
    /* same data and shape, different dtype (integer pair): not the same view */
    EXPECT(op, CODELAY_ERR_ALIAS, f->maskp = NULL; f->dst = f->src; f->dst.dtype = CODELAY_I16);
    /* exactly in place: the very same view is fine, as a copy or the same pointer */
    EXPECT(op, CODELAY_OK, f->maskp = NULL; f->dst = f->src);
    EXPECT(op, CODELAY_OK, f->maskp = NULL; f->dstp = f->srcp);
    EXPECT(op, CODELAY_OK, f->dst = codelay_view_tk(f->srcbuf, CODELAY_I32, B_, K_, T_, IN_);
           f->src = f->dst);
    /* adjacent, not overlapping */
    EXPECT(op, CODELAY_OK, f->dst.data = (int32_t *)f->src.data + f->src.batch * f->src.stride[0]);
    EXPECT(op, CODELAY_OK, f->src.data = (int32_t *)f->dstbuf + f->dst.batch * f->dst.stride[0]);
  }
  /* a TK view over the same bytes as a KT view of src: overlap */
  EXPECT(E_DELAY, CODELAY_ERR_ALIAS,
         f->dst = codelay_view_tk(f->srcbuf, CODELAY_I32, B_, K_, T_, IN_));
  /* the mask must not overlap src or dst, not even in place */
  EXPECT(E_UNDELAY, CODELAY_ERR_ALIAS, f->mask.data = f->dstbuf);
  EXPECT(E_UNDELAY, CODELAY_ERR_ALIAS, f->mask.data = (char *)f->dstbuf + 7);
  EXPECT(E_UNDELAY, CODELAY_ERR_ALIAS, f->mask.data = f->srcbuf);
  EXPECT(E_UNDELAY, CODELAY_ERR_ALIAS, f->mask.data = (char *)f->srcbuf + 100);
  EXPECT(E_UNDELAY, CODELAY_ERR_ALIAS, f->src.steps = T_; f->dst = f->src;
         f->mask.data = (char *)f->srcbuf + 3);
  EXPECT(E_UNDELAY, CODELAY_OK, f->src.steps = T_; f->dst = f->src);
  /* weights must not overlap tokens */
  EXPECT(E_WEIGHTS, CODELAY_ERR_ALIAS, f->dst.data = f->srcbuf);
  EXPECT(E_WEIGHTS, CODELAY_ERR_ALIAS, f->dst.data = (char *)f->srcbuf + 4);
  EXPECT(E_WEIGHTS, CODELAY_ERR_ALIAS, f->src.data = (char *)f->dstbuf + 8);
}
END_TEST

/* The first failure in SPEC §4's order wins, whichever argument carries it. */
START_TEST(test_precedence) {
  for (int op = 0; op < E_COUNT; op++) {
    /* NULL before ARG, DTYPE, SHAPE */
    EXPECT(op, CODELAY_ERR_NULL, f->pp = NULL; f->dst.flags = 1);
    EXPECT(op, CODELAY_ERR_NULL, f->dst.data = NULL; f->dst.dtype = 99);
    EXPECT(op, CODELAY_ERR_NULL, f->pp = NULL; f->dst.streams = K_ + 1; f->dst.inner = 0);
    /* ARG before DTYPE, SHAPE */
    EXPECT(op, CODELAY_ERR_ARG, f->dst.flags = 1; f->dst.dtype = 99);
    EXPECT(op, CODELAY_ERR_ARG, f->dst.flags = 4; f->dst.steps = -1);
    /* DTYPE before SHAPE */
    EXPECT(op, CODELAY_ERR_DTYPE, f->dst.dtype = 0; f->dst.steps = -1);
    EXPECT(op, CODELAY_ERR_DTYPE, f->dst.dtype = 0; f->lens = f->lengths; f->lengths[0] = -1);
    if (HAS_SRC(op)) {
      EXPECT(op, CODELAY_ERR_NULL, f->srcp = NULL; f->dst.flags = 1);
      EXPECT(op, CODELAY_ERR_NULL, f->dst.data = NULL; f->src.flags = 1);
      EXPECT(op, CODELAY_ERR_ARG, f->src.flags = 1; f->dst.dtype = 0);
      EXPECT(op, CODELAY_ERR_ARG, f->dst.flags = 1; f->src.dtype = 0);
      EXPECT(op, CODELAY_ERR_DTYPE, f->src.dtype = 0; f->dst.inner = 0);
      EXPECT(op, CODELAY_ERR_DTYPE, f->dst.dtype = 0; f->src.batch = -1);
      /* SHAPE before ALIAS */
      EXPECT(op, CODELAY_ERR_SHAPE, f->dst.data = f->src.data; f->src.streams = K_ + 1);
      EXPECT(op, CODELAY_ERR_SHAPE, f->dst.data = f->src.data; f->lens = f->lengths;
             f->lengths[0] = -1);
    }
  }
  EXPECT(E_DELAY, CODELAY_ERR_NULL, f->headp = NULL; f->src.flags = 1);
  EXPECT(E_DELAY, CODELAY_ERR_NULL, f->tailp = NULL; f->src.dtype = CODELAY_F32);
  EXPECT(E_UNDELAY, CODELAY_ERR_NULL, f->mask.data = NULL; f->src.flags = 1);
  EXPECT(E_UNDELAY, CODELAY_ERR_ARG, f->mask.flags = 1; f->src.dtype = CODELAY_F32);
  EXPECT(E_UNDELAY, CODELAY_ERR_DTYPE, f->mask.dtype = CODELAY_I16; f->mask.inner = 2);
  EXPECT(E_UNDELAY, CODELAY_ERR_SHAPE, f->mask.inner = 2; f->mask.data = f->dstbuf);
  EXPECT(E_WEIGHTS, CODELAY_ERR_ARG, f->spec.n_pad_ids = 17; f->dst.dtype = CODELAY_F16);
  EXPECT(E_WEIGHTS, CODELAY_ERR_DTYPE, f->src.dtype = CODELAY_F32; f->steps_arg = -1);
  EXPECT(E_WEIGHTS, CODELAY_ERR_SHAPE, f->steps_arg = -1; f->dst.data = f->srcbuf);
  EXPECT(E_REGIONS, CODELAY_ERR_ARG, f->dst.flags = 1; f->dst.dtype = CODELAY_I32);
  EXPECT(E_REGIONS, CODELAY_ERR_DTYPE, f->dst.dtype = CODELAY_I32; f->dst.inner = 2);
}
END_TEST

/* A range failure is found while copying: src untouched, nothing written outside dst. */
START_TEST(test_range) {
  for (int op = E_DELAY; op <= E_UNDELAY; op++) {
    fx *f = fx_new(op);
    f->dst.dtype = CODELAY_I16;
    /* every landing value of item 1, stream 2 is out of range for i16 */
    int32_t *s = (int32_t *)f->srcbuf;
    for (int64_t t = 0; t < f->src.steps; t++)
      for (int j = 0; j < IN_; j++)
        s[f->src.stride[0] + 2 * f->src.stride[1] + t * IN_ + j] = 40000;
    memcpy(f->srccopy, f->srcbuf, sizeof f->srcbuf);
    ck_assert_int_eq(fx_call(f), CODELAY_ERR_RANGE);
    ck_assert(!memcmp(f->srcbuf, f->srccopy, sizeof f->srcbuf));
    /* bytes past the i16 destination are untouched */
    size_t dbytes = (size_t)(B_ * K_ * f->dst.steps * IN_) * 2;
    ck_assert(!memcmp((char *)f->dstbuf + dbytes, (char *)f->dstcopy + dbytes,
                      sizeof f->dstbuf - dbytes));
    /* the same values where they do not land are fine: lengths cut them off */
    f->lens = f->lengths;
    f->lengths[1] = 0;
    ck_assert_int_eq(fx_call(f), CODELAY_OK);
    /* 32767 fits, 32768 does not, -32768 fits, -32769 does not */
    f->lens = NULL;
    int32_t vals[4] = {32767, 32768, -32768, -32769};
    for (int v = 0; v < 4; v++) {
      for (int64_t t = 0; t < f->src.steps; t++)
        for (int j = 0; j < IN_; j++)
          s[f->src.stride[0] + 2 * f->src.stride[1] + t * IN_ + j] = vals[v];
      ck_assert_int_eq(fx_call(f), v % 2 ? CODELAY_ERR_RANGE : CODELAY_OK);
    }
    fx_free(f);
  }
}
END_TEST

START_TEST(test_pattern_create) {
  codelay_pattern *const marker = (codelay_pattern *)(uintptr_t)0x1234;
  codelay_pattern *p = marker;
  int64_t d[4] = {0, 1, 2, 3};
  ck_assert_int_eq(codelay_pattern_create(NULL, 4, d, 0), CODELAY_ERR_NULL);
  ck_assert_int_eq(codelay_pattern_create(&p, 4, NULL, 0), CODELAY_ERR_NULL);
  ck_assert_ptr_eq(p, marker);
  ck_assert_int_eq(codelay_pattern_create(&p, 0, d, 0), CODELAY_ERR_SHAPE);
  ck_assert_int_eq(codelay_pattern_create(&p, -1, d, 0), CODELAY_ERR_SHAPE);
  ck_assert_int_eq(codelay_pattern_create(&p, INT64_MIN, d, 0), CODELAY_ERR_SHAPE);
  ck_assert_ptr_eq(p, marker);
  int64_t neg[3] = {0, -1, 2};
  ck_assert_int_eq(codelay_pattern_create(&p, 3, neg, 0), CODELAY_ERR_DELAY);
  ck_assert_int_eq(codelay_pattern_create(&p, 4, d, -1), CODELAY_ERR_DELAY);
  ck_assert_int_eq(codelay_pattern_create(&p, 4, d, INT64_MIN), CODELAY_ERR_DELAY);
  int64_t big[2] = {0, INT32_MAX};
  ck_assert_int_eq(codelay_pattern_create(&p, 2, big, 1), CODELAY_ERR_DELAY);
  big[1] = INT64_MAX;
  ck_assert_int_eq(codelay_pattern_create(&p, 2, big, 0), CODELAY_ERR_DELAY);
  big[1] = INT32_MAX - 5;
  ck_assert_int_eq(codelay_pattern_create(&p, 2, big, 6), CODELAY_ERR_DELAY);
  ck_assert_int_eq(codelay_pattern_create(&p, 4, d, (int64_t)INT32_MAX + 1), CODELAY_ERR_DELAY);
  ck_assert_ptr_eq(p, marker);
  /* the largest offset allowed is INT32_MAX */
  ck_assert_int_eq(codelay_pattern_create(&p, 2, big, 5), CODELAY_OK);
  ck_assert_int_eq(codelay_pattern_max_offset(p), INT32_MAX);
  codelay_pattern_destroy(p);
  p = marker;
  int64_t zero[1] = {0};
  ck_assert_int_eq(codelay_pattern_create(&p, 1, zero, INT32_MAX), CODELAY_OK);
  ck_assert_int_eq(codelay_pattern_max_offset(p), INT32_MAX);
  codelay_pattern_destroy(p);
  /* delays are copied; unsorted and repeated are fine */
  int64_t un[5] = {3, 0, 3, 1, 0};
  ck_assert_int_eq(codelay_pattern_create(&p, 5, un, 2), CODELAY_OK);
  un[0] = 100;
  ck_assert_int_eq(codelay_pattern_max_offset(p), 5);
  codelay_pattern_destroy(p);
  ck_assert_int_eq(codelay_pattern_max_offset(NULL), -1);
  codelay_pattern_destroy(NULL);
  /* a huge delay with a short sequence works (delays >= T) */
  int64_t huge[2] = {0, INT32_MAX};
  ck_assert_int_eq(codelay_pattern_create(&p, 2, huge, 0), CODELAY_OK);
  int32_t src[4] = {1, 2, 3, 4}, dst[6], fill[2] = {-1, -2};
  codelay_view sv = codelay_view_kt(src, CODELAY_I32, 1, 2, 2, 1);
  codelay_view dv = codelay_view_kt(dst, CODELAY_I32, 1, 2, 3, 1);
  ck_assert_int_eq(codelay_delay(p, &sv, &dv, fill, fill, NULL), CODELAY_OK);
  int32_t want[6] = {1, 2, -1, -2, -2, -2};
  for (int i = 0; i < 6; i++)
    ck_assert_int_eq(dst[i], want[i]);
  codelay_pattern_destroy(p);
}
END_TEST

static const char *const backend_names[] = {"scalar", "sse41", "avx2", "avx512", "neon"};

START_TEST(test_backend_api) {
  const char *orig = codelay_backend_name();
  ck_assert_ptr_nonnull(orig);
  char saved[32];
  snprintf(saved, sizeof saved, "%s", orig);
  ck_assert_int_eq(codelay_backend_supported("auto"), 1);
  ck_assert_int_eq(codelay_backend_supported("scalar"), 1);
  ck_assert_int_eq(codelay_backend_supported("bogus"), 0);
  ck_assert_int_eq(codelay_backend_supported(""), 0);
  ck_assert_int_eq(codelay_backend_supported("AVX2"), 0);
  ck_assert_int_eq(codelay_backend_supported(NULL), 0);
  ck_assert_int_eq(codelay_backend_select(NULL), CODELAY_ERR_NULL);
  ck_assert_int_eq(codelay_backend_select("bogus"), CODELAY_ERR_BACKEND);
  ck_assert_int_eq(codelay_backend_select(""), CODELAY_ERR_BACKEND);
  ck_assert_int_eq(codelay_backend_select("scalar "), CODELAY_ERR_BACKEND);
  ck_assert_str_eq(codelay_backend_name(), saved); /* a failed select changes nothing */
  for (size_t i = 0; i < sizeof backend_names / sizeof backend_names[0]; i++) {
    const char *n = backend_names[i];
    int sup = codelay_backend_supported(n);
    ck_assert(sup == 0 || sup == 1);
    int rc = codelay_backend_select(n);
    if (sup) {
      ck_assert_int_eq(rc, CODELAY_OK);
      ck_assert_str_eq(codelay_backend_name(), n);
    } else {
      ck_assert_int_eq(rc, CODELAY_ERR_BACKEND);
    }
  }
  ck_assert_int_eq(codelay_backend_select("auto"), CODELAY_OK);
  const char *a = codelay_backend_name();
  ck_assert_ptr_nonnull(a);
  ck_assert_int_eq(codelay_backend_supported(a), 1);
#if defined(__aarch64__)
  ck_assert_str_eq(a, "neon");
#else
  ck_assert_str_ne(a, "neon"); /* SIMDe NEON on x86 is never chosen by auto */
#endif
  ck_assert_int_eq(codelay_backend_select(saved), CODELAY_OK);
  ck_assert_str_eq(codelay_backend_name(), saved);
}
END_TEST

START_TEST(test_status_version) {
  ck_assert_uint_eq(codelay_version(), (uint32_t)CODELAY_VERSION);
  ck_assert_uint_eq(CODELAY_VERSION, (CODELAY_VERSION_MAJOR << 16) | (CODELAY_VERSION_MINOR << 8) |
                                         CODELAY_VERSION_PATCH);
  static const struct {
    int code;
    const char *name;
  } codes[] = {{CODELAY_OK, "CODELAY_OK"},
               {CODELAY_ERR_NULL, "CODELAY_ERR_NULL"},
               {CODELAY_ERR_SHAPE, "CODELAY_ERR_SHAPE"},
               {CODELAY_ERR_DELAY, "CODELAY_ERR_DELAY"},
               {CODELAY_ERR_DTYPE, "CODELAY_ERR_DTYPE"},
               {CODELAY_ERR_RANGE, "CODELAY_ERR_RANGE"},
               {CODELAY_ERR_ALIAS, "CODELAY_ERR_ALIAS"},
               {CODELAY_ERR_NOMEM, "CODELAY_ERR_NOMEM"},
               {CODELAY_ERR_BACKEND, "CODELAY_ERR_BACKEND"},
               {CODELAY_ERR_STATE, "CODELAY_ERR_STATE"},
               {CODELAY_ERR_ARG, "CODELAY_ERR_ARG"}};
  /* pinned values (SPEC §3) */
  for (int i = 0; i < 11; i++)
    ck_assert_int_eq(codes[i].code, -i);
  for (int i = 0; i < 11; i++) {
    const char *s = codelay_status_string(codes[i].code);
    ck_assert_ptr_nonnull(s);
    ck_assert_msg(strncmp(s, codes[i].name, strlen(codes[i].name)) == 0 &&
                      !isalnum((unsigned char)s[strlen(codes[i].name)]) &&
                      s[strlen(codes[i].name)] != '_',
                  "status_string(%d) = '%s'", codes[i].code, s);
    for (int j = 0; j < i; j++)
      ck_assert_str_ne(s, codelay_status_string(codes[j].code));
  }
  static const int unknown[] = {1, 2, -11, -100, 12345, INT_MIN, INT_MAX};
  for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
    const char *s = codelay_status_string(unknown[i]);
    ck_assert_ptr_nonnull(s);
    ck_assert(strlen(s) > 0);
  }
  ck_assert_int_eq(CODELAY_U8, 1);
  ck_assert_int_eq(CODELAY_I16, 2);
  ck_assert_int_eq(CODELAY_I32, 3);
  ck_assert_int_eq(CODELAY_I64, 4);
  ck_assert_int_eq(CODELAY_F16, 5);
  ck_assert_int_eq(CODELAY_BF16, 6);
  ck_assert_int_eq(CODELAY_F32, 7);
  ck_assert_int_eq(CODELAY_STREAM_DELAY, 1);
  ck_assert_int_eq(CODELAY_STREAM_UNDELAY, 2);
}
END_TEST

START_TEST(test_views) {
  int x;
  codelay_view v = codelay_view_kt(&x, CODELAY_I16, 2, 3, 5, 7);
  ck_assert_ptr_eq(v.data, &x);
  ck_assert_int_eq(v.dtype, CODELAY_I16);
  ck_assert_int_eq(v.flags, 0);
  ck_assert_int_eq(v.batch, 2);
  ck_assert_int_eq(v.streams, 3);
  ck_assert_int_eq(v.steps, 5);
  ck_assert_int_eq(v.inner, 7);
  ck_assert_int_eq(v.stride[0], 3 * 5 * 7);
  ck_assert_int_eq(v.stride[1], 5 * 7);
  ck_assert_int_eq(v.stride[2], 7);
  v = codelay_view_tk(&x, CODELAY_F32, 2, 3, 5, 7);
  ck_assert_int_eq(v.dtype, CODELAY_F32);
  ck_assert_int_eq(v.flags, 0);
  ck_assert_int_eq(v.stride[0], 5 * 3 * 7);
  ck_assert_int_eq(v.stride[1], 7);
  ck_assert_int_eq(v.stride[2], 3 * 7);
}
END_TEST

START_TEST(test_stream_bad_input) {
  int64_t d[3] = {0, 1, 1};
  codelay_pattern *p = NULL;
  ck_assert_int_eq(codelay_pattern_create(&p, 3, d, 0), CODELAY_OK);
  int32_t fill[3] = {-1, -2, -3};
  codelay_stream *const marker = (codelay_stream *)(uintptr_t)0x4321;
  codelay_stream *s = marker;
  ck_assert_int_eq(codelay_stream_create(NULL, p, CODELAY_STREAM_DELAY, CODELAY_I32, 2, fill),
                   CODELAY_ERR_NULL);
  ck_assert_int_eq(codelay_stream_create(&s, NULL, CODELAY_STREAM_DELAY, CODELAY_I32, 2, fill),
                   CODELAY_ERR_NULL);
  ck_assert_int_eq(codelay_stream_create(&s, p, CODELAY_STREAM_DELAY, CODELAY_I32, 2, NULL),
                   CODELAY_ERR_NULL);
  ck_assert_int_eq(codelay_stream_create(&s, p, 0, CODELAY_I32, 2, fill), CODELAY_ERR_ARG);
  ck_assert_int_eq(codelay_stream_create(&s, p, 3, CODELAY_I32, 2, fill), CODELAY_ERR_ARG);
  ck_assert_int_eq(codelay_stream_create(&s, p, -1, 0, 2, fill), CODELAY_ERR_ARG);
  ck_assert_int_eq(codelay_stream_create(&s, p, CODELAY_STREAM_DELAY, 0, 2, fill),
                   CODELAY_ERR_DTYPE);
  ck_assert_int_eq(codelay_stream_create(&s, p, CODELAY_STREAM_UNDELAY, 42, 2, fill),
                   CODELAY_ERR_DTYPE);
  ck_assert_int_eq(codelay_stream_create(&s, p, CODELAY_STREAM_DELAY, CODELAY_I32, -1, fill),
                   CODELAY_ERR_SHAPE);
  ck_assert_int_eq(codelay_stream_create(&s, NULL, 7, 99, -1, fill), CODELAY_ERR_NULL);
  ck_assert_ptr_eq(s, marker);
  ck_assert_int_eq(codelay_stream_create(&s, p, CODELAY_STREAM_DELAY, CODELAY_I32, 2, fill),
                   CODELAY_OK);
  int32_t frame[6] = {1, 2, 3, 4, 5, 6}, out[6], mask_out[6];
  uint8_t ready[2], mask[6];
  memset(out, 0x5A, sizeof out);
  memset(ready, 0x5A, sizeof ready);
  ck_assert_int_eq(codelay_stream_push(NULL, frame, NULL, out, ready), CODELAY_ERR_NULL);
  ck_assert_int_eq(codelay_stream_push(s, NULL, NULL, out, ready), CODELAY_ERR_NULL);
  ck_assert_int_eq(codelay_stream_push(s, frame, NULL, NULL, ready), CODELAY_ERR_NULL);
  ck_assert_int_eq(codelay_stream_push(s, frame, NULL, out, NULL), CODELAY_ERR_NULL);
  for (int i = 0; i < 6; i++)
    ck_assert_int_eq(out[i], 0x5A5A5A5A);
  ck_assert_int_eq(ready[0], 0x5A);
  ck_assert_int_eq(codelay_stream_push(s, frame, NULL, out, ready), CODELAY_OK);
  ck_assert_int_eq(codelay_stream_flush(NULL, out, mask, ready), CODELAY_ERR_NULL);
  ck_assert_int_eq(codelay_stream_flush(s, NULL, mask, ready), CODELAY_ERR_NULL);
  ck_assert_int_eq(codelay_stream_flush(s, out, mask, NULL), CODELAY_ERR_NULL);
  ck_assert_int_eq(codelay_stream_flush(s, out, mask, ready), CODELAY_OK);
  memcpy(mask_out, out, sizeof out);
  memset(ready, 0x5A, sizeof ready);
  ck_assert_int_eq(codelay_stream_push(s, frame, NULL, out, ready), CODELAY_ERR_STATE);
  ck_assert(!memcmp(mask_out, out, sizeof out));
  ck_assert_int_eq(ready[0], 0x5A);
  ck_assert_int_eq(codelay_stream_reset(NULL), CODELAY_ERR_NULL);
  ck_assert_int_eq(codelay_stream_reset(s), CODELAY_OK);
  ck_assert_int_eq(codelay_stream_push(s, frame, NULL, out, ready), CODELAY_OK);
  codelay_stream_destroy(s);
  codelay_stream_destroy(NULL);
  codelay_pattern_destroy(p);
}
END_TEST

Suite *badinput_suite(void) {
  Suite *s = suite_create("badinput");
  TCase *tc = tcase_create("badinput");
  tcase_add_test(tc, test_valid_baseline);
  tcase_add_test(tc, test_null);
  tcase_add_test(tc, test_arg);
  tcase_add_test(tc, test_dtype);
  tcase_add_test(tc, test_shape);
  tcase_add_test(tc, test_alias);
  tcase_add_test(tc, test_precedence);
  tcase_add_test(tc, test_range);
  tcase_add_test(tc, test_pattern_create);
  tcase_add_test(tc, test_backend_api);
  tcase_add_test(tc, test_status_version);
  tcase_add_test(tc, test_views);
  tcase_add_test(tc, test_stream_bad_input);
  suite_add_tcase(s, tc);
  return s;
}
