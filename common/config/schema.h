/* schema.h: the table behind the config (internal to common/config and the
 * tools that document it). One row per key: name, type, where it lives in
 * hint_config_t, bounds, default (as YAML text, parsed by the same code as a
 * file value) and one line of help. Rows are grouped by section, in the order
 * the effective config is printed. */
#ifndef HINT_CONFIG_SCHEMA_H
#define HINT_CONFIG_SCHEMA_H

#include <stddef.h>

typedef enum {
  CFG_INT,      /* int */
  CFG_INT64,    /* int64_t */
  CFG_FLOAT,    /* double */
  CFG_BOOL,     /* int 0/1 */
  CFG_STRING,   /* char[size] */
  CFG_ENUM,     /* int, index into names */
  CFG_ENUM_SET, /* int bit mask, bit i = names[i] */
} cfg_type_t;

typedef struct {
  const char *key;            /* dotted path, e.g. "student.lr" */
  cfg_type_t type;
  size_t offset;
  size_t size;                /* bytes of the field (string capacity) */
  double min, max;            /* numeric bounds, inclusive */
  const char *def;            /* default, YAML scalar or flow sequence */
  const char *const *names;   /* enum value names, NULL-terminated */
  const char *help;
} cfg_entry_t;

extern const cfg_entry_t cfg_schema[];
extern const int cfg_schema_len;

/* Row for key, or NULL. */
const cfg_entry_t *cfg_schema_find(const char *key);

#endif
