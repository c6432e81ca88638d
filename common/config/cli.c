/* cli.c: see cli.h. */
#include "common/config/cli.h"
#include "common/core/error.h"

#include <stdio.h>
#include <string.h>

static int is_extra(const char *const *allowed, const char *arg) {
  for (int i = 0; allowed && allowed[i]; i++)
    if (strcmp(allowed[i], arg) == 0)
      return 1;
  return 0;
}

int hint_cli_parse(int argc, char **argv, const char *const *allowed_extra,
                   hint_cli_t *cli, char *err, size_t err_cap) {
  memset(cli, 0, sizeof *cli);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--set") == 0 || strncmp(a, "--set=", 6) == 0) {
      const char *v = a[5] == '=' ? a + 6 : (i + 1 < argc ? argv[++i] : NULL);
      if (v == NULL || strchr(v, '=') == NULL) {
        snprintf(err, err_cap, "--set needs key=value (got '%s')", v ? v : "");
        return HINT_EINVAL;
      }
      if (cli->n_overrides == HINT_CLI_MAX_SET) {
        snprintf(err, err_cap, "more than %d --set overrides", HINT_CLI_MAX_SET);
        return HINT_EINVAL;
      }
      cli->overrides[cli->n_overrides++] = v;
    } else if (strcmp(a, "--help-config") == 0) {
      cli->help_config = 1;
    } else if (strcmp(a, "--print-config") == 0) {
      cli->print_config = 1;
    } else if (strcmp(a, "--dry-run") == 0) {
      cli->dry_run = 1;
    } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      cli->help = 1;
    } else if (is_extra(allowed_extra, a)) {
      if (i + 1 >= argc) {
        snprintf(err, err_cap, "%s needs a value", a);
        return HINT_EINVAL;
      }
      if (cli->n_extra == HINT_CLI_MAX_EXTRA) {
        snprintf(err, err_cap, "too many options");
        return HINT_EINVAL;
      }
      cli->extra_names[cli->n_extra] = a;
      cli->extra_values[cli->n_extra++] = argv[++i];
    } else if (a[0] == '-' && a[1] != '\0') {
      snprintf(err, err_cap, "unknown option '%s' (see --help)", a);
      return HINT_EINVAL;
    } else if (cli->config_path == NULL) {
      cli->config_path = a;
    } else {
      snprintf(err, err_cap, "more than one config file ('%s' and '%s')", cli->config_path, a);
      return HINT_EINVAL;
    }
  }
  return HINT_OK;
}

const char *hint_cli_extra(const hint_cli_t *cli, const char *name) {
  for (int i = cli->n_extra - 1; i >= 0; i--)
    if (strcmp(cli->extra_names[i], name) == 0)
      return cli->extra_values[i];
  return NULL;
}

void hint_cli_usage(const char *program, const char *what, FILE *out) {
  fprintf(out,
          "usage: %s [options] CONFIG.yaml\n"
          "%s\n\n"
          "  --set key=value   override one config key (repeatable), e.g. --set student.lr=3e-4\n"
          "  --help-config     list every config key with type, bounds, default and help\n"
          "  --print-config    print the effective config and exit\n"
          "  --dry-run         validate the config and environment, then exit\n"
          "  -h, --help        this text\n",
          program, what);
}
