/*
 * Shared by the fuzz targets: decoding fuzz bytes into parameters, strided views over exact-size
 * buffers (so ASan sees any byte read or written outside a view's extent), and a naive reference
 * of SPEC §1, written element by element from the formulas and sharing no code with the library,
 * so a differential mismatch points at the library, not at a helper both sides use.
 */
#ifndef CODELAY_FUZZ_COMMON_H
#define CODELAY_FUZZ_COMMON_H

#include "codelay.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FZ_MAX_K 16

/* A failed check prints where and traps, so libFuzzer saves the input as a crash. */
#define FZ_CHECK(c)                                                                                \
  do {                                                                                             \
    if (!(c)) fz_fail(#c, __FILE__, __LINE__);                                                     \
  } while (0)

static inline void fz_fail(const char *what, const char *file, int line) {
  fprintf(stderr, "codelay fuzz check failed: %s (%s:%d)\n", what, file, line);
  fflush(stderr);
  __builtin_trap();
}

/* ---- input decoding ------------------------------------------------------------------------ */

/* Bytes are consumed front to back; an exhausted input reads as zeros (the simplest case). */
typedef struct fz_in {
  const uint8_t *p;
  size_t n;
} fz_in;

static inline uint8_t fz_u8(fz_in *in) {
  if (!in->n) return 0;
  in->n--;
  return *in->p++;
}

static inline uint64_t fz_u64(fz_in *in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v |= (uint64_t)fz_u8(in) << (8 * i);
  return v;
}

/* A value in [0, n) for n <= 256. */
static inline uint32_t fz_pick(fz_in *in, uint32_t n) {
  return n ? fz_u8(in) % n : 0;
}

/* splitmix64: bulk data comes from a generator seeded by the input, not from input bytes. */
static inline uint64_t fz_rand(uint64_t *state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* ---- dtypes, independent of the library's own tables ---------------------------------------- */

static inline size_t fz_esize(int32_t dt) {
  switch (dt) {
  case CODELAY_U8:
    return 1;
  case CODELAY_I16:
  case CODELAY_F16:
  case CODELAY_BF16:
    return 2;
  case CODELAY_I32:
  case CODELAY_F32:
    return 4;
  case CODELAY_I64:
    return 8;
  default:
    return 0;
  }
}

static inline int fz_is_int(int32_t dt) {
  return dt == CODELAY_U8 || dt == CODELAY_I16 || dt == CODELAY_I32 || dt == CODELAY_I64;
}

static inline int fz_is_float(int32_t dt) {
  return dt == CODELAY_F16 || dt == CODELAY_BF16 || dt == CODELAY_F32;
}

static inline int64_t fz_get_int(const void *p, int32_t dt) {
  switch (dt) {
  case CODELAY_U8:
    return *(const uint8_t *)p;
  case CODELAY_I16: {
    int16_t v;
    memcpy(&v, p, 2);
    return v;
  }
  case CODELAY_I32: {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
  }
  default: {
    int64_t v;
    memcpy(&v, p, 8);
    return v;
  }
  }
}

static inline int fz_fits(int64_t v, int32_t dt) {
  switch (dt) {
  case CODELAY_U8:
    return v >= 0 && v <= 255;
  case CODELAY_I16:
    return v >= INT16_MIN && v <= INT16_MAX;
  case CODELAY_I32:
    return v >= INT32_MIN && v <= INT32_MAX;
  default:
    return 1;
  }
}

static inline void fz_put_int(void *p, int32_t dt, int64_t v) {
  switch (dt) {
  case CODELAY_U8:
    *(uint8_t *)p = (uint8_t)v;
    break;
  case CODELAY_I16: {
    int16_t x = (int16_t)v;
    memcpy(p, &x, 2);
    break;
  }
  case CODELAY_I32: {
    int32_t x = (int32_t)v;
    memcpy(p, &x, 4);
    break;
  }
  default:
    memcpy(p, &v, 8);
    break;
  }
}

static const int32_t fz_all_dtypes[7] = {CODELAY_U8,  CODELAY_I16,  CODELAY_I32, CODELAY_I64,
                                         CODELAY_F16, CODELAY_BF16, CODELAY_F32};
static const int32_t fz_int_dtypes[4] = {CODELAY_U8, CODELAY_I16, CODELAY_I32, CODELAY_I64};

/* Values that sit on every integer dtype's edges. */
static const int64_t fz_edge_values[] = {0,
                                         1,
                                         -1,
                                         2,
                                         3,
                                         127,
                                         128,
                                         255,
                                         256,
                                         -128,
                                         -129,
                                         32767,
                                         32768,
                                         -32768,
                                         -32769,
                                         65535,
                                         2147483647,
                                         2147483648ll,
                                         -2147483647ll - 1,
                                         -2147483649ll,
                                         INT64_MAX,
                                         INT64_MIN};
#define FZ_N_EDGES (sizeof fz_edge_values / sizeof fz_edge_values[0])

/* ---- views over exact-size heap buffers -------------------------------------------------------
 * A buffer is exactly as large as its view's reach (ASan flags the first byte past it); gaps that
 * strides leave inside it are part of the buffer, and must keep their sentinel bytes.
 */
typedef struct fz_buf {
  unsigned char *mem; /* malloc'd, >= 1 byte so that mem is never NULL */
  size_t bytes;       /* the view's reach in bytes */
  codelay_view v;
} fz_buf;

static inline int64_t fz_view_elems(const codelay_view *v) {
  return v->batch * v->streams * v->steps * v->inner;
}

static inline size_t fz_elem_offset(const codelay_view *v, int64_t b, int64_t k, int64_t s,
                                    int64_t i) {
  return (size_t)(b * v->stride[0] + k * v->stride[1] + s * v->stride[2] + i);
}

static inline void *fz_at(const codelay_view *v, int64_t b, int64_t k, int64_t s, int64_t i) {
  return (unsigned char *)v->data + fz_elem_offset(v, b, k, s, i) * fz_esize(v->dtype);
}

/*
 * Layouts: 0 contiguous KT (codelay_view_kt), 1 contiguous TK (codelay_view_tk), 2 the three cell
 * axes in any order with gaps between cells and rows, 3 like 2 with some strides 0 (broadcast;
 * only for views that are read). The decoded choice is taken modulo n_layouts.
 */
static inline void fz_make_view(fz_buf *out, fz_in *in, int32_t dtype, int64_t B, int64_t K,
                                int64_t steps, int64_t inner, int n_layouts) {
  int layout = (int)fz_pick(in, (uint32_t)n_layouts);
  codelay_view v;
  if (layout == 0) {
    v = codelay_view_kt(NULL, dtype, B, K, steps, inner);
    int64_t want[3] = {K * steps * inner, steps * inner, inner};
    FZ_CHECK(v.stride[0] == want[0] && v.stride[1] == want[1] && v.stride[2] == want[2]);
  } else if (layout == 1) {
    v = codelay_view_tk(NULL, dtype, B, K, steps, inner);
    int64_t want[3] = {steps * K * inner, inner, K * inner};
    FZ_CHECK(v.stride[0] == want[0] && v.stride[1] == want[1] && v.stride[2] == want[2]);
  } else {
    memset(&v, 0, sizeof v);
    v.dtype = dtype;
    v.batch = B;
    v.streams = K;
    v.steps = steps;
    v.inner = inner;
    static const int perms[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                    {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    const int *perm = perms[fz_pick(in, 6)]; /* outermost axis first */
    int64_t dims[3] = {B, K, steps};
    int64_t stride = inner + fz_pick(in, 3); /* gap after each cell */
    for (int j = 2; j >= 0; j--) {
      int axis = perm[j];
      v.stride[axis] = stride;
      stride = stride * (dims[axis] > 0 ? dims[axis] : 1) + fz_pick(in, 3);
    }
    if (layout == 3) {
      uint8_t zero = fz_u8(in);
      for (int a = 0; a < 3; a++)
        if (zero & (1u << a)) v.stride[a] = 0;
    }
  }
  FZ_CHECK(v.dtype == dtype && v.flags == 0 && v.batch == B && v.streams == K && v.steps == steps &&
           v.inner == inner);
  size_t elems = 0;
  if (B > 0 && K > 0 && steps > 0)
    elems =
        (size_t)((B - 1) * v.stride[0] + (K - 1) * v.stride[1] + (steps - 1) * v.stride[2] + inner);
  out->bytes = elems * fz_esize(dtype);
  out->mem = (unsigned char *)malloc(out->bytes ? out->bytes : 1);
  FZ_CHECK(out->mem != NULL);
  /* An empty view may carry a NULL data pointer (SPEC §4). */
  v.data = (elems == 0 && (fz_u8(in) & 1)) ? NULL : out->mem;
  out->v = v;
}

static inline void fz_free_buf(fz_buf *b) {
  free(b->mem);
  b->mem = NULL;
}

/* A view of the same shape and strides placed on other memory (a snapshot or a reference copy). */
static inline codelay_view fz_view_on(const fz_buf *b, unsigned char *mem) {
  codelay_view v = b->v;
  if (v.data) v.data = mem;
  return v;
}

/*
 * Source data: value mode 0 = small values that fit every dtype, 1 = mostly small with dtype-edge
 * values sprinkled in (range errors), 2 = random bits. Float dtypes always get random bits,
 * NaN payloads included: float copies are compared bit for bit.
 */
static inline void fz_fill_data(unsigned char *mem, size_t bytes, int32_t dtype, int mode,
                                uint64_t *rng) {
  size_t es = fz_esize(dtype);
  for (size_t off = 0; off + es <= bytes; off += es) {
    uint64_t r = fz_rand(rng);
    if (fz_is_int(dtype) && mode == 0) {
      fz_put_int(mem + off, dtype, (int64_t)(r % 8));
    } else if (fz_is_int(dtype) && mode == 1) {
      int64_t v = (r >> 8) % 64 == 0 ? fz_edge_values[(r >> 16) % FZ_N_EDGES] : (int64_t)(r % 8);
      fz_put_int(mem + off, dtype, v);
    } else {
      memcpy(mem + off, &r, es);
    }
  }
  /* A trailing partial element cannot exist: bytes is a multiple of es. */
}

/* K fill values in dtype: random small, edge or raw bits. */
static inline void fz_fill_values(unsigned char *vals, int64_t K, int32_t dtype, uint64_t *rng) {
  size_t es = fz_esize(dtype);
  for (int64_t k = 0; k < K; k++) {
    uint64_t r = fz_rand(rng);
    if (fz_is_int(dtype) && (r & 3) != 0)
      fz_put_int(vals + (size_t)k * es, dtype, (int64_t)((r >> 8) % 4096) - 2048);
    else
      memcpy(vals + (size_t)k * es, &r, es);
  }
}

/* ---- naive reference of SPEC §1 ------------------------------------------------------------- */

/* One element from src (dtype ss) to dst (dtype ds); 0 or CODELAY_ERR_RANGE. */
static inline int fz_ref_copy(void *dst, int32_t ds, const void *src, int32_t ss) {
  if (fz_is_float(ds)) {
    memcpy(dst, src, fz_esize(ds));
    return CODELAY_OK;
  }
  int64_t x = fz_get_int(src, ss);
  if (!fz_fits(x, ds)) return CODELAY_ERR_RANGE;
  fz_put_int(dst, ds, x);
  return CODELAY_OK;
}

static inline int fz_ref_delay(const int64_t *o, const codelay_view *src, const codelay_view *dst,
                               const unsigned char *head, const unsigned char *tail,
                               const int64_t *lengths) {
  size_t es = fz_esize(dst->dtype);
  int st = CODELAY_OK;
  for (int64_t b = 0; b < dst->batch; b++) {
    int64_t Tb = lengths ? lengths[b] : src->steps;
    for (int64_t k = 0; k < dst->streams; k++)
      for (int64_t s = 0; s < dst->steps; s++)
        for (int64_t i = 0; i < dst->inner; i++) {
          void *d = fz_at(dst, b, k, s, i);
          int64_t j = s - o[k];
          if (j < 0)
            memcpy(d, head + (size_t)k * es, es);
          else if (j < Tb) {
            if (fz_ref_copy(d, dst->dtype, fz_at(src, b, k, j, i), src->dtype))
              st = CODELAY_ERR_RANGE;
          } else
            memcpy(d, tail + (size_t)k * es, es);
        }
  }
  return st;
}

static inline int fz_ref_undelay(const int64_t *o, const codelay_view *src, const codelay_view *dst,
                                 const unsigned char *fill, const int64_t *lengths,
                                 const codelay_view *mask) {
  size_t es = fz_esize(dst->dtype);
  int st = CODELAY_OK;
  for (int64_t b = 0; b < dst->batch; b++) {
    int64_t Sb = lengths ? lengths[b] : src->steps;
    for (int64_t k = 0; k < dst->streams; k++)
      for (int64_t t = 0; t < dst->steps; t++) {
        int valid = t + o[k] < Sb;
        for (int64_t i = 0; i < dst->inner; i++) {
          void *d = fz_at(dst, b, k, t, i);
          if (valid) {
            if (fz_ref_copy(d, dst->dtype, fz_at(src, b, k, t + o[k], i), src->dtype))
              st = CODELAY_ERR_RANGE;
          } else
            memcpy(d, fill + (size_t)k * es, es);
        }
        if (mask) *(uint8_t *)fz_at(mask, b, k, t, 0) = (uint8_t)valid;
      }
  }
  return st;
}

static inline void fz_ref_regions(const int64_t *o, int64_t aligned, const int64_t *lengths,
                                  const codelay_view *r) {
  for (int64_t b = 0; b < r->batch; b++) {
    int64_t Tb = lengths ? lengths[b] : aligned;
    for (int64_t k = 0; k < r->streams; k++)
      for (int64_t s = 0; s < r->steps; s++) {
        int64_t j = s - o[k];
        *(uint8_t *)fz_at(r, b, k, s, 0) = j < 0 ? 0 : j < Tb ? 1 : 2;
      }
  }
}

/* Writes the weights, and the exact per-stream sums computed from counts (see fuzz_ops.c). */
static inline void fz_ref_weights(const int64_t *o, const codelay_view *tok, int64_t delayed,
                                  const int64_t *lengths, const codelay_weight_spec *spec,
                                  const codelay_view *w, double *sums) {
  for (int64_t k = 0; k < tok->streams; k++) {
    float sw = spec && spec->stream_weight ? spec->stream_weight[k] : 1.0f;
    float pw = spec && spec->pad_weight ? spec->pad_weight[k] : 1.0f;
    float wpad = sw * pw;
    int64_t n_plain = 0, n_pad = 0;
    for (int64_t b = 0; b < tok->batch; b++) {
      int64_t Sb = lengths ? lengths[b] : delayed;
      for (int64_t t = 0; t < tok->steps; t++)
        for (int64_t i = 0; i < tok->inner; i++) {
          int64_t x = fz_get_int(fz_at(tok, b, k, t, i), tok->dtype);
          int valid = t + o[k] < Sb && !(spec && spec->use_ignore_id && x == spec->ignore_id);
          int pad = 0;
          for (int32_t j = 0; spec && j < spec->n_pad_ids; j++)
            pad |= spec->pad_ids[j] == x;
          float val = 0.0f;
          if (valid) {
            val = pad ? wpad : sw;
            if (pad)
              n_pad++;
            else
              n_plain++;
          }
          memcpy(fz_at(w, b, k, t, i), &val, 4);
        }
    }
    if (sums) sums[k] = (double)n_plain * sw + (double)n_pad * wpad;
  }
}

/* ---- backends ---------------------------------------------------------------------------- */

static const char *const fz_backend_names[] = {"scalar", "sse41", "avx2", "avx512", "neon"};

/* The backends this build and CPU run, scalar first; computed once. */
static inline int fz_backends(const char **names) {
  int n = 0;
  for (size_t i = 0; i < sizeof fz_backend_names / sizeof fz_backend_names[0]; i++)
    if (codelay_backend_supported(fz_backend_names[i]) == 1) names[n++] = fz_backend_names[i];
  FZ_CHECK(n >= 1 && strcmp(names[0], "scalar") == 0);
  return n;
}

static inline void fz_select(const char *name) {
  FZ_CHECK(codelay_backend_select(name) == CODELAY_OK);
  FZ_CHECK(strcmp(codelay_backend_name(), name) == 0);
}

#endif
