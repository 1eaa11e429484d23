/*
 * Streaming fuzzer: the input decodes into a pattern, a mode, dtype, batch and fill, then a
 * sequence of push (with an `active` mask, sometimes in place), flush and reset calls. Every call
 * is checked against a model written from SPEC §1 (per-item positions, ready, untouched rows for
 * items that produce nothing), and at every reset and at the end each item's emitted frames are
 * checked against the batch op they must equal: DELAY pushes + flushes == codelay_delay with
 * head = tail = fill, UNDELAY pushes + flushes == codelay_undelay with its mask. Runs on every
 * backend this CPU supports.
 */
#include "fuzz_common.h"

#define MAX_B    4
#define MAX_K    8
#define MAX_OPS  96
#define MAX_HIST (MAX_OPS + 1)
#define SENT     0x5A

static const char *g_backends[8];
static int g_nbackends;

typedef struct model {
  int64_t K, B, D, mode;
  int64_t o[MAX_K];
  size_t es;
  unsigned char fill[MAX_K * 8];
  int flushing;
  int64_t pushed[MAX_B], flushed[MAX_B];
  /* frames pushed per item since reset, and frames emitted (ready) with their mask */
  unsigned char hist[MAX_B][MAX_HIST][MAX_K * 8];
  unsigned char emitted[MAX_B][2 * MAX_HIST][MAX_K * 8];
  uint8_t emask[MAX_B][2 * MAX_HIST][MAX_K];
  int64_t n_emitted[MAX_B];
} model;

static unsigned char *elem(unsigned char *row, const model *m, int64_t k) {
  return row + (size_t)k * m->es;
}

/* At a reset (and at the end): what each item emitted must equal the batch op on its input. */
static void check_against_batch(const model *m, const codelay_pattern *p) {
  for (int64_t b = 0; b < m->B; b++) {
    int64_t T = m->pushed[b], E = m->n_emitted[b];
    int32_t dt = 0;
    for (int i = 0; i < 7; i++)
      if (fz_esize(fz_all_dtypes[i]) == m->es) dt = fz_all_dtypes[i];
    /* item input as [1][K][T] KT, emitted output as [1][K][E] KT */
    unsigned char *in = calloc((size_t)(m->K * (T ? T : 1)), m->es);
    unsigned char *want = calloc((size_t)(m->K * (E ? E : 1)), m->es);
    unsigned char *got = calloc((size_t)(m->K * (E ? E : 1)), m->es);
    uint8_t *mask = calloc((size_t)(m->K * (E ? E : 1)), 1);
    FZ_CHECK(in && want && got && mask);
    for (int64_t t = 0; t < T; t++)
      for (int64_t k = 0; k < m->K; k++)
        memcpy(in + (size_t)(k * T + t) * m->es, m->hist[b][t] + (size_t)k * m->es, m->es);
    for (int64_t e = 0; e < E; e++)
      for (int64_t k = 0; k < m->K; k++)
        memcpy(want + (size_t)(k * E + e) * m->es, m->emitted[b][e] + (size_t)k * m->es, m->es);
    codelay_view src = codelay_view_kt(in, dt, 1, m->K, T, 1);
    codelay_view dst = codelay_view_kt(got, dt, 1, m->K, E, 1);
    if (m->mode == CODELAY_STREAM_DELAY) {
      FZ_CHECK(codelay_delay(p, &src, &dst, m->fill, m->fill, NULL) == CODELAY_OK);
    } else {
      codelay_view mv = codelay_view_kt(mask, CODELAY_U8, 1, m->K, E, 1);
      FZ_CHECK(codelay_undelay(p, &src, &dst, m->fill, NULL, &mv) == CODELAY_OK);
      for (int64_t e = 0; e < E; e++)
        for (int64_t k = 0; k < m->K; k++)
          FZ_CHECK(mask[k * E + e] == m->emask[b][e][k]);
    }
    FZ_CHECK(memcmp(got, want, (size_t)(m->K * E) * m->es) == 0);
    free(in);
    free(want);
    free(got);
    free(mask);
  }
}

static void model_reset(model *m) {
  m->flushing = 0;
  for (int64_t b = 0; b < m->B; b++)
    m->pushed[b] = m->flushed[b] = m->n_emitted[b] = 0;
}

static void run(const uint8_t *data, size_t size, const char *backend) {
  fz_select(backend);
  fz_in in = {data, size};
  static model m; /* large: keep it off the stack */
  memset(&m, 0, sizeof m);
  m.K = 1 + fz_pick(&in, MAX_K);
  int64_t lead = fz_pick(&in, 4), delays[MAX_K];
  m.D = 0;
  for (int64_t k = 0; k < m.K; k++) {
    delays[k] = fz_pick(&in, 8);
    m.o[k] = lead + delays[k];
    if (m.o[k] > m.D) m.D = m.o[k];
  }
  codelay_pattern *p = NULL;
  FZ_CHECK(codelay_pattern_create(&p, m.K, delays, lead) == CODELAY_OK);
  m.mode = (fz_u8(&in) & 1) ? CODELAY_STREAM_UNDELAY : CODELAY_STREAM_DELAY;
  int32_t dt = fz_all_dtypes[fz_pick(&in, 7)];
  m.es = fz_esize(dt);
  m.B = 1 + fz_pick(&in, MAX_B);
  uint64_t rng = fz_u64(&in);
  fz_fill_values(m.fill, m.K, dt, &rng);

  codelay_stream *s = NULL;
  FZ_CHECK(codelay_stream_create(&s, p, (int32_t)m.mode, dt, m.B, m.fill) == CODELAY_OK && s);
  /* The stream copies what it needs: the pattern may go away (the test runs it that way). */
  if (fz_u8(&in) & 1) {
    codelay_pattern_destroy(p);
    p = NULL;
    FZ_CHECK(codelay_pattern_create(&p, m.K, delays, lead) == CODELAY_OK);
  }
  model_reset(&m);

  size_t row = (size_t)m.K * m.es;
  unsigned char frame[MAX_B * MAX_K * 8], out[MAX_B * MAX_K * 8], want[MAX_B * MAX_K * 8];
  uint8_t ready[MAX_B], active[MAX_B], mask[MAX_B * MAX_K], wmask[MAX_B * MAX_K];

  for (int op = 0; op < MAX_OPS && in.n > 0; op++) {
    uint8_t c = fz_u8(&in);
    int kind = c & 3; /* 0, 1: push; 2: flush; 3: push or reset */
    if (kind == 3 && (c & 0x30) == 0x30) {
      check_against_batch(&m, p);
      FZ_CHECK(codelay_stream_reset(s) == CODELAY_OK);
      model_reset(&m);
      continue;
    }
    memset(out, SENT, sizeof out);
    memset(ready, SENT, sizeof ready);
    memcpy(want, out, sizeof out);
    if (kind != 2) {
      int use_active = c & 4, in_place = c & 8;
      fz_fill_data(frame, (size_t)m.B * row, dt, 2, &rng);
      if (use_active)
        for (int64_t b = 0; b < m.B; b++)
          active[b] = (fz_rand(&rng) & 3) ? (uint8_t)(1 + (fz_rand(&rng) & 7)) : 0;
      unsigned char *dst = out;
      if (in_place) {
        memcpy(out, frame, (size_t)m.B * row);
        memcpy(want, frame, (size_t)m.B * row); /* untouched rows keep the frame */
        dst = out;
      }
      int st = codelay_stream_push(s, in_place ? (const void *)out : frame,
                                   use_active ? active : NULL, dst, ready);
      if (m.flushing) {
        FZ_CHECK(st == CODELAY_ERR_STATE);
        FZ_CHECK(memcmp(out, want, sizeof out) == 0);
        continue;
      }
      FZ_CHECK(st == CODELAY_OK);
      for (int64_t b = 0; b < m.B; b++) {
        int64_t n = m.pushed[b];
        if ((use_active && !active[b]) || n >= MAX_HIST) {
          FZ_CHECK(n >= MAX_HIST || ready[b] == 0);
          continue;
        }
        memcpy(m.hist[b][n], frame + (size_t)b * row, row);
        m.pushed[b] = n + 1;
        unsigned char *w = want + (size_t)b * row;
        int r = 1;
        for (int64_t k = 0; k < m.K; k++) {
          if (m.mode == CODELAY_STREAM_DELAY) {
            const unsigned char *v =
                n >= m.o[k] ? m.hist[b][n - m.o[k]] + (size_t)k * m.es : m.fill + (size_t)k * m.es;
            memcpy(elem(w, &m, k), v, m.es);
          } else if (n >= m.D) {
            memcpy(elem(w, &m, k), m.hist[b][n - m.D + m.o[k]] + (size_t)k * m.es, m.es);
          } else {
            r = 0; /* aligned frame n - D does not exist yet: row untouched */
          }
        }
        FZ_CHECK(ready[b] == r);
        if (r) {
          memcpy(m.emitted[b][m.n_emitted[b]], w, row);
          memset(m.emask[b][m.n_emitted[b]], 1, (size_t)m.K);
          m.n_emitted[b]++;
        }
      }
      /* Items past the model's history are not checked (the input caps the op count). */
      for (int64_t b = 0; b < m.B; b++)
        if (m.pushed[b] < MAX_HIST)
          FZ_CHECK(memcmp(out + (size_t)b * row, want + (size_t)b * row, row) == 0);
    } else {
      int use_mask = !(c & 4);
      memset(mask, SENT, sizeof mask);
      memcpy(wmask, mask, sizeof mask);
      FZ_CHECK(codelay_stream_flush(s, out, use_mask ? mask : NULL, ready) == CODELAY_OK);
      m.flushing = 1;
      for (int64_t b = 0; b < m.B; b++) {
        int64_t T = m.pushed[b], f = m.flushed[b], base;
        int emits;
        if (m.mode == CODELAY_STREAM_DELAY) {
          base = T + f;
          emits = f < m.D;
        } else {
          base = (T > m.D ? T - m.D : 0) + f;
          emits = base < T;
        }
        FZ_CHECK(ready[b] == emits);
        if (!emits) continue;
        unsigned char *w = want + (size_t)b * row;
        for (int64_t k = 0; k < m.K; k++) {
          int64_t idx = m.mode == CODELAY_STREAM_DELAY ? base - m.o[k] : base + m.o[k];
          int d = idx >= 0 && idx < T;
          memcpy(elem(w, &m, k), d ? m.hist[b][idx] + (size_t)k * m.es : m.fill + (size_t)k * m.es,
                 m.es);
          wmask[b * m.K + k] = (uint8_t)d;
        }
        m.flushed[b] = f + 1;
        memcpy(m.emitted[b][m.n_emitted[b]], w, row);
        memcpy(m.emask[b][m.n_emitted[b]], wmask + b * m.K, (size_t)m.K);
        m.n_emitted[b]++;
      }
      FZ_CHECK(memcmp(out, want, sizeof out) == 0);
      if (use_mask) FZ_CHECK(memcmp(mask, wmask, sizeof mask) == 0);
    }
  }
  check_against_batch(&m, p);
  codelay_stream_destroy(s);
  codelay_pattern_destroy(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!g_nbackends) g_nbackends = fz_backends(g_backends);
  for (int i = 0; i < g_nbackends; i++)
    run(data, size, g_backends[i]);
  return 0;
}
