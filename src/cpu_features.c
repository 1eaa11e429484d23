/*
 * CPU feature detection. On x86 an instruction set counts only if CPUID reports it AND XGETBV
 * shows the OS saves its registers (AVX: XMM+YMM; AVX-512: also opmask and both ZMM halves).
 * On aarch64 NEON is architectural.
 */
#include "cpu_features.h"

#include <stdatomic.h>

#if defined(__AVX2__) || defined(__AVX512F__)
#error "the dispatcher must be compiled for the baseline ISA only"
#endif

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static uint64_t read_xcr0(void) {
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return ((uint64_t)hi << 32) | lo;
}

static uint32_t detect(void) {
  uint32_t a, b, c, d, f = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
  if (c & bit_SSE4_1) f |= CL_CPU_SSE41;
  int osxsave = (c & bit_OSXSAVE) != 0, avx = (c & bit_AVX) != 0;
  uint64_t xcr0 = osxsave ? read_xcr0() : 0;
  int ymm_saved = (xcr0 & 0x6) == 0x6, zmm_saved = (xcr0 & 0xe6) == 0xe6;
  if (__get_cpuid_max(0, NULL) >= 7) {
    __cpuid_count(7, 0, a, b, c, d);
    if (avx && ymm_saved && (b & bit_AVX2)) f |= CL_CPU_AVX2;
    /* avx512.c also emits 256-bit AVX2 code, so AVX-512 counts only on top of AVX2. */
    if ((f & CL_CPU_AVX2) && zmm_saved && (b & bit_AVX512F) && (b & bit_AVX512BW) &&
        (b & bit_AVX512VL))
      f |= CL_CPU_AVX512;
  }
  return f;
}
#elif defined(__aarch64__)
static uint32_t detect(void) {
  return CL_CPU_NEON;
}
#else
static uint32_t detect(void) {
  return 0;
}
#endif

uint32_t cl_cpu_features(void) {
  static _Atomic uint32_t cache;
  uint32_t f = atomic_load_explicit(&cache, memory_order_relaxed);
  if (!(f & CL_CPU_KNOWN)) {
    /* Racing threads compute the same value; whoever stores last stores it again. */
    f = detect() | CL_CPU_KNOWN;
    atomic_store_explicit(&cache, f, memory_order_relaxed);
  }
  return f;
}
