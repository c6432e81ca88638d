/* boot.h: the MPI bootstrap of a job (architecture.md, "Processes").
 *
 * World rank 0 is the learner, every other rank an actor. The bootstrap is a
 * short, fixed sequence of collectives that every rank calls in the same
 * order; each step first agrees on a status (boot_agree), so a failure on any
 * rank makes every rank return the same error instead of leaving the others
 * blocked in the next collective:
 *   boot_init      split the actors' communicator off the world
 *   boot_config    rank 0 validates the config and broadcasts its effective
 *                  text; actors load that text (they need no config file)
 *   boot_exchange  rank 0 broadcasts its endpoints and CURVE public key; the
 *                  actors gather their public keys, config hashes and protocol
 *                  versions to it; rank 0 checks them, allows exactly those
 *                  keys in its ZAP handler, and broadcasts the verdict
 * MPI errors are returned (MPI_ERRORS_RETURN on the world communicator) and
 * translated to HINT_EMPI with the MPI text logged.
 */
#ifndef HINT_WIRE_BOOT_H
#define HINT_WIRE_BOOT_H

#include <mpi.h>
#include <stddef.h>

#include "common/config/config.h"
#include "common/wire/wire.h"

typedef struct {
  MPI_Comm world;               /* borrowed */
  int rank, size;               /* in world */
  int is_learner;               /* world rank 0 */
  int n_actors;                 /* size - 1 */
  MPI_Comm actors;              /* actors only (MPI_COMM_NULL on the learner); owned */
} boot_t;

/* What an actor learns from the learner. */
typedef struct {
  char router_ep[WIRE_ENDPOINT_MAX];
  char pub_ep[WIRE_ENDPOINT_MAX];
  int curve;                    /* bool */
  char server_pub[WIRE_KEY_Z85];
} boot_endpoints_t;

/* Collective over world (size >= 2). 0 or HINT_EMPI / HINT_EINVAL. */
int boot_init(boot_t *b, MPI_Comm world);
/* Frees the actors' communicator. Not collective-safe after MPI_Finalize. */
void boot_fini(boot_t *b);

/* In-place MPI_Allreduce that waits politely: MPI_Iallreduce, then MPI_Test
 * in a loop that spins for ~20 us and then sleeps (10 us doubling to 0.5 ms).
 * A blocking MPI_Allreduce in an oversubscribed Open MPI job spins in
 * sched_yield while a slower peer finishes, burning the core the learner
 * needs (seen in perf: a quarter of the actors' CPU). Returns MPI's code. */
int boot_allreduce(void *buf, int count, MPI_Datatype type, MPI_Op op, MPI_Comm comm);

/* Collective: returns on every rank the most negative of the ranks' rc
 * (0 if all are 0), or HINT_EMPI if the reduction itself failed. */
int boot_agree(const boot_t *b, int rc);

/* Collective. On rank 0, text/len/name/overrides are the user's config
 * (ignored elsewhere). Rank 0 loads and validates it (failures are logged
 * with file, line and key), checks actor.count against the job's actor ranks,
 * and broadcasts the effective config text; every rank ends with the same
 * cfg. Returns 0, or the same error on every rank (HINT_ECONFIG etc.). */
int boot_config(boot_t *b, const char *text, size_t len, const char *name,
                const char *const *overrides, int n_overrides, hint_config_t *cfg);

/* Collective. On rank 0, learner is the created learner endpoint (or NULL if
 * creating it failed: then pass that error as local_status) and keys its
 * CURVE pair (NULL when CURVE is off). On actors, keys is the actor's own
 * pair (NULL when CURVE is off) and ep receives the learner's endpoints.
 * Returns 0, or on every rank: HINT_EHASH (an actor's config hash differs),
 * HINT_EVERSION (protocol versions differ), HINT_EAUTH (an actor has no key
 * though CURVE is on), or the first failing rank's local_status. The
 * learner's log names the offending rank. */
int boot_exchange(boot_t *b, const hint_config_t *cfg, int local_status, wire_learner_t *learner,
                  const wire_keypair_t *keys, boot_endpoints_t *ep);

#endif
