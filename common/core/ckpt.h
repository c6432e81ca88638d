/* ckpt.h: atomic, checksummed checkpoint files made of named sections.
 *
 * A checkpoint is one file: a fixed header (magic "HINTCKPT", format version,
 * section count, config hash), a table of sections (name, offset, size,
 * checksum of the bytes), the section payloads (each 64-byte aligned), and a
 * checksum over header and table. Writing goes to "<path>.tmp", is fsync'ed,
 * renamed over <path> and the directory fsync'ed, so a crash leaves either the
 * old file or the new one, never a torn one. Reading checks every length and
 * every checksum before handing anything out: a truncated file, a flipped
 * byte or a file written under another config is an error, never loaded.
 *
 * The checksum is a 64-bit multiply-xor hash over 8-byte words: not
 * cryptographic, but any change of a single word always changes it (each step
 * is a bijection), and it runs at memory speed.
 */
#ifndef HINT_CORE_CKPT_H
#define HINT_CORE_CKPT_H

#include <stddef.h>
#include <stdint.h>

#define HINT_CKPT_NAME 32
#define HINT_CKPT_MAX_SECTIONS 64

typedef struct {
  char name[HINT_CKPT_NAME]; /* NUL-terminated, unique within a file */
  const void *data;
  uint64_t size;
} hint_ckpt_section_t;

/* Writes sections atomically to path (see above). Returns 0, HINT_ENOSPC when
 * the disk is full (the old file, if any, is intact and the temp file removed),
 * or HINT_EIO / HINT_EINVAL; err gets a message naming the path. */
int hint_ckpt_write(const char *path, uint64_t config_hash, const hint_ckpt_section_t *sections,
                    int n_sections, char *err, size_t err_cap);

/* A loaded, verified checkpoint; sections point into one owned buffer. */
typedef struct {
  uint64_t config_hash;
  int n_sections;
  hint_ckpt_section_t sections[HINT_CKPT_MAX_SECTIONS];
  void *buf;
  uint64_t buf_size;
} hint_ckpt_t;

/* Reads and verifies path. If expect_hash is non-zero, a different config
 * hash is HINT_EHASH. Returns 0, HINT_ENOENT, HINT_ETRUNC (short file),
 * HINT_EMAGIC, HINT_EVERSION, HINT_ECHECKSUM, HINT_EHASH, HINT_ENOMEM or
 * HINT_EIO, with a message in err. On success release with hint_ckpt_free. */
int hint_ckpt_read(const char *path, uint64_t expect_hash, hint_ckpt_t *out, char *err, size_t err_cap);
void hint_ckpt_free(hint_ckpt_t *c);

/* Section by name, or NULL. */
const hint_ckpt_section_t *hint_ckpt_find(const hint_ckpt_t *c, const char *name);

/* The checksum used for sections (exposed for tests and for cross-actor
 * parameter checksums). */
uint64_t hint_checksum64(const void *data, size_t size);

#endif
