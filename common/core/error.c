/* error.c: the text side of the error table in error.h. */
#include "common/core/error.h"

const char *hint_strerror(int code) {
  switch (code) {
  case HINT_OK: return "success";
#define HINT_ERRNO_STR(name, value, msg) case HINT_##name: return msg;
  HINT_ERRNO_MAP(HINT_ERRNO_STR)
#undef HINT_ERRNO_STR
  default: return "unknown error";
  }
}

const char *hint_errname(int code) {
  switch (code) {
  case HINT_OK: return "HINT_OK";
#define HINT_ERRNO_NAME(name, value, msg) case HINT_##name: return "HINT_" #name;
  HINT_ERRNO_MAP(HINT_ERRNO_NAME)
#undef HINT_ERRNO_NAME
  default: return "HINT_E?";
  }
}
