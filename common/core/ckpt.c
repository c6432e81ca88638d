/* ckpt.c: see ckpt.h. File layout (little-endian):
 *   header  : magic[8] "HINTCKPT", u32 version, u32 n_sections,
 *             u64 config_hash, u64 file_size, u64 meta_checksum
 *   table   : n_sections x { char name[32], u64 offset, u64 size, u64 checksum }
 *   payload : each section at a 64-byte aligned offset
 * meta_checksum covers the header (with meta_checksum zeroed) and the table.
 */
#include "common/core/ckpt.h"
#include "common/core/alloc.h"
#include "common/core/error.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CKPT_MAGIC "HINTCKPT"
#define CKPT_VERSION 1u

typedef struct {
  char magic[8];
  uint32_t version;
  uint32_t n_sections;
  uint64_t config_hash;
  uint64_t file_size;
  uint64_t meta_checksum;
} ckpt_header_t;

typedef struct {
  char name[HINT_CKPT_NAME];
  uint64_t offset;
  uint64_t size;
  uint64_t checksum;
} ckpt_entry_t;

_Static_assert(sizeof(ckpt_header_t) == 40, "header layout");
_Static_assert(sizeof(ckpt_entry_t) == 56, "table layout");

uint64_t hint_checksum64(const void *data, size_t size) {
  const unsigned char *p = data;
  uint64_t h = 0x243f6a8885a308d3ULL ^ (uint64_t)size;
  size_t n8 = size / 8;
  for (size_t i = 0; i < n8; i++) {
    uint64_t w;
    memcpy(&w, p + 8 * i, 8);
    h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
    h ^= h >> 29;
  }
  uint64_t tail = 0;
  if (size > 8 * n8)
    memcpy(&tail, p + 8 * n8, size - 8 * n8);
  h = (h ^ tail) * 0x9e3779b97f4a7c15ULL;
  h ^= h >> 32;
  return h;
}

static uint64_t align64(uint64_t x) { return (x + 63u) & ~(uint64_t)63u; }

static int write_all(int fd, const void *buf, size_t n) {
  const char *p = buf;
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int io_error(const char *what, const char *path, char *err, size_t cap) {
  int e = errno;
  snprintf(err, cap, "%s %s: %s", what, path, strerror(e));
  return e == ENOSPC || e == EDQUOT ? HINT_ENOSPC : HINT_EIO;
}

int hint_ckpt_write(const char *path, uint64_t config_hash, const hint_ckpt_section_t *sections,
                    int n_sections, char *err, size_t err_cap) {
  if (n_sections < 0 || n_sections > HINT_CKPT_MAX_SECTIONS) {
    snprintf(err, err_cap, "%s: %d sections (at most %d)", path, n_sections, HINT_CKPT_MAX_SECTIONS);
    return HINT_EINVAL;
  }
  ckpt_header_t h;
  ckpt_entry_t table[HINT_CKPT_MAX_SECTIONS];
  memset(&h, 0, sizeof h);
  memset(table, 0, sizeof table);
  memcpy(h.magic, CKPT_MAGIC, 8);
  h.version = CKPT_VERSION;
  h.n_sections = (uint32_t)n_sections;
  h.config_hash = config_hash;
  uint64_t off = align64(sizeof h + (uint64_t)n_sections * sizeof(ckpt_entry_t));
  for (int i = 0; i < n_sections; i++) {
    size_t len = strnlen(sections[i].name, HINT_CKPT_NAME);
    if (len == 0 || len >= HINT_CKPT_NAME) {
      snprintf(err, err_cap, "%s: section %d has an empty or too long name", path, i);
      return HINT_EINVAL;
    }
    for (int j = 0; j < i; j++)
      if (strcmp(table[j].name, sections[i].name) == 0) {
        snprintf(err, err_cap, "%s: duplicate section '%s'", path, sections[i].name);
        return HINT_EINVAL;
      }
    memcpy(table[i].name, sections[i].name, len);
    table[i].offset = off;
    table[i].size = sections[i].size;
    table[i].checksum = hint_checksum64(sections[i].data, sections[i].size);
    off = align64(off + sections[i].size);
  }
  h.file_size = off;
  /* meta checksum over header (checksum field zero) + table */
  unsigned char meta[sizeof h + sizeof table];
  memcpy(meta, &h, sizeof h);
  memcpy(meta + sizeof h, table, (size_t)n_sections * sizeof(ckpt_entry_t));
  h.meta_checksum = hint_checksum64(meta, sizeof h + (size_t)n_sections * sizeof(ckpt_entry_t));

  char tmp[4096];
  if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp) {
    snprintf(err, err_cap, "checkpoint path too long");
    return HINT_EINVAL;
  }
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return io_error("cannot create", tmp, err, err_cap);
  static const char zeros[64];
  uint64_t pos = 0;
  int rc = HINT_OK;
  if (write_all(fd, &h, sizeof h) || write_all(fd, table, (size_t)n_sections * sizeof(ckpt_entry_t)))
    goto fail;
  pos = sizeof h + (uint64_t)n_sections * sizeof(ckpt_entry_t);
  for (int i = 0; i < n_sections; i++) {
    if (write_all(fd, zeros, (size_t)(table[i].offset - pos)))
      goto fail;
    if (write_all(fd, sections[i].data, (size_t)sections[i].size))
      goto fail;
    pos = table[i].offset + sections[i].size;
  }
  if (write_all(fd, zeros, (size_t)(h.file_size - pos)))
    goto fail;
  if (fsync(fd) != 0)
    goto fail;
  if (close(fd) != 0) {
    fd = -1;
    goto fail;
  }
  fd = -1;
  if (rename(tmp, path) != 0)
    goto fail;
  /* fsync the directory so the rename itself survives a crash */
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", path);
  int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  return HINT_OK;
fail:
  rc = io_error("cannot write checkpoint", tmp, err, err_cap);
  if (fd >= 0)
    close(fd);
  unlink(tmp);
  return rc;
}

int hint_ckpt_read(const char *path, uint64_t expect_hash, hint_ckpt_t *out, char *err, size_t err_cap) {
  memset(out, 0, sizeof *out);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    snprintf(err, err_cap, "cannot open %s: %s", path, strerror(e));
    return e == ENOENT ? HINT_ENOENT : HINT_EIO;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int rc = io_error("cannot stat", path, err, err_cap);
    close(fd);
    return rc;
  }
  uint64_t fsize = (uint64_t)st.st_size;
  int rc = HINT_OK;
  void *buf = NULL;
  if (fsize < sizeof(ckpt_header_t)) {
    snprintf(err, err_cap, "%s: truncated (%llu bytes, header needs %zu)", path,
             (unsigned long long)fsize, sizeof(ckpt_header_t));
    rc = HINT_ETRUNC;
    goto out;
  }
  buf = hint_malloc(fsize);
  if (buf == NULL) {
    snprintf(err, err_cap, "%s: out of memory for %llu bytes", path, (unsigned long long)fsize);
    rc = HINT_ENOMEM;
    goto out;
  }
  uint64_t got = 0;
  while (got < fsize) {
    ssize_t r = read(fd, (char *)buf + got, (size_t)(fsize - got));
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0) {
      rc = io_error("cannot read", path, err, err_cap);
      goto out;
    }
    got += (uint64_t)r;
  }
  ckpt_header_t h;
  memcpy(&h, buf, sizeof h);
  if (memcmp(h.magic, CKPT_MAGIC, 8) != 0) {
    snprintf(err, err_cap, "%s: not a HINT checkpoint (bad magic)", path);
    rc = HINT_EMAGIC;
    goto out;
  }
  if (h.version != CKPT_VERSION) {
    snprintf(err, err_cap, "%s: checkpoint format %u, this build reads %u", path, h.version, CKPT_VERSION);
    rc = HINT_EVERSION;
    goto out;
  }
  if (h.n_sections > HINT_CKPT_MAX_SECTIONS ||
      fsize < sizeof h + (uint64_t)h.n_sections * sizeof(ckpt_entry_t)) {
    snprintf(err, err_cap, "%s: truncated or corrupt section table", path);
    rc = h.n_sections > HINT_CKPT_MAX_SECTIONS ? HINT_ECHECKSUM : HINT_ETRUNC;
    goto out;
  }
  size_t meta_len = sizeof h + (size_t)h.n_sections * sizeof(ckpt_entry_t);
  uint64_t stored = h.meta_checksum;
  ((ckpt_header_t *)buf)->meta_checksum = 0;
  uint64_t meta_sum = hint_checksum64(buf, meta_len);
  ((ckpt_header_t *)buf)->meta_checksum = stored;
  if (meta_sum != stored) {
    snprintf(err, err_cap, "%s: header checksum mismatch (corrupt)", path);
    rc = HINT_ECHECKSUM;
    goto out;
  }
  if (h.file_size != fsize) {
    snprintf(err, err_cap, "%s: %llu bytes on disk, header says %llu (truncated or padded)", path,
             (unsigned long long)fsize, (unsigned long long)h.file_size);
    rc = fsize < h.file_size ? HINT_ETRUNC : HINT_ECHECKSUM;
    goto out;
  }
  if (expect_hash != 0 && h.config_hash != expect_hash) {
    snprintf(err, err_cap, "%s: written under a different config (hash %016llx, this run %016llx)", path,
             (unsigned long long)h.config_hash, (unsigned long long)expect_hash);
    rc = HINT_EHASH;
    goto out;
  }
  const ckpt_entry_t *table = (const ckpt_entry_t *)((const char *)buf + sizeof h);
  for (uint32_t i = 0; i < h.n_sections; i++) {
    ckpt_entry_t e;
    memcpy(&e, &table[i], sizeof e);
    if (e.name[HINT_CKPT_NAME - 1] != '\0' || e.offset > fsize || e.size > fsize - e.offset) {
      snprintf(err, err_cap, "%s: section %u lies outside the file", path, i);
      rc = HINT_ECHECKSUM;
      goto out;
    }
    const void *data = (const char *)buf + e.offset;
    if (hint_checksum64(data, (size_t)e.size) != e.checksum) {
      snprintf(err, err_cap, "%s: section '%s' checksum mismatch (corrupt)", path, e.name);
      rc = HINT_ECHECKSUM;
      goto out;
    }
    memcpy(out->sections[i].name, e.name, HINT_CKPT_NAME);
    out->sections[i].data = data;
    out->sections[i].size = e.size;
  }
  out->n_sections = (int)h.n_sections;
  out->config_hash = h.config_hash;
  out->buf = buf;
  out->buf_size = fsize;
  buf = NULL;
out:
  hint_free(buf);
  close(fd);
  return rc;
}

void hint_ckpt_free(hint_ckpt_t *c) {
  if (c == NULL)
    return;
  hint_free(c->buf);
  memset(c, 0, sizeof *c);
}

const hint_ckpt_section_t *hint_ckpt_find(const hint_ckpt_t *c, const char *name) {
  for (int i = 0; i < c->n_sections; i++)
    if (strcmp(c->sections[i].name, name) == 0)
      return &c->sections[i];
  return NULL;
}
