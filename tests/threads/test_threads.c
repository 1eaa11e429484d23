/*
 * Eight threads hammer the library at once; built with ThreadSanitizer by
 * scripts/test-sanitizers.sh, and plainly by CTest.
 *
 * Without arguments the program is the parent: it runs the scenario in fresh child processes of
 * itself (with CODELAY_BACKEND unset, set to each backend name, and set to a bogus name), because
 * the first-use dispatch initialisation only races in a process where nothing has touched the
 * library yet. With the argument "child" it runs the scenario once:
 *   - the main thread creates the shared patterns (immutable, shared by all threads), then
 *     releases 8 threads together from a barrier;
 *   - every thread's first call is a different entry point (name, supported, an op, a stream), so
 *     the first use of the dispatch table happens concurrently; one thread also keeps switching
 *     backends with codelay_backend_select while the others run (every backend gives the same
 *     bytes, so results stay comparable);
 *   - each thread runs every op (delay, undelay with mask, regions, loss weights, a DELAY and an
 *     UNDELAY stream of its own) over KT and TK layouts and several dtypes, several times, and
 *     keeps a hash of every output;
 *   - after the join, the main thread runs the same work alone and every hash must match.
 * Only the public header is used: the program links the shared library.
 */
#define _POSIX_C_SOURCE 200809L
#include "codelay.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define N_THREADS 8
#define N_ITERS   6
#define N_CASES   8
#define B         2
#define T         48
#define MAXK      9

static codelay_pattern *g_pat[2];
static pthread_barrier_t g_barrier;
static atomic_int g_switching = 1;

static int fail(const char *what, int line) {
  fprintf(stderr, "test_threads: %s (line %d)\n", what, line);
  exit(1);
}
#define REQUIRE(c)                                                                                 \
  do {                                                                                             \
    if (!(c)) fail(#c, __LINE__);                                                                  \
  } while (0)

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
  const unsigned char *c = p;
  for (size_t i = 0; i < n; i++)
    h = (h ^ c[i]) * 0x100000001b3ull;
  return h;
}

static uint64_t rnd(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static size_t esize(int32_t dt) {
  return dt == CODELAY_U8 ? 1 : dt == CODELAY_I16 ? 2 : dt == CODELAY_I32 ? 4 : 8;
}

/* One case: everything derived from (case index); returns the hash of all its outputs. */
static uint64_t run_case(int c) {
  static const int32_t dts[4] = {CODELAY_U8, CODELAY_I16, CODELAY_I32, CODELAY_I64};
  const codelay_pattern *p = g_pat[c & 1];
  const int64_t K = (c & 1) ? 4 : MAXK, D = codelay_pattern_max_offset(p), S = T + D;
  const int32_t dt = dts[(c >> 1) & 3];
  const int tk = (c >> 3) & 1;
  const size_t es = esize(dt);
  uint64_t seed = (uint64_t)c * 7919u + 1, h = 1469598103934665603ull;

  unsigned char *in = malloc((size_t)(B * K * T) * es), *del = malloc((size_t)(B * K * S) * es);
  unsigned char *und = malloc((size_t)(B * K * T) * es), *mask = malloc((size_t)(B * K * T));
  unsigned char *reg = malloc((size_t)(B * K * S));
  float *w = malloc(sizeof(float) * (size_t)(B * K * T));
  REQUIRE(in && del && und && mask && reg && w);
  for (size_t i = 0; i < (size_t)(B * K * T); i++) {
    int64_t v = (int64_t)(rnd(&seed) % 100);
    memcpy(in + i * es, &v, es); /* little-endian: the low bytes of a small value */
  }
  unsigned char fill[MAXK * 8];
  for (int64_t k = 0; k < K; k++) {
    int64_t v = 100 + k;
    memcpy(fill + (size_t)k * es, &v, es);
  }
  codelay_view (*mk)(void *, int32_t, int64_t, int64_t, int64_t, int64_t) =
      tk ? codelay_view_tk : codelay_view_kt;
  codelay_view vin = mk(in, dt, B, K, T, 1), vdel = mk(del, dt, B, K, S, 1);
  codelay_view vund = mk(und, dt, B, K, T, 1), vmask = mk(mask, CODELAY_U8, B, K, T, 1);
  codelay_view vreg = mk(reg, CODELAY_U8, B, K, S, 1), vw = mk(w, CODELAY_F32, B, K, T, 1);
  int64_t lengths[B] = {T, T - 5};

  REQUIRE(codelay_delay(p, &vin, &vdel, fill, fill, lengths) == CODELAY_OK);
  h = fnv(h, del, (size_t)(B * K * S) * es);
  REQUIRE(codelay_undelay(p, &vdel, &vund, fill, NULL, &vmask) == CODELAY_OK);
  h = fnv(h, und, (size_t)(B * K * T) * es);
  h = fnv(h, mask, (size_t)(B * K * T));
  REQUIRE(codelay_delay_regions(p, T, lengths, &vreg) == CODELAY_OK);
  h = fnv(h, reg, (size_t)(B * K * S));
  float sw[MAXK], pw[MAXK];
  for (int64_t k = 0; k < K; k++) {
    sw[k] = k == 1 ? 100.0f : 1.0f;
    pw[k] = k == 0 ? 0.5f : 1.0f;
  }
  int64_t pads[2] = {3, 0};
  codelay_weight_spec spec = {sw, pw, pads, 2, 1, 7};
  double sums[MAXK];
  REQUIRE(codelay_loss_weights(p, &vin, S, NULL, &spec, &vw, sums) == CODELAY_OK);
  h = fnv(h, w, sizeof(float) * (size_t)(B * K * T));
  h = fnv(h, sums, sizeof(double) * (size_t)K);

  /* A stream of this thread's own: DELAY the input frame by frame, then flush. */
  for (int mode = CODELAY_STREAM_DELAY; mode <= CODELAY_STREAM_UNDELAY; mode++) {
    codelay_stream *s = NULL;
    REQUIRE(codelay_stream_create(&s, p, mode, dt, B, fill) == CODELAY_OK);
    unsigned char frame[B * MAXK * 8], out[B * MAXK * 8];
    uint8_t ready[B], smask[B * MAXK];
    for (int64_t t = 0; t < T; t++) {
      for (int64_t b = 0; b < B; b++)
        for (int64_t k = 0; k < K; k++)
          memcpy(frame + (size_t)(b * K + k) * es, in + (size_t)((b * K + k) * T + t) * es, es);
      memset(out, 0, sizeof out);
      REQUIRE(codelay_stream_push(s, frame, NULL, out, ready) == CODELAY_OK);
      h = fnv(h, out, (size_t)(B * K) * es);
      h = fnv(h, ready, B);
    }
    for (int64_t f = 0; f < D + 1; f++) {
      memset(out, 0, sizeof out);
      REQUIRE(codelay_stream_flush(s, out, smask, ready) == CODELAY_OK);
      h = fnv(h, out, (size_t)(B * K) * es);
      h = fnv(h, ready, B);
    }
    REQUIRE(codelay_stream_push(s, frame, NULL, out, ready) == CODELAY_ERR_STATE);
    REQUIRE(codelay_stream_reset(s) == CODELAY_OK);
    codelay_stream_destroy(s);
  }
  free(in);
  free(del);
  free(und);
  free(mask);
  free(reg);
  free(w);
  return h;
}

typedef struct worker {
  int id;
  uint64_t hashes[N_ITERS][N_CASES];
} worker;

static const char *const k_backends[] = {"scalar", "sse41", "avx2", "avx512", "neon", "auto"};

static void *work(void *arg) {
  worker *wk = arg;
  pthread_barrier_wait(&g_barrier);
  /* Different first calls, all racing the first-use initialisation. */
  switch (wk->id) {
  case 0:
    REQUIRE(codelay_backend_name() != NULL);
    break;
  case 1:
    REQUIRE(codelay_backend_supported("scalar") == 1);
    break;
  case 2:
    REQUIRE(codelay_backend_select("scalar") == CODELAY_OK);
    break;
  default:
    break;
  }
  for (int it = 0; it < N_ITERS; it++)
    for (int c = 0; c < N_CASES; c++) {
      int cc = (c + wk->id) % N_CASES; /* threads start on different cases */
      wk->hashes[it][cc] = run_case(cc);
      if (wk->id == N_THREADS - 1) {
        const char *b = k_backends[(size_t)(it * N_CASES + c) % 6];
        int st = codelay_backend_select(b);
        REQUIRE(st == CODELAY_OK || st == CODELAY_ERR_BACKEND);
      }
    }
  return NULL;
}

/* Backend switching thread: keeps flipping while the workers run. */
static void *switcher(void *arg) {
  (void)arg;
  pthread_barrier_wait(&g_barrier);
  unsigned n = 0;
  while (atomic_load(&g_switching)) {
    int st = codelay_backend_select(k_backends[n++ % 6]);
    REQUIRE(st == CODELAY_OK || st == CODELAY_ERR_BACKEND);
    REQUIRE(codelay_backend_name() != NULL);
  }
  return NULL;
}

static int child(void) {
  int64_t moshi[MAXK] = {0, 0, 1, 1, 1, 1, 1, 1, 1}, sorted[4] = {0, 1, 2, 3};
  REQUIRE(codelay_pattern_create(&g_pat[0], MAXK, moshi, 0) == CODELAY_OK);
  REQUIRE(codelay_pattern_create(&g_pat[1], 4, sorted, 1) == CODELAY_OK);
  REQUIRE(pthread_barrier_init(&g_barrier, NULL, N_THREADS + 1) == 0);
  static worker wk[N_THREADS];
  pthread_t th[N_THREADS], sw;
  for (int i = 0; i < N_THREADS; i++) {
    wk[i].id = i;
    REQUIRE(pthread_create(&th[i], NULL, work, &wk[i]) == 0);
  }
  REQUIRE(pthread_create(&sw, NULL, switcher, NULL) == 0);
  for (int i = 0; i < N_THREADS; i++)
    REQUIRE(pthread_join(th[i], NULL) == 0);
  atomic_store(&g_switching, 0);
  REQUIRE(pthread_join(sw, NULL) == 0);
  pthread_barrier_destroy(&g_barrier);

  /* The single-threaded reference, on scalar. */
  REQUIRE(codelay_backend_select("scalar") == CODELAY_OK);
  uint64_t ref[N_CASES];
  for (int c = 0; c < N_CASES; c++)
    ref[c] = run_case(c);
  int bad = 0;
  for (int i = 0; i < N_THREADS; i++)
    for (int it = 0; it < N_ITERS; it++)
      for (int c = 0; c < N_CASES; c++)
        if (wk[i].hashes[it][c] != ref[c]) {
          fprintf(stderr, "thread %d iteration %d case %d differs from the single-threaded run\n",
                  i, it, c);
          bad = 1;
        }
  codelay_pattern_destroy(g_pat[0]);
  codelay_pattern_destroy(g_pat[1]);
  return bad;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "child") == 0) return child();
  /* Fresh processes, so the first-use initialisation races each time. */
  static const char *const envs[] = {NULL, "scalar", "sse41", "avx2", "avx512", "neon", "bogus"};
  int failed = 0;
  for (size_t i = 0; i < sizeof envs / sizeof envs[0]; i++) {
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      if (envs[i])
        setenv("CODELAY_BACKEND", envs[i], 1);
      else
        unsetenv("CODELAY_BACKEND");
      execl("/proc/self/exe", argv[0], "child", (char *)NULL);
      _exit(127);
    }
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    printf("test_threads: CODELAY_BACKEND=%s: %s\n", envs[i] ? envs[i] : "(unset)",
           ok ? "ok" : "FAILED");
    failed |= !ok;
  }
  printf("test_threads: %s\n", failed ? "FAIL" : "PASS");
  return failed;
}
