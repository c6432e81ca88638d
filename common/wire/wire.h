/* wire.h: the learner's and the actors' ZeroMQ endpoints.
 *
 * Two socket pairs (architecture.md):
 *   actor DEALER  -> learner ROUTER   segment, hello, stats, eval,
 *                                      student_params, bye; the learner answers each segment
 *                                      with targets on the same pair
 *   learner XPUB  -> actor SUB         teacher_params and control
 * (XPUB, not PUB, so the learner can count subscribers and publish only once
 * every actor listens; to the actors it is an ordinary publisher.)
 *
 * Back-pressure is by credits: an actor holds transport.max_inflight credits,
 * spends one per segment and gets it back with that segment's targets;
 * wire_actor_send_segment returns HINT_EAGAIN without credit, and the learner
 * drops (and counts) segments beyond the limit. High-water marks are set
 * explicitly (>= max_inflight), linger is transport.linger_ms so closing never
 * hangs, every send is non-blocking and every wait has a timeout (zmq_poll).
 *
 * Authentication: with CURVE on, the learner's sockets are CURVE servers and a
 * ZAP handler thread (inproc://zeromq.zap.01 in the learner's own context)
 * accepts exactly the public keys registered with wire_learner_allow (the ones
 * the actors gathered over MPI) and tags each connection with its rank; the
 * sender rank the learner reports comes from that tag, never from the message,
 * and a message claiming another rank is dropped. Refused keys and failed
 * handshakes (e.g. a client without CURVE) are counted. With CURVE off
 * (loopback / ipc by default) the rank comes from the actor's routing id.
 *
 * Every incoming frame is validated by msg_decode before the caller sees it;
 * a bad one is logged with its sender, counted per sender and dropped, and the
 * receive call returns its error so the caller simply continues.
 *
 * Threads: each endpoint object is used by one thread (ZeroMQ sockets are not
 * thread-safe); the learner's ZAP thread only touches the allow list (mutex)
 * and atomic counters.
 */
#ifndef HINT_WIRE_WIRE_H
#define HINT_WIRE_WIRE_H

#include <stdint.h>

#include "common/config/config.h"
#include "common/wire/msg.h"

#define WIRE_MAX_ACTORS 4096
#define WIRE_KEY_Z85 41         /* 40 Z85 characters + NUL */
#define WIRE_ENDPOINT_MAX 256

typedef struct {
  int bind;                     /* hint_bind_t */
  char interface[64];           /* address or interface name (bind: interface) */
  int port;                     /* 0 = ephemeral; else ROUTER port, XPUB port + 1 */
  int curve;                    /* bool, resolved (see wire_opts_from_config) */
  int hwm;                      /* messages; raised to max_inflight if below */
  int linger_ms;
  int max_inflight;
  int n_actors;                 /* actor ranks 1..n_actors */
  int64_t max_message_bytes;
} wire_opts_t;

/* transport.* -> opts. curve: auto means on for bind interface/any (frames
 * leave the host), off for loopback and ipc. */
void wire_opts_from_config(wire_opts_t *opts, const hint_config_t *cfg);

/* A CURVE key pair in Z85 text (what MPI carries and ZeroMQ takes). */
typedef struct {
  char pub[WIRE_KEY_Z85];
  char sec[WIRE_KEY_Z85];
} wire_keypair_t;

/* Fresh key pair from libzmq (libsodium). 0, or HINT_EZMQ if libzmq was built
 * without CURVE. */
int wire_keypair_new(wire_keypair_t *kp);

/* Counters the learner keeps; per-rank arrays are indexed by actor rank, with
 * index 0 for frames whose sender is unknown. */
typedef struct {
  uint64_t received;            /* frames taken off the ROUTER */
  uint64_t accepted;            /* frames handed to the caller */
  uint64_t dropped;             /* frames rejected (sum of dropped_by_rank) */
  uint64_t bytes_in;            /* bytes of accepted frames */
  uint64_t auth_refused;        /* CURVE keys the ZAP handler refused */
  uint64_t handshake_failed;    /* failed handshakes other than ZAP refusals
                                 * (e.g. a client without CURVE) */
  uint64_t targets_sent, published;
  int subscribers;              /* SUB sockets currently subscribed */
} wire_counters_t;

/* ---- learner ------------------------------------------------------------ */

typedef struct wire_learner wire_learner_t;

/* What wire_learner_recv hands over: a validated message, its authenticated
 * sender rank, and on rejection the reason. msg's views point into a frame
 * the learner owns until the next wire_learner_recv or destroy. */
typedef struct {
  int rank;                     /* 1..n_actors, or 0 if unknown */
  msg_any_t msg;
  msg_error_t err;              /* filled when recv returns a rejection */
  size_t bytes;
} wire_in_t;

/* Binds the ROUTER and XPUB (opts.bind/interface/port) in a fresh context;
 * with opts.curve, keys must be the server pair and the ZAP handler starts
 * with an empty allow list. config_hash is what hellos must carry.
 * Returns 0, HINT_EZMQ (bind failed: address in use, bad interface; logged),
 * HINT_EINVAL or HINT_ENOMEM. */
int wire_learner_create(wire_learner_t **out, const wire_opts_t *opts,
                        const msg_shapes_t *shapes, const wire_keypair_t *keys,
                        uint64_t config_hash);
void wire_learner_destroy(wire_learner_t **lp);

/* Endpoints actors connect to (resolved: real port, host name for `*`). */
const char *wire_learner_router_endpoint(const wire_learner_t *l);
const char *wire_learner_pub_endpoint(const wire_learner_t *l);

/* Accepts the CURVE public key (Z85) of actor `rank` from now on. 0 or
 * HINT_EINVAL (bad rank or key). */
int wire_learner_allow(wire_learner_t *l, int rank, const char *pub_z85);

/* Waits up to timeout_ms for one frame on the ROUTER (while counting
 * subscriptions and failed handshakes). Returns
 *   0            in->msg is a valid message from in->rank
 *   HINT_ETIMEDOUT nothing arrived
 *   other < 0    a frame was rejected (logged, counted, in->err says why);
 *                the learner stays usable: just call again.
 * Hellos are answered here: a matching config hash gets a hello back (and is
 * also returned to the caller); a different hash or protocol version gets a
 * bye naming the reason and returns HINT_EHASH / HINT_EVERSION. */
int wire_learner_recv(wire_learner_t *l, wire_in_t *in, int timeout_ms);

/* Sends targets to the actor in t->actor_rank and returns its credit.
 * 0, HINT_ECONN (that actor is not connected), HINT_EAGAIN (its queue is
 * full), HINT_ESHAPE/HINT_ETOOBIG (bad view; err says why). */
int wire_learner_reply(wire_learner_t *l, const msg_targets_t *t, msg_error_t *err);
/* Sends any message to one actor (hello/bye/control to a single rank). */
int wire_learner_send_to(wire_learner_t *l, int rank, const msg_any_t *m, msg_error_t *err);
/* Publishes teacher_params, student_params (qmix, maddpg) or control to
 * every subscriber (never blocks;
 * a subscriber past its high-water mark misses it, as PUB/SUB does). */
int wire_learner_publish(wire_learner_t *l, const msg_any_t *m, msg_error_t *err);
/* Waits until at least n SUB sockets have subscribed. 0 or HINT_ETIMEDOUT.
 * Frames arriving on the ROUTER meanwhile stay queued. */
int wire_learner_wait_subscribers(wire_learner_t *l, int n, int timeout_ms);

void wire_learner_counters(const wire_learner_t *l, wire_counters_t *c);
/* Frames dropped from sender rank (0 = unknown sender). */
uint64_t wire_learner_dropped(const wire_learner_t *l, int rank);
/* Segments of rank still awaiting targets. */
int wire_learner_inflight(const wire_learner_t *l, int rank);

/* ---- actor --------------------------------------------------------------- */

typedef struct wire_actor wire_actor_t;

/* Connects a DEALER to router_ep and a SUB to pub_ep. server_pub (Z85) and
 * keys select CURVE; both NULL = plain. Connecting never fails for an absent
 * learner (ZeroMQ retries); wire_actor_handshake notices. */
int wire_actor_create(wire_actor_t **out, const wire_opts_t *opts, const msg_shapes_t *shapes,
                      int rank, const char *router_ep, const char *pub_ep,
                      const char *server_pub, const wire_keypair_t *keys);
void wire_actor_destroy(wire_actor_t **ap);

/* Sends hello and waits up to timeout_ms for the learner's hello. Returns 0,
 * HINT_ETIMEDOUT (learner unreachable: the error log names the endpoint),
 * HINT_EHASH (the learner runs another config), HINT_EVERSION (another
 * protocol version), or HINT_ECONN (the learner said bye). */
int wire_actor_handshake(wire_actor_t *a, uint64_t config_hash, const char *build_id,
                         int timeout_ms);

/* Spends one credit and sends the segment. HINT_EAGAIN without credit,
 * HINT_ESHAPE/HINT_ETOOBIG for a bad view (err says why). */
int wire_actor_send_segment(wire_actor_t *a, const msg_segment_t *s, msg_error_t *err);
/* Sends stats, eval, student_params, hello or bye (no credit needed). */
int wire_actor_send(wire_actor_t *a, const msg_any_t *m, msg_error_t *err);

/* Waits up to timeout_ms for the next message on either socket: targets
 * (returns one credit), teacher_params, control or bye. Views stay valid
 * until the next wire_actor_recv. 0, HINT_ETIMEDOUT, or a rejection code
 * (logged, counted; call again). */
int wire_actor_recv(wire_actor_t *a, msg_any_t *out, int timeout_ms, msg_error_t *err);

int wire_actor_credits(const wire_actor_t *a);
uint64_t wire_actor_dropped(const wire_actor_t *a);

#endif
