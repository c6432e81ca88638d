/* bench_mpi.c: the raw MPI figures the actors depend on.
 *
 * The actors' only MPI traffic in the hot loop is the student update's
 * MPI_Allreduce of the gradient (one flat buffer of P_S floats, summed, per
 * minibatch) plus a two-int64 flag allreduce per segment. This measures, on
 * the ranks mpirun gives it (run it with the actors' count, -np 2 or 3):
 *   mpi_pingpong_latency_us     half the round trip of 8 bytes, ranks 0 <-> 1
 *   mpi_pingpong_MB_per_s       1 MiB messages, ranks 0 <-> 1, one way
 *   mpi_allreduce_us            MPI_Allreduce(SUM) of FLOATS floats over all
 *                               ranks (the student gradient; default 95008,
 *                               FireCommander 5x5's student arena)
 *   mpi_allreduce_flags_us      the per-segment 2 x int64 MAX allreduce
 * Each figure is the median of 5 timing windows of SECONDS/5.
 *
 *   mpirun -np 2 bench_mpi [FLOATS] [SECONDS]     (defaults 95008, 1.0)
 * Output: one JSON object per figure (rank 0), then a table.
 */
#include <errno.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WINDOWS 5

static int rank, size;

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Median over WINDOWS windows of seconds per call; rank 0 decides when a
 * window ends so every rank makes the same number of calls. */
typedef void (*op_fn)(void *);
static double per_call(op_fn fn, void *arg, double seconds) {
  double w[WINDOWS];
  fn(arg); /* warm-up: connections, registration */
  for (int k = 0; k < WINDOWS; k++) {
    long calls = 0;
    int go = 1;
    MPI_Barrier(MPI_COMM_WORLD);
    const double t0 = MPI_Wtime();
    while (go) {
      for (int i = 0; i < 8; i++)
        fn(arg);
      calls += 8;
      go = MPI_Wtime() - t0 < seconds / WINDOWS;
      MPI_Bcast(&go, 1, MPI_INT, 0, MPI_COMM_WORLD);
    }
    w[k] = (MPI_Wtime() - t0) / calls;
  }
  qsort(w, WINDOWS, sizeof w[0], cmp);
  return w[WINDOWS / 2];
}

typedef struct {
  char *buf;
  int bytes;
  float *f;
  int n;
  long long flags[2];
} arg_t;

static void pingpong(void *p) {
  arg_t *a = p;
  if (rank == 0) {
    MPI_Send(a->buf, a->bytes, MPI_BYTE, 1, 0, MPI_COMM_WORLD);
    MPI_Recv(a->buf, a->bytes, MPI_BYTE, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  } else if (rank == 1) {
    MPI_Recv(a->buf, a->bytes, MPI_BYTE, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    MPI_Send(a->buf, a->bytes, MPI_BYTE, 0, 0, MPI_COMM_WORLD);
  }
}

static void allreduce(void *p) {
  arg_t *a = p;
  MPI_Allreduce(MPI_IN_PLACE, a->f, a->n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
}

static void allreduce_flags(void *p) {
  arg_t *a = p;
  MPI_Allreduce(MPI_IN_PLACE, a->flags, 2, MPI_LONG_LONG, MPI_MAX, MPI_COMM_WORLD);
}

static void json(const char *name, const char *cfg, double v, const char *unit) {
  printf("{\"name\": \"%s\", \"config\": \"%s\", \"value\": %.6g, \"unit\": \"%s\"}\n", name, cfg, v, unit);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  long floats = 95008;
  double seconds = 1.0;
  int bad = 0;
  if (argc > 3)
    bad = 1;
  if (argc > 1) {
    char *end;
    errno = 0;
    floats = strtol(argv[1], &end, 10);
    bad |= errno || *end || floats < 1 || floats > 100000000;
  }
  if (argc > 2) {
    char *end;
    seconds = strtod(argv[2], &end);
    bad |= *end || !(seconds >= 0.05 && seconds <= 600);
  }
  if (bad || size < 2) {
    if (rank == 0)
      fprintf(stderr, "bench_mpi: usage: mpirun -np N(>=2) bench_mpi [FLOATS 1..1e8] [SECONDS 0.05..600]%s\n",
              size < 2 ? " (needs at least 2 ranks)" : "");
    MPI_Finalize();
    return 2;
  }
  arg_t a;
  memset(&a, 0, sizeof a);
  a.buf = calloc(1 << 20, 1);
  a.f = calloc((size_t)floats, sizeof(float));
  a.n = (int)floats;
  if (!a.buf || !a.f) {
    fprintf(stderr, "bench_mpi: out of memory\n");
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  char cfg[128];
  a.bytes = 8;
  const double lat = per_call(pingpong, &a, seconds) / 2;
  a.bytes = 1 << 20;
  const double big = per_call(pingpong, &a, seconds) / 2;
  const double ar = per_call(allreduce, &a, seconds);
  const double arf = per_call(allreduce_flags, &a, seconds);
  if (rank == 0) {
    snprintf(cfg, sizeof cfg, "ranks 0<->1 of %d, 8 B", size);
    json("mpi_pingpong_latency_us", cfg, lat * 1e6, "us");
    snprintf(cfg, sizeof cfg, "ranks 0<->1 of %d, 1 MiB", size);
    json("mpi_pingpong_MB_per_s", cfg, (1 << 20) / big / 1e6, "MB/s");
    snprintf(cfg, sizeof cfg, "%d ranks, %ld floats SUM", size, floats);
    json("mpi_allreduce_us", cfg, ar * 1e6, "us");
    json("mpi_allreduce_GB_per_s", cfg, floats * 4.0 / ar / 1e9, "GB/s (payload / time)");
    snprintf(cfg, sizeof cfg, "%d ranks, 2 int64 MAX", size);
    json("mpi_allreduce_flags_us", cfg, arf * 1e6, "us");
    printf("\n%d ranks: ping-pong %.1f us (8 B), %.0f MB/s (1 MiB); allreduce %ld floats %.1f us; "
           "flags %.1f us\n", size, lat * 1e6, (1 << 20) / big / 1e6, floats, ar * 1e6, arf * 1e6);
  }
  free(a.buf);
  free(a.f);
  MPI_Finalize();
  return 0;
}
