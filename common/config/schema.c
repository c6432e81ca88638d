/* schema.c: every configuration key, its type, bounds, default and help.
 *
 * This table is the single source of truth: the loader validates against it,
 * hint_config_write prints from it, and `--help-config` documents from it.
 * Defaults give the standard FireCommander 5x5 (2P1A, one fire, vision 1)
 * HINT run with the lab's MAPPO hyperparameters (algorithm.md).
 */
#include "common/config/schema.h"
#include "common/config/config.h"

#include <float.h>
#include <stddef.h>
#include <string.h>

#define F(field) offsetof(hint_config_t, field), sizeof(((hint_config_t *)0)->field)
#define BIG 1e18

static const char *const env_names[] = {"fire_commander", "marine", NULL};
static const char *const reward_names[] = {"per_fire", "capture", "false_drop", NULL};
static const char *const wave_source_names[] = {"synthetic", "netcdf", NULL};
static const char *const wave_bin_names[] = {"hard", "easy", NULL};
static const char *const algo_names[] = {"hint", "mappo", "ippo", "kd", "qmix", "maddpg", NULL};
static const char *const comm_names[] = {"none", "mean", NULL};
static const char *const goal_set_names[] = {"cells", "targets", NULL};
static const char *const act_names[] = {"tanh", "relu", NULL};
static const char *const resume_names[] = {"never", "auto", "must", NULL};
static const char *const bind_names[] = {"loopback", "interface", "any", "ipc", NULL};
static const char *const curve_names[] = {"auto", "on", "off", NULL};
static const char *const filter_names[] = {"value", "advantage", "consistency", "confidence", NULL};
static const char *const log_names[] = {"debug", "info", "warn", "error", NULL};

const cfg_entry_t cfg_schema[] = {
  /* run */
  {"run.name", CFG_STRING, F(run.name), 0, 0, "fc5x5-hint", NULL, "run name; the run directory is <run.dir>/<run.name>"},
  {"run.dir", CFG_STRING, F(run.dir), 0, 0, "runs", NULL, "parent directory of run directories"},
  {"run.seed", CFG_INT64, F(run.seed), 0, 9.2e18, "1", NULL, "training seed (envs, networks, sampling)"},
  {"run.total_env_steps", CFG_INT64, F(run.total_env_steps), 1, BIG, "4000000", NULL, "env-step budget; every env step counts, teacher-driven ones included"},
  {"run.resume", CFG_ENUM, F(run.resume), 0, 0, "auto", resume_names, "never: start fresh; auto: continue from the newest valid checkpoint if any; must: fail without one"},
  {"run.sync", CFG_BOOL, F(run.sync), 0, 1, "false", NULL, "serve actors in a fixed order so a seeded run is bit-for-bit reproducible"},
  {"run.log_level", CFG_ENUM, F(run.log_level), 0, 0, "info", log_names, "least severe log level shown"},
  {"run.max_wall_s", CFG_FLOAT, F(run.max_wall_s), 0, BIG, "0", NULL, "stop (with a checkpoint) after this many seconds; 0 = no limit"},

  /* env */
  {"env.name", CFG_ENUM, F(env.name), 0, 0, "fire_commander", env_names, "environment"},
  {"env.size", CFG_INT, F(env.size), 5, 50, "5", NULL, "grid edge: the map is size x size cells"},
  {"env.episode_limit", CFG_INT, F(env.episode_limit), 1, 100000, "80", NULL, "steps before timeout (a failure, and a truncation for bootstrapping)"},
  {"env.vision", CFG_INT, F(env.vision), 0, 3, "1", NULL, "local window radius v: agents see (2v+1)^2 cells"},
  {"env.privileged", CFG_BOOL, F(env.privileged), 0, 1, "true", NULL, "add privileged extras (fronts, spread rates, wind / wave field) to the global state"},
  {"env.eval_seed", CFG_INT64, F(env.eval_seed), 0, 9.2e18, "12345", NULL, "seed of the fixed evaluation set (separate from run.seed)"},
  {"env.eval_episodes", CFG_INT, F(env.eval_episodes), 1, 100000, "200", NULL, "initial conditions in the fixed evaluation set"},
  {"env.perception_agents", CFG_INT, F(env.perception_agents), 0, 32, "2", NULL, "FireCommander: perception agents (scouts)"},
  {"env.action_agents", CFG_INT, F(env.action_agents), 1, 32, "1", NULL, "FireCommander: action agents (firefighters)"},
  {"env.fires", CFG_INT, F(env.fires), 1, 256, "1", NULL, "FireCommander: initial fires (each a burning cell and a front)"},
  {"env.reward", CFG_ENUM, F(env.reward), 0, 0, "per_fire", reward_names, "FireCommander reward variant"},
  {"env.pruned_trap", CFG_BOOL, F(env.pruned_trap), 0, 1, "true", NULL, "FireCommander: a front on an extinguished cell stops moving"},
  {"env.fire_spread", CFG_BOOL, F(env.fire_spread), 0, 1, "true", NULL, "FireCommander: fronts move (false freezes the fire)"},
  {"env.routing_ships", CFG_INT, F(env.routing_ships), 1, 32, "2", NULL, "MARINE: routing ships"},
  {"env.logistics_ships", CFG_INT, F(env.logistics_ships), 0, 32, "1", NULL, "MARINE: logistics (replenishment) ships"},
  {"env.enemies", CFG_INT, F(env.enemies), 0, 32, "0", NULL, "MARINE tactical variant: hostile patrol ships"},
  {"env.privileged_frames", CFG_INT, F(env.privileged_frames), 0, 16, "0", NULL, "MARINE: future wave frames added to the privileged state"},
  {"env.waves.source", CFG_ENUM, F(env.waves.source), 0, 0, "synthetic", wave_source_names, "MARINE wave field: synthetic or a netCDF time series"},
  {"env.waves.bins", CFG_ENUM, F(env.waves.bins), 0, 0, "hard", wave_bin_names, "MARINE wave-height quantisation (easy shifts each bin up a level)"},
  {"env.waves.mean", CFG_FLOAT, F(env.waves.mean), 0, 30, "2.5", NULL, "synthetic waves: mean significant wave height, metres"},
  {"env.waves.std", CFG_FLOAT, F(env.waves.std), 0, 30, "1.5", NULL, "synthetic waves: spatial standard deviation, metres"},
  {"env.waves.corr_len", CFG_FLOAT, F(env.waves.corr_len), 0.1, 1000, "3", NULL, "synthetic waves: spatial correlation length, cells"},
  {"env.waves.drift", CFG_FLOAT, F(env.waves.drift), 0, 10, "0.1", NULL, "synthetic waves: drift speed, cells per step"},
  {"env.waves.frames", CFG_INT, F(env.waves.frames), 1, 100000, "1000", NULL, "synthetic waves: frames in the generated series"},
  {"env.waves.netcdf_path", CFG_STRING, F(env.waves.netcdf_path), 0, 0, "", NULL, "netCDF waves: file path"},
  {"env.waves.netcdf_var", CFG_STRING, F(env.waves.netcdf_var), 0, 0, "hs", NULL, "netCDF waves: variable (time, lat, lon) of wave height in metres"},
  {"env.waves.row0", CFG_INT, F(env.waves.row0), 0, 1e9, "0", NULL, "netCDF waves: first grid row of the region"},
  {"env.waves.col0", CFG_INT, F(env.waves.col0), 0, 1e9, "0", NULL, "netCDF waves: first grid column of the region"},
  {"env.waves.time0", CFG_INT, F(env.waves.time0), 0, 1e9, "0", NULL, "netCDF waves: first time index used"},

  /* algo */
  {"algo.name", CFG_ENUM, F(algo.name), 0, 0, "hint", algo_names, "hint, or a baseline: mappo, ippo, kd (flat teacher, no filter), qmix, maddpg (off-policy, offpolicy.*)"},

  /* actor */
  {"actor.count", CFG_INT, F(actor.count), 1, 4096, "2", NULL, "actor ranks N (the launcher starts 1 learner + N actors)"},
  {"actor.envs", CFG_INT, F(actor.envs), 1, 65536, "64", NULL, "env copies E per actor"},
  {"actor.segment_len", CFG_INT, F(actor.segment_len), 1, 4096, "32", NULL, "steps T per segment sent to the learner"},

  /* student */
  {"student.hidden", CFG_INT, F(student.hidden), 1, 4096, "128", NULL, "hidden units per layer"},
  {"student.layers", CFG_INT, F(student.layers), 1, 8, "2", NULL, "hidden layers"},
  {"student.activation", CFG_ENUM, F(student.activation), 0, 0, "tanh", act_names, "hidden activation"},
  {"student.comm", CFG_ENUM, F(student.comm), 0, 0, "mean", comm_names, "one-round communication: mean of teammates' learned messages"},
  {"student.comm_dim", CFG_INT, F(student.comm_dim), 1, 256, "8", NULL, "message length when student.comm is mean"},
  {"student.lr", CFG_FLOAT, F(student.lr), 0, 1, "5e-4", NULL, "Adam learning rate"},
  {"student.adam_eps", CFG_FLOAT, F(student.adam_eps), 1e-12, 1, "1e-5", NULL, "Adam epsilon"},
  {"student.epochs", CFG_INT, F(student.epochs), 1, 100, "5", NULL, "PPO epochs per batch"},
  {"student.minibatches", CFG_INT, F(student.minibatches), 1, 1024, "1", NULL, "minibatches per epoch"},
  {"student.clip", CFG_FLOAT, F(student.clip), 0, 10, "0.2", NULL, "PPO ratio clip epsilon"},
  {"student.value_clip", CFG_FLOAT, F(student.value_clip), 0, 1e6, "0", NULL, "value-loss clip range; 0 disables"},
  {"student.ent_coef", CFG_FLOAT, F(student.ent_coef), 0, 10, "0.01", NULL, "entropy bonus coefficient c_ent"},
  {"student.vf_coef", CFG_FLOAT, F(student.vf_coef), 0, 100, "0.5", NULL, "value loss coefficient c_v"},
  {"student.gamma", CFG_FLOAT, F(student.gamma), 0, 1, "0.99", NULL, "discount (0.97 for MARINE)"},
  {"student.gae_lambda", CFG_FLOAT, F(student.gae_lambda), 0, 1, "0.95", NULL, "GAE lambda"},
  {"student.max_grad_norm", CFG_FLOAT, F(student.max_grad_norm), 0, 1e6, "10", NULL, "global gradient-norm clip; 0 disables"},
  {"student.kd_coef_start", CFG_FLOAT, F(student.kd_coef_start), 0, 1e3, "1.0", NULL, "KD weight lambda at the start"},
  {"student.kd_coef_end", CFG_FLOAT, F(student.kd_coef_end), 0, 1e3, "0.0", NULL, "KD weight lambda after the anneal"},
  {"student.kd_anneal_env_steps", CFG_INT64, F(student.kd_anneal_env_steps), 0, BIG, "2000000", NULL, "env steps over which lambda goes linearly from start to end"},
  {"student.checksum_every", CFG_INT, F(student.checksum_every), 0, 1000000, "50", NULL, "updates between cross-actor parameter checksums; 0 disables"},

  /* teacher */
  {"teacher.hierarchical", CFG_BOOL, F(teacher.hierarchical), 0, 1, "true", NULL, "manager over goals + goal-conditioned worker; false = flat teacher"},
  {"teacher.manager_period", CFG_INT, F(teacher.manager_period), 1, 1000, "4", NULL, "K: the manager picks a new goal every K steps or on arrival"},
  {"teacher.goal_cell", CFG_INT, F(teacher.goal_cell), 0, 50, "0", NULL, "coarse goal-cell edge in map cells; 0 = auto (1 up to 10x10, 2 above)"},
  {"teacher.goal_set", CFG_ENUM, F(teacher.goal_set), 0, 0, "targets", goal_set_names, "goals: cells of the coarse grid, or targets proposed by the env"},
  {"teacher.n_targets", CFG_INT, F(teacher.n_targets), 1, 64, "4", NULL, "candidate goals per agent for goal_set: targets"},
  {"teacher.intrinsic_coef", CFG_FLOAT, F(teacher.intrinsic_coef), 0, 100, "0.01", NULL, "worker intrinsic reward weight (distance decrease + arrival bonus)"},
  {"teacher.arrival_bonus", CFG_FLOAT, F(teacher.arrival_bonus), 0, 1000, "5", NULL, "intrinsic bonus on reaching the goal (times intrinsic_coef)"},
  {"teacher.student_data_coef", CFG_FLOAT, F(teacher.student_data_coef), 0, 100, "0.5", NULL, "beta: weight of pseudo off-policy updates on student data; 0 disables"},
  {"teacher.student_data_frac", CFG_FLOAT, F(teacher.student_data_frac), 0.01, 1, "1", NULL, "share of the student-driven env copies of each segment the pseudo off-policy update uses (a compute knob: the update's cost grows with it)"},
  {"teacher.min_trained_frac", CFG_FLOAT, F(teacher.min_trained_frac), 0.01, 1, "1", NULL, "async: least share of segments the teacher trains on; the learner answers actors between its minibatch steps and skips segments that arrive during an update beyond this (1 = train on every segment: actors wait for the teacher as needed)"},
  {"teacher.rho_bar", CFG_FLOAT, F(teacher.rho_bar), 0, 1e6, "1", NULL, "V-trace truncation of importance weights for targets"},
  {"teacher.c_bar", CFG_FLOAT, F(teacher.c_bar), 0, 1e6, "1", NULL, "V-trace truncation of trace-cutting coefficients"},
  {"teacher.false_drop_penalty", CFG_FLOAT, F(teacher.false_drop_penalty), 0, 100, "0", NULL, "teacher-only shaping per false water drop (FireCommander)"},
  {"teacher.crop", CFG_INT, F(teacher.crop), 0, 25, "2", NULL, "radius of the egocentric crops in the teacher's agent-centred inputs"},
  {"teacher.hidden", CFG_INT, F(teacher.hidden), 1, 4096, "128", NULL, "hidden units per layer"},
  {"teacher.layers", CFG_INT, F(teacher.layers), 1, 8, "2", NULL, "hidden layers"},
  {"teacher.lr", CFG_FLOAT, F(teacher.lr), 0, 1, "1e-3", NULL, "Adam learning rate"},
  {"teacher.adam_eps", CFG_FLOAT, F(teacher.adam_eps), 1e-12, 1, "1e-5", NULL, "Adam epsilon"},
  {"teacher.epochs", CFG_INT, F(teacher.epochs), 1, 100, "4", NULL, "PPO epochs per teacher update"},
  {"teacher.minibatches", CFG_INT, F(teacher.minibatches), 1, 1024, "4", NULL, "minibatches per epoch"},
  {"teacher.clip", CFG_FLOAT, F(teacher.clip), 0, 10, "0.2", NULL, "PPO ratio clip epsilon"},
  {"teacher.ent_coef", CFG_FLOAT, F(teacher.ent_coef), 0, 10, "0.01", NULL, "entropy bonus coefficient"},
  {"teacher.vf_coef", CFG_FLOAT, F(teacher.vf_coef), 0, 100, "0.5", NULL, "value loss coefficient"},
  {"teacher.gamma", CFG_FLOAT, F(teacher.gamma), 0, 1, "0.99", NULL, "discount"},
  {"teacher.gae_lambda", CFG_FLOAT, F(teacher.gae_lambda), 0, 1, "0.95", NULL, "GAE lambda"},
  {"teacher.max_grad_norm", CFG_FLOAT, F(teacher.max_grad_norm), 0, 1e6, "10", NULL, "global gradient-norm clip; 0 disables"},
  {"teacher.publish_every", CFG_INT, F(teacher.publish_every), 1, 100000, "1", NULL, "teacher updates between parameter publishes"},
  {"teacher.replay_segments", CFG_INT, F(teacher.replay_segments), 1, 1000000, "64", NULL, "bounded replay capacity on the learner, in segments"},

  /* interaction */
  {"interaction.teacher_env_frac.start", CFG_FLOAT, F(interaction.teacher_env_frac.start), 0, 1, "0.5", NULL, "fraction of env copies driven by the teacher at the start"},
  {"interaction.teacher_env_frac.end", CFG_FLOAT, F(interaction.teacher_env_frac.end), 0, 1, "0.125", NULL, "teacher-driven fraction after the anneal"},
  {"interaction.anneal_env_steps", CFG_INT64, F(interaction.anneal_env_steps), 0, BIG, "2000000", NULL, "env steps over which the fraction goes linearly from start to end"},
  {"interaction.teacher_warmup_env_steps", CFG_INT64, F(interaction.teacher_warmup_env_steps), 0, BIG, "200000", NULL, "before this, the teacher trains on its own copies and students do plain RL"},

  /* filter */
  {"filter.modes", CFG_ENUM_SET, F(filter.modes), 0, 0, "[value, consistency]", filter_names, "performance-based filters, all must keep a sample; [] keeps everything"},
  {"filter.value_margin", CFG_FLOAT, F(filter.value_margin), -1e6, 1e6, "0", NULL, "value: keep if V_T(s) - V_S(s) > margin"},
  {"filter.adv_margin", CFG_FLOAT, F(filter.adv_margin), 0, 1e6, "0", NULL, "advantage: keep if the student's advantage under V_T < -margin"},
  {"filter.consistency_bins", CFG_INT, F(filter.consistency_bins), 1, 256, "4", NULL, "consistency: quantisation levels per communication dimension"},
  {"filter.consistency_kl", CFG_FLOAT, F(filter.consistency_kl), 0, 1e6, "0.1", NULL, "consistency: drop when the mean KL to the running mean exceeds this"},
  {"filter.consistency_window", CFG_INT, F(filter.consistency_window), 1, 100000000, "100000", NULL, "consistency: distinct student inputs remembered (sliding window)"},
  {"filter.max_entropy", CFG_FLOAT, F(filter.max_entropy), 0, 1, "0.8", NULL, "confidence: keep if the teacher's normalised entropy is below this"},

  /* offpolicy (qmix, maddpg: students trained on the learner from a replay) */
  {"offpolicy.replay_transitions", CFG_INT64, F(offpolicy.replay_transitions), 1, 1e9, "65536", NULL, "replay capacity on the learner in (step, env) transitions, rounded up to whole segments"},
  {"offpolicy.batch_size", CFG_INT, F(offpolicy.batch_size), 1, 65536, "256", NULL, "transitions per gradient step"},
  {"offpolicy.updates_per_segment", CFG_INT, F(offpolicy.updates_per_segment), 0, 10000, "32", NULL, "gradient steps per ingested segment: the replay ratio is this x batch_size / (actor.envs x actor.segment_len); 0 never trains"},
  {"offpolicy.warmup_transitions", CFG_INT64, F(offpolicy.warmup_transitions), 0, BIG, "8192", NULL, "no gradient steps before the replay holds this many transitions"},
  {"offpolicy.lr", CFG_FLOAT, F(offpolicy.lr), 0, 1, "5e-4", NULL, "Adam learning rate: qmix agent Q-networks and mixer; maddpg actors"},
  {"offpolicy.critic_lr", CFG_FLOAT, F(offpolicy.critic_lr), 0, 1, "1e-3", NULL, "maddpg: Adam learning rate of the centralized critics"},
  {"offpolicy.adam_eps", CFG_FLOAT, F(offpolicy.adam_eps), 1e-12, 1, "1e-5", NULL, "Adam epsilon"},
  {"offpolicy.gamma", CFG_FLOAT, F(offpolicy.gamma), 0, 1, "0.99", NULL, "discount of the TD targets (0.97 for MARINE)"},
  {"offpolicy.nstep", CFG_INT, F(offpolicy.nstep), 1, 64, "1", NULL, "qmix: n-step TD targets (discounted rewards of up to n steps within a segment, then the bootstrap); 1 = 1-step; maddpg needs 1"},
  {"offpolicy.max_grad_norm", CFG_FLOAT, F(offpolicy.max_grad_norm), 0, 1e6, "10", NULL, "global gradient-norm clip per optimiser; 0 disables"},
  {"offpolicy.target_update", CFG_INT, F(offpolicy.target_update), 1, 10000000, "50", NULL, "qmix: gradient steps between hard copies into the target networks"},
  {"offpolicy.tau", CFG_FLOAT, F(offpolicy.tau), 1e-6, 1, "0.01", NULL, "maddpg: soft target update rate"},
  {"offpolicy.eps_start", CFG_FLOAT, F(offpolicy.eps_start), 0, 1, "1.0", NULL, "qmix: exploration epsilon at the start"},
  {"offpolicy.eps_end", CFG_FLOAT, F(offpolicy.eps_end), 0, 1, "0.05", NULL, "qmix: epsilon after the anneal (also the sampled evaluation's)"},
  {"offpolicy.eps_anneal_env_steps", CFG_INT64, F(offpolicy.eps_anneal_env_steps), 0, BIG, "100000", NULL, "qmix: env steps over which epsilon goes linearly from start to end"},
  {"offpolicy.double_q", CFG_BOOL, F(offpolicy.double_q), 0, 1, "true", NULL, "qmix: double-Q targets (online argmax, target evaluation)"},
  {"offpolicy.mixer_embed", CFG_INT, F(offpolicy.mixer_embed), 1, 4096, "32", NULL, "qmix: width of the monotonic mixing network"},
  {"offpolicy.hyper_hidden", CFG_INT, F(offpolicy.hyper_hidden), 1, 4096, "64", NULL, "qmix: hidden width of the hypernetworks producing the mixing weights"},
  {"offpolicy.gumbel_tau", CFG_FLOAT, F(offpolicy.gumbel_tau), 1e-3, 100, "1.0", NULL, "maddpg: Gumbel-softmax temperature"},
  {"offpolicy.logit_reg", CFG_FLOAT, F(offpolicy.logit_reg), 0, 10, "1e-3", NULL, "maddpg: weight of mean(logits^2) in the actor loss"},
  {"offpolicy.critic_hidden", CFG_INT, F(offpolicy.critic_hidden), 1, 4096, "128", NULL, "maddpg: hidden units per critic layer"},
  {"offpolicy.critic_layers", CFG_INT, F(offpolicy.critic_layers), 1, 8, "2", NULL, "maddpg: critic hidden layers"},
  {"offpolicy.publish_every", CFG_INT, F(offpolicy.publish_every), 1, 1000000, "1", NULL, "publish the student parameters to the actors once this many gradient steps are unpublished (checked after each segment, each round in sync mode)"},
  {"offpolicy.ckpt_replay", CFG_BOOL, F(offpolicy.ckpt_replay), 0, 1, "true", NULL, "checkpoints include the replay (exact resume); false: smaller checkpoints, the replay refills after a resume"},

  /* transport */
  {"transport.max_inflight", CFG_INT, F(transport.max_inflight), 1, 1024, "2", NULL, "unanswered segments an actor may have (credit-based back-pressure)"},
  {"transport.max_policy_lag", CFG_INT, F(transport.max_policy_lag), 0, 1000000, "4", NULL, "segments more versions behind than this are counted and dropped"},
  {"transport.actor_timeout_s", CFG_FLOAT, F(transport.actor_timeout_s), 0.1, 1e6, "60", NULL, "a peer silent this long is named in the log and the job ends"},
  {"transport.bind", CFG_ENUM, F(transport.bind), 0, 0, "loopback", bind_names, "learner endpoints: loopback, a configured interface, any (*), or ipc:// (single node)"},
  {"transport.interface", CFG_STRING, F(transport.interface), 0, 0, "", NULL, "address or interface name for bind: interface"},
  {"transport.port", CFG_INT, F(transport.port), 0, 65534, "0", NULL, "segment port (parameters on port+1); 0 = ephemeral"},
  {"transport.curve", CFG_ENUM, F(transport.curve), 0, 0, "auto", curve_names, "ZeroMQ CURVE authentication; auto = on unless bound to loopback or ipc"},
  {"transport.hwm", CFG_INT, F(transport.hwm), 1, 1000000, "64", NULL, "ZeroMQ high-water mark, messages"},
  {"transport.linger_ms", CFG_INT, F(transport.linger_ms), 0, 600000, "1000", NULL, "ZeroMQ linger on close, so shutdown never hangs"},
  {"transport.max_message_bytes", CFG_INT64, F(transport.max_message_bytes), 1024, 4294967295.0, "268435456", NULL, "largest message accepted"},

  /* eval */
  {"eval.interval_env_steps", CFG_INT64, F(eval.interval_env_steps), 0, BIG, "500000", NULL, "env steps between evaluations; 0 = only at the end"},
  {"eval.episodes", CFG_INT, F(eval.episodes), 1, 100000, "200", NULL, "episodes per evaluation, from the fixed set"},

  /* ckpt */
  {"ckpt.interval_s", CFG_FLOAT, F(ckpt.interval_s), 0, 1e9, "300", NULL, "seconds between checkpoints; 0 = only at the end"},
  {"ckpt.keep", CFG_INT, F(ckpt.keep), 1, 1000, "3", NULL, "newest checkpoints kept"},

  /* metrics */
  {"metrics.interval_s", CFG_FLOAT, F(metrics.interval_s), 0.05, 1e6, "2", NULL, "seconds between metrics records and status-line refreshes"},
  {"metrics.status_line", CFG_BOOL, F(metrics.status_line), 0, 1, "true", NULL, "live one-line status on the learner's terminal"},
  {"metrics.prometheus_port", CFG_INT, F(metrics.prometheus_port), 0, 65535, "0", NULL, "Prometheus text endpoint port; 0 = off"},
  {"metrics.prometheus_bind", CFG_STRING, F(metrics.prometheus_bind), 0, 0, "127.0.0.1", NULL, "Prometheus endpoint address"},

  /* blas */
  {"blas.threads", CFG_INT, F(blas.threads), 1, 256, "1", NULL, "BLAS threads per rank (1 keeps oversubscribed nodes from thrashing)"},
  {"blas.learner_threads", CFG_INT, F(blas.learner_threads), 0, 256, "0", NULL, "BLAS threads of the learner (teacher updates); 0 = blas.threads"},
};

const int cfg_schema_len = (int)(sizeof cfg_schema / sizeof cfg_schema[0]);

const cfg_entry_t *cfg_schema_find(const char *key) {
  for (int i = 0; i < cfg_schema_len; i++)
    if (strcmp(cfg_schema[i].key, key) == 0)
      return &cfg_schema[i];
  return NULL;
}
