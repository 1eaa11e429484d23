/* Minimal .npy reading and atomic writing for the codelay tool (see npy.h). */
#define _GNU_SOURCE /* mkstemp, fchmod, fileno, umask */

#include "npy.h"

#include "codelay.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

static const unsigned char NPY_MAGIC[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

static int host_little_endian(void) {
  const uint16_t one = 1;
  unsigned char b;
  memcpy(&b, &one, 1);
  return b == 1;
}

static void set_err(char *err, size_t errlen, const char *msg) {
  if (errlen) {
    snprintf(err, errlen, "%s", msg);
  }
}

const char *npy_descr(int32_t dtype, int is_bool) {
  switch (dtype) {
  case CODELAY_U8:
    return is_bool ? "|b1" : "|u1";
  case CODELAY_I16:
    return "<i2";
  case CODELAY_I32:
    return "<i4";
  case CODELAY_I64:
    return "<i8";
  case CODELAY_F16:
    return "<f2";
  case CODELAY_F32:
    return "<f4";
  case NPY_F64:
    return "<f8";
  default:
    return NULL;
  }
}

size_t npy_dtype_size(int32_t dtype) {
  switch (dtype) {
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
  case NPY_F64:
    return 8;
  default:
    return 0;
  }
}

/* Finds the value text after 'key': in a header dict; NULL if absent. */
static const char *dict_value(const char *hdr, const char *key) {
  char pat[32];
  snprintf(pat, sizeof pat, "'%s'", key);
  const char *p = strstr(hdr, pat);
  if (!p) {
    snprintf(pat, sizeof pat, "\"%s\"", key);
    p = strstr(hdr, pat);
  }
  if (!p) return NULL;
  p += strlen(pat);
  while (*p == ' ')
    p++;
  if (*p != ':') return NULL;
  p++;
  while (*p == ' ')
    p++;
  return p;
}

/* Maps a descr string to a codelay dtype; 0 with a reason when unsupported. */
static int32_t parse_descr(const char *d, int *is_bool, char *err, size_t errlen) {
  *is_bool = 0;
  char order = d[0];
  const char *t = d + 1;
  if (order != '<' && order != '>' && order != '|' && order != '=') {
    order = '=';
    t = d;
  }
  if (order == '>' && strcmp(t, "u1") && strcmp(t, "i1") && strcmp(t, "b1")) {
    snprintf(err, errlen, "big-endian dtype '%s' is not supported (save with '<' byte order)", d);
    return 0;
  }
  if (order == '=' && !host_little_endian()) {
    snprintf(err, errlen, "native byte order on a big-endian host is not supported");
    return 0;
  }
  if (!strcmp(t, "u1")) return CODELAY_U8;
  if (!strcmp(t, "b1")) {
    *is_bool = 1;
    return CODELAY_U8;
  }
  if (!strcmp(t, "i2")) return CODELAY_I16;
  if (!strcmp(t, "i4")) return CODELAY_I32;
  if (!strcmp(t, "i8")) return CODELAY_I64;
  if (!strcmp(t, "f2")) return CODELAY_F16;
  if (!strcmp(t, "f4")) return CODELAY_F32;
  snprintf(err, errlen,
           "unsupported dtype '%s' (expected int16, int32, int64, uint8, bool, float16 or "
           "float32)",
           d);
  return 0;
}

static int parse_header(const char *hdr, npy_array *a, char *err, size_t errlen) {
  const char *v = dict_value(hdr, "descr");
  if (!v || (*v != '\'' && *v != '"')) {
    set_err(err, errlen,
            v && *v == '[' ? "structured dtypes are not supported" : "header has no 'descr'");
    return -1;
  }
  char q = *v++;
  char descr[32];
  size_t n = 0;
  while (*v && *v != q && n + 1 < sizeof descr) { /* printable only: it may reach stderr */
    descr[n++] = (*v >= 0x20 && *v < 0x7f) ? *v : '?';
    v++;
  }
  descr[n] = 0;
  if (*v != q) {
    set_err(err, errlen, "bad 'descr' in header");
    return -1;
  }
  a->dtype = parse_descr(descr, &a->is_bool, err, errlen);
  if (!a->dtype) return -1;
  a->itemsize = npy_dtype_size(a->dtype);

  v = dict_value(hdr, "fortran_order");
  if (!v) {
    set_err(err, errlen, "header has no 'fortran_order'");
    return -1;
  }
  if (!strncmp(v, "True", 4)) {
    a->fortran = 1;
  } else if (!strncmp(v, "False", 5)) {
    a->fortran = 0;
  } else {
    set_err(err, errlen, "bad 'fortran_order' in header");
    return -1;
  }

  v = dict_value(hdr, "shape");
  if (!v || *v != '(') {
    set_err(err, errlen, "header has no 'shape'");
    return -1;
  }
  v++;
  a->ndim = 0;
  for (;;) {
    while (*v == ' ' || *v == ',')
      v++;
    if (*v == ')') break;
    if (*v < '0' || *v > '9') {
      set_err(err, errlen, "bad 'shape' in header");
      return -1;
    }
    if (a->ndim == NPY_MAX_DIMS) {
      set_err(err, errlen, "too many dimensions");
      return -1;
    }
    int64_t d = 0;
    while (*v >= '0' && *v <= '9') {
      if (d > (INT64_MAX - 9) / 10) {
        set_err(err, errlen, "dimension too large");
        return -1;
      }
      d = d * 10 + (*v++ - '0');
    }
    while (*v == 'L')
      v++; /* Python 2 long suffix */
    a->shape[a->ndim++] = d;
  }
  size_t count = 1;
  for (int i = 0; i < a->ndim; i++) {
    uint64_t d = (uint64_t)a->shape[i];
    if (d && count > SIZE_MAX / d) {
      set_err(err, errlen, "array too large");
      return -1;
    }
    count *= (size_t)d;
  }
  if (a->itemsize && count > SIZE_MAX / a->itemsize) {
    set_err(err, errlen, "array too large");
    return -1;
  }
  a->count = count;
  return 0;
}

int npy_read(const char *path, npy_array *a, char *err, size_t errlen) {
  memset(a, 0, sizeof *a);
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(err, errlen, "cannot open: %s", strerror(errno));
    return -1;
  }
  int rc = -1;
  char *hdr = NULL;
  unsigned char pre[12];
  size_t got = fread(pre, 1, 10, f);
  if (got < 8 || memcmp(pre, NPY_MAGIC, 6)) {
    set_err(err, errlen, "not a .npy file (no \\x93NUMPY magic)");
    goto done;
  }
  if (got < 10) {
    set_err(err, errlen, "truncated header");
    goto done;
  }
  unsigned major = pre[6];
  uint32_t hlen;
  if (major == 1) {
    hlen = (uint32_t)pre[8] | ((uint32_t)pre[9] << 8);
  } else if (major == 2 || major == 3) {
    if (fread(pre + 10, 1, 2, f) != 2) {
      set_err(err, errlen, "truncated header");
      goto done;
    }
    hlen = (uint32_t)pre[8] | ((uint32_t)pre[9] << 8) | ((uint32_t)pre[10] << 16) |
           ((uint32_t)pre[11] << 24);
  } else {
    snprintf(err, errlen, "unsupported .npy format version %u.%u", major, (unsigned)pre[7]);
    goto done;
  }
  if (hlen > (1u << 24)) {
    set_err(err, errlen, "header too large");
    goto done;
  }
  hdr = malloc((size_t)hlen + 1);
  if (!hdr) {
    set_err(err, errlen, "out of memory");
    goto done;
  }
  if (fread(hdr, 1, hlen, f) != hlen) {
    set_err(err, errlen, "truncated header");
    goto done;
  }
  hdr[hlen] = 0;
  if (parse_header(hdr, a, err, errlen)) goto done;
  size_t nbytes = a->count * a->itemsize;
  a->data = malloc(nbytes ? nbytes : 1);
  if (!a->data) {
    set_err(err, errlen, "out of memory");
    goto done;
  }
  size_t have = fread(a->data, 1, nbytes, f);
  if (have != nbytes) {
    snprintf(err, errlen, "truncated: the header promises %zu data bytes, the file has %zu", nbytes,
             have);
    goto done;
  }
  rc = 0;
done:
  free(hdr);
  fclose(f);
  if (rc) npy_free(a);
  return rc;
}

void npy_free(npy_array *a) {
  free(a->data);
  a->data = NULL;
}

static void split_path(const char *path, char *dir, size_t dirlen, const char **base) {
  const char *slash = strrchr(path, '/');
  if (!slash) {
    snprintf(dir, dirlen, ".");
    *base = path;
  } else {
    size_t n = (size_t)(slash - path);
    if (n == 0) n = 1; /* "/file" */
    if (n >= dirlen) n = dirlen - 1;
    memcpy(dir, path, n);
    dir[n] = 0;
    *base = slash + 1;
  }
}

int npy_write_temp(const char *path, char *tmp_path, size_t tmp_len, int32_t dtype, int is_bool,
                   int ndim, const int64_t *shape, const void *data, char *err, size_t errlen) {
  const char *descr = npy_descr(dtype, is_bool);
  size_t isz = npy_dtype_size(dtype);
  if (!descr || !isz) {
    set_err(err, errlen, "cannot write this dtype to .npy");
    return -1;
  }
  if (ndim < 0 || ndim > NPY_MAX_DIMS) {
    set_err(err, errlen, "bad rank");
    return -1;
  }
  /* header: magic, version 1.0, u16 length, dict padded with spaces to a multiple of 64 */
  char dict[512];
  int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
  size_t count = 1;
  for (int i = 0; i < ndim; i++) {
    n += snprintf(dict + n, sizeof dict - (size_t)n, "%s%lld", i ? ", " : "", (long long)shape[i]);
    count *= (size_t)shape[i];
  }
  n += snprintf(dict + n, sizeof dict - (size_t)n, ndim == 1 ? ",)" : ")"); /* (5,) is a tuple */
  n += snprintf(dict + n, sizeof dict - (size_t)n, ", }");
  size_t total = 10 + (size_t)n + 1;
  size_t pad = (64 - total % 64) % 64;
  size_t hlen = (size_t)n + pad + 1;
  unsigned char pre[10] = {
      0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 255), (unsigned char)(hlen >> 8)};

  char dir[4096];
  const char *base;
  split_path(path, dir, sizeof dir, &base);
  if ((size_t)snprintf(tmp_path, tmp_len, "%s/.%s.tmp-XXXXXX", dir, base) >= tmp_len) {
    set_err(err, errlen, "output path too long");
    return -1;
  }
  int fd = mkstemp(tmp_path);
  if (fd < 0) {
    snprintf(err, errlen, "cannot create a file in %s: %s", dir, strerror(errno));
    return -1;
  }
  mode_t um = umask(0);
  umask(um);
  if (fchmod(fd, 0666 & ~um)) { /* mkstemp makes 0600; give the usual permissions */
    /* not fatal */
  }
  FILE *f = fdopen(fd, "wb");
  if (!f) {
    close(fd);
    unlink(tmp_path);
    snprintf(err, errlen, "cannot write: %s", strerror(errno));
    return -1;
  }
  int ok = fwrite(pre, 1, 10, f) == 10 && fwrite(dict, 1, (size_t)n, f) == (size_t)n;
  for (size_t i = 0; ok && i < pad; i++)
    ok = fputc(' ', f) != EOF;
  ok = ok && fputc('\n', f) != EOF;
  size_t nbytes = count * isz;
  ok = ok && (nbytes == 0 || fwrite(data, 1, nbytes, f) == nbytes);
  int saved = errno;
  if (fclose(f)) {
    ok = 0;
    saved = errno;
  }
  if (!ok) {
    unlink(tmp_path);
    snprintf(err, errlen, "cannot write: %s", strerror(saved));
    return -1;
  }
  return 0;
}

int npy_commit(const char *tmp_path, const char *path, char *err, size_t errlen) {
  if (rename(tmp_path, path)) {
    int saved = errno;
    unlink(tmp_path);
    snprintf(err, errlen, "cannot rename into place: %s", strerror(saved));
    return -1;
  }
  return 0;
}

void npy_discard(const char *tmp_path) {
  unlink(tmp_path);
}

int npy_write(const char *path, int32_t dtype, int is_bool, int ndim, const int64_t *shape,
              const void *data, char *err, size_t errlen) {
  char tmp[4200];
  if (npy_write_temp(path, tmp, sizeof tmp, dtype, is_bool, ndim, shape, data, err, errlen))
    return -1;
  return npy_commit(tmp, path, err, errlen);
}
