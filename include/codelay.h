/*
 * codelay: SIMD kernels for the delay pattern of multi-stream token language models.
 *
 * A model predicts K streams per frame (a text stream plus audio codebooks). Stream k is shifted
 * in time by its offset o[k] = lead + d[k]; the holes are filled with special tokens. codelay
 * applies the shift (delay), undoes it (undelay, with a validity mask), labels the holes
 * (regions), builds loss weights around it, and does all of this frame by frame for inference
 * (stream). Every function validates its arguments before it writes anything and returns a
 * status (enum codelay_status); the library never prints, aborts, or allocates outside the
 * *_create functions.
 *
 * Thread safety: patterns are immutable and may be shared by any number of threads; a stream
 * object belongs to one thread at a time; every other function is safe to call concurrently.
 */
#ifndef CODELAY_H
#define CODELAY_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CODELAY_VERSION_MAJOR 0
#define CODELAY_VERSION_MINOR 1
#define CODELAY_VERSION_PATCH 0
#define CODELAY_VERSION                                                                            \
  ((CODELAY_VERSION_MAJOR << 16) | (CODELAY_VERSION_MINOR << 8) | CODELAY_VERSION_PATCH)

#if defined(CODELAY_STATIC)
#define CODELAY_API
#elif defined(_WIN32)
#if defined(CODELAY_BUILDING)
#define CODELAY_API __declspec(dllexport)
#else
#define CODELAY_API __declspec(dllimport)
#endif
#elif defined(__GNUC__)
#define CODELAY_API __attribute__((visibility("default")))
#else
#define CODELAY_API
#endif

/* MAJOR<<16 | MINOR<<8 | PATCH of the library actually loaded (compare with CODELAY_VERSION). */
CODELAY_API uint32_t codelay_version(void);

/* A static, human-readable name for a status ("CODELAY_ERR_SHAPE: ..."); never NULL. */
CODELAY_API const char *codelay_status_string(int status);

enum codelay_status {
  CODELAY_OK = 0,
  CODELAY_ERR_NULL = -1,    /* a required pointer is NULL */
  CODELAY_ERR_SHAPE = -2,   /* sizes, strides, lengths or streams that do not fit */
  CODELAY_ERR_DELAY = -3,   /* a negative delay or lead, or an offset above INT32_MAX */
  CODELAY_ERR_DTYPE = -4,   /* unknown dtype or a dtype combination that is not allowed */
  CODELAY_ERR_RANGE = -5,   /* a value does not fit the integer destination dtype */
  CODELAY_ERR_ALIAS = -6,   /* views overlap in memory (other than exact in-place) */
  CODELAY_ERR_NOMEM = -7,   /* allocation failed (only the *_create functions allocate) */
  CODELAY_ERR_BACKEND = -8, /* unknown backend name, or not supported by this build or CPU */
  CODELAY_ERR_STATE = -9,   /* a stream call that its state does not allow (push after flush) */
  CODELAY_ERR_ARG = -10     /* a bad scalar argument: flags, n_pad_ids, stream mode */
};

enum codelay_dtype {
  CODELAY_U8 = 1,
  CODELAY_I16 = 2,
  CODELAY_I32 = 3,
  CODELAY_I64 = 4,
  CODELAY_F16 = 5, /* IEEE half, copied bit for bit */
  CODELAY_BF16 = 6,
  CODELAY_F32 = 7
};

/*
 * A strided [batch][streams][steps][inner] view of caller-owned memory. `inner` elements are
 * contiguous (1 for tokens, the vocabulary size for logits); stride[] counts elements (not
 * bytes) between neighbouring cells along batch, stream and step, and may be any non-negative
 * values. `data` may be NULL only when the view has no elements. `flags` must be 0.
 */
typedef struct codelay_view {
  void *data;
  int32_t dtype; /* enum codelay_dtype */
  int32_t flags; /* reserved, must be 0 */
  int64_t batch, streams, steps, inner;
  int64_t stride[3]; /* elements between neighbouring cells along batch, stream, step */
} codelay_view;

/* Contiguous stream-major view: memory is [batch][streams][steps][inner]. */
CODELAY_API codelay_view codelay_view_kt(void *data, int32_t dtype, int64_t batch, int64_t streams,
                                         int64_t steps, int64_t inner);
/* Contiguous time-major view: memory is [batch][steps][streams][inner] (Dia's [B, T, C]). */
CODELAY_API codelay_view codelay_view_tk(void *data, int32_t dtype, int64_t batch, int64_t streams,
                                         int64_t steps, int64_t inner);

/*
 * A delay pattern: K streams, per-stream delays d[k] >= 0 (any order, repeats allowed) and a
 * common lead >= 0; offset o[k] = lead + d[k] <= INT32_MAX. Immutable once created and shareable
 * across threads. Returns CODELAY_ERR_NULL (out or delays NULL), CODELAY_ERR_SHAPE (streams < 1),
 * CODELAY_ERR_DELAY, CODELAY_ERR_NOMEM; *out is set only on success. The delays are copied.
 */
typedef struct codelay_pattern codelay_pattern;
CODELAY_API int codelay_pattern_create(codelay_pattern **out, int64_t streams,
                                       const int64_t *delays, int64_t lead);
CODELAY_API void codelay_pattern_destroy(codelay_pattern *p); /* NULL is a no-op */
/* lead + max d[k], the D of streaming; -1 if p is NULL. */
CODELAY_API int64_t codelay_pattern_max_offset(const codelay_pattern *p);

/*
 * delay: src [B,K,T] -> dst [B,K,S] (S = dst->steps, any S >= 0). With T_b = lengths[b] (or T):
 *   dst[b,k,s] = src[b,k,s-o[k]]  if 0 <= s-o[k] < T_b;  head_fill[k] if s-o[k] < 0;  else
 * tail_fill[k] head_fill and tail_fill hold K values in dst's dtype (each value is repeated over
 * `inner`). Integer dtypes may differ (CODELAY_ERR_RANGE if a copied value does not fit dst); float
 * dtypes must match. src == dst as the very same view (same data, dtype, shape and strides) works
 * in place; any other overlap is CODELAY_ERR_ALIAS. lengths: NULL or [B] values in [0, T].
 */
CODELAY_API int codelay_delay(const codelay_pattern *p, const codelay_view *src,
                              const codelay_view *dst, const void *head_fill, const void *tail_fill,
                              const int64_t *lengths);

/*
 * undelay: src [B,K,S] -> dst [B,K,T] (T = dst->steps). With S_b = lengths[b] (or S):
 *   dst[b,k,t] = src[b,k,t+o[k]], mask[b,k,t] = 1   if t+o[k] < S_b
 *              = fill[k],         mask[b,k,t] = 0   otherwise
 * fill holds K values in dst's dtype. mask: NULL or a U8 [B,K,T] view with inner 1, which must
 * not overlap src or dst. In-place and dtype rules as codelay_delay; lengths in [0, S].
 */
CODELAY_API int codelay_undelay(const codelay_pattern *p, const codelay_view *src,
                                const codelay_view *dst, const void *fill, const int64_t *lengths,
                                const codelay_view *mask /* U8 or NULL */);

/*
 * regions of a delayed sequence: regions [B,K,S] U8 (inner 1) gets 0 (head: s-o[k] < 0),
 * 1 (data: 0 <= s-o[k] < T_b) or 2 (tail), with T_b = lengths[b] or aligned_steps.
 */
CODELAY_API int codelay_delay_regions(const codelay_pattern *p, int64_t aligned_steps,
                                      const int64_t *lengths,
                                      const codelay_view *regions /* U8 [B,K,S] */);

/*
 * Loss weights (moshi-finetune's formula, generalised) over aligned tokens [B,K,T] (any integer
 * dtype) into an F32 view of the same shape. With S_b = lengths[b] or delayed_steps:
 *   valid = t + o[k] < S_b  and not (use_ignore_id and tok == ignore_id)
 *   w     = valid ? stream_weight[k] * (tok in pad_ids ? pad_weight[k] : 1) : 0
 * sums (NULL or [K] doubles) receives, per stream, the sum of w over b and t (the normaliser).
 * spec NULL means all weights 1, no pad ids and no ignore id.
 */
typedef struct codelay_weight_spec {
  const float *stream_weight; /* [K] or NULL = all 1 */
  const float *pad_weight;    /* [K] or NULL = all 1 */
  const int64_t *pad_ids;     /* n_pad_ids ids, or NULL */
  int32_t n_pad_ids;          /* 0..16 */
  int32_t use_ignore_id;
  int64_t ignore_id;
} codelay_weight_spec;
CODELAY_API int codelay_loss_weights(const codelay_pattern *p, const codelay_view *tokens,
                                     int64_t delayed_steps, const int64_t *lengths,
                                     const codelay_weight_spec *spec,
                                     const codelay_view *weights /* F32 */,
                                     double *sums /* [K] or NULL */);

/*
 * Streaming, one frame of [B][K] contiguous elements per call, per-item positions; D = max
 * offset. DELAY: the n-th frame pushed for item b gives delayed frame n at once
 * (out[k] = frame_{n-o[k]}[k], or fill[k] while n < o[k]); flush then emits D tail frames.
 * UNDELAY: the n-th delayed frame gives aligned frame n-D once n >= D (ready 0 before); flush
 * emits the pending aligned frames one per call, fill and mask 0 where data never came, ready 0
 * once an item is drained. active (NULL = all) = 0 leaves item b untouched for that call.
 * ready [B] is required. A push after a flush is CODELAY_ERR_STATE until codelay_stream_reset.
 * create copies fill (K values of dtype) and allocates everything the stream will ever need.
 */
enum codelay_stream_mode { CODELAY_STREAM_DELAY = 1, CODELAY_STREAM_UNDELAY = 2 };
typedef struct codelay_stream codelay_stream;
CODELAY_API int codelay_stream_create(codelay_stream **out, const codelay_pattern *p, int32_t mode,
                                      int32_t dtype, int64_t batch,
                                      const void *fill /* K values */);
CODELAY_API void codelay_stream_destroy(codelay_stream *s); /* NULL is a no-op */
CODELAY_API int codelay_stream_push(codelay_stream *s, const void *frame /* [B][K] */,
                                    const uint8_t *active /* [B] or NULL */, void *out /* [B][K] */,
                                    uint8_t *ready /* [B] */);
CODELAY_API int codelay_stream_flush(codelay_stream *s, void *out, uint8_t *mask /* [B][K] */,
                                     uint8_t *ready /* [B] */);
CODELAY_API int codelay_stream_reset(codelay_stream *s);

/*
 * Backends: "scalar", "sse41", "avx2", "avx512", "neon", or "auto" (the best this CPU runs).
 * The environment variable CODELAY_BACKEND (same names) is read once, at first use.
 */
CODELAY_API const char *codelay_backend_name(void); /* the active backend */
/* CODELAY_ERR_NULL, or CODELAY_ERR_BACKEND (unknown, not compiled in, or CPU lacks it). */
CODELAY_API int codelay_backend_select(const char *name);
/* 1 if compiled in and this CPU runs it ("auto" is always 1), else 0. */
CODELAY_API int codelay_backend_supported(const char *name);

#ifdef __cplusplus
}
#endif

#endif /* CODELAY_H */
