/*
 * A consumer of an installed codelay: built by scripts/test-install.sh against the install
 * prefix only (find_package(codelay) or pkg-config), never against the source tree. It runs the
 * README's seed example (Moshi: text + semantic + acoustic, delays [0,1,1]) through the shared
 * library and checks the result, so a broken header, SONAME, export or package file fails here.
 */
#include <codelay.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define K 3
#define T 4

static int check(int status, const char *what) {
  if (status != CODELAY_OK) {
    fprintf(stderr, "consumer: %s failed: %s\n", what, codelay_status_string(status));
    return 1;
  }
  return 0;
}

int main(void) {
  const int64_t delays[K] = {0, 1, 1};
  const int64_t fill[K] = {32000, 2048, 2048}; /* Moshi: text_card, card */
  int64_t in[K * T] = {101, 102, 103, 104, 201, 202, 203, 204, 301, 302, 303, 304};
  const int64_t want[K * T] = {101, 102, 103, 104, 2048, 201, 202, 203, 2048, 301, 302, 303};
  const uint8_t want_mask[K * T] = {1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 0};
  int64_t delayed[K * T], back[K * T];
  uint8_t mask[K * T];
  codelay_pattern *p = NULL;
  int failures = 0;

  if (codelay_version() != CODELAY_VERSION) {
    fprintf(stderr, "consumer: header version %06x but library %06x\n", (unsigned)CODELAY_VERSION,
            (unsigned)codelay_version());
    return 1;
  }
  if (check(codelay_pattern_create(&p, K, delays, 0), "codelay_pattern_create")) return 1;

  codelay_view src = codelay_view_kt(in, CODELAY_I64, 1, K, T, 1);
  codelay_view dst = codelay_view_kt(delayed, CODELAY_I64, 1, K, T, 1);
  codelay_view out = codelay_view_kt(back, CODELAY_I64, 1, K, T, 1);
  codelay_view msk = codelay_view_kt(mask, CODELAY_U8, 1, K, T, 1);

  failures += check(codelay_delay(p, &src, &dst, fill, fill, NULL), "codelay_delay");
  if (!failures && memcmp(delayed, want, sizeof want) != 0) {
    fprintf(stderr, "consumer: delay gave the wrong tokens\n");
    failures++;
  }
  failures += check(codelay_undelay(p, &dst, &out, fill, NULL, &msk), "codelay_undelay");
  if (!failures) {
    for (int i = 0; i < K * T; i++) {
      if (mask[i] != want_mask[i] || (mask[i] && back[i] != in[i]) ||
          (!mask[i] && back[i] != fill[i / T])) {
        fprintf(stderr, "consumer: undelay wrong at %d\n", i);
        failures++;
        break;
      }
    }
  }
  /* Bad input comes back as a status, never a crash. */
  if (codelay_delay(p, NULL, &dst, fill, fill, NULL) != CODELAY_ERR_NULL) {
    fprintf(stderr, "consumer: NULL src was not CODELAY_ERR_NULL\n");
    failures++;
  }
  codelay_pattern_destroy(p);

  printf("consumer: codelay %u.%u.%u, backend %s: %s\n", (unsigned)(codelay_version() >> 16),
         (unsigned)(codelay_version() >> 8 & 0xff), (unsigned)(codelay_version() & 0xff),
         codelay_backend_name(), failures ? "FAIL" : "ok");
  return failures ? 1 : 0;
}
