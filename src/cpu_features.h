/* What this CPU (and its OS) can run, detected once. */
#ifndef CODELAY_CPU_FEATURES_H
#define CODELAY_CPU_FEATURES_H

#include "internal.h"

enum {
  CL_CPU_SSE41 = 1u << 0,
  CL_CPU_AVX2 = 1u << 1,
  CL_CPU_AVX512 = 1u << 2, /* F + BW + VL, with the OS saving opmask and ZMM state */
  CL_CPU_NEON = 1u << 3,
  CL_CPU_KNOWN = 1u << 31 /* the cache holds a detection result */
};

CL_HIDDEN uint32_t cl_cpu_features(void);

#endif
