/*
 * Golden vectors (tests/golden/vectors.txt, SPEC §5): outputs of Moshi, moshi-finetune,
 * audiocraft, Parler-TTS, Zonos and Dia's own code. Every case runs through the public API in its
 * own layout, and again through a padded strided view of a permuted layout; outputs must match
 * exactly (NaN fills compared bit for bit). The number of cases run is asserted.
 */
#include "testutil.h"

#include <ctype.h>

#define GOLDEN_CASES 86

#ifndef CODELAY_GOLDEN_PATH
#define CODELAY_GOLDEN_PATH "tests/golden/vectors.txt"
#endif

typedef struct garr {
  char **tok; /* whitespace-separated words of the line (after the key) */
  int n;
} garr;

typedef struct gcase {
  char name[128];
  char op[16], layout[8], dtype[8];
  int64_t B, K, T, S, inner, lead;
  garr delays, head, tail, fill, lengths, input, output, mask, stream_weight, pad_ids, pad_weight,
      ignore_id;
  int has_mask, has_weights;
} gcase;

static char *read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = (char *)malloc((size_t)n + 1);
  if (!buf) {
    fclose(f);
    return NULL;
  }
  size_t got = fread(buf, 1, (size_t)n, f);
  fclose(f);
  buf[got] = 0;
  return buf;
}

/* Splits line (modified in place) into words. */
static garr split_words(char *line) {
  garr a = {NULL, 0};
  int cap = 0;
  char *save = NULL;
  for (char *w = strtok_r(line, " \t\r", &save); w; w = strtok_r(NULL, " \t\r", &save)) {
    if (a.n == cap) {
      cap = cap ? cap * 2 : 16;
      a.tok = (char **)realloc(a.tok, sizeof(char *) * (size_t)cap);
      ck_assert_ptr_nonnull(a.tok);
    }
    a.tok[a.n++] = w;
  }
  return a;
}

static void garr_free(garr *a) {
  free(a->tok);
  a->tok = NULL;
  a->n = 0;
}

static int32_t dtype_of(const char *s) {
  if (!strcmp(s, "i16")) return CODELAY_I16;
  if (!strcmp(s, "i32")) return CODELAY_I32;
  if (!strcmp(s, "i64")) return CODELAY_I64;
  if (!strcmp(s, "f32")) return CODELAY_F32;
  ck_abort_msg("golden: unknown dtype %s", s);
  return 0;
}

/* Parses word w as a value of dtype dt (raw bits for f32: "nan" becomes the quiet NaN). */
static int64_t parse_value(const char *w, int32_t dt, const char *what, const char *name) {
  char *end = NULL;
  if (dt == CODELAY_F32) {
    float f = strtof(w, &end);
    T_ASSERT(end && *end == 0, "golden %s: bad %s value '%s'", name, what, w);
    return (int64_t)t_f32_bits(f);
  }
  long long v = strtoll(w, &end, 10);
  T_ASSERT(end && *end == 0, "golden %s: bad %s value '%s'", name, what, w);
  return (int64_t)v;
}

static int is_nan_bits(int64_t bits) {
  return ((uint32_t)bits & 0x7F800000u) == 0x7F800000u && ((uint32_t)bits & 0x007FFFFFu) != 0;
}

/* Values of arr in dtype dt, written contiguously into a new buffer. */
static void *pack(const garr *a, int32_t dt, int64_t want_n, const char *what, const char *name) {
  T_ASSERT(a->n == want_n, "golden %s: %s has %d values, want %" PRId64, name, what, a->n, want_n);
  size_t es = t_esize(dt);
  unsigned char *buf =
      (unsigned char *)malloc(es * (size_t)want_n + (want_n == 0)); /* exact size */
  ck_assert_ptr_nonnull(buf);
  for (int64_t i = 0; i < want_n; i++)
    t_setv(buf + (size_t)i * es, dt, parse_value(a->tok[i], dt, what, name));
  return buf;
}

/* Copies a contiguous kt/tk array into (or out of) a strided view, element by element. */
static void copy_view(const codelay_view *contig, const codelay_view *strided, int to_strided) {
  size_t es = t_esize(contig->dtype);
  for (int64_t b = 0; b < contig->batch; b++)
    for (int64_t k = 0; k < contig->streams; k++)
      for (int64_t s = 0; s < contig->steps; s++)
        for (int64_t j = 0; j < contig->inner; j++) {
          unsigned char *c =
              (unsigned char *)contig->data +
              (size_t)(b * contig->stride[0] + k * contig->stride[1] + s * contig->stride[2] + j) *
                  es;
          unsigned char *v = (unsigned char *)strided->data +
                             (size_t)(b * strided->stride[0] + k * strided->stride[1] +
                                      s * strided->stride[2] + j) *
                                 es;
          if (to_strided)
            memcpy(v, c, es);
          else
            memcpy(c, v, es);
        }
}

static codelay_view layout_view(const gcase *g, void *data, int32_t dt, int64_t steps,
                                int64_t inner) {
  if (!strcmp(g->layout, "tk")) return codelay_view_tk(data, dt, g->B, g->K, steps, inner);
  return codelay_view_kt(data, dt, g->B, g->K, steps, inner);
}

/*
 * A padded strided twin of a [B,K,steps,inner] view: the opposite of the case's layout with one
 * spare element after every cell and row, so the generic (non-contiguous) path runs the case too.
 */
static codelay_view strided_twin(const gcase *g, int32_t dt, int64_t steps, int64_t inner,
                                 void **alloc) {
  int64_t cell = inner + 1;
  codelay_view v = {NULL, dt, 0, g->B, g->K, steps, inner, {0, 0, 0}};
  if (!strcmp(g->layout, "tk")) { /* stream-major twin */
    v.stride[2] = cell;
    v.stride[1] = (steps ? steps : 1) * cell + 1;
    v.stride[0] = g->K * v.stride[1] + 2;
  } else { /* time-major twin */
    v.stride[1] = cell;
    v.stride[2] = g->K * cell + 1;
    v.stride[0] = (steps ? steps : 1) * v.stride[2] + 2;
  }
  size_t n = (size_t)((g->B ? g->B : 1) * v.stride[0] + 8);
  *alloc = calloc(n, t_esize(dt));
  ck_assert_ptr_nonnull(*alloc);
  memset(*alloc, 0x5C, n * t_esize(dt));
  v.data = *alloc;
  return v;
}

static void check_values(const gcase *g, const void *got, const void *want, int32_t dt, int64_t n,
                         const char *what, int variant) {
  size_t es = t_esize(dt);
  for (int64_t i = 0; i < n; i++) {
    int64_t a = t_getv((const unsigned char *)got + (size_t)i * es, dt);
    int64_t b = t_getv((const unsigned char *)want + (size_t)i * es, dt);
    if (dt == CODELAY_F32 && is_nan_bits(a) && is_nan_bits(b)) continue;
    T_ASSERT(a == b, "golden %s (%s): %s[%" PRId64 "] = %" PRId64 ", want %" PRId64, g->name,
             variant ? "strided twin" : "as given", what, i, a, b);
  }
}

static void run_golden(const gcase *g, int variant) {
  int32_t dt = dtype_of(g->dtype);
  ck_assert_int_eq(g->delays.n, (int)g->K);
  int64_t delays[64];
  for (int i = 0; i < g->delays.n; i++)
    delays[i] = strtoll(g->delays.tok[i], NULL, 10);
  codelay_pattern *p = NULL;
  ck_assert_int_eq(codelay_pattern_create(&p, g->K, delays, g->lead), CODELAY_OK);
  int64_t lengths[64];
  const int64_t *lens = NULL;
  if (!(g->lengths.n == 1 && !strcmp(g->lengths.tok[0], "-"))) {
    ck_assert_int_eq(g->lengths.n, (int)g->B);
    for (int i = 0; i < g->lengths.n; i++)
      lengths[i] = strtoll(g->lengths.tok[i], NULL, 10);
    lens = lengths;
  }
  int is_delay = !strcmp(g->op, "delay"), is_undelay = !strcmp(g->op, "undelay");
  int64_t in_steps = is_undelay ? g->S : g->T;
  int64_t out_steps = is_delay ? g->S : g->T;
  int64_t n_in = g->B * g->K * in_steps * g->inner;
  int64_t n_out = g->B * g->K * out_steps * g->inner;
  int64_t n_mask = g->B * g->K * out_steps;

  if (!strcmp(g->op, "weights")) {
    T_ASSERT(g->has_weights, "golden %s: weights lines missing", g->name);
    void *in = pack(&g->input, dt, n_in, "input", g->name);
    float *want = (float *)pack(&g->output, CODELAY_F32, n_out, "output", g->name);
    float sw[64], pw[64];
    ck_assert_int_eq(g->stream_weight.n, (int)g->K);
    for (int k = 0; k < g->K; k++)
      sw[k] = strtof(g->stream_weight.tok[k], NULL), pw[k] = 1.0f;
    ck_assert_int_eq(g->pad_weight.n, 1);
    pw[0] = strtof(g->pad_weight.tok[0], NULL); /* pad ids weigh on stream 0 only */
    int64_t pad_ids[16];
    ck_assert(g->pad_ids.n <= 16);
    for (int i = 0; i < g->pad_ids.n; i++)
      pad_ids[i] = strtoll(g->pad_ids.tok[i], NULL, 10);
    codelay_weight_spec spec = {sw,           pw, pad_ids,
                                g->pad_ids.n, 1,  strtoll(g->ignore_id.tok[0], NULL, 10)};
    float *got = (float *)calloc((size_t)n_out + 1, sizeof(float));
    ck_assert_ptr_nonnull(got);
    codelay_view tv = layout_view(g, in, dt, g->T, g->inner);
    codelay_view wv = layout_view(g, got, CODELAY_F32, g->T, g->inner);
    void *talloc = NULL, *walloc = NULL;
    if (variant) {
      codelay_view ts = strided_twin(g, dt, g->T, g->inner, &talloc);
      copy_view(&tv, &ts, 1);
      tv = ts;
      wv = strided_twin(g, CODELAY_F32, g->T, g->inner, &walloc);
    }
    double sums[64];
    ck_assert_int_eq(codelay_loss_weights(p, &tv, g->S, lens, &spec, &wv, sums), CODELAY_OK);
    if (variant) {
      codelay_view back = layout_view(g, got, CODELAY_F32, g->T, g->inner);
      copy_view(&back, &wv, 0);
    }
    check_values(g, got, want, CODELAY_F32, n_out, "weights", variant);
    /* sums: the per-stream total of the expected weights (layout-aware) */
    for (int64_t k = 0; k < g->K; k++) {
      double e = 0.0;
      codelay_view ev = layout_view(g, want, CODELAY_F32, g->T, g->inner);
      for (int64_t b = 0; b < g->B; b++)
        for (int64_t t = 0; t < g->T; t++)
          for (int64_t j = 0; j < g->inner; j++)
            e += want[b * ev.stride[0] + k * ev.stride[1] + t * ev.stride[2] + j];
      T_ASSERT(t_sum_close(sums[k], e), "golden %s: sums[%" PRId64 "] = %.17g, want %.17g", g->name,
               k, sums[k], e);
    }
    free(in);
    free(want);
    free(got);
    free(talloc);
    free(walloc);
    codelay_pattern_destroy(p);
    return;
  }

  T_ASSERT(is_delay || is_undelay, "golden %s: unknown op %s", g->name, g->op);
  void *in = pack(&g->input, dt, n_in, "input", g->name);
  void *want = pack(&g->output, dt, n_out, "output", g->name);
  size_t es = t_esize(dt);
  void *got = malloc((size_t)n_out * es + 8);
  ck_assert_ptr_nonnull(got);
  memset(got, 0x77, (size_t)n_out * es + 8);
  codelay_view sv = layout_view(g, in, dt, in_steps, g->inner);
  codelay_view dv = layout_view(g, got, dt, out_steps, g->inner);
  void *salloc = NULL, *dalloc = NULL, *malloc_ = NULL;
  if (variant) {
    codelay_view ss = strided_twin(g, dt, in_steps, g->inner, &salloc);
    copy_view(&sv, &ss, 1);
    sv = ss;
    dv = strided_twin(g, dt, out_steps, g->inner, &dalloc);
  }
  uint8_t *mask = NULL;
  if (is_delay) {
    ck_assert_int_eq(g->head.n, (int)g->K);
    ck_assert_int_eq(g->tail.n, (int)g->K);
    void *head = pack(&g->head, dt, g->K, "head", g->name);
    void *tail = pack(&g->tail, dt, g->K, "tail", g->name);
    ck_assert_int_eq(codelay_delay(p, &sv, &dv, head, tail, lens), CODELAY_OK);
    free(head);
    free(tail);
  } else {
    void *fill = pack(&g->fill, dt, g->K, "fill", g->name);
    mask = (uint8_t *)malloc((size_t)n_mask + 1);
    ck_assert_ptr_nonnull(mask);
    memset(mask, 0x33, (size_t)n_mask + 1);
    codelay_view mv = layout_view(g, mask, CODELAY_U8, g->T, 1);
    if (variant) mv = strided_twin(g, CODELAY_U8, g->T, 1, &malloc_);
    ck_assert_int_eq(codelay_undelay(p, &sv, &dv, fill, lens, &mv), CODELAY_OK);
    if (variant) {
      codelay_view back = layout_view(g, mask, CODELAY_U8, g->T, 1);
      copy_view(&back, &mv, 0);
    }
    free(fill);
  }
  if (variant) {
    codelay_view back = layout_view(g, got, dt, out_steps, g->inner);
    copy_view(&back, &dv, 0);
  }
  check_values(g, got, want, dt, n_out, "output", variant);
  T_ASSERT(((unsigned char *)got)[(size_t)n_out * es] == 0x77, "golden %s: wrote past dst",
           g->name);
  if (g->has_mask) {
    uint8_t *wmask = (uint8_t *)pack(&g->mask, CODELAY_U8, n_mask, "mask", g->name);
    if (is_delay) {
      /* a delay case's mask marks the data region: regions == 1 there */
      uint8_t *reg = (uint8_t *)malloc((size_t)n_mask + 1);
      ck_assert_ptr_nonnull(reg);
      codelay_view rv = layout_view(g, reg, CODELAY_U8, g->S, 1);
      ck_assert_int_eq(codelay_delay_regions(p, g->T, lens, &rv), CODELAY_OK);
      for (int64_t i = 0; i < n_mask; i++)
        T_ASSERT((reg[i] == 1) == (wmask[i] != 0), "golden %s: region[%" PRId64 "] = %u, mask %u",
                 g->name, i, reg[i], wmask[i]);
      free(reg);
    } else {
      for (int64_t i = 0; i < n_mask; i++)
        T_ASSERT(mask[i] == wmask[i], "golden %s (%s): mask[%" PRId64 "] = %u, want %u", g->name,
                 variant ? "strided twin" : "as given", i, mask[i], wmask[i]);
    }
    free(wmask);
  }
  free(mask);
  free(in);
  free(want);
  free(got);
  free(salloc);
  free(dalloc);
  free(malloc_);
  codelay_pattern_destroy(p);
}

static void gcase_clear(gcase *g) {
  garr *arrs[] = {&g->delays,  &g->head,          &g->tail,       &g->fill,
                  &g->lengths, &g->input,         &g->output,     &g->mask,
                  &g->pad_ids, &g->stream_weight, &g->pad_weight, &g->ignore_id};
  for (size_t i = 0; i < sizeof arrs / sizeof arrs[0]; i++)
    garr_free(arrs[i]);
  memset(g, 0, sizeof *g);
}

/* Parses the whole file and runs every case; returns the number of cases run. */
static int run_all(int variant) {
  const char *path = getenv("CODELAY_GOLDEN");
  if (!path || !*path) path = CODELAY_GOLDEN_PATH;
  char *text = read_file(path);
  T_ASSERT(text != NULL, "cannot read golden vectors %s", path);
  int run = 0, in_case = 0;
  gcase g;
  memset(&g, 0, sizeof g);
  char *save = NULL;
  for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    while (*line && isspace((unsigned char)*line))
      line++;
    if (!*line || *line == '#') continue;
    char *rest = line;
    while (*rest && !isspace((unsigned char)*rest))
      rest++;
    if (*rest) *rest++ = 0;
    const char *key = line;
    if (!strcmp(key, "case")) {
      T_ASSERT(!in_case, "golden: case inside case");
      gcase_clear(&g);
      in_case = 1;
      snprintf(g.name, sizeof g.name, "%s", rest);
      continue;
    }
    T_ASSERT(in_case, "golden: '%s' outside a case", key);
    if (!strcmp(key, "end")) {
      run_golden(&g, variant);
      run++;
      gcase_clear(&g);
      in_case = 0;
      continue;
    }
    if (!strcmp(key, "source") || !strcmp(key, "rule")) continue;
    garr a = split_words(rest);
    garr *dst = NULL;
    if (!strcmp(key, "op") || !strcmp(key, "layout") || !strcmp(key, "dtype")) {
      ck_assert_int_eq(a.n, 1);
      char *f = !strcmp(key, "op") ? g.op : !strcmp(key, "layout") ? g.layout : g.dtype;
      snprintf(f, 8, "%s", a.tok[0]);
      garr_free(&a);
      continue;
    }
    if (!strcmp(key, "shape")) {
      ck_assert_int_eq(a.n, 5);
      g.B = strtoll(a.tok[0], NULL, 10), g.K = strtoll(a.tok[1], NULL, 10);
      g.T = strtoll(a.tok[2], NULL, 10), g.S = strtoll(a.tok[3], NULL, 10);
      g.inner = strtoll(a.tok[4], NULL, 10);
      garr_free(&a);
      continue;
    }
    if (!strcmp(key, "lead")) {
      ck_assert_int_eq(a.n, 1);
      g.lead = strtoll(a.tok[0], NULL, 10);
      garr_free(&a);
      continue;
    }
    if (!strcmp(key, "delays"))
      dst = &g.delays;
    else if (!strcmp(key, "head"))
      dst = &g.head;
    else if (!strcmp(key, "tail"))
      dst = &g.tail;
    else if (!strcmp(key, "fill"))
      dst = &g.fill;
    else if (!strcmp(key, "lengths"))
      dst = &g.lengths;
    else if (!strcmp(key, "input"))
      dst = &g.input;
    else if (!strcmp(key, "output"))
      dst = &g.output;
    else if (!strcmp(key, "mask"))
      dst = &g.mask, g.has_mask = 1;
    else if (!strcmp(key, "stream_weight"))
      dst = &g.stream_weight, g.has_weights = 1;
    else if (!strcmp(key, "pad_ids_stream0"))
      dst = &g.pad_ids;
    else if (!strcmp(key, "pad_weight_stream0"))
      dst = &g.pad_weight;
    else if (!strcmp(key, "ignore_id"))
      dst = &g.ignore_id;
    T_ASSERT(dst != NULL, "golden %s: unknown key '%s'", g.name, key);
    garr_free(dst);
    *dst = a;
  }
  T_ASSERT(!in_case, "golden: unterminated case %s", g.name);
  gcase_clear(&g);
  free(text);
  return run;
}

START_TEST(test_golden_as_given) {
  ck_assert_int_eq(run_all(0), GOLDEN_CASES);
}
END_TEST

START_TEST(test_golden_strided) {
  ck_assert_int_eq(run_all(1), GOLDEN_CASES);
}
END_TEST

Suite *golden_suite(void) {
  Suite *s = suite_create("golden");
  TCase *tc = tcase_create("vectors");
  tcase_add_test(tc, test_golden_as_given);
  tcase_add_test(tc, test_golden_strided);
  suite_add_tcase(s, tc);
  return s;
}
