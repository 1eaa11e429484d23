/*
 * A minimal .npy reader and writer (format versions 1.0, 2.0 and 3.0), enough for codelay's
 * command-line tool: numeric little-endian arrays of the dtypes codelay handles, C or Fortran
 * order. Errors come back as one short sentence in `err` (no file name: the caller adds it).
 */
#ifndef CODELAY_TOOLS_NPY_H
#define CODELAY_TOOLS_NPY_H

#include <stddef.h>
#include <stdint.h>

#define NPY_MAX_DIMS 8

/* Not a codelay dtype: float64, only for writing (the per-stream sums of loss weights). */
#define NPY_F64 100

typedef struct npy_array {
  int32_t dtype; /* enum codelay_dtype (bool arrays read as CODELAY_U8) */
  int is_bool;   /* the file said '|b1' */
  int fortran;   /* column-major data */
  int ndim;
  int64_t shape[NPY_MAX_DIMS];
  size_t itemsize;
  size_t count; /* elements */
  void *data;   /* malloc'd, count * itemsize bytes (at least 1 byte) */
} npy_array;

/* Reads a whole .npy file. Returns 0, or -1 with a message in err. */
int npy_read(const char *path, npy_array *a, char *err, size_t errlen);
void npy_free(npy_array *a);

/* The numpy descr of a codelay dtype ("<i8", ...); bool selects "|b1" for U8. NULL if none. */
const char *npy_descr(int32_t dtype, int is_bool);
/* Bytes per element of a codelay dtype or NPY_F64, 0 if unknown. */
size_t npy_dtype_size(int32_t dtype);

/*
 * Writes a C-order array to `path` atomically: a temporary file in the same directory, then
 * rename(2). On failure nothing is left behind. Returns 0, or -1 with a message in err.
 */
int npy_write(const char *path, int32_t dtype, int is_bool, int ndim, const int64_t *shape,
              const void *data, char *err, size_t errlen);

/*
 * The two halves of npy_write, for commands that write several files and want all or none:
 * npy_write_temp leaves a finished temporary file (its name in tmp_path); npy_commit renames it
 * over `path`; npy_discard removes it.
 */
int npy_write_temp(const char *path, char *tmp_path, size_t tmp_len, int32_t dtype, int is_bool,
                   int ndim, const int64_t *shape, const void *data, char *err, size_t errlen);
int npy_commit(const char *tmp_path, const char *path, char *err, size_t errlen);
void npy_discard(const char *tmp_path);

#endif
