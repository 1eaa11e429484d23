/*
 * The callgrind gate's driver: runs every benchmark case once per backend on the fixed gate
 * shapes (cases.c), bracketing each measured call with callgrind client requests so that the dump
 * named "kernel/backend/shape elements=N reps=R" holds exactly the instructions of those calls.
 * Instruction counts are deterministic, unlike time on a shared machine. Outside valgrind the
 * requests do nothing and the driver is a quick self-check of every case (exit 1 on a failure).
 *
 *   cg_driver [backend...]   (default: every supported backend except avx512, which valgrind
 *                             cannot execute; that rung is gated by the ratio check only)
 */
#include "cases.h"

#include <stdio.h>
#include <string.h>

#if defined(CODELAY_HAVE_CALLGRIND_H)
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_ZERO_STATS
#define CALLGRIND_DUMP_STATS_AT(s) ((void)(s))
#endif

static const char *const k_backends[] = {"scalar", "sse41", "avx2", "neon"};

/* A streaming push is tiny: count many so per-push costs are resolved. */
enum { STREAM_REPS = 256 };

static int run_backend(const char *backend) {
  int failures = 0;
  if (!codelay_backend_supported(backend)) {
    printf("skip %s (not supported by this build or CPU)\n", backend);
    return 0;
  }
  int rc = codelay_backend_select(backend);
  if (rc != CODELAY_OK) {
    printf("FAIL %s: select: %s\n", backend, codelay_status_string(rc));
    return 1;
  }
  for (size_t ci = 0; ci < bc_n_cases; ci++) {
    const bc_case *c = &bc_cases[ci];
    bc_inst in;
    char label[160];
    rc = bc_setup(&in, c, 1);
    /* The first call pays for lazy binding and first-use initialisation: keep it out. */
    if (rc == CODELAY_OK) rc = bc_run(&in);
    if (rc != CODELAY_OK) {
      printf("FAIL %s/%s/%s: %s\n", c->kernel, backend, c->shape, codelay_status_string(rc));
      failures++;
      bc_free(&in);
      continue;
    }
    int reps = (c->op == BC_STREAM_DELAY || c->op == BC_STREAM_UNDELAY) ? STREAM_REPS : 1;
    snprintf(label, sizeof label, "%s/%s/%s elements=%lld reps=%d", c->kernel, backend, c->shape,
             (long long)in.elements, reps);
    CALLGRIND_ZERO_STATS;
    for (int r = 0; r < reps; r++)
      rc |= bc_run(&in);
    CALLGRIND_DUMP_STATS_AT(label);
    if (rc != CODELAY_OK) {
      printf("FAIL %s\n", label);
      failures++;
    } else {
      printf("case %s\n", label);
    }
    bc_free(&in);
  }
  return failures;
}

int main(int argc, char **argv) {
  int failures = 0;
  if (argc > 1) {
    for (int i = 1; i < argc; i++)
      failures += run_backend(argv[i]);
  } else {
    for (size_t b = 0; b < sizeof k_backends / sizeof k_backends[0]; b++)
      failures += run_backend(k_backends[b]);
  }
  bc_free_scratch();
  codelay_backend_select("auto");
  return failures ? 1 : 0;
}
