/* cli.h: the command line every entry point shares.
 *
 *   PROGRAM [options] CONFIG.yaml
 *     --set key=value   override one config key (repeatable; applied in order)
 *     --help-config     list every key with type, bounds, default and help
 *     --print-config    print the effective config and exit
 *     --dry-run         validate everything and exit
 *     -h, --help        usage
 *
 * Parsing never allocates: the struct points into argv.
 */
#ifndef HINT_CONFIG_CLI_H
#define HINT_CONFIG_CLI_H

#include <stddef.h>
#include <stdio.h>

#define HINT_CLI_MAX_SET 128
#define HINT_CLI_MAX_EXTRA 16

typedef struct {
  const char *config_path;               /* NULL: defaults only */
  const char *overrides[HINT_CLI_MAX_SET];
  int n_overrides;
  int help, help_config, print_config, dry_run;
  /* Program-specific flags the caller allowed (e.g. "--hostfile"), with their
   * values, in order. */
  const char *extra_names[HINT_CLI_MAX_EXTRA];
  const char *extra_values[HINT_CLI_MAX_EXTRA];
  int n_extra;
} hint_cli_t;

/* Parses argv. allowed_extra is a NULL-terminated list of extra flags that take
 * one value (may be NULL). Returns 0, or HINT_EINVAL with a message in err. */
int hint_cli_parse(int argc, char **argv, const char *const *allowed_extra,
                   hint_cli_t *cli, char *err, size_t err_cap);

/* Value of an extra flag, or NULL. */
const char *hint_cli_extra(const hint_cli_t *cli, const char *name);

/* Prints the shared usage text for program. */
void hint_cli_usage(const char *program, const char *what, FILE *out);

#endif
