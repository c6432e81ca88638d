/* mlp.h: multilayer perceptrons over a slice of a parameter arena.
 *
 * An nn_mlp_t is a view: named pointers into its slice of an nn_params_t
 * (weights, biases and their gradients), in torch.nn.Sequential order
 * (layer 0 weight, layer 0 bias, layer 1 weight, ...). Weights are (in, out),
 * the transpose of torch.nn.Linear.weight (see ops.h); the parity test maps
 * one layout to the other. Hidden layers use one activation; the output layer
 * is linear (logits or a value).
 *
 * Activations for backward live in an nn_mlp_ws_t sized once for a maximum
 * batch. forward records them; backward consumes the record of the last
 * forward and accumulates into the arena's gradients. One workspace per
 * concurrent forward/backward pair; the network itself is read-only during
 * both, so several workspaces may share one network across threads (the
 * gradient accumulation then needs one arena per thread).
 */
#ifndef HINT_NN_MLP_H
#define HINT_NN_MLP_H

#include <stddef.h>

#include "common/core/rng.h"
#include "common/nn/ops.h"
#include "common/nn/params.h"

#define NN_MLP_MAX_LAYERS 8 /* linear layers, output layer included */

typedef struct {
  int in_dim;
  int out_dim;
  int n_hidden;                        /* hidden layers, 0..NN_MLP_MAX_LAYERS-1 */
  int hidden[NN_MLP_MAX_LAYERS - 1];   /* their widths */
  nn_act_t act;                        /* hidden activation */
} nn_mlp_desc_t;

typedef struct {
  int in, out;
  float *w;  /* (in, out) */
  float *b;  /* (out) */
  float *gw; /* (in, out) */
  float *gb; /* (out) */
} nn_linear_t;

typedef struct {
  nn_mlp_desc_t desc;
  int n_layers;                        /* n_hidden + 1 */
  int max_width;                       /* widest layer input or output */
  nn_linear_t layer[NN_MLP_MAX_LAYERS];
  nn_params_t *params;                 /* borrowed arena */
  size_t offset;                       /* slice start in the arena */
  size_t count;                        /* slice length in floats */
} nn_mlp_t;

typedef struct {
  int max_batch;
  int batch;                           /* rows of the last forward; 0: none */
  float *x;                            /* (max_batch, in_dim) copy of the last input */
  float *h[NN_MLP_MAX_LAYERS - 1];     /* (max_batch, hidden[l]) post-activation */
  float *d0, *d1;                      /* (max_batch, max_width) gradient ping-pong */
  void *block;                         /* the single allocation behind them */
} nn_mlp_ws_t;

/* Checks a descriptor: positive dims, n_hidden in range. 0 or HINT_EINVAL. */
int nn_mlp_desc_check(const nn_mlp_desc_t *d);
/* Floats the network needs in an arena (weights and biases). 0 if d is invalid. */
size_t nn_mlp_param_count(const nn_mlp_desc_t *d);

/* Reserves the network's slice in p and points the layers into it. Does not
 * touch the values (see the init functions). Returns 0, HINT_EINVAL (bad
 * descriptor) or HINT_ERANGE (arena too small). No allocation. */
int nn_mlp_init(nn_mlp_t *m, const nn_mlp_desc_t *d, nn_params_t *p);

/* Orthogonal weights (as torch.nn.init.orthogonal_: QR of a Gaussian matrix,
 * sign-corrected), scaled by hidden_gain for hidden layers and out_gain for
 * the output layer; zero biases. MAPPO uses sqrt(2) (relu) or 5/3 (tanh) and
 * 0.01 for policy logits, 1 for values. Allocates a scratch matrix, so it
 * returns 0 or HINT_ENOMEM (weights then unspecified). */
int nn_mlp_init_orthogonal(nn_mlp_t *m, hint_rng_t *rng, float hidden_gain,
                           float out_gain);
/* torch.nn.Linear's default: w and b uniform in +-1/sqrt(in). */
void nn_mlp_init_uniform(nn_mlp_t *m, hint_rng_t *rng);

/* Allocates activations for batches of up to max_batch rows.
 * Returns 0, HINT_EINVAL or HINT_ENOMEM (ws then empty; fini is safe). */
int nn_mlp_ws_init(nn_mlp_ws_t *ws, const nn_mlp_t *m, int max_batch);
void nn_mlp_ws_fini(nn_mlp_ws_t *ws);

/* out (B, out_dim) = network(x (B, in_dim)); 0 < B <= ws->max_batch.
 * Records the input and hidden activations in ws for nn_mlp_backward, so x may
 * be overwritten afterwards. out must not alias ws buffers. */
void nn_mlp_forward(const nn_mlp_t *m, nn_mlp_ws_t *ws, const float *x, int B,
                    float *out);

/* Backward of the last nn_mlp_forward on ws (same B): dout (B, out_dim) is
 * dL/dout. Adds dL/dw to the network's gradients in the arena (callers zero
 * them with nn_params_zero_grad once per step). dx (B, in_dim), if not NULL,
 * receives dL/dx (overwritten), e.g. to train a message encoder upstream. */
void nn_mlp_backward(const nn_mlp_t *m, nn_mlp_ws_t *ws, const float *dout,
                     int B, float *dx);

#endif
