/* nn.h: the neural-network core in one include.
 *
 * params.h  the flat arena (parameters, gradients, Adam moments, blobs)
 * ops.h     linear layers, activations, softmax, sampling, log-probs, KL
 * mlp.h     multilayer perceptrons over arena slices, with workspaces
 * loss.h    PPO, value, entropy and masked distillation losses with gradients
 * adam.h    Adam with global-norm clipping
 */
#ifndef HINT_NN_NN_H
#define HINT_NN_NN_H

#include "common/nn/adam.h"
#include "common/nn/loss.h"
#include "common/nn/mlp.h"
#include "common/nn/ops.h"
#include "common/nn/params.h"

#endif
