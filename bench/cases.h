/*
 * The benchmark cases: realistic shapes of SPEC §2 (Moshi, Dia, Kyutai DSM, logits, streaming,
 * small calls), shared by the Google Benchmark binary (bench_main.c) and the callgrind gate driver
 * (callgrind/cg_driver.c) so that both measure exactly the same calls. Public API only.
 */
#ifndef CODELAY_BENCH_CASES_H
#define CODELAY_BENCH_CASES_H

#include "codelay.h"

#include <stddef.h>
#include <stdint.h>

enum bc_op { BC_DELAY, BC_UNDELAY, BC_REGIONS, BC_WEIGHTS, BC_STREAM_DELAY, BC_STREAM_UNDELAY };
enum bc_layout { BC_KT, BC_TK };

typedef struct bc_case {
  const char *kernel; /* first part of the benchmark name: kernel/backend/shape */
  const char *shape;  /* last part */
  int op, layout;
  int32_t src_dtype, dst_dtype;
  int64_t batch, streams, steps, inner; /* realistic shape; delay and undelay keep S == T */
  int64_t gate_batch, gate_steps;       /* the smaller fixed shape the callgrind gate runs */
  const int64_t *delays;                /* [streams] */
  int64_t lead;
  int in_place;  /* src and dst are the very same view */
  int with_mask; /* undelay also writes the U8 mask */
} bc_case;

extern const bc_case bc_cases[];
extern const size_t bc_n_cases;

/* One set-up case: the pattern, pre-faulted buffers, views and fills. */
typedef struct bc_inst {
  const bc_case *c;
  int64_t batch, steps;
  codelay_pattern *p;
  void *src, *dst;
  uint8_t *mask;
  codelay_view vsrc, vdst, vmask;
  void *head, *tail; /* K fill values in dst's dtype */
  codelay_weight_spec spec;
  float *stream_weight, *pad_weight;
  double *sums;
  codelay_stream *stream;
  uint8_t *ready;
  /* what one call reads and writes, and the output elements it produces */
  size_t read_bytes, write_bytes;
  int64_t elements;
  /*
   * The paired memcpy: the same output bytes into the outputs, read from the case's own input
   * where it is large enough (so the copy sees the caches the kernel sees), else from a
   * pre-faulted scratch buffer (in-place cases, masks, regions).
   */
  void *cpy_dst[2];
  size_t cpy_bytes[2];
  const void *cpy_src0; /* NULL: the scratch buffer */
} bc_inst;

/* Set up case c at its realistic shape (gate = 0) or the gate's shape (gate = 1). Returns
 * CODELAY_OK, a codelay status, or CODELAY_ERR_NOMEM. */
int bc_setup(bc_inst *in, const bc_case *c, int gate);
/* One call of the kernel (one push for the streaming cases). */
int bc_run(bc_inst *in);
/* The paired memcpy of the call's output bytes. */
void bc_memcpy(bc_inst *in);
void bc_free(bc_inst *in);
/* Frees the shared memcpy scratch buffer (call at exit). */
void bc_free_scratch(void);

#endif
