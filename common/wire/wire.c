/* wire.c: ZeroMQ endpoints of the learner and the actors (see wire.h).
 *
 * Ownership: each endpoint owns its ZeroMQ context, sockets, one encode
 * buffer sized for the largest message under the shapes, and the frame last
 * received (whose views the caller reads). Everything is allocated in
 * *_create; send and receive allocate nothing of ours (ZeroMQ allocates frame
 * storage internally, bounded by ZMQ_MAXMSGSIZE = max_message_bytes).
 */
#include "common/wire/wire.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "common/core/alloc.h"
#include "common/core/clock.h"
#include "common/core/error.h"
#include "common/core/log.h"

#define ID_MAX 64            /* routing ids we store per rank */
#define LOG_FIRST_DROPS 8    /* per sender, then one line per 1000 */

/* ---- helpers ------------------------------------------------------------- */

static int zerr(const char *what, const char *detail) {
  LOG_ERROR("zmq %s%s%s: %s", what, detail ? " " : "", detail ? detail : "",
            zmq_strerror(zmq_errno()));
  return HINT_EZMQ;
}

static int setopt_int(void *s, int opt, int v, const char *name) {
  if (zmq_setsockopt(s, opt, &v, sizeof(v)) != 0) return zerr("setsockopt", name);
  return 0;
}

/* Options every socket gets: bounded queues, bounded linger, bounded frames,
 * and a handshake timeout so a silent peer cannot hold a connection open. */
static int common_opts(void *s, const wire_opts_t *o) {
  int hwm = o->hwm < o->max_inflight + 2 ? o->max_inflight + 2 : o->hwm;
  int64_t maxsz = o->max_message_bytes > 0 ? o->max_message_bytes : -1;
  int rc = 0;
  rc |= setopt_int(s, ZMQ_SNDHWM, hwm, "SNDHWM");
  rc |= setopt_int(s, ZMQ_RCVHWM, hwm, "RCVHWM");
  rc |= setopt_int(s, ZMQ_LINGER, o->linger_ms, "LINGER");
  rc |= setopt_int(s, ZMQ_HANDSHAKE_IVL, 10000, "HANDSHAKE_IVL");
  if (zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxsz, sizeof(maxsz)) != 0)
    rc |= zerr("setsockopt", "MAXMSGSIZE");
  return rc ? HINT_EZMQ : 0;
}

static int poll_in(zmq_pollitem_t *items, int n, int timeout_ms) {
  int rc = zmq_poll(items, n, timeout_ms);
  if (rc < 0) return errno == EINTR ? HINT_ETIMEDOUT : zerr("poll", NULL);
  return rc == 0 ? HINT_ETIMEDOUT : 0;
}

static int remaining_ms(double deadline) {
  double left = deadline - hint_now_s();
  return left <= 0 ? 0 : (int)(left * 1000.0) + 1;
}

void wire_opts_from_config(wire_opts_t *o, const hint_config_t *cfg) {
  memset(o, 0, sizeof(*o));
  o->bind = cfg->transport.bind;
  snprintf(o->interface, sizeof(o->interface), "%s", cfg->transport.interface);
  o->port = cfg->transport.port;
  o->curve = cfg->transport.curve == HINT_CURVE_ON ||
             (cfg->transport.curve == HINT_CURVE_AUTO &&
              (cfg->transport.bind == HINT_BIND_INTERFACE || cfg->transport.bind == HINT_BIND_ANY));
  o->hwm = cfg->transport.hwm;
  o->linger_ms = cfg->transport.linger_ms;
  o->max_inflight = cfg->transport.max_inflight;
  o->n_actors = cfg->actor.count;
  o->max_message_bytes = cfg->transport.max_message_bytes;
}

int wire_keypair_new(wire_keypair_t *kp) {
  if (!zmq_has("curve")) {
    LOG_ERROR("libzmq was built without CURVE: cannot authenticate actors");
    return HINT_EZMQ;
  }
  if (zmq_curve_keypair(kp->pub, kp->sec) != 0) return zerr("curve_keypair", NULL);
  return 0;
}

static const char *drop_label(int rank) { return rank > 0 ? "actor" : "unknown sender"; }

/* ---- learner ------------------------------------------------------------- */

struct wire_learner {
  wire_opts_t opts;
  msg_shapes_t shapes;
  uint64_t config_hash;
  void *ctx, *router, *xpub, *mon;
  char router_ep[WIRE_ENDPOINT_MAX], pub_ep[WIRE_ENDPOINT_MAX];
  msg_buf_t out;
  zmq_msg_t cur;
  int cur_valid;
  int n;                          /* n_actors */
  int *inflight;                  /* [n+1] */
  uint64_t *dropped;              /* [n+1] */
  uint8_t (*ids)[ID_MAX];         /* [n+1] routing id of each rank */
  uint8_t *id_len;                /* [n+1] */
  wire_counters_t c;
  /* ZAP: */
  int zap_running;
  pthread_t zap_thread;
  void *zap_ctl;                  /* PAIR: tells the ZAP thread to stop */
  pthread_mutex_t keys_mu;
  uint8_t (*keys)[32];            /* [n+1] allowed CURVE public keys */
  uint8_t *has_key;               /* [n+1] */
  atomic_uint_fast64_t auth_refused;
};

static int learner_bind(wire_learner_t *l, void *s, int port_offset, char *ep_out) {
  char ep[WIRE_ENDPOINT_MAX];
  const wire_opts_t *o = &l->opts;
  char port[16];
  if (o->port > 0) snprintf(port, sizeof(port), "%d", o->port + port_offset);
  else snprintf(port, sizeof(port), "*");
  switch (o->bind) {
  case HINT_BIND_IPC: snprintf(ep, sizeof(ep), "ipc://*"); break;
  case HINT_BIND_INTERFACE:
    /* An IPv6 address needs brackets in an endpoint and ZMQ_IPV6 on the
     * socket (the actors set it when they see the brackets). */
    if (strchr(o->interface, ':') && o->interface[0] != '[') {
      snprintf(ep, sizeof(ep), "tcp://[%s]:%s", o->interface, port);
      if (setopt_int(s, ZMQ_IPV6, 1, "IPV6")) return HINT_EZMQ;
    } else {
      snprintf(ep, sizeof(ep), "tcp://%s:%s", o->interface, port);
    }
    break;
  case HINT_BIND_ANY: snprintf(ep, sizeof(ep), "tcp://*:%s", port); break;
  default: snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%s", port); break;
  }
  if (zmq_bind(s, ep) != 0) {
    int rc = zerr("bind", ep);
    if (o->bind == HINT_BIND_INTERFACE)
      LOG_ERROR("transport.interface '%s' must be an interface of the learner's host (eth0, ib0, ...) "
                "or one of its addresses; the learner is rank 0, on the first host of the job",
                o->interface);
    return rc;
  }
  char last[WIRE_ENDPOINT_MAX];
  size_t len = sizeof(last);
  if (zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, last, &len) != 0) return zerr("getsockopt", "LAST_ENDPOINT");
  last[sizeof(last) - 1] = 0;
  /* A wildcard address is not something an actor can connect to: advertise
   * this host's name with the port the kernel gave us. */
  if (strncmp(last, "tcp://0.0.0.0:", 14) == 0) {
    char host[128];
    if (gethostname(host, sizeof(host)) != 0) return HINT_EIO;
    host[sizeof(host) - 1] = 0;
    snprintf(ep_out, WIRE_ENDPOINT_MAX, "tcp://%.127s:%.16s", host, last + 14);
  } else {
    snprintf(ep_out, WIRE_ENDPOINT_MAX, "%s", last);
  }
  return 0;
}

/* Discards the remaining parts of a multipart message. */
static void drain_more(void *s) {
  int more = 1;
  size_t sz = sizeof(more);
  while (zmq_getsockopt(s, ZMQ_RCVMORE, &more, &sz) == 0 && more) {
    zmq_msg_t m;
    zmq_msg_init(&m);
    zmq_msg_recv(&m, s, ZMQ_DONTWAIT);
    zmq_msg_close(&m);
    sz = sizeof(more);
  }
}

/* The ZAP loop runs on sockets the learner creates and binds in
 * learner_start_zap, so inproc://zeromq.zap.01 exists before any CURVE
 * connection can arrive. */
typedef struct {
  wire_learner_t *l;
  void *rep, *ctl;
} zap_args_t;

static void zap_reply(void *rep, zmq_msg_t *reqid, const char *status, const char *text,
                      const char *user) {
  zmq_send(rep, "1.0", 3, ZMQ_SNDMORE);
  zmq_msg_send(reqid, rep, ZMQ_SNDMORE);
  zmq_send(rep, status, strlen(status), ZMQ_SNDMORE);
  zmq_send(rep, text, strlen(text), ZMQ_SNDMORE);
  zmq_send(rep, user, strlen(user), ZMQ_SNDMORE);
  zmq_send(rep, "", 0, 0);
}

static void zap_serve_one(wire_learner_t *l, void *rep) {
  /* Request: version, request id, domain, address, routing id, mechanism,
   * credentials... (RFC 27). Read every part; keep what we check. */
  zmq_msg_t parts[8];
  int n = 0, more = 1;
  while (more) {
    zmq_msg_t tmp;
    zmq_msg_init(&tmp);
    if (zmq_msg_recv(&tmp, rep, 0) < 0) { zmq_msg_close(&tmp); break; }
    more = zmq_msg_more(&tmp);
    if (n < 8) parts[n++] = tmp;
    else zmq_msg_close(&tmp);
  }
  if (n < 6) {
    /* Malformed request from inside our own process: cannot happen; refuse. */
    for (int i = 0; i < n; i++) zmq_msg_close(&parts[i]);
    return;
  }
  char user[16] = "";
  const char *status = "400", *text = "key not in this job";
  int mech_curve = zmq_msg_size(&parts[5]) == 5 && memcmp(zmq_msg_data(&parts[5]), "CURVE", 5) == 0;
  if (mech_curve && n >= 7 && zmq_msg_size(&parts[6]) == 32) {
    const uint8_t *key = zmq_msg_data(&parts[6]);
    pthread_mutex_lock(&l->keys_mu);
    for (int r = 1; r <= l->n; r++) {
      if (l->has_key[r] && memcmp(l->keys[r], key, 32) == 0) {
        snprintf(user, sizeof(user), "%d", r);
        status = "200";
        text = "OK";
        break;
      }
    }
    pthread_mutex_unlock(&l->keys_mu);
  } else {
    text = "CURVE required";
  }
  if (status[0] != '2') {
    /* Logged like dropped frames: a flood of refusals must not flood the log. */
    uint64_t k = (uint64_t)atomic_fetch_add(&l->auth_refused, 1) + 1;
    char addr[64] = "?";
    size_t al = zmq_msg_size(&parts[3]);
    if (al >= sizeof(addr)) al = sizeof(addr) - 1;
    memcpy(addr, zmq_msg_data(&parts[3]), al);
    addr[al] = 0;
    if (k <= LOG_FIRST_DROPS || k % 1000 == 0)
      LOG_WARN("refused a connection from %s (%" PRIu64 " so far): %s", addr, k, text);
  }
  zap_reply(rep, &parts[1], status, text, user);
  for (int i = 0; i < n; i++) zmq_msg_close(&parts[i]);
}

static void *zap_loop(void *arg) {
  zap_args_t *a = arg;
  wire_learner_t *l = a->l;
  void *rep = a->rep, *ctl = a->ctl;
  hint_free(a);
  for (;;) {
    zmq_pollitem_t it[2] = {{rep, 0, ZMQ_POLLIN, 0}, {ctl, 0, ZMQ_POLLIN, 0}};
    if (zmq_poll(it, 2, -1) < 0) {
      if (zmq_errno() == EINTR) continue;
      break;
    }
    if (it[1].revents) break;
    if (it[0].revents) zap_serve_one(l, rep);
  }
  zmq_close(rep);
  zmq_close(ctl);
  return NULL;
}

static int learner_start_zap(wire_learner_t *l) {
  void *rep = zmq_socket(l->ctx, ZMQ_REP);
  void *ctl_in = zmq_socket(l->ctx, ZMQ_PAIR);
  l->zap_ctl = zmq_socket(l->ctx, ZMQ_PAIR);
  int rc;
  /* Every socket of l->ctx must be closed before destroy's zmq_ctx_term, or
   * it blocks forever: the two local ones are closed on each failure here
   * (l->zap_ctl is closed by destroy). */
  if (!rep || !ctl_in || !l->zap_ctl) { rc = zerr("socket", "ZAP"); goto fail; }
  int zero = 0;
  zmq_setsockopt(rep, ZMQ_LINGER, &zero, sizeof(zero));
  zmq_setsockopt(ctl_in, ZMQ_LINGER, &zero, sizeof(zero));
  zmq_setsockopt(l->zap_ctl, ZMQ_LINGER, &zero, sizeof(zero));
  char ctl_ep[64];
  snprintf(ctl_ep, sizeof(ctl_ep), "inproc://hint-zap-ctl-%p", (void *)l);
  if (zmq_bind(rep, "inproc://zeromq.zap.01") != 0) { rc = zerr("bind", "inproc://zeromq.zap.01"); goto fail; }
  if (zmq_bind(ctl_in, ctl_ep) != 0 || zmq_connect(l->zap_ctl, ctl_ep) != 0) {
    rc = zerr("bind", ctl_ep);
    goto fail;
  }
  zap_args_t *a = hint_malloc(sizeof(*a));
  if (!a) { rc = HINT_ENOMEM; goto fail; }
  a->l = l;
  a->rep = rep;
  a->ctl = ctl_in;
  if (pthread_create(&l->zap_thread, NULL, zap_loop, a) != 0) {
    hint_free(a);
    zmq_close(rep);
    zmq_close(ctl_in);
    return HINT_EIO;
  }
  l->zap_running = 1;
  return 0;
fail:
  if (rep) zmq_close(rep);
  if (ctl_in) zmq_close(ctl_in);
  return rc;
}

static int learner_server_opts(wire_learner_t *l, void *s, const wire_keypair_t *keys) {
  int rc = common_opts(s, &l->opts);
  if (rc) return rc;
  if (l->opts.curve) {
    rc |= setopt_int(s, ZMQ_CURVE_SERVER, 1, "CURVE_SERVER");
    if (zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, keys->sec, 40) != 0) rc |= zerr("setsockopt", "CURVE_SECRETKEY");
    if (zmq_setsockopt(s, ZMQ_ZAP_DOMAIN, "hint", 4) != 0) rc |= zerr("setsockopt", "ZAP_DOMAIN");
  }
  return rc ? HINT_EZMQ : 0;
}

int wire_learner_create(wire_learner_t **out, const wire_opts_t *opts, const msg_shapes_t *shapes,
                        const wire_keypair_t *keys, uint64_t config_hash) {
  *out = NULL;
  if (opts->n_actors < 0 || opts->n_actors > WIRE_MAX_ACTORS || opts->max_inflight < 1 ||
      (opts->curve && !keys))
    return HINT_EINVAL;
  wire_learner_t *l = hint_calloc(1, sizeof(*l));
  if (!l) return HINT_ENOMEM;
  l->opts = *opts;
  l->shapes = *shapes;
  l->config_hash = config_hash;
  l->n = opts->n_actors;
  pthread_mutex_init(&l->keys_mu, NULL);
  atomic_init(&l->auth_refused, 0);
  size_t n1 = (size_t)l->n + 1;
  l->inflight = hint_calloc(n1, sizeof(int));
  l->dropped = hint_calloc(n1, sizeof(uint64_t));
  l->ids = hint_calloc(n1, ID_MAX);
  l->id_len = hint_calloc(n1, 1);
  l->keys = hint_calloc(n1, 32);
  l->has_key = hint_calloc(n1, 1);
  int rc = HINT_ENOMEM;
  if (!l->inflight || !l->dropped || !l->ids || !l->id_len || !l->keys || !l->has_key) goto fail;
  if ((rc = msg_buf_init(&l->out, msg_max_bytes_any(shapes)))) goto fail;
  rc = HINT_EZMQ;
  l->ctx = zmq_ctx_new();
  if (!l->ctx) { zerr("ctx_new", NULL); goto fail; }
  if (opts->curve && (rc = learner_start_zap(l))) goto fail;
  l->router = zmq_socket(l->ctx, ZMQ_ROUTER);
  l->xpub = zmq_socket(l->ctx, ZMQ_XPUB);
  l->mon = zmq_socket(l->ctx, ZMQ_PAIR);
  if (!l->router || !l->xpub || !l->mon) { rc = zerr("socket", NULL); goto fail; }
  if ((rc = learner_server_opts(l, l->router, keys)) || (rc = learner_server_opts(l, l->xpub, keys)))
    goto fail;
  /* Unroutable replies are errors we report, not silent drops; every
   * subscription reaches us so wait_subscribers can count them. */
  if ((rc = setopt_int(l->router, ZMQ_ROUTER_MANDATORY, 1, "ROUTER_MANDATORY")) ||
      (rc = setopt_int(l->xpub, ZMQ_XPUB_VERBOSE, 1, "XPUB_VERBOSE")) ||
      (rc = setopt_int(l->mon, ZMQ_LINGER, 0, "LINGER")))
    goto fail;
  char mon_ep[64];
  snprintf(mon_ep, sizeof(mon_ep), "inproc://hint-mon-%p", (void *)l);
  if (zmq_socket_monitor(l->router, mon_ep,
                         ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                             ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) != 0 ||
      zmq_connect(l->mon, mon_ep) != 0) {
    rc = zerr("socket_monitor", mon_ep);
    goto fail;
  }
  if ((rc = learner_bind(l, l->router, 0, l->router_ep)) || (rc = learner_bind(l, l->xpub, 1, l->pub_ep)))
    goto fail;
  zmq_msg_init(&l->cur);
  l->cur_valid = 1;
  /* The server's public key is public: logged so an operator can pin it. */
  LOG_INFO("learner listening: segments %s, parameters %s, CURVE %s%s", l->router_ep, l->pub_ep,
           opts->curve ? "on, server key " : "off", opts->curve ? keys->pub : "");
  *out = l;
  return 0;
fail:
  wire_learner_destroy(&l);
  return rc;
}

void wire_learner_destroy(wire_learner_t **lp) {
  wire_learner_t *l = lp ? *lp : NULL;
  if (!l) return;
  if (l->cur_valid) zmq_msg_close(&l->cur);
  if (l->router) zmq_socket_monitor(l->router, NULL, 0);
  if (l->mon) zmq_close(l->mon);
  if (l->router) zmq_close(l->router);
  if (l->xpub) zmq_close(l->xpub);
  if (l->zap_running) {
    zmq_send(l->zap_ctl, "", 0, 0);
    pthread_join(l->zap_thread, NULL);
  }
  if (l->zap_ctl) zmq_close(l->zap_ctl);
  if (l->ctx) zmq_ctx_term(l->ctx);
  pthread_mutex_destroy(&l->keys_mu);
  msg_buf_fini(&l->out);
  hint_free(l->inflight);
  hint_free(l->dropped);
  hint_free(l->ids);
  hint_free(l->id_len);
  hint_free(l->keys);
  hint_free(l->has_key);
  hint_free(l);
  *lp = NULL;
}

const char *wire_learner_router_endpoint(const wire_learner_t *l) { return l->router_ep; }
const char *wire_learner_pub_endpoint(const wire_learner_t *l) { return l->pub_ep; }

int wire_learner_allow(wire_learner_t *l, int rank, const char *pub_z85) {
  uint8_t key[32];
  if (rank < 1 || rank > l->n || !pub_z85 || strlen(pub_z85) != 40 || !zmq_z85_decode(key, pub_z85))
    return HINT_EINVAL;
  pthread_mutex_lock(&l->keys_mu);
  memcpy(l->keys[rank], key, 32);
  l->has_key[rank] = 1;
  pthread_mutex_unlock(&l->keys_mu);
  return 0;
}

/* Monitor events: frame 1 = u16 event + u32 value, frame 2 = endpoint. */
static void learner_drain_monitor(wire_learner_t *l) {
  for (;;) {
    zmq_msg_t ev;
    zmq_msg_init(&ev);
    if (zmq_msg_recv(&ev, l->mon, ZMQ_DONTWAIT) < 0) { zmq_msg_close(&ev); return; }
    if (zmq_msg_size(&ev) >= 6) {
      uint16_t id;
      memcpy(&id, zmq_msg_data(&ev), 2);
      /* ZAP refusals (HANDSHAKE_FAILED_AUTH) are counted by the ZAP thread;
       * here: peers that could not even complete the handshake. */
      if (id & (ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)) {
        uint64_t k = ++l->c.handshake_failed;
        if (k <= LOG_FIRST_DROPS || k % 1000 == 0)
          LOG_WARN("a peer failed the %s handshake on %s (%" PRIu64 " so far; event 0x%x)",
                   l->opts.curve ? "CURVE" : "ZMTP", l->router_ep, k, id);
      }
    }
    zmq_msg_close(&ev);
    drain_more(l->mon);
  }
}

static void learner_drain_xpub(wire_learner_t *l) {
  for (;;) {
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, l->xpub, ZMQ_DONTWAIT) < 0) { zmq_msg_close(&m); return; }
    if (zmq_msg_size(&m) >= 1) {
      uint8_t b = *(uint8_t *)zmq_msg_data(&m);
      if (b == 1) l->c.subscribers++;
      else if (b == 0 && l->c.subscribers > 0) l->c.subscribers--;
    }
    zmq_msg_close(&m);
    drain_more(l->xpub);
  }
}

static int rank_from_frame(wire_learner_t *l, zmq_msg_t *payload, const uint8_t *id, size_t id_len) {
  long r = 0;
  char buf[24];
  if (l->opts.curve) {
    const char *uid = zmq_msg_gets(payload, "User-Id");
    if (!uid) return 0;
    snprintf(buf, sizeof(buf), "%s", uid);
  } else {
    if (id_len < 7 || id_len >= sizeof(buf) + 6 || memcmp(id, "actor-", 6) != 0) return 0;
    memcpy(buf, id + 6, id_len - 6);
    buf[id_len - 6] = 0;
  }
  char *end;
  r = strtol(buf, &end, 10);
  if (*end != 0 || r < 1 || r > l->n) return 0;
  return (int)r;
}

static int send_frame_to(wire_learner_t *l, const uint8_t *id, size_t id_len, const void *data,
                         size_t len) {
  if (zmq_send(l->router, id, id_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
      zmq_send(l->router, data, len, ZMQ_DONTWAIT) < 0) {
    int e = zmq_errno();
    if (e == EHOSTUNREACH) return HINT_ECONN;
    if (e == EAGAIN) return HINT_EAGAIN;
    return zerr("send", l->router_ep);
  }
  return 0;
}

static void learner_send_bye(wire_learner_t *l, const uint8_t *id, size_t id_len, int reason,
                             const char *text) {
  msg_any_t m = {.type = MSG_BYE};
  m.u.bye.rank = 0;
  m.u.bye.reason = reason;
  m.u.bye.text = msg_str(text);
  int rc = msg_encode(&l->out, &l->shapes, &m, NULL);
  if (rc == 0) rc = send_frame_to(l, id, id_len, l->out.data, l->out.len);
  if (rc) LOG_WARN("could not send a bye (%s) to a refused peer: %s", text, hint_strerror(rc));
}

static int learner_reject(wire_learner_t *l, wire_in_t *in, int rc) {
  l->c.dropped++;
  uint64_t k = ++l->dropped[in->rank];
  if (k <= LOG_FIRST_DROPS || k % 1000 == 0) {
    char line[256];
    LOG_WARN("dropped a frame from %s %d (%" PRIu64 " so far): %s", drop_label(in->rank), in->rank, k,
             msg_error_format(&in->err, line, sizeof(line)));
  }
  return rc;
}

/* The rank a message claims to come from, or -1 if it claims none. */
static int claimed_rank(const msg_any_t *m) {
  switch (m->type) {
  case MSG_HELLO: return (int)m->u.hello.rank;
  case MSG_SEGMENT: return (int)m->u.segment.actor_rank;
  case MSG_STATS: return (int)m->u.stats.actor_rank;
  case MSG_STUDENT_PARAMS: return (int)m->u.params.sender_rank;
  case MSG_BYE: return (int)m->u.bye.rank;
  case MSG_EVAL: return (int)m->u.eval.actor_rank;
  default: return -1;
  }
}

static void set_err(msg_error_t *e, int code, int type, const char *field, const char *what,
                    uint64_t expected, uint64_t got) {
  memset(e, 0, sizeof(*e));
  e->code = code;
  e->type = type;
  snprintf(e->field, sizeof(e->field), "%s", field);
  snprintf(e->what, sizeof(e->what), "%s", what);
  e->expected = expected;
  e->got = got;
}

int wire_learner_recv(wire_learner_t *l, wire_in_t *in, int timeout_ms) {
  memset(in, 0, sizeof(*in));
  double deadline = hint_now_s() + timeout_ms / 1000.0;
  for (;;) {
    zmq_pollitem_t it[3] = {{l->router, 0, ZMQ_POLLIN, 0},
                            {l->xpub, 0, ZMQ_POLLIN, 0},
                            {l->mon, 0, ZMQ_POLLIN, 0}};
    int rc = poll_in(it, 3, remaining_ms(deadline));
    if (rc) return rc;
    if (it[2].revents) learner_drain_monitor(l);
    if (it[1].revents) learner_drain_xpub(l);
    if (it[0].revents) break;
  }
  zmq_msg_t id;
  zmq_msg_init(&id);
  if (zmq_msg_recv(&id, l->router, ZMQ_DONTWAIT) < 0) {
    zmq_msg_close(&id);
    return HINT_ETIMEDOUT;
  }
  l->c.received++;
  uint8_t idb[ID_MAX];
  size_t id_len = zmq_msg_size(&id);
  int id_ok = id_len <= ID_MAX;
  if (id_ok) memcpy(idb, zmq_msg_data(&id), id_len);
  int has_payload = zmq_msg_more(&id);
  zmq_msg_close(&id);
  zmq_msg_close(&l->cur);
  zmq_msg_init(&l->cur);
  if (!has_payload || zmq_msg_recv(&l->cur, l->router, ZMQ_DONTWAIT) < 0) {
    set_err(&in->err, HINT_ETRUNC, 0, "frame", "payload parts", 1, 0);
    return learner_reject(l, in, HINT_ETRUNC);
  }
  in->rank = id_ok ? rank_from_frame(l, &l->cur, idb, id_len) : 0;
  in->bytes = zmq_msg_size(&l->cur);
  if (zmq_msg_more(&l->cur)) {
    drain_more(l->router);
    set_err(&in->err, HINT_EPARSE, 0, "frame", "payload parts", 1, 2);
    return learner_reject(l, in, HINT_EPARSE);
  }
  if (in->rank == 0) {
    set_err(&in->err, HINT_EAUTH, 0, "sender", "a known actor, routing id bytes", 0, id_len);
    return learner_reject(l, in, HINT_EAUTH);
  }
  memcpy(l->ids[in->rank], idb, id_len);
  l->id_len[in->rank] = (uint8_t)id_len;

  int rc = msg_decode(zmq_msg_data(&l->cur), in->bytes, &l->shapes, &in->msg, &in->err);
  if (rc) {
    if (rc == HINT_EVERSION || rc == HINT_EMAGIC)
      learner_send_bye(l, idb, id_len, rc, rc == HINT_EVERSION ? "protocol version differs" : "not a HINT message");
    return learner_reject(l, in, rc);
  }
  const msg_any_t *m = &in->msg;
  int claimed = claimed_rank(m);
  if (claimed < 0) {
    set_err(&in->err, HINT_EMSGTYPE, m->type, "type", "actor-to-learner type, got", 0, m->type);
    return learner_reject(l, in, HINT_EMSGTYPE);
  }
  if (claimed != in->rank) {
    set_err(&in->err, HINT_EAUTH, m->type, "rank", "authenticated rank", (uint64_t)in->rank,
            (uint64_t)claimed);
    return learner_reject(l, in, HINT_EAUTH);
  }
  if (m->type == MSG_HELLO) {
    if (m->u.hello.config_hash != l->config_hash) {
      set_err(&in->err, HINT_EHASH, MSG_HELLO, "config_hash", "learner's hash", l->config_hash,
              m->u.hello.config_hash);
      learner_send_bye(l, idb, id_len, HINT_EHASH, "config hash differs from the learner's");
      return learner_reject(l, in, HINT_EHASH);
    }
    msg_any_t ack = {.type = MSG_HELLO};
    char host[64] = "";
    gethostname(host, sizeof(host) - 1);
    ack.u.hello.rank = 0;
    ack.u.hello.config_hash = l->config_hash;
    ack.u.hello.pid = (uint32_t)getpid();
    ack.u.hello.build_id = msg_str("hint-learner");
    ack.u.hello.host = msg_str(host);
    /* A reconnecting actor starts with full credit again. */
    l->inflight[in->rank] = 0;
    int src = msg_encode(&l->out, &l->shapes, &ack, NULL);
    if (src == 0) src = send_frame_to(l, idb, id_len, l->out.data, l->out.len);
    if (src) LOG_WARN("could not answer the hello of actor %d: %s", in->rank, hint_strerror(src));
  } else if (m->type == MSG_SEGMENT) {
    if (l->inflight[in->rank] >= l->opts.max_inflight) {
      set_err(&in->err, HINT_ESTATE, MSG_SEGMENT, "seq", "unanswered segments at most",
              (uint64_t)l->opts.max_inflight, (uint64_t)l->inflight[in->rank] + 1);
      return learner_reject(l, in, HINT_ESTATE);
    }
    l->inflight[in->rank]++;
  }
  l->c.accepted++;
  l->c.bytes_in += in->bytes;
  return 0;
}

int wire_learner_send_to(wire_learner_t *l, int rank, const msg_any_t *m, msg_error_t *err) {
  if (rank < 1 || rank > l->n) return HINT_EINVAL;
  if (l->id_len[rank] == 0) return HINT_ECONN;
  int rc = msg_encode(&l->out, &l->shapes, m, err);
  if (rc) return rc;
  return send_frame_to(l, l->ids[rank], l->id_len[rank], l->out.data, l->out.len);
}

int wire_learner_reply(wire_learner_t *l, const msg_targets_t *t, msg_error_t *err) {
  msg_any_t m = {.type = MSG_TARGETS};
  m.u.targets = *t;
  int r = (int)t->actor_rank;
  int rc = wire_learner_send_to(l, r, &m, err);
  if (rc) return rc;
  if (l->inflight[r] > 0) l->inflight[r]--;
  l->c.targets_sent++;
  return 0;
}

int wire_learner_publish(wire_learner_t *l, const msg_any_t *m, msg_error_t *err) {
  if (m->type != MSG_TEACHER_PARAMS && m->type != MSG_STUDENT_PARAMS && m->type != MSG_CONTROL)
    return HINT_EMSGTYPE;
  int rc = msg_encode(&l->out, &l->shapes, m, err);
  if (rc) return rc;
  if (zmq_send(l->xpub, l->out.data, l->out.len, ZMQ_DONTWAIT) < 0 && zmq_errno() != EAGAIN)
    return zerr("send", l->pub_ep);
  l->c.published++;
  return 0;
}

int wire_learner_wait_subscribers(wire_learner_t *l, int n, int timeout_ms) {
  double deadline = hint_now_s() + timeout_ms / 1000.0;
  learner_drain_xpub(l);
  while (l->c.subscribers < n) {
    zmq_pollitem_t it[2] = {{l->xpub, 0, ZMQ_POLLIN, 0}, {l->mon, 0, ZMQ_POLLIN, 0}};
    int rc = poll_in(it, 2, remaining_ms(deadline));
    if (rc) return rc;
    if (it[1].revents) learner_drain_monitor(l);
    if (it[0].revents) learner_drain_xpub(l);
  }
  return 0;
}

void wire_learner_counters(const wire_learner_t *l, wire_counters_t *c) {
  *c = l->c;
  c->auth_refused = atomic_load(&((wire_learner_t *)l)->auth_refused);
}

uint64_t wire_learner_dropped(const wire_learner_t *l, int rank) {
  return rank >= 0 && rank <= l->n ? l->dropped[rank] : 0;
}

int wire_learner_inflight(const wire_learner_t *l, int rank) {
  return rank >= 1 && rank <= l->n ? l->inflight[rank] : 0;
}

/* ---- actor --------------------------------------------------------------- */

/* Segments (megabytes each) are sent without a second copy: each is encoded
 * into a slot that ZeroMQ then owns until its I/O thread has written it
 * (zmq_msg_init_data); the free callback hands the slot back. Credits bound
 * the slots in use, so max_inflight + 2 never run out in practice; if they
 * do, the segment goes through the copying path instead. */
typedef struct {
  msg_buf_t buf;
  atomic_int busy;
} slot_t;

struct wire_actor {
  wire_opts_t opts;
  msg_shapes_t shapes;
  int rank;
  void *ctx, *dealer, *sub;
  char router_ep[WIRE_ENDPOINT_MAX], pub_ep[WIRE_ENDPOINT_MAX];
  msg_buf_t out;
  slot_t *slots;
  int n_slots;
  zmq_msg_t cur;
  int cur_valid;
  int credits;
  uint64_t dropped;
};

static int actor_client_opts(wire_actor_t *a, void *s, const char *server_pub, const wire_keypair_t *keys) {
  int rc = common_opts(s, &a->opts);
  if (rc) return rc;
  if (server_pub) {
    if (zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, server_pub, 40) != 0 ||
        zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, keys->pub, 40) != 0 ||
        zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, keys->sec, 40) != 0)
      return zerr("setsockopt", "CURVE keys");
  }
  return 0;
}

int wire_actor_create(wire_actor_t **out, const wire_opts_t *opts, const msg_shapes_t *shapes, int rank,
                      const char *router_ep, const char *pub_ep, const char *server_pub,
                      const wire_keypair_t *keys) {
  *out = NULL;
  if (rank < 1 || opts->max_inflight < 1 || !router_ep || !pub_ep || (server_pub && !keys) ||
      (server_pub && strlen(server_pub) != 40))
    return HINT_EINVAL;
  wire_actor_t *a = hint_calloc(1, sizeof(*a));
  if (!a) return HINT_ENOMEM;
  a->opts = *opts;
  a->shapes = *shapes;
  a->rank = rank;
  a->credits = opts->max_inflight;
  snprintf(a->router_ep, sizeof(a->router_ep), "%s", router_ep);
  snprintf(a->pub_ep, sizeof(a->pub_ep), "%s", pub_ep);
  int rc = msg_buf_init(&a->out, msg_max_bytes_any(shapes));
  if (rc) goto fail;
  a->n_slots = opts->max_inflight + 2;
  a->slots = hint_calloc((size_t)a->n_slots, sizeof(slot_t));
  if (!a->slots) { rc = HINT_ENOMEM; goto fail; }
  for (int i = 0; i < a->n_slots; i++) {
    atomic_init(&a->slots[i].busy, 0);
    if ((rc = msg_buf_init(&a->slots[i].buf, msg_max_bytes(shapes, MSG_SEGMENT)))) goto fail;
  }
  rc = HINT_EZMQ;
  a->ctx = zmq_ctx_new();
  if (!a->ctx) { zerr("ctx_new", NULL); goto fail; }
  a->dealer = zmq_socket(a->ctx, ZMQ_DEALER);
  a->sub = zmq_socket(a->ctx, ZMQ_SUB);
  if (!a->dealer || !a->sub) { rc = zerr("socket", NULL); goto fail; }
  char id[32];
  snprintf(id, sizeof(id), "actor-%d", rank);
  if ((rc = actor_client_opts(a, a->dealer, server_pub, keys)) ||
      (rc = actor_client_opts(a, a->sub, server_pub, keys)))
    goto fail;
  if (zmq_setsockopt(a->dealer, ZMQ_ROUTING_ID, id, strlen(id)) != 0 ||
      zmq_setsockopt(a->sub, ZMQ_SUBSCRIBE, "", 0) != 0) {
    rc = zerr("setsockopt", "ROUTING_ID/SUBSCRIBE");
    goto fail;
  }
  if (strncmp(router_ep, "tcp://[", 7) == 0 &&
      ((rc = setopt_int(a->dealer, ZMQ_IPV6, 1, "IPV6")) || (rc = setopt_int(a->sub, ZMQ_IPV6, 1, "IPV6"))))
    goto fail;
  if (zmq_connect(a->dealer, router_ep) != 0) { rc = zerr("connect", router_ep); goto fail; }
  if (zmq_connect(a->sub, pub_ep) != 0) { rc = zerr("connect", pub_ep); goto fail; }
  zmq_msg_init(&a->cur);
  a->cur_valid = 1;
  *out = a;
  return 0;
fail:
  wire_actor_destroy(&a);
  return rc;
}

void wire_actor_destroy(wire_actor_t **ap) {
  wire_actor_t *a = ap ? *ap : NULL;
  if (!a) return;
  if (a->cur_valid) zmq_msg_close(&a->cur);
  if (a->dealer) zmq_close(a->dealer);
  if (a->sub) zmq_close(a->sub);
  /* zmq_ctx_term returns once every message is released, slots included. */
  if (a->ctx) zmq_ctx_term(a->ctx);
  msg_buf_fini(&a->out);
  for (int i = 0; a->slots && i < a->n_slots; i++) msg_buf_fini(&a->slots[i].buf);
  hint_free(a->slots);
  hint_free(a);
  *ap = NULL;
}

static int actor_send_buf(wire_actor_t *a) {
  if (zmq_send(a->dealer, a->out.data, a->out.len, ZMQ_DONTWAIT) < 0) {
    if (zmq_errno() == EAGAIN) return HINT_EAGAIN;
    return zerr("send", a->router_ep);
  }
  return 0;
}

static void slot_release(void *data, void *hint) {
  (void)data;
  atomic_store(&((slot_t *)hint)->busy, 0);
}

int wire_actor_send_segment(wire_actor_t *a, const msg_segment_t *s, msg_error_t *err) {
  if (a->credits <= 0) return HINT_EAGAIN;
  slot_t *slot = NULL;
  for (int i = 0; i < a->n_slots && !slot; i++)
    if (atomic_load(&a->slots[i].busy) == 0) slot = &a->slots[i];
  int rc;
  if (!slot) {
    if ((rc = msg_encode_segment(&a->out, &a->shapes, s, err))) return rc;
    if ((rc = actor_send_buf(a))) return rc;
  } else {
    if ((rc = msg_encode_segment(&slot->buf, &a->shapes, s, err))) return rc;
    atomic_store(&slot->busy, 1);
    zmq_msg_t m;
    if (zmq_msg_init_data(&m, slot->buf.data, slot->buf.len, slot_release, slot) != 0) {
      atomic_store(&slot->busy, 0);
      return zerr("msg_init_data", NULL);
    }
    if (zmq_msg_send(&m, a->dealer, ZMQ_DONTWAIT) < 0) {
      int e = zmq_errno();
      zmq_msg_close(&m); /* releases the slot */
      if (e == EAGAIN) return HINT_EAGAIN;
      return zerr("send", a->router_ep);
    }
  }
  a->credits--;
  return 0;
}

int wire_actor_send(wire_actor_t *a, const msg_any_t *m, msg_error_t *err) {
  if (m->type == MSG_SEGMENT) return wire_actor_send_segment(a, &m->u.segment, err);
  if (m->type != MSG_HELLO && m->type != MSG_STATS && m->type != MSG_STUDENT_PARAMS &&
      m->type != MSG_BYE && m->type != MSG_EVAL)
    return HINT_EMSGTYPE;
  int rc = msg_encode(&a->out, &a->shapes, m, err);
  return rc ? rc : actor_send_buf(a);
}

static int actor_reject(wire_actor_t *a, int rc, const msg_error_t *e, const char *from) {
  a->dropped++;
  if (a->dropped <= LOG_FIRST_DROPS || a->dropped % 1000 == 0) {
    char line[256];
    LOG_WARN("dropped a frame from the learner's %s (%" PRIu64 " so far): %s", from, a->dropped,
             msg_error_format(e, line, sizeof(line)));
  }
  return rc;
}

/* with_sub = 0 waits on the DEALER only, leaving published messages queued
 * (the handshake must not swallow the first teacher parameters). */
static int actor_recv(wire_actor_t *a, msg_any_t *out, int timeout_ms, msg_error_t *err, int with_sub) {
  msg_error_t local;
  if (!err) err = &local;
  memset(err, 0, sizeof(*err));
  zmq_pollitem_t it[2] = {{a->dealer, 0, ZMQ_POLLIN, 0}, {a->sub, 0, ZMQ_POLLIN, 0}};
  int rc = poll_in(it, with_sub ? 2 : 1, timeout_ms);
  if (rc) return rc;
  /* Targets first: they carry credits and the actor's next update waits on them. */
  void *s = it[0].revents ? a->dealer : a->sub;
  const char *from = s == a->dealer ? "ROUTER" : "PUB";
  zmq_msg_close(&a->cur);
  zmq_msg_init(&a->cur);
  if (zmq_msg_recv(&a->cur, s, ZMQ_DONTWAIT) < 0) return HINT_ETIMEDOUT;
  if (zmq_msg_more(&a->cur)) {
    drain_more(s);
    set_err(err, HINT_EPARSE, 0, "frame", "payload parts", 1, 2);
    return actor_reject(a, HINT_EPARSE, err, from);
  }
  rc = msg_decode(zmq_msg_data(&a->cur), zmq_msg_size(&a->cur), &a->shapes, out, err);
  if (rc) return actor_reject(a, rc, err, from);
  int ok;
  if (s == a->dealer) ok = out->type == MSG_TARGETS || out->type == MSG_HELLO || out->type == MSG_BYE ||
                           out->type == MSG_CONTROL;
  else ok = out->type == MSG_TEACHER_PARAMS || out->type == MSG_STUDENT_PARAMS || out->type == MSG_CONTROL;
  if (!ok) {
    set_err(err, HINT_EMSGTYPE, out->type, "type", "learner-to-actor type, got", 0, out->type);
    return actor_reject(a, HINT_EMSGTYPE, err, from);
  }
  if (out->type == MSG_TARGETS) {
    if ((int)out->u.targets.actor_rank != a->rank) {
      set_err(err, HINT_EAUTH, MSG_TARGETS, "actor_rank", "own rank", (uint64_t)a->rank,
              out->u.targets.actor_rank);
      return actor_reject(a, HINT_EAUTH, err, from);
    }
    if (a->credits >= a->opts.max_inflight) {
      set_err(err, HINT_ESTATE, MSG_TARGETS, "seq", "segments in flight at least", 1, 0);
      return actor_reject(a, HINT_ESTATE, err, from);
    }
    a->credits++;
  }
  return 0;
}

int wire_actor_recv(wire_actor_t *a, msg_any_t *out, int timeout_ms, msg_error_t *err) {
  return actor_recv(a, out, timeout_ms, err, 1);
}

int wire_actor_handshake(wire_actor_t *a, uint64_t config_hash, const char *build_id, int timeout_ms) {
  msg_any_t m = {.type = MSG_HELLO};
  char host[64] = "";
  gethostname(host, sizeof(host) - 1);
  m.u.hello.rank = (uint32_t)a->rank;
  m.u.hello.config_hash = config_hash;
  m.u.hello.pid = (uint32_t)getpid();
  m.u.hello.build_id = msg_str(build_id ? build_id : "");
  m.u.hello.host = msg_str(host);
  msg_error_t err;
  double deadline = hint_now_s() + timeout_ms / 1000.0;
  /* Without a live connection (e.g. between reconnects after a refused
   * handshake) the DEALER has no pipe to queue on: wait for one, bounded. */
  int rc;
  while ((rc = wire_actor_send(a, &m, &err)) == HINT_EAGAIN) {
    zmq_pollitem_t it = {a->dealer, 0, ZMQ_POLLOUT, 0};
    int left = remaining_ms(deadline);
    if (left <= 0 || zmq_poll(&it, 1, left) <= 0) {
      rc = HINT_ETIMEDOUT;
      break;
    }
  }
  if (rc == HINT_ETIMEDOUT) {
    LOG_ERROR("actor %d: could not even queue hello for the learner at %s within %d ms "
              "(unreachable, wrong endpoint, or refused our CURVE key)",
              a->rank, a->router_ep, timeout_ms);
    return rc;
  }
  if (rc) return rc;
  for (;;) {
    msg_any_t in;
    int left = remaining_ms(deadline);
    rc = left > 0 ? actor_recv(a, &in, left, &err, 0) : HINT_ETIMEDOUT;
    if (rc == HINT_ETIMEDOUT) {
      LOG_ERROR("actor %d: the learner at %s did not answer hello within %d ms "
                "(unreachable, wrong endpoint, or refused our CURVE key)",
                a->rank, a->router_ep, timeout_ms);
      return HINT_ETIMEDOUT;
    }
    if (rc == HINT_EVERSION || rc == HINT_EMAGIC) {
      LOG_ERROR("actor %d: the learner speaks protocol version %" PRIu64 ", this build %u", a->rank,
                err.got, MSG_PROTOCOL_VERSION);
      return HINT_EVERSION;
    }
    if (rc) continue;
    if (in.type == MSG_HELLO) {
      if (in.u.hello.config_hash != config_hash) {
        LOG_ERROR("actor %d: config hash %016" PRIx64 " differs from the learner's %016" PRIx64, a->rank,
                  config_hash, in.u.hello.config_hash);
        return HINT_EHASH;
      }
      return 0;
    }
    if (in.type == MSG_BYE) {
      int reason = in.u.bye.reason;
      LOG_ERROR("actor %d: the learner refused our hello: %.*s (%s)", a->rank, (int)in.u.bye.text.len,
                in.u.bye.text.data ? in.u.bye.text.data : "", hint_strerror(reason));
      return reason == HINT_EHASH || reason == HINT_EVERSION ? reason : HINT_ECONN;
    }
  }
}

int wire_actor_credits(const wire_actor_t *a) { return a->credits; }
uint64_t wire_actor_dropped(const wire_actor_t *a) { return a->dropped; }
