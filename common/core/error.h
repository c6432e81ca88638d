/* error.h: the one table of error codes.
 *
 * Every function that can fail returns int: 0 on success, a negative HINT_E*
 * code otherwise, and hands results through out-parameters. hint_strerror()
 * turns a code into one line of text. Errors from MPI, ZeroMQ, msgpack and
 * libyaml are translated into these codes (with the detail logged) by the
 * wrapper that called them, so callers only ever see this table.
 */
#ifndef HINT_CORE_ERROR_H
#define HINT_CORE_ERROR_H

/* XX(name, value, message). Values are stable: they appear in logs. */
#define HINT_ERRNO_MAP(XX)                                                    \
  XX(EINVAL,    -1,  "invalid argument")                                      \
  XX(ENOMEM,    -2,  "out of memory")                                         \
  XX(EIO,       -3,  "input/output error")                                    \
  XX(ENOENT,    -4,  "no such file or directory")                             \
  XX(ERANGE,    -5,  "value out of range")                                    \
  XX(EPARSE,    -6,  "malformed input")                                       \
  XX(ECONFIG,   -7,  "invalid configuration")                                 \
  XX(EUNKNOWN_KEY, -8, "unknown configuration key")                           \
  XX(EDUPKEY,   -9,  "duplicate configuration key")                           \
  XX(ETYPE,     -10, "wrong value type")                                      \
  XX(EMAGIC,    -11, "bad message magic")                                     \
  XX(EVERSION,  -12, "protocol version mismatch")                             \
  XX(EMSGTYPE,  -13, "unexpected message type")                               \
  XX(ESHAPE,    -14, "tensor shape mismatch")                                 \
  XX(ETRUNC,    -15, "truncated message")                                     \
  XX(ETOOBIG,   -16, "message too large")                                     \
  XX(ETIMEDOUT, -17, "timed out")                                             \
  XX(ECONN,     -18, "connection failure")                                    \
  XX(EAUTH,     -19, "authentication failure")                                \
  XX(EHASH,     -20, "config hash mismatch")                                  \
  XX(EMPI,      -21, "MPI error")                                             \
  XX(EZMQ,      -22, "ZeroMQ error")                                          \
  XX(ECHECKSUM, -23, "checksum mismatch")                                     \
  XX(ENOSPC,    -24, "no space left on device")                               \
  XX(EAGAIN,    -25, "resource temporarily unavailable")                      \
  XX(ESTOPPED,  -26, "stopped by request")                                    \
  XX(ESTATE,    -27, "operation not valid in this state")                     \
  XX(EDIVERGED, -28, "training diverged (non-finite values)")                 \
  XX(ENETCDF,   -29, "netCDF error")                                          \
  XX(EINFEASIBLE, -30, "infeasible environment configuration")

enum {
  HINT_OK = 0,
#define HINT_ERRNO_ENUM(name, value, msg) HINT_##name = (value),
  HINT_ERRNO_MAP(HINT_ERRNO_ENUM)
#undef HINT_ERRNO_ENUM
};

/* One line describing code; never NULL. Unknown codes give "unknown error". */
const char *hint_strerror(int code);

/* The symbolic name of code ("HINT_ETIMEDOUT"); never NULL. */
const char *hint_errname(int code);

#endif
