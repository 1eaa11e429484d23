/*
 * A C interface to Google Benchmark (libbenchmark 1.7.1), so that every benchmark body is written
 * in C against codelay's public API. This header and gbench_shim.cc are the only C++-facing code
 * in the project; nothing here knows about codelay.
 */
#ifndef CODELAY_GBENCH_SHIM_H
#define CODELAY_GBENCH_SHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A running benchmark (a benchmark::State underneath). */
typedef struct clb_state clb_state;
typedef void (*clb_fn)(clb_state *st, void *arg);

/* Counter flags (a subset of benchmark::Counter::Flags). */
enum clb_counter_flags {
  CLB_COUNTER_DEFAULT = 0,   /* the value as given */
  CLB_COUNTER_RATE = 1,      /* value / elapsed time */
  CLB_COUNTER_PER_ITER = 2,  /* value / iterations */
  CLB_COUNTER_BYTES_1024 = 4 /* display with binary prefixes */
};

/*
 * Initialise from the command line (consumes --benchmark_* flags). Returns 0, or 1 when arguments
 * remain that Google Benchmark does not know (they have been reported on stderr).
 */
int clb_initialize(int *argc, char **argv);
/* Adds a key/value pair to the run's context (printed and written to the JSON "context"). */
void clb_add_context(const char *key, const char *value);
/*
 * Registers fn(state, arg) under name (copied), which is kept exactly as given (no "/real_time"
 * suffix: the JSON has both real_time and cpu_time, and rate counters use CPU time as Google
 * Benchmark does by default). Returns 0, or -1 on failure.
 */
int clb_register(const char *name, clb_fn fn, void *arg);
/* Runs the benchmarks the filter selects; returns how many ran. */
size_t clb_run_specified(void);
void clb_shutdown(void);

/* The timing loop: `while (clb_keep_running(st)) { body }`. */
int clb_keep_running(clb_state *st);
/* Batched loop for bodies of a few nanoseconds: runs n bodies per call; may overshoot by n. */
int clb_keep_running_batch(clb_state *st, int64_t n);
int64_t clb_iterations(const clb_state *st);
void clb_pause_timing(clb_state *st);
void clb_resume_timing(clb_state *st);

/* Throughput: total bytes / items over all iterations (set once, after the loop). */
void clb_set_bytes_processed(clb_state *st, int64_t bytes);
void clb_set_items_processed(clb_state *st, int64_t items);
/* A named user counter (enum clb_counter_flags, or-ed). */
void clb_set_counter(clb_state *st, const char *name, double value, int flags);
void clb_set_label(clb_state *st, const char *label);
/* Marks the benchmark skipped with a message; call before the loop, then return. */
void clb_skip_with_error(clb_state *st, const char *msg);
int clb_error_occurred(const clb_state *st);

/* Keeps the compiler from discarding the computation that produced *p. */
void clb_do_not_optimize(const void *p);
void clb_clobber_memory(void);

#ifdef __cplusplus
}
#endif

#endif
