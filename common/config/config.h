/* config.h: the one typed configuration struct and its loader.
 *
 * A run is described by one YAML file plus `--set a.b=value` overrides. The
 * schema table in schema.c (key, type, offset, bounds, default, help) drives
 * everything: loading, validation, printing the effective config and
 * `--help-config`. After hint_config_load() returns, the struct is read-only
 * and passed explicitly; nothing global holds it.
 *
 * Strings are fixed-size arrays so the struct is plain data (checkpointed and
 * compared as bytes). Enums are stored as ints with the HINT_* names below.
 */
#ifndef HINT_CONFIG_CONFIG_H
#define HINT_CONFIG_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#define HINT_CFG_STR 256

typedef enum { HINT_ENV_FIRE_COMMANDER = 0, HINT_ENV_MARINE = 1 } hint_env_name_t;
typedef enum { HINT_REWARD_PER_FIRE = 0, HINT_REWARD_CAPTURE = 1, HINT_REWARD_FALSE_DROP = 2 } hint_reward_t;
typedef enum { HINT_WAVES_SYNTHETIC = 0, HINT_WAVES_NETCDF = 1 } hint_wave_source_t;
typedef enum { HINT_WAVE_BINS_HARD = 0, HINT_WAVE_BINS_EASY = 1 } hint_wave_bins_t;
typedef enum {
  HINT_ALGO_HINT = 0, HINT_ALGO_MAPPO = 1, HINT_ALGO_IPPO = 2, HINT_ALGO_KD = 3,
  HINT_ALGO_QMIX = 4, HINT_ALGO_MADDPG = 5, /* off-policy, trained on the learner */
} hint_algo_t;
typedef enum { HINT_COMM_NONE = 0, HINT_COMM_MEAN = 1 } hint_comm_t;
typedef enum { HINT_GOALS_CELLS = 0, HINT_GOALS_TARGETS = 1 } hint_goal_set_t;
typedef enum { HINT_ACT_TANH = 0, HINT_ACT_RELU = 1 } hint_activation_t;
typedef enum { HINT_RESUME_NEVER = 0, HINT_RESUME_AUTO = 1, HINT_RESUME_MUST = 2 } hint_resume_t;
typedef enum { HINT_BIND_LOOPBACK = 0, HINT_BIND_INTERFACE = 1, HINT_BIND_ANY = 2, HINT_BIND_IPC = 3 } hint_bind_t;
typedef enum { HINT_CURVE_AUTO = 0, HINT_CURVE_ON = 1, HINT_CURVE_OFF = 2 } hint_curve_t;

/* filter.modes is a set, stored as a bit mask of these. */
enum {
  HINT_FILTER_VALUE = 1 << 0,
  HINT_FILTER_ADVANTAGE = 1 << 1,
  HINT_FILTER_CONSISTENCY = 1 << 2,
  HINT_FILTER_CONFIDENCE = 1 << 3,
};

typedef struct {
  double start;
  double end;
} hint_range_t;

typedef struct {
  /* run: */
  struct {
    char name[HINT_CFG_STR];    /* run directory is <dir>/<name> */
    char dir[HINT_CFG_STR];     /* parent of run directories */
    int64_t seed;
    int64_t total_env_steps;    /* every env step counts, whoever drove it */
    int resume;                 /* hint_resume_t */
    int sync;                   /* bool: deterministic fixed-order serving */
    int log_level;              /* hint_log_level_t */
    double max_wall_s;          /* 0 = unlimited */
  } run;

  /* env: */
  struct {
    int name;                   /* hint_env_name_t */
    int size;                   /* grid is size x size */
    int episode_limit;
    int vision;                 /* local window radius v: (2v+1)^2 cells */
    int privileged;             /* bool: privileged extras in the global state */
    int64_t eval_seed;
    int eval_episodes;          /* size of the fixed evaluation set */
    /* FireCommander */
    int perception_agents;
    int action_agents;
    int fires;
    int reward;                 /* hint_reward_t */
    int pruned_trap;            /* bool */
    int fire_spread;            /* bool */
    /* MARINE */
    int routing_ships;
    int logistics_ships;
    int enemies;
    int privileged_frames;      /* extra future wave frames in privileged state */
    struct {
      int source;               /* hint_wave_source_t */
      int bins;                 /* hint_wave_bins_t */
      double mean;              /* synthetic: mean wave height, metres */
      double std;               /* synthetic: spatial std of wave height */
      double corr_len;          /* synthetic: correlation length, cells */
      double drift;             /* synthetic: cells per step the field drifts */
      int frames;               /* synthetic: frames in the generated series */
      char netcdf_path[HINT_CFG_STR];
      char netcdf_var[64];
      int row0, col0, time0;    /* netcdf: region origin in the file's grid */
    } waves;
  } env;

  /* algo: */
  struct {
    int name;                   /* hint_algo_t */
  } algo;

  /* actor: */
  struct {
    int count;                  /* N actor ranks (the launcher reads it) */
    int envs;                   /* E env copies per actor */
    int segment_len;            /* T steps per segment */
  } actor;

  /* student: */
  struct {
    int hidden;
    int layers;
    int activation;             /* hint_activation_t */
    int comm;                   /* hint_comm_t */
    int comm_dim;
    double lr;
    double adam_eps;
    int epochs;
    int minibatches;
    double clip;
    double value_clip;          /* 0 disables value clipping */
    double ent_coef;
    double vf_coef;
    double gamma;
    double gae_lambda;
    double max_grad_norm;
    double kd_coef_start;
    double kd_coef_end;
    int64_t kd_anneal_env_steps;
    int checksum_every;         /* updates between cross-actor checksums */
  } student;

  /* teacher: */
  struct {
    int hierarchical;           /* bool */
    int manager_period;         /* K */
    int goal_cell;              /* coarse goal cell edge, 0 = auto */
    int goal_set;               /* hint_goal_set_t */
    int n_targets;              /* candidates for goal_set: targets */
    double intrinsic_coef;
    double arrival_bonus;
    double student_data_coef;   /* beta; 0 disables pseudo off-policy */
    double student_data_frac;   /* share of student-driven env copies per segment the update uses */
    double min_trained_frac;    /* async: least share of segments the teacher trains on */
    double rho_bar;
    double c_bar;
    double false_drop_penalty;
    int crop;                   /* egocentric crop radius */
    int hidden;
    int layers;
    double lr;
    double adam_eps;
    int epochs;
    int minibatches;
    double clip;
    double ent_coef;
    double vf_coef;
    double gamma;
    double gae_lambda;
    double max_grad_norm;
    int publish_every;          /* teacher updates between publishes */
    int replay_segments;        /* bounded replay capacity, segments */
  } teacher;

  /* interaction: */
  struct {
    hint_range_t teacher_env_frac;
    int64_t anneal_env_steps;
    int64_t teacher_warmup_env_steps;
  } interaction;

  /* filter: */
  struct {
    int modes;                  /* HINT_FILTER_* mask */
    double value_margin;
    double adv_margin;
    int consistency_bins;
    double consistency_kl;
    int consistency_window;
    double max_entropy;
  } filter;

  /* offpolicy: qmix and maddpg (learner/offpolicy.h) */
  struct {
    int64_t replay_transitions; /* ring capacity on the learner, (step, env) rows */
    int batch_size;             /* rows per gradient step */
    int updates_per_segment;    /* gradient steps per ingested segment (replay ratio) */
    int64_t warmup_transitions; /* no updates before the replay holds this many rows */
    double lr;                  /* agent Q-nets + mixer (qmix); actors (maddpg) */
    double critic_lr;           /* maddpg critics */
    double adam_eps;
    double gamma;
    int nstep;                  /* qmix: n-step TD targets */
    double max_grad_norm;       /* 0 disables */
    int target_update;          /* qmix: updates between hard target copies */
    double tau;                 /* maddpg: soft target update rate */
    double eps_start;           /* qmix epsilon-greedy, annealed in env steps */
    double eps_end;
    int64_t eps_anneal_env_steps;
    int double_q;               /* bool: qmix double-Q targets */
    int mixer_embed;            /* qmix mixing-network width */
    int hyper_hidden;           /* qmix hypernetwork hidden width */
    double gumbel_tau;          /* maddpg Gumbel-softmax temperature */
    double logit_reg;           /* maddpg actor logit regulariser */
    int critic_hidden;          /* maddpg critic width */
    int critic_layers;          /* maddpg critic hidden layers */
    int publish_every;          /* gradient steps between student-parameter publishes */
    int ckpt_replay;            /* bool: checkpoints include the replay */
  } offpolicy;

  /* transport: */
  struct {
    int max_inflight;
    int max_policy_lag;
    double actor_timeout_s;
    int bind;                   /* hint_bind_t */
    char interface[64];         /* address or interface name for bind: interface */
    int port;                   /* 0 = ephemeral; else segments on port, params on port+1 */
    int curve;                  /* hint_curve_t */
    int hwm;
    int linger_ms;
    int64_t max_message_bytes;
  } transport;

  /* eval: */
  struct {
    int64_t interval_env_steps;
    int episodes;               /* evaluated per evaluation (<= env.eval_episodes) */
  } eval;

  /* ckpt: */
  struct {
    double interval_s;
    int keep;
  } ckpt;

  /* metrics: */
  struct {
    double interval_s;
    int status_line;            /* bool */
    int prometheus_port;        /* 0 = off */
    char prometheus_bind[64];
  } metrics;

  /* blas: */
  struct {
    int threads;
    int learner_threads;
  } blas;
} hint_config_t;

/* Error detail from loading: file, line and key of the first problem. */
typedef struct {
  char file[HINT_CFG_STR];
  int line;                     /* 0 when not from a file (e.g. --set) */
  char key[128];
  char msg[512];                /* the whole human-readable message */
} hint_config_error_t;

/* Fills cfg with every default from the schema. */
void hint_config_defaults(hint_config_t *cfg);

/* Loads path (may be NULL: defaults only), then applies each "a.b=value"
 * override in order, then validates cross-key constraints. On failure returns
 * a negative code and fills err (if non-NULL) with a message naming file,
 * line and key. */
int hint_config_load(hint_config_t *cfg, const char *path,
                     const char *const *overrides, int n_overrides,
                     hint_config_error_t *err);

/* Same, from YAML text already in memory (name is used in messages). */
int hint_config_load_text(hint_config_t *cfg, const char *text, size_t len,
                          const char *name, const char *const *overrides,
                          int n_overrides, hint_config_error_t *err);

/* Writes the effective config as YAML (every key, grouped by section). */
int hint_config_write(const hint_config_t *cfg, FILE *out);
/* Same into a buffer; returns the length needed (like snprintf). */
size_t hint_config_format(const hint_config_t *cfg, char *buf, size_t cap);
/* Prints every key with type, bounds, default and help (--help-config). */
void hint_config_help(FILE *out);
/* 64-bit FNV-1a hash of the effective config text; equal configs hash equal. */
uint64_t hint_config_hash(const hint_config_t *cfg);

/* Hash of what determines the training itself: every key except those a
 * resumed or requeued run may change (its name and place, budget, wall limit, logging, metrics,
 * evaluation and checkpoint cadence, endpoints and timeouts, BLAS threads).
 * Checkpoints carry this hash; resume refuses a checkpoint whose hash
 * differs. */
uint64_t hint_config_hash_resume(const hint_config_t *cfg);
/* 1 if key is one of those resumable keys. */
int hint_config_key_resumable(const char *key);

/* Formats the value of one key (strings unquoted, sets as "[a, b]") into buf.
 * Returns 0, or HINT_EUNKNOWN_KEY. */
int hint_config_get(const hint_config_t *cfg, const char *key, char *buf, size_t cap);

/* Name of an enum value of key ("env.name", HINT_ENV_MARINE) -> "marine". */
const char *hint_config_enum_name(const char *key, int value);

/* Derived sizes everyone needs. */
static inline int hint_config_n_agents(const hint_config_t *c) {
  return c->env.name == HINT_ENV_FIRE_COMMANDER
             ? c->env.perception_agents + c->env.action_agents
             : c->env.routing_ships + c->env.logistics_ships;
}

#endif
