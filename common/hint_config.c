/* hint-config: validate a config (schema and environment feasibility), print
 * the effective config, document every key, or read one value for scripts.
 *
 *   hint-config [--set k=v]... CONFIG            validate; print a summary
 *   hint-config --print-config CONFIG            the effective config (YAML)
 *   hint-config --get KEY CONFIG                 one value (for deploy/ scripts)
 *   hint-config --help-config                    every key, type, bounds, default
 *
 * Exit codes: 0 valid, 1 usage error, 2 invalid config.
 */
#include "common/config/cli.h"
#include "common/config/config.h"
#include "common/core/error.h"
#include "common/env/env.h"
#include "common/runtime/runtime.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
  hint_cli_t cli;
  char err[512];
  const char *extra[] = {"--get", NULL};
  if (hint_cli_parse(argc, argv, extra, &cli, err, sizeof err) != HINT_OK) {
    fprintf(stderr, "hint-config: %s\n", err);
    return 1;
  }
  if (cli.help) {
    hint_cli_usage("hint-config", "Validate a HINT config; --get KEY prints one value.", stdout);
    return 0;
  }
  if (cli.help_config) {
    hint_config_help(stdout);
    return 0;
  }
  hint_config_t cfg;
  hint_config_error_t cerr;
  int rc = hint_config_load(&cfg, cli.config_path, cli.overrides, cli.n_overrides, &cerr);
  if (rc != HINT_OK) {
    fprintf(stderr, "hint-config: %s\n", cerr.msg);
    return 2;
  }
  runtime_apply_algo(&cfg);
  rc = env_validate(&cfg, err, sizeof err);
  if (rc != HINT_OK) {
    fprintf(stderr, "hint-config: %s: %s\n", cli.config_path ? cli.config_path : "<defaults>", err);
    return 2;
  }
  const char *key = hint_cli_extra(&cli, "--get");
  if (key != NULL) {
    char val[512];
    if (hint_config_get(&cfg, key, val, sizeof val) != HINT_OK) {
      fprintf(stderr, "hint-config: --get %s: unknown key (see --help-config)\n", key);
      return 2;
    }
    printf("%s\n", val);
    return 0;
  }
  if (cli.print_config)
    return hint_config_write(&cfg, stdout) == HINT_OK ? 0 : 2;
  env_dims_t d;
  env_dims(&cfg, &d, err, sizeof err);
  printf("%s: valid (%s %dx%d, %d agents, obs %d, state %d, algo %s, hash %016llx)\n",
         cli.config_path ? cli.config_path : "<defaults>",
         hint_config_enum_name("env.name", cfg.env.name), cfg.env.size, cfg.env.size, d.n_agents,
         d.obs_dim, d.state_dim, hint_config_enum_name("algo.name", cfg.algo.name),
         (unsigned long long)hint_config_hash(&cfg));
  return 0;
}
