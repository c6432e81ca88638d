/* boot.c: the MPI bootstrap (see boot.h).
 *
 * Every step is collective and starts or ends with an agreement on a status,
 * so no rank is ever left waiting in a collective the others skipped. The
 * messages are fixed-size structs of chars and integers sent as MPI_BYTE
 * (all ranks run the same build on the same architecture; the gathered
 * protocol version catches a mixed build).
 */
#include "common/wire/boot.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/core/alloc.h"
#include "common/core/error.h"
#include "common/core/log.h"
#include "common/wire/msg.h"

static int mpi_fail(int mrc, const char *what) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(mrc, text, &len);
  LOG_ERROR("MPI %s failed: %.*s", what, len, text);
  return HINT_EMPI;
}

int boot_init(boot_t *b, MPI_Comm world) {
  memset(b, 0, sizeof(*b));
  b->world = world;
  b->actors = MPI_COMM_NULL;
  int mrc = MPI_Comm_set_errhandler(world, MPI_ERRORS_RETURN);
  if (mrc != MPI_SUCCESS) return mpi_fail(mrc, "Comm_set_errhandler");
  if ((mrc = MPI_Comm_rank(world, &b->rank)) != MPI_SUCCESS) return mpi_fail(mrc, "Comm_rank");
  if ((mrc = MPI_Comm_size(world, &b->size)) != MPI_SUCCESS) return mpi_fail(mrc, "Comm_size");
  b->is_learner = b->rank == 0;
  b->n_actors = b->size - 1;
  /* Every rank takes part in the split; the learner gets MPI_COMM_NULL. */
  mrc = MPI_Comm_split(world, b->is_learner ? MPI_UNDEFINED : 1, b->rank, &b->actors);
  if (mrc != MPI_SUCCESS) return mpi_fail(mrc, "Comm_split");
  if (b->size < 2) {
    LOG_ERROR("a job needs the learner and at least one actor; this one has %d rank", b->size);
    return HINT_EINVAL;
  }
  return 0;
}

void boot_fini(boot_t *b) {
  if (b->actors != MPI_COMM_NULL) MPI_Comm_free(&b->actors);
  b->actors = MPI_COMM_NULL;
}

int boot_agree(const boot_t *b, int rc) {
  int all = 0;
  int mrc = MPI_Allreduce(&rc, &all, 1, MPI_INT, MPI_MIN, b->world);
  if (mrc != MPI_SUCCESS) return mpi_fail(mrc, "Allreduce(status)");
  return all;
}

int boot_config(boot_t *b, const char *text, size_t len, const char *name,
                const char *const *overrides, int n_overrides, hint_config_t *cfg) {
  int rc = 0;
  int64_t tlen = 0;
  char *buf = NULL;
  if (b->is_learner) {
    hint_config_error_t err;
    rc = hint_config_load_text(cfg, text, len, name, overrides, n_overrides, &err);
    if (rc) {
      LOG_ERROR("config: %s", err.msg);
    } else if (cfg->actor.count != b->n_actors) {
      LOG_ERROR("config: actor.count is %d but the job has %d actor ranks", cfg->actor.count,
                b->n_actors);
      rc = HINT_ECONFIG;
    } else {
      tlen = (int64_t)hint_config_format(cfg, NULL, 0);
      buf = hint_malloc((size_t)tlen + 1);
      if (!buf) rc = HINT_ENOMEM;
      else hint_config_format(cfg, buf, (size_t)tlen + 1);
    }
  }
  /* The learner's verdict first, so actors never wait for text that will
   * not come. */
  int mrc = MPI_Bcast(&rc, 1, MPI_INT, 0, b->world);
  if (mrc != MPI_SUCCESS) { hint_free(buf); return mpi_fail(mrc, "Bcast(config status)"); }
  if (rc) {
    if (!b->is_learner) LOG_ERROR("the learner rejected the config (%s); see its log", hint_strerror(rc));
    hint_free(buf);
    return rc;
  }
  if ((mrc = MPI_Bcast(&tlen, 1, MPI_INT64_T, 0, b->world)) != MPI_SUCCESS) {
    hint_free(buf);
    return mpi_fail(mrc, "Bcast(config length)");
  }
  if (tlen <= 0 || tlen > (int64_t)1 << 30) return HINT_ECONFIG;
  if (!b->is_learner) buf = hint_malloc((size_t)tlen + 1);
  int local = buf ? 0 : HINT_ENOMEM;
  if ((rc = boot_agree(b, local))) { hint_free(buf); return rc; }
  if ((mrc = MPI_Bcast(buf, (int)tlen, MPI_CHAR, 0, b->world)) != MPI_SUCCESS) {
    hint_free(buf);
    return mpi_fail(mrc, "Bcast(config text)");
  }
  buf[tlen] = 0;
  local = 0;
  if (!b->is_learner) {
    hint_config_error_t err;
    local = hint_config_load_text(cfg, buf, (size_t)tlen, "<config from the learner>", NULL, 0, &err);
    if (local) LOG_ERROR("rank %d cannot load the learner's effective config: %s", b->rank, err.msg);
  }
  hint_free(buf);
  return boot_agree(b, local);
}

typedef struct {
  int32_t status;
  int32_t curve;
  char router_ep[WIRE_ENDPOINT_MAX];
  char pub_ep[WIRE_ENDPOINT_MAX];
  char server_pub[WIRE_KEY_Z85];
} learner_info_t;

typedef struct {
  uint32_t protocol;
  int32_t has_key;
  uint64_t config_hash;
  char pub[WIRE_KEY_Z85];
} actor_info_t;

int boot_exchange(boot_t *b, const hint_config_t *cfg, int local_status, wire_learner_t *learner,
                  const wire_keypair_t *keys, boot_endpoints_t *ep) {
  int rc = boot_agree(b, local_status);
  if (rc) return rc;
  learner_info_t li;
  memset(&li, 0, sizeof(li));
  if (b->is_learner) {
    if (!learner) return HINT_EINVAL; /* unreachable after agreement on local_status */
    snprintf(li.router_ep, sizeof(li.router_ep), "%s", wire_learner_router_endpoint(learner));
    snprintf(li.pub_ep, sizeof(li.pub_ep), "%s", wire_learner_pub_endpoint(learner));
    li.curve = keys != NULL;
    if (keys) snprintf(li.server_pub, sizeof(li.server_pub), "%s", keys->pub);
  }
  int mrc = MPI_Bcast(&li, (int)sizeof(li), MPI_BYTE, 0, b->world);
  if (mrc != MPI_SUCCESS) return mpi_fail(mrc, "Bcast(endpoints)");
  if (ep) {
    memset(ep, 0, sizeof(*ep));
    memcpy(ep->router_ep, li.router_ep, sizeof(ep->router_ep));
    memcpy(ep->pub_ep, li.pub_ep, sizeof(ep->pub_ep));
    ep->curve = li.curve;
    memcpy(ep->server_pub, li.server_pub, sizeof(ep->server_pub));
    ep->router_ep[WIRE_ENDPOINT_MAX - 1] = ep->pub_ep[WIRE_ENDPOINT_MAX - 1] = 0;
    ep->server_pub[WIRE_KEY_Z85 - 1] = 0;
  }

  actor_info_t mine;
  memset(&mine, 0, sizeof(mine));
  mine.protocol = MSG_PROTOCOL_VERSION;
  mine.config_hash = hint_config_hash(cfg);
  if (!b->is_learner && keys) {
    mine.has_key = 1;
    snprintf(mine.pub, sizeof(mine.pub), "%s", keys->pub);
  }
  actor_info_t *all = NULL;
  int local = 0;
  if (b->is_learner) {
    all = hint_calloc((size_t)b->size, sizeof(*all));
    if (!all) local = HINT_ENOMEM;
  }
  if ((rc = boot_agree(b, local))) { hint_free(all); return rc; }
  mrc = MPI_Gather(&mine, (int)sizeof(mine), MPI_BYTE, all, (int)sizeof(mine), MPI_BYTE, 0, b->world);
  if (mrc != MPI_SUCCESS) { hint_free(all); return mpi_fail(mrc, "Gather(actor keys)"); }

  int32_t verdict[2] = {0, 0}; /* code, offending rank */
  if (b->is_learner) {
    for (int r = 1; r < b->size && verdict[0] == 0; r++) {
      const actor_info_t *a = &all[r];
      if (a->protocol != MSG_PROTOCOL_VERSION) {
        LOG_ERROR("rank %d speaks protocol version %u, the learner %u: rebuild so all ranks match", r,
                  a->protocol, MSG_PROTOCOL_VERSION);
        verdict[0] = HINT_EVERSION;
      } else if (a->config_hash != mine.config_hash) {
        LOG_ERROR("rank %d has config hash %016" PRIx64 ", the learner %016" PRIx64, r, a->config_hash,
                  mine.config_hash);
        verdict[0] = HINT_EHASH;
      } else if (li.curve && !a->has_key) {
        LOG_ERROR("rank %d sent no CURVE public key but CURVE is on", r);
        verdict[0] = HINT_EAUTH;
      } else if (li.curve) {
        char pub[WIRE_KEY_Z85];
        memcpy(pub, a->pub, sizeof(pub));
        pub[WIRE_KEY_Z85 - 1] = 0;
        if (wire_learner_allow(learner, r, pub) != 0) {
          LOG_ERROR("rank %d sent an invalid CURVE public key", r);
          verdict[0] = HINT_EAUTH;
        }
      }
      if (verdict[0]) verdict[1] = r;
    }
  }
  hint_free(all);
  if ((mrc = MPI_Bcast(verdict, 2, MPI_INT32_T, 0, b->world)) != MPI_SUCCESS)
    return mpi_fail(mrc, "Bcast(verdict)");
  if (verdict[0] && !b->is_learner && verdict[1] == b->rank)
    LOG_ERROR("rank %d: the learner refused this rank at bootstrap: %s", b->rank, hint_strerror(verdict[0]));
  return verdict[0];
}

int boot_allreduce(void *buf, int count, MPI_Datatype type, MPI_Op op, MPI_Comm comm) {
  MPI_Request req;
  int rc = MPI_Iallreduce(MPI_IN_PLACE, buf, count, type, op, comm, &req);
  if (rc != MPI_SUCCESS)
    return rc;
  struct timespec t0, now;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  long nap_ns = 10000;
  for (;;) {
    int done = 0;
    rc = MPI_Test(&req, &done, MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS || done)
      return rc;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if ((now.tv_sec - t0.tv_sec) * 1000000000L + (now.tv_nsec - t0.tv_nsec) < 20000L)
      continue;
    struct timespec nap = {0, nap_ns};
    nanosleep(&nap, NULL);
    if (nap_ns < 500000L)
      nap_ns *= 2;
  }
}
