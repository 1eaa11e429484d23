/*
 * Streaming delay / undelay (SPEC §1 "streaming"): one [B][K] frame per call, per-item positions.
 *
 * Storage. Each item owns a ring of its last R = D + 1 pushed frames (D = max offset): push n
 * writes frame n to slot p = n mod R (p kept incrementally, no division). Stream k then reads the
 * frame n - lag[k], lag[k] = o[k] in DELAY mode (out[k] = frame_{n-o[k]}[k]) and D - o[k] in
 * UNDELAY mode (aligned frame n - D is delayed frame n - D + o[k]); 0 <= lag <= D < R, so that
 * frame is still in the ring. Its byte position depends only on (p, k), so create precomputes the
 * table read_off[p][k] (R x K offsets, shared by all items): a push is one row copy plus one gather
 * of K elements per item, specialised on the element size, with no modulo and no wrap test.
 * The table is built only while R * K <= CL_STREAM_TABLE_MAX (every realistic pattern: Moshi has
 * R = 2, DSM R = 3), so that a huge D cannot make create touch gigabytes; above it, the gather
 * computes slot p + R - lag[k] from rel[k] with one compare-and-subtract per element.
 *
 * Positions. Per item: `pushed` (frames pushed since reset), `flushed` (flush frames emitted) and
 * `slot` (= pushed mod R). In DELAY mode the first D pushes of an item take a slow path that
 * substitutes fill[k] while n < o[k]; afterwards the ring holds every frame the item reads, so the
 * ring is never initialised (reset is O(B) and memory is only touched as it is used).
 *
 * Flush never writes the ring: the frames it emits read only frames that went in (still within the
 * last R of the item) or fill, so it works from the positions alone.
 *
 * Outputs that a call does not produce are left untouched: the out row (and mask row) of an
 * inactive item, of an UNDELAY item that is not ready yet, and of a drained item in flush.
 *
 * The stream copies the pattern's offsets and the fill values: the pattern may be destroyed
 * after codelay_stream_create. Everything lives in one allocation made by create.
 */
#include "internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The push path is instantiated per element size; force it, -O2 alone may keep one generic copy
 * that calls memcpy per element (measured: 4x slower). */
#define CL_STREAM_TABLE_MAX 16384 /* read_off entries (128 KiB) */

#if defined(__GNUC__)
#define CL_ALWAYS_INLINE static inline __attribute__((always_inline))
#else
#define CL_ALWAYS_INLINE static inline
#endif

typedef struct cl_stream_item {
  int64_t pushed;  /* frames pushed since the last reset */
  int64_t flushed; /* frames emitted by flush since the last reset */
  int64_t slot;    /* pushed mod R: the ring slot the next push writes */
} cl_stream_item;

struct codelay_stream {
  int32_t mode;     /* CODELAY_STREAM_DELAY or CODELAY_STREAM_UNDELAY */
  int32_t flushing; /* set by flush; push is CODELAY_ERR_STATE until reset */
  int64_t batch;
  int64_t streams;
  int64_t max_offset;     /* D */
  int64_t ring_frames;    /* R = D + 1 */
  size_t esize;           /* bytes per element */
  size_t frame_bytes;     /* K * esize: one item row */
  size_t item_ring_bytes; /* R * frame_bytes */
  cl_stream_item *items;  /* [batch] */
  int64_t *offset;        /* [K] o[k], copied from the pattern */
  ptrdiff_t *read_off;    /* [R][K] item-ring byte offset of (frame n - lag[k], k); or NULL */
  size_t *rel;            /* [K] (R - lag[k]) * frame_bytes + k * esize: the table-free form */
  unsigned char *fill;    /* [K] elements */
  unsigned char *ring;    /* [batch][R][K] elements */
};

/* a * b into *r; 0 if it overflows size_t or int64 (every byte size must fit both). */
static int cl_mul_size(size_t a, size_t b, size_t *r) {
  const size_t lim = (size_t)INT64_MAX < SIZE_MAX ? (size_t)INT64_MAX : SIZE_MAX;
  if (a != 0 && b > lim / a) return 0;
  *r = a * b;
  return 1;
}

static int cl_add_size(size_t a, size_t b, size_t *r) {
  const size_t lim = (size_t)INT64_MAX < SIZE_MAX ? (size_t)INT64_MAX : SIZE_MAX;
  if (a > lim || b > lim - a) return 0;
  *r = a + b;
  return 1;
}

/* Round up to 64 bytes so every sub-array starts on its own cache line. */
static int cl_align64(size_t a, size_t *r) {
  if (!cl_add_size(a, 63, r)) return 0;
  *r &= ~(size_t)63;
  return 1;
}

/* 1 if the byte ranges [a, a+an) and [b, b+bn) share a byte. */
static int cl_overlap(const void *a, size_t an, const void *b, size_t bn) {
  const uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;
  if (an == 0 || bn == 0) return 0;
  return x < y + bn && y < x + an;
}

int codelay_stream_create(codelay_stream **out, const codelay_pattern *p, int32_t mode,
                          int32_t dtype, int64_t batch, const void *fill) {
  if (out == NULL || p == NULL || fill == NULL) return CODELAY_ERR_NULL;
  if (mode != CODELAY_STREAM_DELAY && mode != CODELAY_STREAM_UNDELAY) return CODELAY_ERR_ARG;
  const size_t es = cl_dtype_size(dtype);
  if (es == 0) return CODELAY_ERR_DTYPE;
  if (batch < 1 || p->streams < 1 || p->max_offset < 0) return CODELAY_ERR_SHAPE;

  const int64_t K = p->streams;
  const int64_t D = p->max_offset;
  size_t frame_bytes, batch_bytes, item_ring, ring_bytes, table, sz;
  /* The largest buffers a caller hands us, [B][K] elements, must have a representable size. */
  if ((uint64_t)K > SIZE_MAX || (uint64_t)batch > SIZE_MAX || (uint64_t)D >= SIZE_MAX / 2 ||
      !cl_mul_size((size_t)K, es, &frame_bytes) ||
      !cl_mul_size(frame_bytes, (size_t)batch, &batch_bytes) ||
      !cl_mul_size((size_t)D + 1, frame_bytes, &item_ring) ||
      !cl_mul_size(item_ring, (size_t)batch, &ring_bytes) ||
      !cl_mul_size(item_ring, 2, &sz) || /* slot_pos + rel[k] < 2 * item_ring must not wrap */
      !cl_mul_size((size_t)D + 1, (size_t)K, &table))
    return CODELAY_ERR_SHAPE;
  if (table > CL_STREAM_TABLE_MAX) table = 0;

  /* One allocation: header | items | offset | rel | read_off | fill | ring, 64-byte rounded. */
  size_t off_items, off_offset, off_rel, off_read, off_fill, off_ring, total;
  int ok = cl_align64(sizeof(codelay_stream), &off_items) &&
           cl_mul_size((size_t)batch, sizeof(cl_stream_item), &sz) &&
           cl_add_size(off_items, sz, &off_offset) && cl_align64(off_offset, &off_offset) &&
           cl_mul_size((size_t)K, sizeof(int64_t), &sz) && cl_add_size(off_offset, sz, &off_rel) &&
           cl_align64(off_rel, &off_rel) && cl_mul_size((size_t)K, sizeof(size_t), &sz) &&
           cl_add_size(off_rel, sz, &off_read) && cl_align64(off_read, &off_read) &&
           cl_mul_size(table, sizeof(ptrdiff_t), &sz) && cl_add_size(off_read, sz, &off_fill) &&
           cl_align64(off_fill, &off_fill) && cl_add_size(off_fill, frame_bytes, &off_ring) &&
           cl_align64(off_ring, &off_ring) && cl_add_size(off_ring, ring_bytes, &total);
  if (!ok) return CODELAY_ERR_SHAPE;

  unsigned char *mem = malloc(total);
  if (mem == NULL) return CODELAY_ERR_NOMEM;

  codelay_stream *s = (codelay_stream *)mem;
  s->mode = mode;
  s->flushing = 0;
  s->batch = batch;
  s->streams = K;
  s->max_offset = D;
  s->ring_frames = D + 1;
  s->esize = es;
  s->frame_bytes = frame_bytes;
  s->item_ring_bytes = item_ring;
  s->items = (cl_stream_item *)(mem + off_items);
  s->offset = (int64_t *)(mem + off_offset);
  s->rel = (size_t *)(mem + off_rel);
  s->read_off = table != 0 ? (ptrdiff_t *)(mem + off_read) : NULL;
  s->fill = mem + off_fill;
  s->ring = mem + off_ring;

  memcpy(s->fill, fill, frame_bytes);
  const int64_t R = s->ring_frames;
  for (int64_t k = 0; k < K; k++) {
    const int64_t o = p->offset[k];
    const int64_t lag = mode == CODELAY_STREAM_DELAY ? o : D - o;
    s->offset[k] = o;
    s->rel[k] = (size_t)(R - lag) * frame_bytes + (size_t)k * es;
    for (int64_t slot = 0; table != 0 && slot < R; slot++) {
      const int64_t from = slot - lag < 0 ? slot - lag + R : slot - lag;
      s->read_off[(size_t)slot * (size_t)K + (size_t)k] =
          (ptrdiff_t)((size_t)from * frame_bytes + (size_t)k * es);
    }
  }
  for (int64_t b = 0; b < batch; b++) {
    s->items[b].pushed = 0;
    s->items[b].flushed = 0;
    s->items[b].slot = 0;
  }
  *out = s;
  return CODELAY_OK;
}

void codelay_stream_destroy(codelay_stream *s) {
  free(s); /* the one allocation of create; free(NULL) is a no-op */
}

int codelay_stream_reset(codelay_stream *s) {
  if (s == NULL) return CODELAY_ERR_NULL;
  for (int64_t b = 0; b < s->batch; b++) {
    s->items[b].pushed = 0;
    s->items[b].flushed = 0;
    s->items[b].slot = 0;
  }
  s->flushing = 0;
  return CODELAY_OK;
}

/*
 * dst[k] = the element at base + off[k], k < K, for a compile-time element size (the switch in
 * push instantiates it per size; memcpy of a constant size is a single load/store and keeps the
 * code free of type punning on caller memory).
 */
CL_ALWAYS_INLINE void cl_gather(unsigned char *restrict dst, const unsigned char *restrict base,
                                const ptrdiff_t *restrict off, int64_t K, size_t es) {
  int64_t k = 0;
  for (; k + 4 <= K; k += 4) { /* unrolled: only the loads and stores remain */
    memcpy(dst + (size_t)k * es, base + off[k], es);
    memcpy(dst + (size_t)(k + 1) * es, base + off[k + 1], es);
    memcpy(dst + (size_t)(k + 2) * es, base + off[k + 2], es);
    memcpy(dst + (size_t)(k + 3) * es, base + off[k + 3], es);
  }
  for (; k < K; k++)
    memcpy(dst + (size_t)k * es, base + off[k], es);
}

/*
 * The same without the table: slot p + R - lag[k] lies in [p + 1, p + R] (lag <= D = R - 1), so
 * one conditional subtraction of R frames brings it into the ring.
 */
CL_ALWAYS_INLINE void cl_gather_wrap(unsigned char *restrict dst,
                                     const unsigned char *restrict ring, const size_t *restrict rel,
                                     int64_t K, size_t es, size_t slot_pos, size_t ring_bytes) {
  for (int64_t k = 0; k < K; k++) {
    const size_t pos = slot_pos + rel[k];
    memcpy(dst + (size_t)k * es, ring + (pos >= ring_bytes ? pos - ring_bytes : pos), es);
  }
}

/*
 * DELAY warm-up (n < D): streams whose frame n - o[k] does not exist yet get fill[k]. Taken at
 * most D times per item between resets, so the hot path below carries no such test.
 */
static void cl_gather_warmup(const codelay_stream *s, unsigned char *dst, const unsigned char *ring,
                             size_t slot_pos, int64_t n) {
  const size_t es = s->esize, rb = s->item_ring_bytes;
  for (int64_t k = 0; k < s->streams; k++) {
    const size_t pos = slot_pos + s->rel[k];
    const unsigned char *src =
        n >= s->offset[k] ? ring + (pos >= rb ? pos - rb : pos) : s->fill + (size_t)k * es;
    memcpy(dst + (size_t)k * es, src, es);
  }
}

CL_ALWAYS_INLINE void cl_push_items(codelay_stream *s, const unsigned char *frame,
                                    const uint8_t *active, unsigned char *out, uint8_t *ready,
                                    size_t es, int use_table) {
  const int64_t B = s->batch, K = s->streams, D = s->max_offset, R = s->ring_frames;
  const size_t fb = s->frame_bytes;
  const int delay = s->mode == CODELAY_STREAM_DELAY;
  for (int64_t b = 0; b < B; b++) {
    if (active != NULL && active[b] == 0) {
      ready[b] = 0;
      continue;
    }
    cl_stream_item *it = &s->items[b];
    unsigned char *ring = s->ring + (size_t)b * s->item_ring_bytes;
    unsigned char *dst = out + (size_t)b * fb;
    const size_t slot_pos = (size_t)it->slot * fb;
    /* Store first: frame may be out (in place), and lag-0 streams read this very frame. */
    memcpy(ring + slot_pos, frame + (size_t)b * fb, fb);
    const int64_t n = it->pushed;
    uint8_t r = 1;
    if (n >= D) {
      if (use_table)
        cl_gather(dst, ring, s->read_off + (size_t)it->slot * (size_t)K, K, es);
      else
        cl_gather_wrap(dst, ring, s->rel, K, es, slot_pos, s->item_ring_bytes);
    } else if (delay)
      cl_gather_warmup(s, dst, ring, slot_pos, n);
    else
      r = 0; /* UNDELAY: aligned frame n - D does not exist yet */
    ready[b] = r;
    it->pushed = n + 1;
    it->slot = it->slot + 1 == R ? 0 : it->slot + 1;
  }
}

int codelay_stream_push(codelay_stream *s, const void *frame, const uint8_t *active, void *out,
                        uint8_t *ready) {
  if (s == NULL || frame == NULL || out == NULL || ready == NULL) return CODELAY_ERR_NULL;
  const size_t rows = s->frame_bytes * (size_t)s->batch, nb = (size_t)s->batch;
  /* frame == out is in place (each row is stored before its output is written); other overlaps
   * of the outputs with the inputs or with each other would let a write clobber unread input. */
  if ((frame != out && cl_overlap(frame, rows, out, rows)) || cl_overlap(ready, nb, out, rows) ||
      cl_overlap(ready, nb, frame, rows) || (active != NULL && cl_overlap(active, nb, out, rows)) ||
      (active != NULL && (const void *)active != (const void *)ready &&
       cl_overlap(active, nb, ready, nb)))
    return CODELAY_ERR_ALIAS;
  if (s->flushing) return CODELAY_ERR_STATE;

  const unsigned char *f = frame;
  unsigned char *o = out;
  const int t = s->read_off != NULL;
  switch (s->esize * 2 + (size_t)t) {
  case 2:
    cl_push_items(s, f, active, o, ready, 1, 0);
    break;
  case 3:
    cl_push_items(s, f, active, o, ready, 1, 1);
    break;
  case 4:
    cl_push_items(s, f, active, o, ready, 2, 0);
    break;
  case 5:
    cl_push_items(s, f, active, o, ready, 2, 1);
    break;
  case 8:
    cl_push_items(s, f, active, o, ready, 4, 0);
    break;
  case 9:
    cl_push_items(s, f, active, o, ready, 4, 1);
    break;
  case 16:
    cl_push_items(s, f, active, o, ready, 8, 0);
    break;
  default:
    cl_push_items(s, f, active, o, ready, 8, 1);
    break;
  }
  return CODELAY_OK;
}

/*
 * flush, one frame per call for every item (there is no `active`: flush ends the sequence).
 *
 * DELAY: emits, for each item, the D tail frames n = T + f (T frames pushed, f = 0..D-1 the
 *   flushes so far): out[k] = frame_{n-o[k]}[k] if 0 <= n - o[k] < T, else fill[k]. So T pushes
 *   and D flushes give codelay_delay(S = T + D, head = tail = fill). mask[b][k] = 1 exactly where
 *   the value is a pushed data element (0 <= n - o[k] < T), 0 where it is fill (head or tail):
 *   the "data" region of codelay_delay_regions.
 * UNDELAY: emits the aligned frames t = max(T - D, 0) + f while t < T (T delayed frames pushed):
 *   out[k] = delayed_{t+o[k]}[k] with mask 1 if t + o[k] < T, else fill[k] with mask 0. So S
 *   pushes and the flushes give codelay_undelay(T = S) with its mask.
 * Either mode: ready[b] = 1 for an emitted frame; once an item is drained, ready[b] = 0 and its out
 * and mask rows are left untouched. mask may be NULL. After a flush, push returns
 * CODELAY_ERR_STATE until codelay_stream_reset.
 */
int codelay_stream_flush(codelay_stream *s, void *out, uint8_t *mask, uint8_t *ready) {
  if (s == NULL || out == NULL || ready == NULL) return CODELAY_ERR_NULL;
  const size_t rows = s->frame_bytes * (size_t)s->batch, nb = (size_t)s->batch;
  const size_t nm = (size_t)s->streams * nb;
  if (cl_overlap(ready, nb, out, rows) ||
      (mask != NULL && (cl_overlap(mask, nm, out, rows) || cl_overlap(mask, nm, ready, nb))))
    return CODELAY_ERR_ALIAS;
  s->flushing = 1;

  const int64_t B = s->batch, K = s->streams, D = s->max_offset, R = s->ring_frames;
  const size_t es = s->esize, fb = s->frame_bytes;
  const int delay = s->mode == CODELAY_STREAM_DELAY;
  for (int64_t b = 0; b < B; b++) {
    cl_stream_item *it = &s->items[b];
    const int64_t T = it->pushed, f = it->flushed;
    int64_t base, sign;
    if (delay) {
      if (f >= D) {
        ready[b] = 0;
        continue;
      }
      base = T + f; /* delayed frame n; stream k reads aligned frame n - o[k] */
      sign = -1;
    } else {
      base = (T > D ? T - D : 0) + f; /* aligned frame t; stream k reads delayed frame t + o[k] */
      if (base >= T) {
        ready[b] = 0;
        continue;
      }
      sign = 1;
    }
    const unsigned char *ring = s->ring + (size_t)b * s->item_ring_bytes;
    unsigned char *dst = (unsigned char *)out + (size_t)b * fb;
    uint8_t *m = mask != NULL ? mask + (size_t)b * (size_t)K : NULL;
    for (int64_t k = 0; k < K; k++) {
      const int64_t idx = base + sign * s->offset[k];
      const int data = idx >= 0 && idx < T; /* idx > T - R always: still in the ring */
      const unsigned char *src =
          data ? ring + (size_t)(idx % R) * fb + (size_t)k * es : s->fill + (size_t)k * es;
      memcpy(dst + (size_t)k * es, src, es);
      if (m != NULL) m[k] = (uint8_t)data;
    }
    ready[b] = 1;
    it->flushed = f + 1;
  }
  return CODELAY_OK;
}
