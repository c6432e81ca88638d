/* adam.h: Adam with global-norm gradient clipping over one parameter arena.
 *
 * The update is one loop over the arena's w, g, m, v, written to reproduce
 * torch.optim.Adam (amsgrad off, no weight decay) and
 * torch.nn.utils.clip_grad_norm_ operation for operation, so the PyTorch
 * parity test can demand the same parameters after several steps. The
 * optimiser state (m, v, step) lives in the arena, so a checkpoint of the
 * arena is a checkpoint of the optimiser.
 */
#ifndef HINT_NN_ADAM_H
#define HINT_NN_ADAM_H

#include "common/nn/params.h"

typedef struct {
  float lr;            /* step size; callers anneal it between steps */
  float beta1;         /* 0.9 */
  float beta2;         /* 0.999 */
  float eps;           /* 1e-5 in the lab's MAPPO defaults (torch default 1e-8) */
  float max_grad_norm; /* global-norm clip over the whole arena; <= 0 disables */
} nn_adam_t;

/* The lab's defaults: lr 5e-4, betas (0.9, 0.999), eps 1e-5, clip 10. */
nn_adam_t nn_adam_defaults(void);

/* Clips p->g to opt->max_grad_norm, then applies one Adam step to p->w and
 * increments p->step. The gradients are left clipped (not zeroed).
 * *grad_norm (may be NULL) receives the norm before clipping.
 * Returns 0, or HINT_EDIVERGED if the gradient norm is not finite: then
 * nothing (w, m, v, step) is changed, so one bad batch cannot poison the
 * parameters. */
int nn_adam_step(nn_params_t *p, const nn_adam_t *opt, double *grad_norm);

#endif
