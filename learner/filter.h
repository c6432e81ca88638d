/* filter.h: the performance-based filter on distillation targets.
 *
 * For a student-driven segment the learner has the teacher's distribution
 * pi_T(. | s_t, i) and value V_T(s_t) for every step; this module decides
 * which (t, e, i) samples keep their guidance (algorithm.md, "Distillation
 * targets and performance-based filtering"). filter.modes lists the tests; a
 * sample is kept only if every listed test keeps it; modes == 0 keeps every
 * eligible sample (plain KD). Each test is independent of the others:
 *   value       keep iff V_T(s_t) - V_S(s_t) > filter.value_margin
 *               (V_S is the students' value that travels with the segment).
 *   advantage   keep iff A_t < -filter.adv_margin AND a_ti != argmax pi_T
 *               (the first argmax), where A_t is GAE(student.gamma,
 *               student.gae_lambda) over the segment with V_T as the critic:
 *               a done (truncations are dones, bootstrapped as terminal, as
 *               in teacher.h) zeroes the next value and cuts the trace; a
 *               change of driver between t and t+1 cuts the trace (the
 *               bootstrap V_T(s_{t+1}) stays); v_boot[e] = V_T(s_T) closes
 *               the last step. A_t is a team figure, shared by the agents.
 *   consistency per agent class, a table keyed by the student's input: a
 *               64-bit hash (FNV-1a, then a murmur3 finaliser) of the bytes
 *               of obs[t][e][i] (O floats) and, when comm is present, of
 *               comm[t][e][i] quantised to filter.consistency_bins levels per
 *               dimension (q = floor((c + 1) / 2 * bins), clamped to
 *               [0, bins - 1]; NaN goes to 0). Equal hashes are the same key.
 *               Each key holds the count n, the running mean m of the teacher
 *               distributions seen there, and the running mean of their
 *               entropies Hbar. The mean KL of those distributions to their
 *               mean is exactly  (1/n) sum_j KL(p_j || m) = H(m) - Hbar  (the
 *               generalised Jensen-Shannon divergence), so it is computed in
 *               O(NA) with no per-sample history, to the CURRENT mean m.
 *               Order: the sample updates its key first, then is tested, so
 *               the first sample at a key always passes. Drop iff that mean
 *               KL > filter.consistency_kl.
 *               Window: at most filter.consistency_window keys per class, in
 *               a ring of insertion order; a new key arriving at a full ring
 *               evicts the key inserted longest ago (FIFO by first insertion,
 *               not by last use: a frequent key is forgotten and starts again
 *               after W newer keys). Samples are visited in (t, e, i) order,
 *               and only eligible ones (mask 1 on entry) touch the table.
 *               Deterministic: no clocks, no randomness.
 *   confidence  keep iff H(pi_T) / log(n_c) < filter.max_entropy, n_c the
 *               agent's class_n_actions (= n_actions in both envs today);
 *               a class with one action has normalised entropy 0.
 * A NaN anywhere a test reads makes that test drop the sample (comparisons
 * are written so that NaN fails them); a non-finite pi_T row never enters the
 * consistency table.
 *
 * Ownership: the filter owns its tables and scratch, all allocated by
 * filter_create; filter_apply allocates nothing. Single-threaded. The table
 * is in-memory state: it is not checkpointed (a resumed learner starts with
 * an empty table).
 */
#ifndef HINT_LEARNER_FILTER_H
#define HINT_LEARNER_FILTER_H

#include <stdint.h>

#include "common/config/config.h"
#include "common/env/env.h"
#include "teacher/teacher.h"

/* Indices of filter_stats_t.dropped_by: the bit position of each
 * HINT_FILTER_* flag. */
enum {
  FILTER_BY_VALUE = 0,
  FILTER_BY_ADVANTAGE = 1,
  FILTER_BY_CONSISTENCY = 2,
  FILTER_BY_CONFIDENCE = 3,
  FILTER_N_MODES = 4,
};

/* What one filter_apply did, over eligible samples only (mask 1 on entry).
 * offered / kept are per agent class (dims->class_of). dropped_by[k] counts
 * the eligible samples test k dropped, whatever the other tests said, so the
 * counts may overlap and sum to more than offered - kept. */
typedef struct {
  double offered[ENV_MAX_CLASSES];
  double kept[ENV_MAX_CLASSES];
  double dropped_by[FILTER_N_MODES];
} filter_stats_t;

typedef struct filter filter_t;

/* Creates a filter for cfg (filter.*, student.gamma / gae_lambda,
 * student.comm / comm_dim, actor.segment_len / envs) and dims (copied).
 * Allocates the consistency tables (n_classes x consistency_window keys)
 * only when consistency is a listed mode, and the advantage scratch
 * (segment_len x envs) only when advantage is. Returns 0, HINT_EINVAL (NULL
 * argument, unusable dims or sizes) or HINT_ENOMEM (nothing leaked); *out is
 * NULL on failure. */
int filter_create(filter_t **out, const hint_config_t *cfg, const env_dims_t *dims);
/* NULL-safe; clears *fp. */
void filter_destroy(filter_t **fp);

/* Filters one segment in place. A = dims->n_agents, O = dims->obs_dim,
 * NA = dims->n_actions, C = the comm dimension from the config.
 *   seg        T x E with T * E <= segment_len * envs. Reads obs (consistency),
 *              value (value), actions, rewards, dones, driver (advantage)
 *              and comm (consistency, may be NULL: the key is then the obs
 *              alone; ignored when the config has no communication).
 *              truncated is not read: a truncation is a done.
 *   pi         [T][E][A][NA] teacher probabilities, read where mask is 1
 *              (may be NULL when only value is listed, or no mode).
 *   v_teacher  [T][E] V_T (advantage reads every step, value where eligible).
 *   v_boot     [E] V_T(s_T); may be NULL unless advantage is listed.
 *   mask       [T][E][A], 1 where guidance is eligible, 0 elsewhere. On
 *              return an eligible sample is 0 if any listed test dropped it;
 *              ineligible samples stay 0 (any nonzero entry counts as 1 and
 *              is written back as 0 or 1).
 *   st         may be NULL; otherwise overwritten with this call's counts.
 * Updates the consistency table with every eligible sample. */
void filter_apply(filter_t *f, const teacher_seg_t *seg, const float *pi,
                  const float *v_teacher, const float *v_boot, uint8_t *mask,
                  filter_stats_t *st);

/* Keys currently held for class c (0 when consistency is off); for tests
 * and metrics. */
int filter_keys(const filter_t *f, int c);

#endif
