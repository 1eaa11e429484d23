/* Version, status strings and dtype facts. */
#include "internal.h"

uint32_t codelay_version(void) {
  return (uint32_t)CODELAY_VERSION;
}

const char *codelay_status_string(int status) {
  switch (status) {
  case CODELAY_OK:
    return "CODELAY_OK: success";
  case CODELAY_ERR_NULL:
    return "CODELAY_ERR_NULL: a required pointer is NULL";
  case CODELAY_ERR_SHAPE:
    return "CODELAY_ERR_SHAPE: sizes, strides, streams or lengths do not fit";
  case CODELAY_ERR_DELAY:
    return "CODELAY_ERR_DELAY: a delay or lead is negative, or an offset exceeds INT32_MAX";
  case CODELAY_ERR_DTYPE:
    return "CODELAY_ERR_DTYPE: unknown dtype or a dtype combination that is not allowed";
  case CODELAY_ERR_RANGE:
    return "CODELAY_ERR_RANGE: a value does not fit the destination dtype";
  case CODELAY_ERR_ALIAS:
    return "CODELAY_ERR_ALIAS: views overlap in memory";
  case CODELAY_ERR_NOMEM:
    return "CODELAY_ERR_NOMEM: out of memory";
  case CODELAY_ERR_BACKEND:
    return "CODELAY_ERR_BACKEND: backend unknown, not compiled in, or not supported by this CPU";
  case CODELAY_ERR_STATE:
    return "CODELAY_ERR_STATE: the stream's state does not allow this call";
  case CODELAY_ERR_ARG:
    return "CODELAY_ERR_ARG: a bad argument (flags, n_pad_ids or mode)";
  default:
    return "CODELAY_ERR_UNKNOWN: not a codelay status";
  }
}
