/*
 * The dispatch table: one pointer to the active backend's kernel table, chosen at first use
 * (CODELAY_BACKEND, else the best backend this CPU runs) and changed only by
 * codelay_backend_select. Each table is immutable, so publishing the pointer atomically is enough.
 */
#include "cpu_features.h"
#include "kernels.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

typedef struct backend {
  const char *name;
  const cl_kernels *kernels; /* NULL: not compiled in */
  uint32_t needs;            /* CPU features it requires */
  int automatic;             /* may "auto" pick it */
} backend;

#if defined(__aarch64__)
#define NEON_IS_NATIVE 1
#else
#define NEON_IS_NATIVE 0
#endif

/* Best first: "auto" takes the first one that is compiled in and supported. */
static const backend backends[] = {
#if defined(CODELAY_HAVE_AVX512)
    {"avx512", &cl_kernels_avx512, CL_CPU_AVX512, 1},
#else
    {"avx512", NULL, CL_CPU_AVX512, 1},
#endif
#if defined(CODELAY_HAVE_AVX2)
    {"avx2", &cl_kernels_avx2, CL_CPU_AVX2, 1},
#else
    {"avx2", NULL, CL_CPU_AVX2, 1},
#endif
#if defined(CODELAY_HAVE_SSE41)
    {"sse41", &cl_kernels_sse41, CL_CPU_SSE41, 1},
#else
    {"sse41", NULL, CL_CPU_SSE41, 1},
#endif
#if defined(CODELAY_HAVE_NEON)
    /* Through SIMDe on x86 it runs anywhere, but only native NEON is worth picking. */
    {"neon", &cl_kernels_neon, NEON_IS_NATIVE ? CL_CPU_NEON : 0, NEON_IS_NATIVE},
#else
    {"neon", NULL, CL_CPU_NEON, 1},
#endif
    {"scalar", &cl_kernels_scalar, 0, 1},
};

enum { N_BACKENDS = sizeof backends / sizeof backends[0] };

static int runs_here(const backend *b) {
  return b->kernels && (cl_cpu_features() & b->needs) == b->needs;
}

static const cl_kernels *best(void) {
  for (int i = 0; i < N_BACKENDS; i++)
    if (backends[i].automatic && runs_here(&backends[i])) return backends[i].kernels;
  return &cl_kernels_scalar;
}

/* NULL: unknown name or not runnable here. */
static const cl_kernels *lookup(const char *name) {
  if (strcmp(name, "auto") == 0) return best();
  for (int i = 0; i < N_BACKENDS; i++)
    if (strcmp(name, backends[i].name) == 0)
      return runs_here(&backends[i]) ? backends[i].kernels : NULL;
  return NULL;
}

static _Atomic(const cl_kernels *) active;

const cl_kernels *cl_active_kernels(void) {
  const cl_kernels *k = atomic_load_explicit(&active, memory_order_acquire);
  if (k) return k;
  /* First use: an override that this CPU cannot run (or a typo) falls back to auto. */
  const char *env = getenv("CODELAY_BACKEND");
  const cl_kernels *chosen = env && *env ? lookup(env) : NULL;
  if (!chosen) chosen = best();
  const cl_kernels *expected = NULL;
  /* Losing the race means another thread (or codelay_backend_select) published first: use it. */
  if (!atomic_compare_exchange_strong_explicit(&active, &expected, chosen, memory_order_acq_rel,
                                               memory_order_acquire))
    return expected;
  return chosen;
}

const char *codelay_backend_name(void) {
  return cl_active_kernels()->name;
}

int codelay_backend_select(const char *name) {
  if (!name) return CODELAY_ERR_NULL;
  const cl_kernels *k = lookup(name);
  if (!k) return CODELAY_ERR_BACKEND;
  atomic_store_explicit(&active, k, memory_order_release);
  return CODELAY_OK;
}

int codelay_backend_supported(const char *name) {
  return name && lookup(name) != NULL;
}
