/* prom.h: the learner's Prometheus endpoint (metrics.prometheus_port).
 *
 * An HTTP server (libmicrohttpd, its own thread) answers GET /metrics with
 * the newest metrics record in the Prometheus text exposition format 0.0.4;
 * every other path is 404. The learner hands over each record it appends to
 * metrics.jsonl (prom_publish: a copy under a mutex, nothing else on the
 * learner's thread); the server thread parses and formats it per scrape, with
 * the same reader hint-top uses (common/metrics/jsonline.h), so the endpoint
 * and metrics.jsonl can never disagree.
 *
 * Ownership: the learner creates one prom_t at start (allocation happens
 * there only) and destroys it at teardown; destroy joins the server thread.
 */
#ifndef HINT_LEARNER_PROM_H
#define HINT_LEARNER_PROM_H

#include <stddef.h>

typedef struct prom prom_t;

/* Labels put on every sample, and the budget shown as hint_budget_env_steps. */
typedef struct {
  const char *run;          /* run.name */
  const char *algo;         /* algo.name */
  double budget_env_steps;  /* run.total_env_steps */
} prom_info_t;

/* Listens on bind:port (a numeric IPv4 or IPv6 address, or "localhost";
 * no name lookups; port 0 takes any free port, see prom_port) and starts
 * serving. Returns 0 and *pp, or HINT_EINVAL (bad address), HINT_ECONN
 * (cannot bind or listen: the port is in use, the address is not local),
 * HINT_ENOMEM; err then names the address, the port and the reason. */
int prom_create(prom_t **pp, const char *bind, int port, const prom_info_t *info, char *err,
                size_t err_cap);

/* The port actually listened on. */
int prom_port(const prom_t *p);

/* "http://ADDRESS:PORT/metrics" (IPv6 in brackets), for the log. */
const char *prom_url(const prom_t *p);

/* Hands the server one metrics record (a flat JSON object, as written to
 * metrics.jsonl). Copies it under the mutex; a record longer than the
 * snapshot buffer is ignored (the previous one stays). NULL-safe. */
void prom_publish(prom_t *p, const char *record, size_t len);

/* Stops the server, joins its thread, frees p and clears *pp. NULL-safe. */
void prom_destroy(prom_t **pp);

#endif
