/*
 * Guard bytes: every destination sits in a sentinel-filled allocation (before, after and in the
 * gaps of strided views). For every op and dtype pair of interest, every element-aligned start
 * offset 0..63 bytes and every row length 0..128 elements (two AVX-512 vectors of bytes), the
 * output must equal the reference and no byte outside the view may change.
 */
#include "caserun.h"

typedef struct gconf {
  int op;
  int32_t sdt, ddt;
} gconf;

static const gconf confs[] = {
    {OP_DELAY, CODELAY_U8, CODELAY_U8},       {OP_DELAY, CODELAY_I16, CODELAY_I16},
    {OP_DELAY, CODELAY_I32, CODELAY_I32},     {OP_DELAY, CODELAY_I64, CODELAY_I64},
    {OP_DELAY, CODELAY_F16, CODELAY_F16},     {OP_DELAY, CODELAY_BF16, CODELAY_BF16},
    {OP_DELAY, CODELAY_F32, CODELAY_F32},     {OP_DELAY, CODELAY_I64, CODELAY_I16},
    {OP_DELAY, CODELAY_I16, CODELAY_I64},     {OP_DELAY, CODELAY_I32, CODELAY_U8},
    {OP_DELAY, CODELAY_I64, CODELAY_I32},     {OP_UNDELAY, CODELAY_U8, CODELAY_U8},
    {OP_UNDELAY, CODELAY_I16, CODELAY_I16},   {OP_UNDELAY, CODELAY_I32, CODELAY_I32},
    {OP_UNDELAY, CODELAY_I64, CODELAY_I64},   {OP_UNDELAY, CODELAY_F16, CODELAY_F16},
    {OP_UNDELAY, CODELAY_BF16, CODELAY_BF16}, {OP_UNDELAY, CODELAY_F32, CODELAY_F32},
    {OP_UNDELAY, CODELAY_I64, CODELAY_I16},   {OP_UNDELAY, CODELAY_I16, CODELAY_I32},
    {OP_UNDELAY, CODELAY_I32, CODELAY_I64},   {OP_UNDELAY, CODELAY_I64, CODELAY_I32},
    {OP_REGIONS, CODELAY_U8, CODELAY_U8},     {OP_WEIGHTS, CODELAY_I64, CODELAY_F32},
    {OP_WEIGHTS, CODELAY_I32, CODELAY_F32},   {OP_WEIGHTS, CODELAY_I16, CODELAY_F32},
    {OP_WEIGHTS, CODELAY_U8, CODELAY_F32},
};
#define N_CONFS ((int)(sizeof confs / sizeof confs[0]))
#define MAX_LEN 128

START_TEST(test_guards_offsets_tails) {
  const gconf *g = &confs[_i];
  size_t es = t_esize(g->ddt);
  uint64_t seed = t_base_seed() ^ ((uint64_t)_i << 40);
  for (int layout = TL_KT; layout <= TL_TK; layout++)
    for (size_t off = 0; off < 64; off += es)
      for (int64_t n = 0; n <= MAX_LEN; n++, seed++) {
        tcase c;
        memset(&c, 0, sizeof c);
        c.op = g->op, c.sdt = g->sdt, c.ddt = g->ddt;
        c.B = 1, c.K = 2, c.inner = 1;
        c.lead = n % 3;
        c.delays[0] = 0, c.delays[1] = n % 5;
        /* the destination row is n elements long */
        if (g->op == OP_DELAY || g->op == OP_REGIONS)
          c.S = n, c.T = n > 3 ? n - (n % 4) : n;
        else
          c.T = n, c.S = n + (n % 4);
        c.src_layout = (int)((n + (int64_t)off) % 3);
        c.dst_layout = layout;
        c.mask_layout = layout;
        c.dst_off = off;
        c.mask_off = (off + (size_t)n) % 64;
        c.src_off = ((off * 3 + (size_t)n) % 64) / t_esize(g->sdt) * t_esize(g->sdt);
        c.lengths = n % 4 == 3;
        c.use_mask = n % 2 == 0;
        c.use_sums = 1;
        run_case(&c, seed);
      }
}
END_TEST

/* Strided views with gaps and inner > 1, at every start offset. */
START_TEST(test_guards_strided_gaps) {
  const gconf *g = &confs[_i];
  size_t es = t_esize(g->ddt);
  uint64_t seed = t_base_seed() ^ ((uint64_t)_i << 44) ^ 0x57ull;
  for (size_t off = 0; off < 64; off += es)
    for (int rep = 0; rep < 4; rep++, seed++) {
      trng r = trng_seeded(seed);
      tcase c;
      memset(&c, 0, sizeof c);
      c.op = g->op, c.sdt = g->sdt, c.ddt = g->ddt;
      c.B = trng_range(&r, 1, 3), c.K = trng_range(&r, 1, 5), c.inner = trng_range(&r, 1, 5);
      c.lead = trng_range(&r, 0, 2);
      for (int64_t k = 0; k < c.K; k++)
        c.delays[k] = trng_range(&r, 0, 4);
      c.T = trng_range(&r, 0, 20), c.S = trng_range(&r, 0, 24);
      c.src_layout = c.dst_layout = c.mask_layout = TL_STRIDED;
      c.dst_off = off;
      c.mask_off = (size_t)trng_range(&r, 0, 63);
      c.src_off = (size_t)trng_range(&r, 0, 7) * t_esize(g->sdt);
      c.lengths = rep & 1;
      c.use_mask = 1;
      c.use_sums = 1;
      run_case(&c, seed);
    }
}
END_TEST

Suite *guards_suite(void) {
  Suite *s = suite_create("guards");
  TCase *tc = tcase_create("guards");
  tcase_add_loop_test(tc, test_guards_offsets_tails, 0, N_CONFS);
  tcase_add_loop_test(tc, test_guards_strided_gaps, 0, N_CONFS);
  suite_add_tcase(s, tc);
  return s;
}
