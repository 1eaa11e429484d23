// The C shim over Google Benchmark: the only C++ translation unit of codelay. It forwards every
// call to benchmark::State or the registry; see gbench_shim.h for the contract.
#include "gbench_shim.h"

#include <benchmark/benchmark.h>

#include <string>

namespace {

benchmark::State &S(clb_state *st) {
  return *reinterpret_cast<benchmark::State *>(st);
}
const benchmark::State &S(const clb_state *st) {
  return *reinterpret_cast<const benchmark::State *>(st);
}

} // namespace

extern "C" {

int clb_initialize(int *argc, char **argv) {
  benchmark::Initialize(argc, argv);
  return benchmark::ReportUnrecognizedArguments(*argc, argv) ? 1 : 0;
}

void clb_add_context(const char *key, const char *value) {
  benchmark::AddCustomContext(key ? key : "", value ? value : "");
}

int clb_register(const char *name, clb_fn fn, void *arg) {
  if (!name || !fn) return -1;
  try {
    benchmark::internal::Benchmark *b = benchmark::RegisterBenchmark(
        name, [fn, arg](benchmark::State &st) { fn(reinterpret_cast<clb_state *>(&st), arg); });
    if (!b) return -1;
  } catch (...) {
    return -1;
  }
  return 0;
}

size_t clb_run_specified(void) {
  return benchmark::RunSpecifiedBenchmarks();
}
void clb_shutdown(void) {
  benchmark::Shutdown();
}

int clb_keep_running(clb_state *st) {
  return S(st).KeepRunning() ? 1 : 0;
}
int clb_keep_running_batch(clb_state *st, int64_t n) {
  return S(st).KeepRunningBatch(static_cast<benchmark::IterationCount>(n > 0 ? n : 1)) ? 1 : 0;
}
int64_t clb_iterations(const clb_state *st) {
  return static_cast<int64_t>(S(st).iterations());
}
void clb_pause_timing(clb_state *st) {
  S(st).PauseTiming();
}
void clb_resume_timing(clb_state *st) {
  S(st).ResumeTiming();
}

void clb_set_bytes_processed(clb_state *st, int64_t bytes) {
  S(st).SetBytesProcessed(bytes);
}
void clb_set_items_processed(clb_state *st, int64_t items) {
  S(st).SetItemsProcessed(items);
}

void clb_set_counter(clb_state *st, const char *name, double value, int flags) {
  int f = benchmark::Counter::kDefaults;
  if (flags & CLB_COUNTER_RATE) f |= benchmark::Counter::kIsRate;
  if (flags & CLB_COUNTER_PER_ITER) f |= benchmark::Counter::kAvgIterations;
  benchmark::Counter::OneK k =
      (flags & CLB_COUNTER_BYTES_1024) ? benchmark::Counter::kIs1024 : benchmark::Counter::kIs1000;
  S(st).counters[name] = benchmark::Counter(value, static_cast<benchmark::Counter::Flags>(f), k);
}

void clb_set_label(clb_state *st, const char *label) {
  S(st).SetLabel(label ? label : "");
}
void clb_skip_with_error(clb_state *st, const char *msg) {
  S(st).SkipWithError(msg ? msg : "skipped");
}
int clb_error_occurred(const clb_state *st) {
  return S(st).error_occurred() ? 1 : 0;
}

void clb_do_not_optimize(const void *p) {
  benchmark::DoNotOptimize(p);
}
void clb_clobber_memory(void) {
  benchmark::ClobberMemory();
}

} // extern "C"
