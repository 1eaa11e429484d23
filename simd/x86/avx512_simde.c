/*
 * Test-only: the AVX-512 backend compiled through SIMDe so its logic runs on CPUs without
 * AVX-512 (neither this machine, valgrind nor qemu-user 7.2 can execute AVX-512). Built by
 * scripts/test-qemu-x86.sh into the check_x86 checker as cl_kernels_avx512_emu; never part of
 * the library. The shims below stand in for intrinsics this SIMDe version lacks; the masked
 * loads become full loads plus a masked move (the kernels only load vectors that lie wholly
 * inside the source, so the real instruction's fault suppression is not needed).
 */
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>

#include <stdint.h>

static inline simde__m512i emu_join(simde__m256i lo, simde__m256i hi) {
  return simde_mm512_inserti64x4(simde_mm512_castsi256_si512(lo), hi, 1);
}
#define EMU_H0(x) simde_mm256_castsi256_si128(x)
#define EMU_H1(x) simde_mm256_extracti128_si256(x, 1)
#define _mm512_cvtepu8_epi16(x)                                                                    \
  emu_join(simde_mm256_cvtepu8_epi16(EMU_H0(x)), simde_mm256_cvtepu8_epi16(EMU_H1(x)))
#define _mm512_cvtepi16_epi32(x)                                                                   \
  emu_join(simde_mm256_cvtepi16_epi32(EMU_H0(x)), simde_mm256_cvtepi16_epi32(EMU_H1(x)))
#define _mm512_cvtepi32_epi64(x)                                                                   \
  emu_join(simde_mm256_cvtepi32_epi64(EMU_H0(x)), simde_mm256_cvtepi32_epi64(EMU_H1(x)))
#define _mm512_cvtepu8_epi32(x)                                                                    \
  emu_join(simde_mm256_cvtepu8_epi32(x), simde_mm256_cvtepu8_epi32(simde_mm_srli_si128(x, 8)))
#define _mm512_cvtepi16_epi64(x)                                                                   \
  emu_join(simde_mm256_cvtepi16_epi64(x), simde_mm256_cvtepi16_epi64(simde_mm_srli_si128(x, 8)))
#define _mm512_cvtepu8_epi64(x)                                                                    \
  emu_join(simde_mm256_cvtepu8_epi64(x), simde_mm256_cvtepu8_epi64(simde_mm_srli_si128(x, 4)))
#define _mm512_mask_loadu_epi8(s, k, p) simde_mm512_mask_mov_epi8(s, k, simde_mm512_loadu_si512(p))
#define _mm512_mask_loadu_epi16(s, k, p)                                                           \
  simde_mm512_mask_mov_epi16(s, k, simde_mm512_loadu_si512(p))
#define _mm512_mask_loadu_epi32(s, k, p)                                                           \
  simde_mm512_mask_mov_epi32(s, k, simde_mm512_loadu_si512(p))
#define _mm512_mask_loadu_epi64(s, k, p)                                                           \
  simde_mm512_mask_mov_epi64(s, k, simde_mm512_loadu_si512(p))
static inline int emu_reduce_add_epi32(simde__m512i v) {
  int32_t t[16];
  int s = 0;
  simde_mm512_storeu_si512(t, v);
  for (int i = 0; i < 16; i++)
    s += t[i];
  return s;
}
#define _mm512_reduce_add_epi32(v) emu_reduce_add_epi32(v)

#define CL_X86_AVX512_EMULATED 1
#define CL_KERNELS_SYMBOL      cl_kernels_avx512_emu
#include "avx512.c"
