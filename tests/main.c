/*
 * The one test runner: every suite, run under the backend forced by CODELAY_BACKEND (CTest runs
 * this binary once per backend). Exit 77 (CTest's skip code) when this CPU cannot run the forced
 * backend, 1 on any failure.
 */
#include "testutil.h"

int main(void) {
  const char *forced = getenv("CODELAY_BACKEND");
  if (forced && *forced) {
    if (!codelay_backend_supported(forced)) {
      printf("codelay_tests: backend '%s' not supported here: skipped\n", forced);
      return 77;
    }
    const char *active = codelay_backend_name();
    if (strcmp(forced, "auto") != 0 && (!active || strcmp(active, forced) != 0)) {
      printf("codelay_tests: CODELAY_BACKEND=%s but the active backend is '%s'\n", forced,
             active ? active : "(null)");
      return 1;
    }
  }
  printf("codelay_tests: backend %s, seed %" PRIu64 "\n", codelay_backend_name(), t_base_seed());

  SRunner *sr = srunner_create(golden_suite());
  srunner_add_suite(sr, badinput_suite());
  srunner_add_suite(sr, differential_suite());
  srunner_add_suite(sr, roundtrip_suite());
  srunner_add_suite(sr, guards_suite());
  srunner_add_suite(sr, backends_suite());
#if defined(CODELAY_TEST_HAVE_STREAM)
  srunner_add_suite(sr, stream_suite());
#endif
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? 0 : 1;
}
