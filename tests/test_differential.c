/*
 * Randomized differential test: the library (whatever backend is active) against the naive
 * reference of testutil.h on random patterns, shapes, dtypes, layouts and lengths. Deterministic:
 * case i of block n uses seed base + n * CASES_PER_BLOCK + i, printed on any failure
 * (CODELAY_TEST_SEED changes the base).
 */
#include "caserun.h"

#define BLOCKS          48
#define CASES_PER_BLOCK 250 /* 12,000 cases per run */

static int64_t rand_delay(trng *r) {
  int64_t pick = trng_range(r, 0, 9);
  if (pick < 6) return trng_range(r, 0, 2);
  if (pick < 9) return trng_range(r, 0, 6);
  return trng_range(r, 0, 24); /* often >= T */
}

static void random_case(trng *r, tcase *c) {
  memset(c, 0, sizeof *c);
  int64_t pick = trng_range(r, 0, 99);
  c->op = pick < 35 ? OP_DELAY : pick < 70 ? OP_UNDELAY : pick < 80 ? OP_REGIONS : OP_WEIGHTS;
  c->K = trng_chance(r, 3) ? trng_range(r, 10, 70) : trng_range(r, 1, 9);
  c->lead = trng_range(r, 0, 3);
  int64_t dmax = 0;
  for (int64_t k = 0; k < c->K; k++) {
    c->delays[k] = rand_delay(r);
    if (c->delays[k] > dmax) dmax = c->delays[k];
  }
  int64_t D = c->lead + dmax;
  c->B = trng_chance(r, 5) ? 0 : trng_range(r, 1, 3);
  c->T = trng_chance(r, 6) ? 0 : trng_chance(r, 15) ? trng_range(r, 17, 40) : trng_range(r, 1, 16);
  pick = trng_range(r, 0, 9);
  c->S = pick < 3   ? c->T
         : pick < 5 ? c->T + D
         : pick < 6 ? c->T + D + 1
         : pick < 7 ? 0
                    : trng_range(r, 0, c->T + D + 4);
  c->inner = trng_chance(r, 60) ? 1 : trng_range(r, 1, 9);
  if (c->op == OP_REGIONS) {
    c->sdt = c->ddt = CODELAY_U8;
  } else if (c->op == OP_WEIGHTS) {
    c->sdt = t_int_dtypes[trng_range(r, 0, 3)];
    c->ddt = CODELAY_F32;
    if (trng_chance(r, 70)) c->inner = 1;
  } else if (trng_chance(r, 70)) {
    c->sdt = t_int_dtypes[trng_range(r, 0, 3)];
    c->ddt = t_int_dtypes[trng_range(r, 0, 3)];
    if (trng_chance(r, 25)) c->out_of_range = (int)trng_range(r, 1, 10);
  } else {
    c->sdt = c->ddt = t_float_dtypes[trng_range(r, 0, 2)];
  }
  c->src_layout = (int)trng_range(r, 0, 2);
  c->dst_layout = (int)trng_range(r, 0, 2);
  c->mask_layout = (int)trng_range(r, 0, 2);
  c->src_off = (size_t)trng_range(r, 0, 63);
  c->dst_off = (size_t)trng_range(r, 0, 63);
  c->mask_off = (size_t)trng_range(r, 0, 63);
  c->src_off -= c->src_off % t_esize(c->sdt);
  c->dst_off -= c->dst_off % t_esize(c->ddt);
  c->lengths = trng_chance(r, 50);
  c->use_mask = trng_chance(r, 70);
  c->null_empty = trng_chance(r, 50);
  c->null_spec = trng_chance(r, 15);
  c->use_sums = trng_chance(r, 80);
  if ((c->op == OP_DELAY || c->op == OP_UNDELAY) && trng_chance(r, 12)) {
    c->inplace = 1;
    c->same_ptr = trng_chance(r, 50);
    c->S = c->T;
    c->ddt = c->sdt;
    c->out_of_range = 0;
  }
}

START_TEST(test_differential_block) {
  uint64_t base = t_base_seed();
  for (int i = 0; i < CASES_PER_BLOCK; i++) {
    uint64_t seed = base + (uint64_t)_i * CASES_PER_BLOCK + (uint64_t)i;
    trng r = trng_seeded(seed);
    tcase c;
    random_case(&r, &c);
    run_case(&c, seed);
  }
}
END_TEST

/* In-place on the layouts where it is hardest: TK and strided, long rows, big offsets. */
START_TEST(test_differential_inplace) {
  uint64_t base = t_base_seed() ^ 0x1F1Aull;
  for (int i = 0; i < 400; i++) {
    uint64_t seed = base + (uint64_t)i;
    trng r = trng_seeded(seed);
    tcase c;
    random_case(&r, &c);
    c.op = trng_chance(&r, 50) ? OP_DELAY : OP_UNDELAY;
    c.inplace = 1;
    c.same_ptr = i & 1;
    c.T = trng_range(&r, 0, 80);
    c.S = c.T;
    c.src_layout = i % 3;
    c.ddt = c.sdt;
    c.out_of_range = 0;
    run_case(&c, seed);
  }
}
END_TEST

/* SPEC §2's realistic shapes (smaller batch), each through the same reference. */
START_TEST(test_differential_realistic) {
  tcase c;
  memset(&c, 0, sizeof c);
  c.B = 2, c.inner = 1, c.use_mask = 1, c.use_sums = 1;
  int64_t K = 0;
  switch (_i) {
  case 0: /* Moshi training targets [B, 17, 1250] int64, and the model input (lead 1) */
  case 1:
    K = 17;
    for (int64_t k = 0; k < K; k++)
      c.delays[k] = (k == 0 || k == 1 || k == 9) ? 0 : 1;
    c.op = OP_DELAY, c.sdt = c.ddt = CODELAY_I64, c.T = c.S = 1250, c.lead = _i;
    break;
  case 2: /* Moshi logits undelay, inner = vocabulary (cut to 60 steps) */
    K = 8;
    for (int64_t k = 0; k < K; k++)
      c.delays[k] = k ? 1 : 0;
    c.op = OP_UNDELAY, c.sdt = c.ddt = CODELAY_F32, c.T = c.S = 60, c.inner = 2048, c.B = 1;
    break;
  case 3: /* Dia [B, 3072, 9] int32, time-major */
  case 4:
    K = 9;
    c.delays[0] = 0;
    for (int64_t k = 1; k < K; k++)
      c.delays[k] = 7 + k;
    c.op = _i == 3 ? OP_DELAY : OP_UNDELAY, c.sdt = c.ddt = CODELAY_I32, c.T = c.S = 3072;
    c.src_layout = c.dst_layout = c.mask_layout = TL_TK;
    c.lengths = _i == 4;
    break;
  case 5: /* Kyutai DSM K = 33, int64 -> int32, both layouts */
  case 6:
    K = 33;
    for (int64_t k = 0; k < K; k++)
      c.delays[k] = (k == 0 || k == 1 || k == 17) ? 0 : 2;
    c.op = _i == 5 ? OP_DELAY : OP_UNDELAY, c.sdt = CODELAY_I64, c.ddt = CODELAY_I32;
    c.T = 375, c.S = 377, c.src_layout = TL_TK, c.dst_layout = _i == 5 ? TL_TK : TL_KT;
    break;
  case 7: /* moshi-finetune loss weights [B, 9, 1250] */
    K = 9;
    for (int64_t k = 0; k < K; k++)
      c.delays[k] = k >= 2;
    c.op = OP_WEIGHTS, c.sdt = CODELAY_I64, c.ddt = CODELAY_F32, c.T = c.S = 1250, c.B = 4;
    break;
  case 8: /* many streams, all offsets distinct, time-major */
  case 9:
    K = 300;
    for (int64_t k = 0; k < K; k++)
      c.delays[k] = (k * 37) % 300;
    c.op = _i == 8 ? OP_DELAY : OP_UNDELAY, c.sdt = c.ddt = CODELAY_I16, c.T = 400, c.S = 420;
    c.src_layout = c.dst_layout = TL_TK, c.B = 1;
    break;
  default: /* Dia in place */
    K = 9;
    c.delays[0] = 0;
    for (int64_t k = 1; k < K; k++)
      c.delays[k] = 7 + k;
    c.op = OP_DELAY, c.sdt = c.ddt = CODELAY_I32, c.T = c.S = 3072, c.inplace = 1;
    c.src_layout = c.dst_layout = TL_TK;
    break;
  }
  c.K = K;
  run_case(&c, t_base_seed() ^ (0x5EA1ull + (uint64_t)_i));
}
END_TEST

Suite *differential_suite(void) {
  Suite *s = suite_create("differential");
  TCase *tc = tcase_create("random");
  tcase_add_loop_test(tc, test_differential_block, 0, BLOCKS);
  tcase_add_test(tc, test_differential_inplace);
  tcase_add_loop_test(tc, test_differential_realistic, 0, 11);
  suite_add_tcase(s, tc);
  return s;
}
