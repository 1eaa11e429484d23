/*
 * codelay: the command-line tool. Applies the delay pattern to token files (.npy) in bulk:
 *
 *   codelay info
 *   codelay delay|undelay|regions|weights [options] FILE.npy... -o DIR
 *   codelay presets
 *
 * Each input is read whole, transformed by the shared library, and written to DIR under the
 * same name through a temporary file and rename(2), so an output is either complete or absent.
 * A bad input gets one line on stderr naming the file; the others are still processed and the
 * exit status is 1. Usage errors exit with 2.
 */
#define _GNU_SOURCE /* dladdr, isatty, clock_gettime, mkdir */

#include "codelay.h"
#include "npy.h"

#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_PAD_IDS 16

static const char *prog = "codelay";

/* ------------------------------------------------------------------------------------------ */
/* value lists: "1,2,3" or "nan"; integers are kept exact, floats as double                    */

typedef struct value {
  int is_int;
  long long i;
  double d;
} value;

typedef struct value_list {
  int set;
  int n;
  value *v;
} value_list;

static int parse_value(const char *s, size_t len, value *out) {
  char buf[64];
  if (len == 0 || len >= sizeof buf) return -1;
  memcpy(buf, s, len);
  buf[len] = 0;
  char *end;
  errno = 0;
  long long i = strtoll(buf, &end, 0);
  if (!*end && errno == 0) {
    out->is_int = 1;
    out->i = i;
    out->d = (double)i;
    return 0;
  }
  errno = 0;
  double d = strtod(buf, &end);
  if (*end || errno == ERANGE) return -1;
  out->is_int = 0;
  out->i = 0;
  out->d = d;
  return 0;
}

static int parse_list(const char *s, value_list *l) {
  free(l->v);
  l->v = NULL;
  l->n = 0;
  size_t cap = 1;
  for (const char *p = s; *p; p++)
    cap += *p == ',';
  l->v = calloc(cap, sizeof *l->v);
  if (!l->v) return -1;
  const char *p = s;
  for (;;) {
    const char *c = strchr(p, ',');
    size_t len = c ? (size_t)(c - p) : strlen(p);
    while (len && *p == ' ')
      p++, len--;
    if (parse_value(p, len, &l->v[l->n])) return -1;
    l->n++;
    if (!c) break;
    p = c + 1;
  }
  l->set = 1;
  return 0;
}

static void list_set(value_list *l, int n, const double *d) {
  free(l->v);
  l->v = calloc((size_t)(n ? n : 1), sizeof *l->v);
  l->n = n;
  l->set = 1;
  for (int k = 0; l->v && k < n; k++) {
    l->v[k].d = d[k];
    l->v[k].is_int = d[k] == floor(d[k]) && fabs(d[k]) < 9e15;
    l->v[k].i = l->v[k].is_int ? (long long)d[k] : 0;
  }
}

/* IEEE binary32 -> binary16 bits, round to nearest even; NaN stays NaN. */
static uint16_t f32_to_f16(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t e = (x >> 23) & 0xFFu;
  uint32_t m = x & 0x7FFFFFu;
  if (e == 0xFF) return (uint16_t)(sign | 0x7C00u | (m ? 0x200u : 0));
  int32_t ee = (int32_t)e - 127 + 15;
  if (ee >= 31) return (uint16_t)(sign | 0x7C00u);
  if (ee <= 0) {
    if (ee < -10) return (uint16_t)sign;
    m |= 0x800000u;
    uint32_t shift = (uint32_t)(14 - ee);
    uint32_t h = m >> shift;
    uint32_t rem = m & ((1u << shift) - 1);
    uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1))) h++;
    return (uint16_t)(sign | h);
  }
  uint32_t h = ((uint32_t)ee << 10) | (m >> 13);
  uint32_t rem = m & 0x1FFFu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) h++;
  return (uint16_t)(sign | h);
}

static const char *dtype_name(int32_t dt) {
  switch (dt) {
  case CODELAY_U8:
    return "uint8";
  case CODELAY_I16:
    return "int16";
  case CODELAY_I32:
    return "int32";
  case CODELAY_I64:
    return "int64";
  case CODELAY_F16:
    return "float16";
  case CODELAY_BF16:
    return "bfloat16";
  case CODELAY_F32:
    return "float32";
  default:
    return "?";
  }
}

static int dtype_is_int(int32_t dt) {
  return dt == CODELAY_U8 || dt == CODELAY_I16 || dt == CODELAY_I32 || dt == CODELAY_I64;
}

/*
 * K values of dtype dt from a list of 1 (broadcast) or K values, into out (K * size bytes).
 * Returns 0 or -1 with a message naming the option.
 */
static int list_to_fill(const value_list *l, int64_t K, int32_t dt, void *out, const char *opt,
                        char *err, size_t errlen) {
  if (l->n != 1 && l->n != K) {
    snprintf(err, errlen, "--%s has %d values; give 1 or %lld (one per stream)", opt, l->n,
             (long long)K);
    return -1;
  }
  size_t sz = npy_dtype_size(dt);
  for (int64_t k = 0; k < K; k++) {
    const value *v = &l->v[l->n == 1 ? 0 : k];
    unsigned char *dst = (unsigned char *)out + (size_t)k * sz;
    if (dtype_is_int(dt)) {
      long long x;
      if (v->is_int) {
        x = v->i;
      } else if (isfinite(v->d) && v->d == floor(v->d) && fabs(v->d) < 9.2e18) {
        x = (long long)v->d;
      } else {
        snprintf(err, errlen, "--%s value %g is not an integer (the output is %s)", opt, v->d,
                 dtype_name(dt));
        return -1;
      }
      long long lo, hi;
      switch (dt) {
      case CODELAY_U8:
        lo = 0, hi = 255;
        break;
      case CODELAY_I16:
        lo = INT16_MIN, hi = INT16_MAX;
        break;
      case CODELAY_I32:
        lo = INT32_MIN, hi = INT32_MAX;
        break;
      default:
        lo = INT64_MIN, hi = INT64_MAX;
        break;
      }
      if (x < lo || x > hi) {
        snprintf(err, errlen, "--%s value %lld does not fit %s", opt, x, dtype_name(dt));
        return -1;
      }
      if (dt == CODELAY_U8) {
        uint8_t y = (uint8_t)x;
        memcpy(dst, &y, 1);
      } else if (dt == CODELAY_I16) {
        int16_t y = (int16_t)x;
        memcpy(dst, &y, 2);
      } else if (dt == CODELAY_I32) {
        int32_t y = (int32_t)x;
        memcpy(dst, &y, 4);
      } else {
        int64_t y = (int64_t)x;
        memcpy(dst, &y, 8);
      }
    } else if (dt == CODELAY_F32) {
      float y = (float)v->d;
      memcpy(dst, &y, 4);
    } else if (dt == CODELAY_F16) {
      uint16_t y = f32_to_f16((float)v->d);
      memcpy(dst, &y, 2);
    } else {
      snprintf(err, errlen, "--%s: unsupported dtype", opt);
      return -1;
    }
  }
  return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* steps: N (absolute), +N / -N (relative to the input's steps), +D / -D (plus / minus the      */
/* pattern's max offset), +D+N ...                                                             */

typedef struct steps_rule {
  int set;
  int rel;    /* relative to the input steps */
  int with_d; /* -1, 0 or +1 times the max offset */
  int64_t n;
} steps_rule;

static int parse_steps(const char *s, steps_rule *r) {
  memset(r, 0, sizeof *r);
  r->set = 1;
  if (*s != '+' && *s != '-') {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*end || errno || v < 0) return -1;
    r->n = v;
    return 0;
  }
  r->rel = 1;
  const char *p = s;
  while (*p) {
    int sign = *p == '-' ? -1 : 1;
    if (*p != '+' && *p != '-') return -1;
    p++;
    if (*p == 'D' || *p == 'd') {
      if (r->with_d) return -1;
      r->with_d = sign;
      p++;
    } else {
      char *end;
      errno = 0;
      long long v = strtoll(p, &end, 10);
      if (end == p || errno || v < 0) return -1;
      r->n += sign * v;
      p = end;
    }
  }
  return 0;
}

static int64_t apply_steps(const steps_rule *r, int64_t base, int64_t max_offset) {
  if (!r->rel) return r->n;
  return base + r->with_d * max_offset + r->n;
}

/* ------------------------------------------------------------------------------------------ */
/* presets (SPEC section 2)                                                                    */

enum { DEL_NONE, DEL_MOSHI, DEL_RANGE, DEL_FIXED };

typedef struct preset {
  const char *name;
  const char *help;
  int tk;
  int64_t lead;
  int delays_kind;
  int group;        /* DEL_MOSHI: codebooks per audio stream */
  int64_t acoustic; /* DEL_MOSHI: delay of the non-semantic codebooks */
  const int64_t *fixed;
  int n_fixed;
  double head0, head_rest, tail0, tail_rest, fill0, fill_rest;
  const char *delay_steps, *undelay_steps;
  int logits_drop_last; /* float undelay runs with lead 0 on steps [0, S-1) (audiocraft) */
  const char *logits_steps;
  int moshi_weights;
} preset;

static const int64_t DIA_DELAYS[] = {0, 8, 9, 10, 11, 12, 13, 14, 15};

static const preset PRESETS[] = {
    {"moshi",   "Moshi training targets (_delay_sequence): text + groups of 8 codebooks, lead 0",
     0,         0,
     DEL_MOSHI, 8,
     1,         NULL,
     0,         32000,
     2048,      32000,
     2048,      32000,
     2048,      "+0",
     "+0",      0,
     NULL,      1},
    {"moshi-input",
     "Moshi model input cat(initial, delayed)[..., :-1]: as moshi with lead 1",
     0,
     1,
     DEL_MOSHI,
     8,
     1,
     NULL,
     0,
     32000,
     2048,
     32000,
     2048,
     32000,
     2048,
     "+0",
     "+0",
     0,
     NULL,
     1},
    {"dsm",     "Kyutai DSM TTS/STT: text + groups of 16 codebooks, acoustic delay 2",
     0,         0,
     DEL_MOSHI, 16,
     2,         NULL,
     0,         48000,
     2048,      48000,
     2048,      48000,
     2048,      "+0",
     "+0",      0,
     NULL,      1},
    {"hibiki",  "Hibiki: the DSM layout",
     0,         0,
     DEL_MOSHI, 16,
     2,         NULL,
     0,         48000,
     2048,      48000,
     2048,      48000,
     2048,      "+0",
     "+0",      0,
     NULL,      1},
    {"audiocraft",
     "audiocraft build/revert_pattern_sequence: delays 0..K-1, lead 1, S = T+D+1",
     0,
     1,
     DEL_RANGE,
     0,
     0,
     NULL,
     0,
     2048,
     2048,
     2048,
     2048,
     2048,
     2048,
     "+D",
     "-D",
     1,
     "-D",
     0},
    {"audiocraft-valid",
     "audiocraft with keep_only_valid_steps: S = T+1",
     0,
     1,
     DEL_RANGE,
     0,
     0,
     NULL,
     0,
     2048,
     2048,
     2048,
     2048,
     2048,
     2048,
     "+1",
     "-1",
     1,
     "+0",
     0},
    {"musicgen", "transformers MusicGen build_delay_pattern_mask: pad 2048 both ends, S = T+K",
     0,          1,
     DEL_RANGE,  0,
     0,          NULL,
     0,          2048,
     2048,       2048,
     2048,       2048,
     2048,       "+D",
     "-D",       0,
     NULL,       0},
    {"parler",  "Parler-TTS build_delay_pattern_mask: BOS 1025, PAD 1024, S = T+K",
     0,         1,
     DEL_RANGE, 0,
     0,         NULL,
     0,         1025,
     1025,      1024,
     1024,      1024,
     1024,      "+D",
     "-D",      0,
     NULL,      0},
    {"zonos",   "Zonos apply/revert_delay_pattern: mask token 1025, S = T+K",
     0,         1,
     DEL_RANGE, 0,
     0,         NULL,
     0,         1025,
     1025,      1025,
     1025,      0,
     0,         "+D",
     "-D",      0,
     NULL,      0},
    {"dia",     "Dia apply/revert_audio_delay on [B,T,C]: delays 0,8..15, BOS 1026, PAD 1025",
     1,         0,
     DEL_FIXED, 0,
     0,         DIA_DELAYS,
     9,         1026,
     1026,      1025,
     1025,      1025,
     1025,      "+0",
     "+0",      0,
     NULL,      0},
};
#define N_PRESETS (sizeof PRESETS / sizeof PRESETS[0])

static const preset *find_preset(const char *name) {
  for (size_t i = 0; i < N_PRESETS; i++)
    if (!strcmp(PRESETS[i].name, name)) return &PRESETS[i];
  if (!strcmp(name, "parler-tts")) return find_preset("parler");
  return NULL;
}

/* The preset's delays for K streams (float_undelay: Moshi logits cover the audio streams). */
static int preset_delays(const preset *p, int64_t K, int float_undelay, int64_t *d, char *err,
                         size_t errlen) {
  switch (p->delays_kind) {
  case DEL_RANGE:
    for (int64_t k = 0; k < K; k++)
      d[k] = k;
    return 0;
  case DEL_FIXED:
    if (K != p->n_fixed) {
      snprintf(err, errlen, "the %s preset needs %d streams, the file has %lld (or pass --delays)",
               p->name, p->n_fixed, (long long)K);
      return -1;
    }
    for (int64_t k = 0; k < K; k++)
      d[k] = p->fixed[k];
    return 0;
  case DEL_MOSHI:
    if (float_undelay && K <= p->group) {
      /* logits of the model's own codebooks (dep_q of them) or of the text stream (K = 1) */
      for (int64_t k = 0; k < K; k++)
        d[k] = k ? p->acoustic : 0;
      return 0;
    }
    if (K < 2 || ((K - 1) > p->group && (K - 1) % p->group)) {
      snprintf(err, errlen,
               "the %s preset expects text + groups of %d codebooks, the file has %lld streams "
               "(or pass --delays)",
               p->name, p->group, (long long)K);
      return -1;
    }
    d[0] = 0;
    for (int64_t k = 1; k < K; k++)
      d[k] = ((k - 1) % p->group) ? p->acoustic : 0;
    return 0;
  default:
    return -1;
  }
}

/* ------------------------------------------------------------------------------------------ */
/* options                                                                                     */

enum { CMD_DELAY, CMD_UNDELAY, CMD_REGIONS, CMD_WEIGHTS };
static const char *CMD_NAMES[] = {"delay", "undelay", "regions", "weights"};

typedef struct options {
  int cmd;
  const preset *preset;
  int64_t *delays;
  int n_delays;
  int lead_set;
  int64_t lead;
  steps_rule steps;
  value_list head, tail, fill, stream_weight, pad_weight, pad_ids;
  int ignore_set;
  int64_t ignore_id;
  int layout_set;
  int tk;
  int32_t out_dtype;
  int mask;
  const char *outdir;
  int quiet;
  char **files;
  int n_files;
} options;

static void usage(FILE *f) {
  fprintf(f,
          "usage: codelay info\n"
          "       codelay presets\n"
          "       codelay delay|undelay|regions|weights [options] FILE.npy... -o DIR\n"
          "\n"
          "Arrays are [K,T], [B,K,T] or [B,K,T,V] (layout kt), or [T,K], [B,T,K], [B,T,K,V] (tk).\n"
          "  delay    [B,K,T] -> [B,K,S]: stream k shifted right by lead + delays[k]\n"
          "  undelay  [B,K,S] -> [B,K,T] plus NAME.mask.npy (bool: where data came)\n"
          "  regions  the delayed layout of each input: uint8 0 head, 1 data, 2 tail\n"
          "  weights  float32 loss weights of aligned tokens plus NAME.sums.npy (float64 [K])\n"
          "\n"
          "options:\n"
          "  -o, --output DIR     where to write (created if missing); outputs keep input names\n"
          "  --preset NAME        a system's convention (codelay presets lists them)\n"
          "  --delays LIST        per-stream delays, e.g. 0,0,1,1,1\n"
          "  --lead N             common extra shift (default 0)\n"
          "  --steps N|+N|-N|+D|-D  output steps: absolute, relative to the input, or the input\n"
          "                       plus/minus the max offset (lead + max delay); default: same\n"
          "  --head LIST, --tail LIST   delay fills: 1 value or K values (tail defaults to head)\n"
          "  --fill LIST          undelay fill (default 0, NaN for float inputs)\n"
          "  --layout kt|tk       stream-major (default) or time-major (Dia's [B,T,C])\n"
          "  --dtype NAME         output dtype for integer data: int16, int32, int64, uint8\n"
          "  --no-mask            undelay: do not write NAME.mask.npy\n"
          "  --stream-weight LIST, --pad-weight LIST, --pad-ids LIST, --ignore-id N   (weights)\n"
          "  --backend NAME       scalar, sse41, avx2, avx512, neon or auto\n"
          "  -q, --quiet          no progress line\n");
}

static int die_usage(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "%s: ", prog);
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, " (see codelay --help)\n");
  va_end(ap);
  return 2;
}

static int32_t parse_dtype(const char *s) {
  if (!strcmp(s, "int16") || !strcmp(s, "i16")) return CODELAY_I16;
  if (!strcmp(s, "int32") || !strcmp(s, "i32")) return CODELAY_I32;
  if (!strcmp(s, "int64") || !strcmp(s, "i64")) return CODELAY_I64;
  if (!strcmp(s, "uint8") || !strcmp(s, "u8")) return CODELAY_U8;
  return 0;
}

/* Returns 0, or an exit status for main. */
static int parse_options(int argc, char **argv, options *o) {
  o->mask = 1;
  o->files = calloc((size_t)argc, sizeof *o->files);
  if (!o->files) return die_usage("out of memory");
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    const char *val = NULL;
    char name[64] = "";
    if (a[0] == '-' && a[1] == '-' && a[2]) {
      const char *eq = strchr(a, '=');
      size_t n = eq ? (size_t)(eq - a) : strlen(a);
      if (n >= sizeof name) return die_usage("unknown option %s", a);
      memcpy(name, a, n);
      name[n] = 0;
      if (eq) val = eq + 1;
    } else if (!strcmp(a, "-o") || !strcmp(a, "-q") || !strcmp(a, "-h")) {
      snprintf(name, sizeof name, "%s", a);
    } else if (!strcmp(a, "--")) {
      for (i++; i < argc; i++)
        o->files[o->n_files++] = argv[i];
      break;
    } else {
      o->files[o->n_files++] = argv[i];
      continue;
    }
    int flag = !strcmp(name, "-q") || !strcmp(name, "--quiet") || !strcmp(name, "--no-mask") ||
               !strcmp(name, "-h") || !strcmp(name, "--help");
    if (!flag && !val) {
      if (i + 1 >= argc) return die_usage("%s needs a value", name);
      val = argv[++i];
    }
    if (!strcmp(name, "-h") || !strcmp(name, "--help")) {
      usage(stdout);
      exit(0);
    } else if (!strcmp(name, "-q") || !strcmp(name, "--quiet")) {
      o->quiet = 1;
    } else if (!strcmp(name, "--no-mask")) {
      o->mask = 0;
    } else if (!strcmp(name, "-o") || !strcmp(name, "--output")) {
      o->outdir = val;
    } else if (!strcmp(name, "--preset")) {
      o->preset = find_preset(val);
      if (!o->preset) return die_usage("unknown preset '%s' (codelay presets lists them)", val);
    } else if (!strcmp(name, "--delays")) {
      value_list l = {0};
      if (parse_list(val, &l)) return die_usage("--delays: bad list '%s'", val);
      free(o->delays);
      o->delays = calloc((size_t)l.n, sizeof *o->delays);
      o->n_delays = l.n;
      for (int k = 0; k < l.n; k++) {
        if (!l.v[k].is_int || l.v[k].i < 0) {
          free(l.v);
          return die_usage("--delays: '%s' is not a list of integers >= 0", val);
        }
        o->delays[k] = l.v[k].i;
      }
      free(l.v);
    } else if (!strcmp(name, "--lead")) {
      value v;
      if (parse_value(val, strlen(val), &v) || !v.is_int || v.i < 0)
        return die_usage("--lead: '%s' is not an integer >= 0", val);
      o->lead_set = 1;
      o->lead = v.i;
    } else if (!strcmp(name, "--steps")) {
      if (parse_steps(val, &o->steps))
        return die_usage("--steps: '%s' is not N, +N, -N, +D or -D", val);
    } else if (!strcmp(name, "--head") || !strcmp(name, "--tail") || !strcmp(name, "--fill") ||
               !strcmp(name, "--stream-weight") || !strcmp(name, "--pad-weight") ||
               !strcmp(name, "--pad-ids")) {
      value_list *l = !strcmp(name, "--head")            ? &o->head
                      : !strcmp(name, "--tail")          ? &o->tail
                      : !strcmp(name, "--fill")          ? &o->fill
                      : !strcmp(name, "--stream-weight") ? &o->stream_weight
                      : !strcmp(name, "--pad-weight")    ? &o->pad_weight
                                                         : &o->pad_ids;
      if (parse_list(val, l)) return die_usage("%s: bad list '%s'", name, val);
      if (l == &o->pad_ids) {
        if (l->n > MAX_PAD_IDS) return die_usage("--pad-ids: at most %d ids", MAX_PAD_IDS);
        for (int k = 0; k < l->n; k++)
          if (!l->v[k].is_int) return die_usage("--pad-ids: '%s' is not a list of integers", val);
      }
    } else if (!strcmp(name, "--ignore-id")) {
      value v;
      if (parse_value(val, strlen(val), &v) || !v.is_int)
        return die_usage("--ignore-id: '%s' is not an integer", val);
      o->ignore_set = 1;
      o->ignore_id = v.i;
    } else if (!strcmp(name, "--layout")) {
      if (strcmp(val, "kt") && strcmp(val, "tk"))
        return die_usage("--layout: '%s' is not kt or tk", val);
      o->layout_set = 1;
      o->tk = !strcmp(val, "tk");
    } else if (!strcmp(name, "--dtype")) {
      o->out_dtype = parse_dtype(val);
      if (!o->out_dtype) return die_usage("--dtype: '%s' is not int16, int32, int64 or uint8", val);
    } else if (!strcmp(name, "--backend")) {
      int st = codelay_backend_select(val);
      if (st) return die_usage("--backend %s: %s", val, codelay_status_string(st));
    } else {
      return die_usage("unknown option %s", name);
    }
  }
  if (!o->outdir) return die_usage("%s needs -o DIR", CMD_NAMES[o->cmd]);
  if (!o->n_files) return die_usage("%s needs at least one input file", CMD_NAMES[o->cmd]);
  if (!o->preset && !o->delays) return die_usage("give --delays LIST or --preset NAME");
  if (o->preset && !o->layout_set) o->tk = o->preset->tk;
  return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* files                                                                                       */

static int mkdirs(const char *dir) {
  char buf[4096];
  size_t n = strlen(dir);
  if (n >= sizeof buf) return -1;
  memcpy(buf, dir, n + 1);
  for (size_t i = 1; i <= n; i++) {
    if (buf[i] == '/' || buf[i] == 0) {
      char c = buf[i];
      buf[i] = 0;
      if (mkdir(buf, 0777) && errno != EEXIST) return -1;
      buf[i] = c;
    }
  }
  struct stat st;
  return stat(dir, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : -1;
}

static const char *base_name(const char *path) {
  const char *s = strrchr(path, '/');
  return s ? s + 1 : path;
}

/* DIR/<stem><suffix>, stem = base name without a trailing ".npy". */
static void out_path(char *dst, size_t len, const char *dir, const char *input,
                     const char *suffix) {
  const char *b = base_name(input);
  size_t n = strlen(b);
  if (n > 4 && !strcmp(b + n - 4, ".npy")) n -= 4;
  snprintf(dst, len, "%s/%.*s%s", dir, (int)n, b, suffix);
}

/* The array as [B][K][steps][inner] with element strides (C or Fortran order, any layout). */
typedef struct shaped {
  int64_t B, K, T, V;
  int64_t stride[3];
  int nd;
} shaped;

static int shape_of(const npy_array *a, int tk, int allow_inner, shaped *s, char *err,
                    size_t errlen) {
  int nd = a->ndim;
  if (nd < 2 || nd > (allow_inner ? 4 : 3)) {
    snprintf(err, errlen, "wrong rank %d: expected %s", nd,
             allow_inner ? (tk ? "[T,K], [B,T,K] or [B,T,K,V]" : "[K,T], [B,K,T] or [B,K,T,V]")
                         : (tk ? "[T,K] or [B,T,K]" : "[K,T] or [B,K,T]"));
    return -1;
  }
  int64_t st[4];
  if (a->fortran) {
    int64_t acc = 1;
    for (int i = 0; i < nd; i++)
      st[i] = acc, acc *= a->shape[i];
  } else {
    int64_t acc = 1;
    for (int i = nd - 1; i >= 0; i--)
      st[i] = acc, acc *= a->shape[i];
  }
  if (nd == 4 && a->shape[3] > 1 && st[3] != 1) {
    snprintf(err, errlen, "Fortran-order logits are not supported (save in C order)");
    return -1;
  }
  s->nd = nd;
  int64_t sh[4];
  int64_t ss[4];
  if (nd == 2) {
    sh[0] = 1, ss[0] = 0;
    sh[1] = a->shape[0], ss[1] = st[0];
    sh[2] = a->shape[1], ss[2] = st[1];
  } else {
    for (int i = 0; i < 3; i++)
      sh[i] = a->shape[i], ss[i] = st[i];
  }
  s->B = sh[0];
  s->V = nd == 4 ? a->shape[3] : 1;
  s->stride[0] = ss[0];
  if (tk) {
    s->T = sh[1], s->K = sh[2];
    s->stride[1] = ss[2], s->stride[2] = ss[1];
  } else {
    s->K = sh[1], s->T = sh[2];
    s->stride[1] = ss[1], s->stride[2] = ss[2];
  }
  if (s->K < 1) {
    snprintf(err, errlen, "no streams (K = 0)");
    return -1;
  }
  if (s->K > (1 << 20)) {
    snprintf(err, errlen, "%lld streams: more than codelay's tool handles (2^20)", (long long)s->K);
    return -1;
  }
  return 0;
}

static codelay_view make_view(void *data, int32_t dt, const shaped *s) {
  codelay_view v;
  memset(&v, 0, sizeof v);
  v.data = data;
  v.dtype = dt;
  v.batch = s->B;
  v.streams = s->K;
  v.steps = s->T;
  v.inner = s->V;
  v.stride[0] = s->stride[0];
  v.stride[1] = s->stride[1];
  v.stride[2] = s->stride[2];
  return v;
}

/* Elements of an output shape; 0 with *ok = 0 when the byte size would not fit size_t. */
static size_t elements(const int64_t *shape, int nd, size_t esize, int *ok) {
  size_t n = 1;
  *ok = 1;
  for (int i = 0; i < nd; i++) {
    uint64_t d = (uint64_t)shape[i];
    if (shape[i] < 0 || (d && n > SIZE_MAX / d)) {
      *ok = 0;
      return 0;
    }
    n *= (size_t)d;
  }
  if (esize && n > SIZE_MAX / esize) *ok = 0;
  return *ok ? n : 0;
}

/* Output shape in the file's rank and layout, with `steps` steps. */
static int out_shape(const shaped *s, int tk, int64_t steps, int keep_inner, int64_t *shape) {
  int nd = s->nd == 4 && !keep_inner ? 3 : s->nd;
  int i = 0;
  if (nd >= 3) shape[i++] = s->B;
  if (tk) {
    shape[i++] = steps;
    shape[i++] = s->K;
  } else {
    shape[i++] = s->K;
    shape[i++] = steps;
  }
  if (nd == 4) shape[i++] = s->V;
  return nd;
}

/* ------------------------------------------------------------------------------------------ */
/* one file                                                                                    */

typedef struct job_result {
  size_t bytes_in, bytes_out;
} job_result;

static int fail(const char *file, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "%s: %s: ", prog, file);
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  return -1;
}

static int process(const options *o, const char *file, job_result *res) {
  char err[512];
  npy_array a;
  if (npy_read(file, &a, err, sizeof err)) return fail(file, "%s", err);
  int rc = -1;
  codelay_pattern *pat = NULL;
  int64_t *delays = NULL;
  void *out = NULL, *mask = NULL, *fills = NULL;
  double *sums = NULL;
  char tmp1[4400] = "", tmp2[4400] = "";
  char path1[4300], path2[4300];
  res->bytes_in = a.count * a.itemsize;

  int cmd = o->cmd;
  shaped s;
  if (shape_of(&a, o->tk, cmd == CMD_DELAY || cmd == CMD_UNDELAY || cmd == CMD_REGIONS, &s, err,
               sizeof err)) {
    fail(file, "%s", err);
    goto done;
  }
  int is_float = !dtype_is_int(a.dtype);
  if (cmd == CMD_WEIGHTS && is_float) {
    fail(file, "weights need integer tokens, the file holds %s", dtype_name(a.dtype));
    goto done;
  }
  int float_undelay = cmd == CMD_UNDELAY && is_float;

  /* the pattern */
  delays = calloc((size_t)s.K, sizeof *delays);
  if (!delays) {
    fail(file, "out of memory");
    goto done;
  }
  if (o->delays) {
    if (o->n_delays != s.K) {
      fail(file, "has %lld streams but --delays gives %d", (long long)s.K, o->n_delays);
      goto done;
    }
    memcpy(delays, o->delays, (size_t)s.K * sizeof *delays);
  } else if (preset_delays(o->preset, s.K, float_undelay, delays, err, sizeof err)) {
    fail(file, "%s", err);
    goto done;
  }
  int64_t lead = o->lead_set ? o->lead : o->preset ? o->preset->lead : 0;
  int64_t src_steps = s.T;
  const char *rule = NULL;
  if (o->preset) {
    rule = cmd == CMD_UNDELAY ? o->preset->undelay_steps : o->preset->delay_steps;
    if (cmd == CMD_WEIGHTS) rule = "+0";
    if (float_undelay && o->preset->logits_drop_last && !o->lead_set) {
      /* audiocraft's revert_pattern_logits: output s predicts s + 1 */
      lead = 0;
      if (src_steps > 0) src_steps--;
      rule = o->preset->logits_steps;
    }
  }
  int st = codelay_pattern_create(&pat, s.K, delays, lead);
  if (st) {
    fail(file, "bad pattern: %s", codelay_status_string(st));
    goto done;
  }
  int64_t D = codelay_pattern_max_offset(pat);
  steps_rule def = {1, 1, 0, 0};
  if (rule) parse_steps(rule, &def);
  const steps_rule *r = o->steps.set ? &o->steps : &def;
  int64_t steps = apply_steps(r, src_steps, D);
  if (steps < 0) {
    fail(file, "%lld steps with --steps gives %lld output steps", (long long)s.T, (long long)steps);
    goto done;
  }

  int32_t odt = a.dtype;
  if (o->out_dtype && (cmd == CMD_DELAY || cmd == CMD_UNDELAY)) {
    if (is_float) {
      fail(file, "--dtype applies to integer data, the file holds %s", dtype_name(a.dtype));
      goto done;
    }
    odt = o->out_dtype;
  }
  codelay_view src = make_view(a.data, a.dtype, &s);
  src.steps = src_steps;
  int64_t oshape[4];
  int ond;

  if (cmd == CMD_DELAY || cmd == CMD_UNDELAY) {
    size_t esz = npy_dtype_size(odt);
    fills = calloc((size_t)s.K * 2, esz);
    if (!fills) {
      fail(file, "out of memory");
      goto done;
    }
    value_list dflt = {0};
    double *tmpd = calloc((size_t)s.K, sizeof *tmpd);
    if (!tmpd) {
      fail(file, "out of memory");
      goto done;
    }
    int bad = 0;
    if (cmd == CMD_DELAY) {
      const value_list *h = &o->head, *t = o->tail.set ? &o->tail : &o->head;
      value_list ph = {0}, pt = {0};
      if (!o->head.set) {
        for (int64_t k = 0; k < s.K; k++)
          tmpd[k] = o->preset ? (k ? o->preset->head_rest : o->preset->head0) : 0;
        list_set(&ph, (int)s.K, tmpd);
        h = &ph;
      }
      if (!o->tail.set) {
        if (o->head.set || !o->preset) {
          t = h;
        } else {
          for (int64_t k = 0; k < s.K; k++)
            tmpd[k] = k ? o->preset->tail_rest : o->preset->tail0;
          list_set(&pt, (int)s.K, tmpd);
          t = &pt;
        }
      }
      bad = list_to_fill(h, s.K, odt, fills, "head", err, sizeof err) ||
            list_to_fill(t, s.K, odt, (char *)fills + (size_t)s.K * esz, "tail", err, sizeof err);
      free(ph.v);
      free(pt.v);
    } else {
      const value_list *f = &o->fill;
      if (!o->fill.set) {
        for (int64_t k = 0; k < s.K; k++)
          tmpd[k] = is_float ? NAN : o->preset ? (k ? o->preset->fill_rest : o->preset->fill0) : 0;
        list_set(&dflt, (int)s.K, tmpd);
        f = &dflt;
      }
      bad = list_to_fill(f, s.K, odt, fills, "fill", err, sizeof err);
    }
    free(tmpd);
    free(dflt.v);
    if (bad) {
      fail(file, "%s", err);
      goto done;
    }
    ond = out_shape(&s, o->tk, steps, 1, oshape);
    int fits;
    size_t count = elements(oshape, ond, esz, &fits);
    if (!fits) {
      fail(file, "the output would be too large");
      goto done;
    }
    out = malloc(count * esz > 0 ? count * esz : 1);
    if (!out) {
      fail(file, "out of memory");
      goto done;
    }
    codelay_view dst = o->tk ? codelay_view_tk(out, odt, s.B, s.K, steps, s.V)
                             : codelay_view_kt(out, odt, s.B, s.K, steps, s.V);
    if (cmd == CMD_DELAY) {
      st = codelay_delay(pat, &src, &dst, fills, (char *)fills + (size_t)s.K * esz, NULL);
    } else {
      const int64_t cells[3] = {s.B, s.K, steps}; /* the mask has no inner axis */
      size_t mcount = elements(cells, 3, 1, &fits);
      codelay_view mv;
      if (o->mask) {
        mask = malloc(mcount ? mcount : 1);
        if (!mask) {
          fail(file, "out of memory");
          goto done;
        }
        mv = o->tk ? codelay_view_tk(mask, CODELAY_U8, s.B, s.K, steps, 1)
                   : codelay_view_kt(mask, CODELAY_U8, s.B, s.K, steps, 1);
      }
      st = codelay_undelay(pat, &src, &dst, fills, NULL, o->mask ? &mv : NULL);
    }
    if (st) {
      fail(file, "%s failed: %s", CMD_NAMES[cmd], codelay_status_string(st));
      goto done;
    }
    out_path(path1, sizeof path1, o->outdir, file, ".npy");
    if (npy_write_temp(path1, tmp1, sizeof tmp1, odt, 0, ond, oshape, out, err, sizeof err)) {
      tmp1[0] = 0;
      fail(file, "%s", err);
      goto done;
    }
    res->bytes_out = count * esz;
    if (mask) {
      int64_t mshape[4];
      int mnd = out_shape(&s, o->tk, steps, 0, mshape);
      out_path(path2, sizeof path2, o->outdir, file, ".mask.npy");
      if (npy_write_temp(path2, tmp2, sizeof tmp2, CODELAY_U8, 1, mnd, mshape, mask, err,
                         sizeof err)) {
        tmp2[0] = 0;
        fail(file, "%s", err);
        goto done;
      }
    }
  } else if (cmd == CMD_REGIONS) {
    ond = out_shape(&s, o->tk, steps, 0, oshape);
    int fits;
    size_t count = elements(oshape, ond, 1, &fits);
    if (!fits) {
      fail(file, "the output would be too large");
      goto done;
    }
    out = malloc(count ? count : 1);
    if (!out) {
      fail(file, "out of memory");
      goto done;
    }
    codelay_view rv = o->tk ? codelay_view_tk(out, CODELAY_U8, s.B, s.K, steps, 1)
                            : codelay_view_kt(out, CODELAY_U8, s.B, s.K, steps, 1);
    st = codelay_delay_regions(pat, s.T, NULL, &rv);
    if (st) {
      fail(file, "regions failed: %s", codelay_status_string(st));
      goto done;
    }
    out_path(path1, sizeof path1, o->outdir, file, ".npy");
    if (npy_write_temp(path1, tmp1, sizeof tmp1, CODELAY_U8, 0, ond, oshape, out, err,
                       sizeof err)) {
      tmp1[0] = 0;
      fail(file, "%s", err);
      goto done;
    }
    res->bytes_out = count;
  } else { /* weights */
    float *sw = calloc((size_t)s.K * 2, sizeof *sw);
    int64_t ids[MAX_PAD_IDS];
    codelay_weight_spec spec;
    memset(&spec, 0, sizeof spec);
    if (!sw) {
      fail(file, "out of memory");
      goto done;
    }
    fills = sw; /* freed at done */
    int moshi = o->preset && o->preset->moshi_weights;
    if (o->stream_weight.set) {
      if (list_to_fill(&o->stream_weight, s.K, CODELAY_F32, sw, "stream-weight", err, sizeof err)) {
        fail(file, "%s", err);
        goto done;
      }
      spec.stream_weight = sw;
    } else if (moshi) { /* moshi-finetune: first audio codebook x100 */
      for (int64_t k = 0; k < s.K; k++)
        sw[k] = k == 1 ? 100.0f : 1.0f;
      spec.stream_weight = sw;
    }
    if (o->pad_weight.set) {
      if (list_to_fill(&o->pad_weight, s.K, CODELAY_F32, sw + s.K, "pad-weight", err, sizeof err)) {
        fail(file, "%s", err);
        goto done;
      }
      spec.pad_weight = sw + s.K;
    } else if (moshi) { /* text PAD / EPAD weigh 0.5 */
      for (int64_t k = 0; k < s.K; k++)
        sw[s.K + k] = k == 0 ? 0.5f : 1.0f;
      spec.pad_weight = sw + s.K;
    }
    if (o->pad_ids.set) {
      for (int k = 0; k < o->pad_ids.n; k++)
        ids[k] = o->pad_ids.v[k].i;
      spec.pad_ids = ids;
      spec.n_pad_ids = o->pad_ids.n;
    } else if (moshi) {
      ids[0] = 3, ids[1] = 0;
      spec.pad_ids = ids;
      spec.n_pad_ids = 2;
    }
    if (o->ignore_set) {
      spec.use_ignore_id = 1;
      spec.ignore_id = o->ignore_id;
    } else if (moshi) {
      spec.use_ignore_id = 1;
      spec.ignore_id = -1;
    }
    ond = out_shape(&s, o->tk, s.T, 0, oshape);
    int fits;
    size_t count = elements(oshape, ond, 4, &fits);
    if (!fits) {
      fail(file, "the output would be too large");
      goto done;
    }
    out = malloc(count > 0 ? count * 4 : 1);
    sums = calloc((size_t)s.K, sizeof *sums);
    if (!out || !sums) {
      fail(file, "out of memory");
      goto done;
    }
    codelay_view wv = o->tk ? codelay_view_tk(out, CODELAY_F32, s.B, s.K, s.T, 1)
                            : codelay_view_kt(out, CODELAY_F32, s.B, s.K, s.T, 1);
    st = codelay_loss_weights(pat, &src, steps, NULL, &spec, &wv, sums);
    if (st) {
      fail(file, "weights failed: %s", codelay_status_string(st));
      goto done;
    }
    out_path(path1, sizeof path1, o->outdir, file, ".npy");
    if (npy_write_temp(path1, tmp1, sizeof tmp1, CODELAY_F32, 0, ond, oshape, out, err,
                       sizeof err)) {
      tmp1[0] = 0;
      fail(file, "%s", err);
      goto done;
    }
    int64_t kshape[1] = {s.K};
    out_path(path2, sizeof path2, o->outdir, file, ".sums.npy");
    if (npy_write_temp(path2, tmp2, sizeof tmp2, NPY_F64, 0, 1, kshape, sums, err, sizeof err)) {
      tmp2[0] = 0;
      fail(file, "%s", err);
      goto done;
    }
    res->bytes_out = count * 4;
  }

  /* everything is written: move the outputs into place together */
  if (npy_commit(tmp1, path1, err, sizeof err)) {
    tmp1[0] = 0;
    fail(file, "%s", err);
    goto done;
  }
  tmp1[0] = 0;
  if (tmp2[0]) {
    if (npy_commit(tmp2, path2, err, sizeof err)) {
      tmp2[0] = 0;
      unlink(path1); /* all or nothing */
      fail(file, "%s", err);
      goto done;
    }
    tmp2[0] = 0;
  }
  rc = 0;
done:
  if (tmp1[0]) npy_discard(tmp1);
  if (tmp2[0]) npy_discard(tmp2);
  codelay_pattern_destroy(pat);
  free(delays);
  free(out);
  free(mask);
  free(fills);
  free(sums);
  npy_free(&a);
  return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* info                                                                                        */

static void cpu_features(char *buf, size_t len) {
  buf[0] = 0;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  snprintf(buf, len, "x86-64%s%s%s%s%s", __builtin_cpu_supports("sse4.1") ? " sse4.1" : "",
           __builtin_cpu_supports("avx2") ? " avx2" : "",
           __builtin_cpu_supports("avx512f") ? " avx512f" : "",
           __builtin_cpu_supports("avx512bw") ? " avx512bw" : "",
           __builtin_cpu_supports("avx512vl") ? " avx512vl" : "");
#elif defined(__aarch64__)
  snprintf(buf, len, "aarch64 neon");
#else
  snprintf(buf, len, "unknown");
#endif
}

static int cmd_info(void) {
  uint32_t v = codelay_version();
  printf("codelay %u.%u.%u (tool built against %d.%d.%d)\n", v >> 16, (v >> 8) & 255u, v & 255u,
         CODELAY_VERSION_MAJOR, CODELAY_VERSION_MINOR, CODELAY_VERSION_PATCH);
  Dl_info dl;
  if (dladdr((void *)(uintptr_t)&codelay_version, &dl) && dl.dli_fname)
    printf("library:   %s\n", dl.dli_fname);
  char cpu[256];
  cpu_features(cpu, sizeof cpu);
  printf("cpu:       %s\n", cpu);
  printf("compiled: ");
  printf(" scalar");
#ifdef CODELAY_HAVE_SSE41
  printf(" sse41");
#endif
#ifdef CODELAY_HAVE_AVX2
  printf(" avx2");
#endif
#ifdef CODELAY_HAVE_AVX512
  printf(" avx512");
#endif
#ifdef CODELAY_HAVE_NEON
#if defined(__aarch64__)
  printf(" neon");
#else
  printf(" neon(SIMDe)");
#endif
#endif
  printf("\nsupported:");
  static const char *names[] = {"scalar", "sse41", "avx2", "avx512", "neon"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (codelay_backend_supported(names[i]) == 1) printf(" %s", names[i]);
  printf("\nactive:    %s", codelay_backend_name());
  const char *env = getenv("CODELAY_BACKEND");
  if (env && *env) printf(" (CODELAY_BACKEND=%s)", env);
  printf("\n");
  return 0;
}

static int cmd_presets(void) {
  for (size_t i = 0; i < N_PRESETS; i++)
    printf("%-17s %s\n", PRESETS[i].name, PRESETS[i].help);
  return 0;
}

/* ------------------------------------------------------------------------------------------ */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  const char *c = argv[1];
  if (!strcmp(c, "-h") || !strcmp(c, "--help") || !strcmp(c, "help")) {
    usage(stdout);
    return 0;
  }
  if (!strcmp(c, "--version") || !strcmp(c, "version")) {
    uint32_t v = codelay_version();
    printf("codelay %u.%u.%u\n", v >> 16, (v >> 8) & 255u, v & 255u);
    return 0;
  }
  if (!strcmp(c, "info")) return cmd_info();
  if (!strcmp(c, "presets")) return cmd_presets();
  options o;
  memset(&o, 0, sizeof o);
  o.cmd = -1;
  for (int i = 0; i < 4; i++)
    if (!strcmp(c, CMD_NAMES[i])) o.cmd = i;
  if (o.cmd < 0) return die_usage("unknown command '%s'", c);
  int rc = parse_options(argc, argv, &o);
  if (rc) return rc;
  /* two inputs with one name would overwrite each other's output */
  for (int i = 0; i < o.n_files; i++)
    for (int j = 0; j < i; j++)
      if (!strcmp(base_name(o.files[i]), base_name(o.files[j])))
        return die_usage("inputs %s and %s would write the same output", o.files[j], o.files[i]);
  if (mkdirs(o.outdir)) {
    fprintf(stderr, "%s: %s: cannot create the output directory: %s\n", prog, o.outdir,
            strerror(errno));
    return 1;
  }
  int tty = isatty(2);
  double t0 = now_s();
  size_t in_bytes = 0, out_bytes = 0;
  int failed = 0;
  for (int i = 0; i < o.n_files; i++) {
    if (tty && !o.quiet)
      fprintf(stderr, "\r%s %s: %d/%d %s\033[K", prog, CMD_NAMES[o.cmd], i + 1, o.n_files,
              base_name(o.files[i]));
    job_result r = {0, 0};
    if (process(&o, o.files[i], &r)) {
      failed++;
    } else {
      in_bytes += r.bytes_in;
      out_bytes += r.bytes_out;
    }
  }
  double dt = now_s() - t0;
  if (!o.quiet)
    fprintf(stderr, "%s%s %s: %d/%d files -> %s, %d failed, %.1f MB in %.3f s (%s)\n",
            tty ? "\r\033[K" : "", prog, CMD_NAMES[o.cmd], o.n_files - failed, o.n_files, o.outdir,
            failed, (double)(in_bytes + out_bytes) / 1e6, dt, codelay_backend_name());
  free(o.files);
  free(o.delays);
  free(o.head.v);
  free(o.tail.v);
  free(o.fill.v);
  free(o.stream_weight.v);
  free(o.pad_weight.v);
  free(o.pad_ids.v);
  return failed ? 1 : 0;
}
