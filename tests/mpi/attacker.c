/* attacker: a hostile peer for faults.sh's storm tests. While a job trains,
 * it connects to the learner's endpoints (read from the learner's log line
 * "learner listening: segments EP, parameters EP, CURVE ...") and for SECONDS
 * sends whatever a stranger can:
 *
 *   attacker ROUTER_EP PUB_EP SECONDS MAX_MESSAGE_BYTES [SERVER_KEY_Z85]
 *
 * Without SERVER_KEY (CURVE off), from fresh DEALER sockets with routing ids
 * that are no connected actor's (random, "actor-0", "actor-<n+1>", a 70-byte
 * one): random bytes, an empty frame, truncated real messages (a hello, a
 * stats), a wrong magic, a wrong protocol version, two-part frames, well-formed
 * messages claiming actor 1, and frames over MAX_MESSAGE_BYTES; plus raw TCP
 * connections that send bytes which are not ZMTP, and a SUB that subscribes to
 * the parameter channel and never reads. With SERVER_KEY (CURVE on): the same
 * frames from plain (NULL mechanism) clients, from CURVE clients with a key
 * pair of their own (refused by the learner's ZAP handler), from CURVE clients
 * that got the server key wrong, and raw TCP garbage.
 *
 * Every attempt is counted and printed as one JSON line at the end; exit 0
 * unless the attacker itself could not run (bad arguments, no libzmq CURVE).
 * Whether the learner survived is for the test to judge.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "common/wire/msg.h"

typedef struct {
  long frames, oversized, raw_conns, curve_clients, plain_clients, bad_key_clients, subscribers;
} tally_t;

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void) { /* xorshift64*: reproducible garbage */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545f4914f6cdd1dULL;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* A DEALER to ep: routing id `id` (NULL = libzmq's), CURVE client when
 * server_key is given (with a fresh key pair of its own). */
static void *dealer(void *ctx, const char *ep, const char *id, const char *server_key) {
  void *s = zmq_socket(ctx, ZMQ_DEALER);
  if (s == NULL)
    return NULL;
  int zero = 0, hwm = 1000;
  zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
  zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm);
  if (id != NULL)
    zmq_setsockopt(s, ZMQ_ROUTING_ID, id, strlen(id));
  if (server_key != NULL) {
    char pub[41], sec[41];
    zmq_curve_keypair(pub, sec);
    zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, server_key, 40);
    zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, pub, 40);
    zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, sec, 40);
  }
  zmq_connect(s, ep);
  return s;
}

static void send_frame(void *s, const void *data, size_t len, tally_t *t) {
  if (zmq_send(s, data, len, ZMQ_DONTWAIT) >= 0)
    t->frames++;
}

/* The frames a stranger sends, on socket s. big: a buffer over the limit. */
static void storm(void *s, const unsigned char *big, size_t big_len, tally_t *t) {
  unsigned char junk[4096];
  size_t n = 1 + rnd() % sizeof junk;
  for (size_t i = 0; i < n; i++)
    junk[i] = (unsigned char)rnd();
  send_frame(s, junk, n, t);
  send_frame(s, "", 0, t);

  /* Real messages, then cut short, re-versioned, re-magicked. */
  static unsigned char space[1 << 16];
  msg_shapes_t shapes;
  memset(&shapes, 0, sizeof shapes);
  shapes.max_message_bytes = sizeof space;
  msg_buf_t buf = {space, 0, sizeof space};
  msg_hello_t h = {.rank = 1, .config_hash = rnd(), .pid = 4242};
  h.build_id = msg_str("attacker");
  h.host = msg_str("nowhere");
  if (msg_encode_hello(&buf, &shapes, &h, NULL) == 0) {
    send_frame(s, buf.data, buf.len, t);     /* claims actor 1 */
    send_frame(s, buf.data, buf.len / 2, t); /* truncated */
    unsigned char copy[1024];
    size_t len = buf.len < sizeof copy ? buf.len : sizeof copy;
    memcpy(copy, buf.data, len);
    /* The map opens with "magic": <u32 "HINT">, then "v": <version>. */
    for (size_t i = 0; i + 2 < len; i++)
      if (copy[i] == 0xa1 && copy[i + 1] == 'v') {
        copy[i + 2] = 0x63; /* version 99 */
        send_frame(s, copy, len, t);
        break;
      }
    memcpy(copy, buf.data, len);
    for (size_t i = 0; i + 4 < len; i++)
      if (memcmp(copy + i, "magic", 5) == 0) {
        copy[i + 7] ^= 0xff; /* inside the magic's u32 */
        send_frame(s, copy, len, t);
        break;
      }
  }
  msg_stats_t st = {.actor_rank = 1, .episodes = 1000000, .successes = 1000000, .ckpt_done = UINT64_MAX};
  if (msg_encode_stats(&buf, &shapes, &st, NULL) == 0) {
    send_frame(s, buf.data, buf.len, t);
    send_frame(s, buf.data, 1 + rnd() % buf.len, t);
  }
  /* Two parts where the protocol has one. */
  if (zmq_send(s, junk, 8, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0 && zmq_send(s, junk, 8, ZMQ_DONTWAIT) >= 0)
    t->frames++;
  /* Over transport.max_message_bytes: libzmq drops the connection unread. */
  if (big != NULL && zmq_send(s, big, big_len, ZMQ_DONTWAIT) >= 0)
    t->oversized++;
}

/* A plain TCP connection to a tcp:// endpoint that writes non-ZMTP bytes. */
static void raw_garbage(const char *ep, tally_t *t) {
  char host[64];
  int port;
  if (sscanf(ep, "tcp://%63[^:]:%d", host, &port) != 2)
    return;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return;
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, host, &a.sin_addr) == 1 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
    unsigned char junk[512];
    for (size_t i = 0; i < sizeof junk; i++)
      junk[i] = (unsigned char)rnd();
    junk[0] = 0xff; /* a ZMTP greeting starts 0xff: make the rest of it wrong */
    if (write(fd, junk, sizeof junk) > 0)
      t->raw_conns++;
  }
  close(fd);
}

int main(int argc, char **argv) {
  if (argc != 5 && argc != 6) {
    fprintf(stderr, "usage: attacker ROUTER_EP PUB_EP SECONDS MAX_MESSAGE_BYTES [SERVER_KEY_Z85]\n");
    return 2;
  }
  const char *router_ep = argv[1], *pub_ep = argv[2];
  const double seconds = atof(argv[3]);
  const long max_bytes = atol(argv[4]);
  const char *server_key = argc == 6 ? argv[5] : NULL;
  if (seconds <= 0 || max_bytes <= 0 || (server_key != NULL && strlen(server_key) != 40)) {
    fprintf(stderr, "attacker: SECONDS and MAX_MESSAGE_BYTES must be > 0, SERVER_KEY 40 Z85 characters\n");
    return 2;
  }
  if (server_key != NULL && !zmq_has("curve")) {
    fprintf(stderr, "attacker: libzmq without CURVE\n");
    return 2;
  }
  size_t big_len = (size_t)max_bytes + 4096;
  unsigned char *big = calloc(1, big_len);
  void *ctx = zmq_ctx_new();
  if (big == NULL || ctx == NULL) {
    fprintf(stderr, "attacker: out of memory or no ZeroMQ context\n");
    return 2;
  }
  tally_t t = {0};
  /* A subscriber that never reads: the learner must not block on it. */
  void *sub = zmq_socket(ctx, ZMQ_SUB);
  int zero = 0, one = 1;
  zmq_setsockopt(sub, ZMQ_LINGER, &zero, sizeof zero);
  zmq_setsockopt(sub, ZMQ_RCVHWM, &one, sizeof one);
  zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0);
  if (server_key == NULL) {
    zmq_connect(sub, pub_ep);
    t.subscribers++;
  }
  char bad_key[41], unused[41]; /* a well-formed key that is not the server's */
  if (server_key != NULL && zmq_curve_keypair(bad_key, unused) != 0) {
    fprintf(stderr, "attacker: zmq_curve_keypair failed\n");
    return 2;
  }
  const double end = now_s() + seconds;
  for (long round = 0; now_s() < end; round++) {
    char id[80];
    switch (round % 4) {
    case 0: snprintf(id, sizeof id, "stranger-%llu", (unsigned long long)rnd()); break;
    case 1: snprintf(id, sizeof id, "actor-0"); break;
    case 2: snprintf(id, sizeof id, "actor-%d", 3 + (int)(rnd() % 1000)); break;
    default: memset(id, 'x', 70); id[70] = 0; break; /* longer than the learner keeps */
    }
    void *s[3] = {NULL, NULL, NULL};
    s[0] = dealer(ctx, router_ep, id, NULL);
    if (server_key == NULL) {
      t.plain_clients++;
    } else {
      t.plain_clients++;
      s[1] = dealer(ctx, router_ep, NULL, server_key);
      t.curve_clients++;
      s[2] = dealer(ctx, router_ep, NULL, bad_key);
      t.bad_key_clients++;
    }
    for (int k = 0; k < 3; k++)
      if (s[k] != NULL)
        storm(s[k], round % 8 == 0 ? big : NULL, big_len, &t);
    raw_garbage(router_ep, &t);
    raw_garbage(pub_ep, &t);
    usleep(50000); /* let the handshakes (and their refusals) happen */
    for (int k = 0; k < 3; k++)
      if (s[k] != NULL)
        zmq_close(s[k]);
  }
  zmq_close(sub);
  zmq_ctx_term(ctx);
  free(big);
  printf("{\"frames\":%ld,\"oversized\":%ld,\"raw_connections\":%ld,\"plain_clients\":%ld,"
         "\"curve_clients\":%ld,\"bad_server_key_clients\":%ld,\"subscribers\":%ld}\n",
         t.frames, t.oversized, t.raw_conns, t.plain_clients, t.curve_clients, t.bad_key_clients,
         t.subscribers);
  return 0;
}
