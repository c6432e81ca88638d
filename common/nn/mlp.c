/* mlp.c: multilayer perceptrons (see mlp.h).
 *
 * Layer l maps (B, in_l) to (B, out_l); its input is ws->x for l == 0 and
 * ws->h[l-1] otherwise; the output layer writes straight into the caller's
 * out, since backward needs only inputs and hidden outputs, never the logits.
 * Backward walks the layers in reverse with two gradient buffers in turn:
 * layer l reads dL/d(output of l) from one and writes dL/d(input of l) into
 * the other.
 */
#include "common/nn/mlp.h"

#include <assert.h>
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "common/core/alloc.h"
#include "common/core/error.h"

int nn_mlp_desc_check(const nn_mlp_desc_t *d) {
  if (!d || d->in_dim <= 0 || d->out_dim <= 0 || d->n_hidden < 0 ||
      d->n_hidden > NN_MLP_MAX_LAYERS - 1)
    return HINT_EINVAL;
  if (d->act != NN_ACT_NONE && d->act != NN_ACT_TANH && d->act != NN_ACT_RELU)
    return HINT_EINVAL;
  for (int l = 0; l < d->n_hidden; l++)
    if (d->hidden[l] <= 0)
      return HINT_EINVAL;
  return HINT_OK;
}

static int layer_in(const nn_mlp_desc_t *d, int l) {
  return l == 0 ? d->in_dim : d->hidden[l - 1];
}
static int layer_out(const nn_mlp_desc_t *d, int l) {
  return l == d->n_hidden ? d->out_dim : d->hidden[l];
}

size_t nn_mlp_param_count(const nn_mlp_desc_t *d) {
  if (nn_mlp_desc_check(d) != HINT_OK)
    return 0;
  size_t n = 0;
  for (int l = 0; l <= d->n_hidden; l++)
    n += (size_t)layer_out(d, l) * ((size_t)layer_in(d, l) + 1u);
  return n;
}

int nn_mlp_init(nn_mlp_t *m, const nn_mlp_desc_t *d, nn_params_t *p) {
  memset(m, 0, sizeof *m);
  if (nn_mlp_desc_check(d) != HINT_OK)
    return HINT_EINVAL;
  size_t count = nn_mlp_param_count(d), off;
  int rc = nn_params_reserve(p, count, &off);
  if (rc != HINT_OK)
    return rc;
  m->desc = *d;
  m->n_layers = d->n_hidden + 1;
  m->params = p;
  m->offset = off;
  m->count = count;
  m->max_width = d->in_dim;
  size_t at = off;
  for (int l = 0; l < m->n_layers; l++) {
    nn_linear_t *L = &m->layer[l];
    L->in = layer_in(d, l);
    L->out = layer_out(d, l);
    L->w = p->w + at;
    L->gw = p->g + at;
    at += (size_t)L->out * L->in;
    L->b = p->w + at;
    L->gb = p->g + at;
    at += (size_t)L->out;
    if (L->out > m->max_width)
      m->max_width = L->out;
  }
  return HINT_OK;
}

/* Orthonormalises k vectors of length n stored contiguously in v (k <= n) by
 * modified Gram-Schmidt, run twice for stability. Equivalent to a QR
 * factorisation with a positive R diagonal, which is what orthogonal_'s sign
 * correction produces. */
static void gram_schmidt(double *v, int k, int n) {
  for (int i = 0; i < k; i++) {
    double *vi = v + (size_t)i * n;
    for (int pass = 0; pass < 2; pass++)
      for (int j = 0; j < i; j++) {
        const double *vj = v + (size_t)j * n;
        double dot = 0.0;
        for (int t = 0; t < n; t++)
          dot += vi[t] * vj[t];
        for (int t = 0; t < n; t++)
          vi[t] -= dot * vj[t];
      }
    double nrm = 0.0;
    for (int t = 0; t < n; t++)
      nrm += vi[t] * vi[t];
    nrm = sqrt(nrm);
    for (int t = 0; t < n; t++)
      vi[t] /= nrm;
  }
}

int nn_mlp_init_orthogonal(nn_mlp_t *m, hint_rng_t *rng, float hidden_gain,
                           float out_gain) {
  size_t most = 0;
  for (int l = 0; l < m->n_layers; l++) {
    size_t sz = (size_t)m->layer[l].in * m->layer[l].out;
    most = sz > most ? sz : most;
  }
  double *scratch = hint_malloc(most * sizeof(double));
  if (!scratch)
    return HINT_ENOMEM;
  for (int l = 0; l < m->n_layers; l++) {
    nn_linear_t *L = &m->layer[l];
    /* The matrix torch initialises is (out, in), the transpose of ours:
     * element (r, c) is stored at w[c * out + r]. Orthonormalise its shorter
     * side: columns of a tall matrix, rows of a wide one. Vector t lives at
     * scratch[t * len]. */
    int rows = L->out, cols = L->in;
    int k = rows < cols ? rows : cols, len = rows < cols ? cols : rows;
    for (size_t i = 0; i < (size_t)k * len; i++)
      scratch[i] = hint_rng_normal(rng);
    gram_schmidt(scratch, k, len);
    double gain = l == m->n_layers - 1 ? out_gain : hidden_gain;
    for (int r = 0; r < rows; r++)
      for (int c = 0; c < cols; c++) {
        double val = rows < cols ? scratch[(size_t)r * len + c]
                                 : scratch[(size_t)c * len + r];
        L->w[(size_t)c * rows + r] = (float)(gain * val);
      }
    memset(L->b, 0, (size_t)rows * sizeof(float));
  }
  hint_free(scratch);
  return HINT_OK;
}

void nn_mlp_init_uniform(nn_mlp_t *m, hint_rng_t *rng) {
  for (int l = 0; l < m->n_layers; l++) {
    nn_linear_t *L = &m->layer[l];
    double bound = 1.0 / sqrt((double)L->in);
    for (size_t i = 0; i < (size_t)L->out * L->in; i++)
      L->w[i] = (float)hint_rng_uniform(rng, -bound, bound);
    for (int i = 0; i < L->out; i++)
      L->b[i] = (float)hint_rng_uniform(rng, -bound, bound);
  }
}

/* Each buffer starts on a 64-byte boundary. */
static size_t padded(size_t n) { return (n + 15u) & ~(size_t)15u; }

int nn_mlp_ws_init(nn_mlp_ws_t *ws, const nn_mlp_t *m, int max_batch) {
  memset(ws, 0, sizeof *ws);
  if (max_batch <= 0 || m->n_layers <= 0)
    return HINT_EINVAL;
  size_t B = (size_t)max_batch;
  size_t total = padded(B * m->desc.in_dim) + 2u * padded(B * m->max_width);
  for (int l = 0; l < m->desc.n_hidden; l++)
    total += padded(B * m->desc.hidden[l]);
  float *base = hint_malloc(total * sizeof(float));
  if (!base)
    return HINT_ENOMEM;
  ws->block = base;
  ws->max_batch = max_batch;
  float *at = base;
  ws->x = at;
  at += padded(B * m->desc.in_dim);
  for (int l = 0; l < m->desc.n_hidden; l++) {
    ws->h[l] = at;
    at += padded(B * m->desc.hidden[l]);
  }
  ws->d0 = at;
  at += padded(B * m->max_width);
  ws->d1 = at;
  return HINT_OK;
}

void nn_mlp_ws_fini(nn_mlp_ws_t *ws) {
  if (!ws)
    return;
  hint_free(ws->block);
  memset(ws, 0, sizeof *ws);
}

void nn_mlp_forward(const nn_mlp_t *m, nn_mlp_ws_t *ws, const float *x, int B,
                    float *out) {
  assert(B > 0 && B <= ws->max_batch);
  memcpy(ws->x, x, (size_t)B * m->desc.in_dim * sizeof(float));
  const float *in = ws->x;
  for (int l = 0; l < m->n_layers; l++) {
    const nn_linear_t *L = &m->layer[l];
    int last = l == m->n_layers - 1;
    float *y = last ? out : ws->h[l];
    nn_linear_forward(in, L->w, L->b, y, B, L->in, L->out,
                      last ? NN_ACT_NONE : m->desc.act);
    in = y;
  }
  ws->batch = B;
}

void nn_mlp_backward(const nn_mlp_t *m, nn_mlp_ws_t *ws, const float *dout,
                     int B, float *dx) {
  assert(B > 0 && B == ws->batch);
  int top = m->n_layers - 1;
  const nn_linear_t *L = &m->layer[top];
  const float *in = top == 0 ? ws->x : ws->h[top - 1];

  /* Output layer: linear, so dL/dz is the caller's dout, read in place. */
  for (int r = 0; r < B; r++) {
    const float *dr = dout + (size_t)r * L->out;
    for (int j = 0; j < L->out; j++)
      L->gb[j] += dr[j];
  }
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, L->in, L->out, B, 1.0f,
              in, L->in, dout, L->out, 1.0f, L->gw, L->out);
  float *dnext = top == 0 ? dx : ws->d0;
  if (dnext)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, L->in, L->out,
                1.0f, dout, L->out, L->w, L->out, 0.0f, dnext, L->in);

  float *dcur = ws->d0, *dspare = ws->d1;
  for (int l = top - 1; l >= 0; l--) {
    L = &m->layer[l];
    in = l == 0 ? ws->x : ws->h[l - 1];
    float *dprev = l == 0 ? dx : dspare;
    nn_linear_backward(in, L->w, ws->h[l], dcur, L->gw, L->gb, dprev, B, L->in,
                       L->out, m->desc.act);
    dspare = dcur;
    dcur = dprev;
  }
}
