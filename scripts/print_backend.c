/*
 * Prints the backend "auto" picks on this CPU (scripts/test-qemu-x86.sh runs it under
 * qemu-x86_64 -cpu <model> to check the dispatcher's choice on each rung), then checks that
 * every other supported backend can be selected and named.
 */
#include "codelay.h"

#include <stdio.h>
#include <string.h>

int main(void) {
  const char *autoname = codelay_backend_name();
  printf("%s\n", autoname ? autoname : "(null)");
  static const char *names[] = {"scalar", "sse41", "avx2", "avx512", "neon"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    int sup = codelay_backend_supported(names[i]);
    int st = codelay_backend_select(names[i]);
    if ((st == CODELAY_OK) != (sup == 1)) return 2;
    if (sup && strcmp(codelay_backend_name(), names[i]) != 0) return 3;
  }
  return 0;
}
