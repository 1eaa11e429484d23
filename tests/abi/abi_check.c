/*
 * ABI check against the public header and the shared library only.
 *
 *   abi_check --print       prints this build's ABI description (struct sizes and offsets, enum
 *                           values, the ABI major), one fact per line
 *   abi_check --version     prints the loaded library's codelay_version() as X.Y.Z
 *   abi_check FILE          compares that description with FILE (tests/abi/codelay.abi, the
 *                           stored ABI; its "symbol" lines are checked by scripts/test-abi.sh
 *                           against `nm -D`), and runs the runtime checks below
 *
 * The function pointer table makes every prototype part of the check: a changed parameter or
 * return type is an incompatible pointer assignment, which -Werror turns into a build failure.
 * Runtime: codelay_version() equals the header macros, status strings exist, the view
 * constructors give the documented strides.
 */
#include "codelay.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every exported function, with the exact type the stored ABI promises. */
static const struct {
  uint32_t (*version)(void);
  const char *(*status_string)(int);
  codelay_view (*view_kt)(void *, int32_t, int64_t, int64_t, int64_t, int64_t);
  codelay_view (*view_tk)(void *, int32_t, int64_t, int64_t, int64_t, int64_t);
  int (*pattern_create)(codelay_pattern **, int64_t, const int64_t *, int64_t);
  void (*pattern_destroy)(codelay_pattern *);
  int64_t (*pattern_max_offset)(const codelay_pattern *);
  int (*delay)(const codelay_pattern *, const codelay_view *, const codelay_view *, const void *,
               const void *, const int64_t *);
  int (*undelay)(const codelay_pattern *, const codelay_view *, const codelay_view *, const void *,
                 const int64_t *, const codelay_view *);
  int (*delay_regions)(const codelay_pattern *, int64_t, const int64_t *, const codelay_view *);
  int (*loss_weights)(const codelay_pattern *, const codelay_view *, int64_t, const int64_t *,
                      const codelay_weight_spec *, const codelay_view *, double *);
  int (*stream_create)(codelay_stream **, const codelay_pattern *, int32_t, int32_t, int64_t,
                       const void *);
  void (*stream_destroy)(codelay_stream *);
  int (*stream_push)(codelay_stream *, const void *, const uint8_t *, void *, uint8_t *);
  int (*stream_flush)(codelay_stream *, void *, uint8_t *, uint8_t *);
  int (*stream_reset)(codelay_stream *);
  const char *(*backend_name)(void);
  int (*backend_select)(const char *);
  int (*backend_supported)(const char *);
} api = {codelay_version,
         codelay_status_string,
         codelay_view_kt,
         codelay_view_tk,
         codelay_pattern_create,
         codelay_pattern_destroy,
         codelay_pattern_max_offset,
         codelay_delay,
         codelay_undelay,
         codelay_delay_regions,
         codelay_loss_weights,
         codelay_stream_create,
         codelay_stream_destroy,
         codelay_stream_push,
         codelay_stream_flush,
         codelay_stream_reset,
         codelay_backend_name,
         codelay_backend_select,
         codelay_backend_supported};

/* The description is built in memory: one line per fact. */
static char desc[8192];
static size_t desc_len;

static void add(const char *fmt, const char *a, const char *b, long long v) {
  int n = b ? snprintf(desc + desc_len, sizeof desc - desc_len, fmt, a, b, v)
            : snprintf(desc + desc_len, sizeof desc - desc_len, fmt, a, v);
  if (n < 0 || (size_t)n >= sizeof desc - desc_len) {
    fprintf(stderr, "abi_check: description buffer too small\n");
    exit(2);
  }
  desc_len += (size_t)n;
}

#define SIZE(T)     add("sizeof %s %lld\n", #T, NULL, (long long)sizeof(T))
#define ALIGN(T)    add("alignof %s %lld\n", #T, NULL, (long long)_Alignof(T))
#define OFF(T, m)   add("offsetof %s %s %lld\n", #T, #m, (long long)offsetof(T, m))
#define MSIZE(T, m) add("membersize %s %s %lld\n", #T, #m, (long long)sizeof(((T *)0)->m))
#define ENUMV(e)    add("enum %s %lld\n", #e, NULL, (long long)(e))

static void describe(void) {
  add("pointer_bits %s%lld\n", "", NULL, (long long)(8 * sizeof(void *)));
  SIZE(codelay_view);
  ALIGN(codelay_view);
  OFF(codelay_view, data);
  OFF(codelay_view, dtype);
  OFF(codelay_view, flags);
  OFF(codelay_view, batch);
  OFF(codelay_view, streams);
  OFF(codelay_view, steps);
  OFF(codelay_view, inner);
  OFF(codelay_view, stride);
  MSIZE(codelay_view, dtype);
  MSIZE(codelay_view, flags);
  MSIZE(codelay_view, batch);
  MSIZE(codelay_view, stride);
  SIZE(codelay_weight_spec);
  ALIGN(codelay_weight_spec);
  OFF(codelay_weight_spec, stream_weight);
  OFF(codelay_weight_spec, pad_weight);
  OFF(codelay_weight_spec, pad_ids);
  OFF(codelay_weight_spec, n_pad_ids);
  OFF(codelay_weight_spec, use_ignore_id);
  OFF(codelay_weight_spec, ignore_id);
  MSIZE(codelay_weight_spec, n_pad_ids);
  MSIZE(codelay_weight_spec, use_ignore_id);
  MSIZE(codelay_weight_spec, ignore_id);
  ENUMV(CODELAY_OK);
  ENUMV(CODELAY_ERR_NULL);
  ENUMV(CODELAY_ERR_SHAPE);
  ENUMV(CODELAY_ERR_DELAY);
  ENUMV(CODELAY_ERR_DTYPE);
  ENUMV(CODELAY_ERR_RANGE);
  ENUMV(CODELAY_ERR_ALIAS);
  ENUMV(CODELAY_ERR_NOMEM);
  ENUMV(CODELAY_ERR_BACKEND);
  ENUMV(CODELAY_ERR_STATE);
  ENUMV(CODELAY_ERR_ARG);
  ENUMV(CODELAY_U8);
  ENUMV(CODELAY_I16);
  ENUMV(CODELAY_I32);
  ENUMV(CODELAY_I64);
  ENUMV(CODELAY_F16);
  ENUMV(CODELAY_BF16);
  ENUMV(CODELAY_F32);
  ENUMV(CODELAY_STREAM_DELAY);
  ENUMV(CODELAY_STREAM_UNDELAY);
  add("abi_major %s%lld\n", "", NULL, (long long)CODELAY_VERSION_MAJOR);
}

static int failures;

static void check(int ok, const char *what) {
  if (!ok) {
    fprintf(stderr, "abi_check: FAILED: %s\n", what);
    failures++;
  }
}

static void runtime_checks(void) {
  check(api.version() == (uint32_t)CODELAY_VERSION, "codelay_version() == CODELAY_VERSION");
  check(CODELAY_VERSION ==
            ((CODELAY_VERSION_MAJOR << 16) | (CODELAY_VERSION_MINOR << 8) | CODELAY_VERSION_PATCH),
        "CODELAY_VERSION == MAJOR<<16 | MINOR<<8 | PATCH");
  check((api.version() >> 16) == CODELAY_VERSION_MAJOR, "runtime major == header major");
  for (int s = -12; s <= 1; s++)
    check(api.status_string(s) != NULL && strncmp(api.status_string(s), "CODELAY_", 8) == 0,
          "codelay_status_string gives a CODELAY_ string for every status");
  char buf[1];
  codelay_view kt = api.view_kt(buf, CODELAY_I32, 2, 3, 5, 7);
  check(kt.data == buf && kt.dtype == CODELAY_I32 && kt.flags == 0 && kt.batch == 2 &&
            kt.streams == 3 && kt.steps == 5 && kt.inner == 7 && kt.stride[0] == 3 * 5 * 7 &&
            kt.stride[1] == 5 * 7 && kt.stride[2] == 7,
        "codelay_view_kt layout");
  codelay_view tk = api.view_tk(buf, CODELAY_I32, 2, 3, 5, 7);
  check(tk.stride[0] == 5 * 3 * 7 && tk.stride[1] == 7 && tk.stride[2] == 3 * 7,
        "codelay_view_tk layout");
  check(api.backend_supported("auto") == 1 && api.backend_supported("scalar") == 1,
        "auto and scalar supported");
  check(api.backend_select("no-such-backend") == CODELAY_ERR_BACKEND, "unknown backend");
  check(api.pattern_max_offset(NULL) == -1, "max_offset(NULL) == -1");
}

int main(int argc, char **argv) {
  describe();
  if (argc == 2 && strcmp(argv[1], "--print") == 0) {
    fputs(desc, stdout);
    return 0;
  }
  if (argc == 2 && strcmp(argv[1], "--version") == 0) { /* the loaded library's, X.Y.Z */
    uint32_t v = api.version();
    printf("%u.%u.%u\n", (unsigned)(v >> 16), (unsigned)((v >> 8) & 0xff), (unsigned)(v & 0xff));
    return 0;
  }
  if (argc != 2) {
    fprintf(stderr, "usage: abi_check --print | abi_check STORED_ABI_FILE\n");
    return 2;
  }
  runtime_checks();
  /* Every non-symbol, non-comment line of the stored file must equal this build's description,
   * in order; symbol lines are the script's (nm) business. */
  FILE *f = fopen(argv[1], "r");
  if (!f) {
    fprintf(stderr, "abi_check: cannot open %s\n", argv[1]);
    return 2;
  }
  static char stored[8192];
  size_t n = 0;
  char line[256];
  while (fgets(line, sizeof line, f)) {
    if (line[0] == '#' || line[0] == '\n' || strncmp(line, "symbol ", 7) == 0 ||
        strncmp(line, "soname ", 7) == 0)
      continue;
    size_t l = strlen(line);
    if (n + l >= sizeof stored) break;
    memcpy(stored + n, line, l);
    n += l;
  }
  fclose(f);
  stored[n] = 0;
  if (strcmp(stored, desc) != 0) {
    fprintf(stderr, "abi_check: FAILED: the ABI differs from %s\n--- stored\n%s--- this build\n%s",
            argv[1], stored, desc);
    failures++;
  }
  printf("abi_check: %s (%d failure%s)\n", failures ? "FAIL" : "PASS", failures,
         failures == 1 ? "" : "s");
  return failures ? 1 : 0;
}
