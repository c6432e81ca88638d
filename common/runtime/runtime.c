/* runtime.c: see runtime.h. */
#include "common/runtime/runtime.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/core/ckpt.h"
#include "common/core/error.h"
#include "common/core/log.h"

static double ramp(double start, double end, uint64_t steps, uint64_t over) {
  if (over == 0)
    return end;
  double x = (double)steps / (double)over;
  if (x > 1.0)
    x = 1.0;
  return start + (end - start) * x;
}

void runtime_apply_algo(hint_config_t *cfg) {
  if (cfg->algo.name == HINT_ALGO_KD) {
    cfg->teacher.hierarchical = 0;
    cfg->teacher.student_data_coef = 0.0;
    cfg->filter.modes = 0;
  }
  /* maddpg's actors act on local observations only (learner/maddpg.h). qmix
   * keeps student.comm: FireCommander's action agents are blind, so without
   * the message channel every greedy Q-policy is a fixed map from cell to
   * action that cannot win (algorithm.md); the replay recomputes messages
   * from the stored observations. */
  if (cfg->algo.name == HINT_ALGO_MADDPG)
    cfg->student.comm = HINT_COMM_NONE;
}

double runtime_epsilon(const hint_config_t *cfg, uint64_t g) {
  return ramp(cfg->offpolicy.eps_start, cfg->offpolicy.eps_end, g,
              (uint64_t)cfg->offpolicy.eps_anneal_env_steps);
}

int runtime_offpolicy(const hint_config_t *cfg) {
  return cfg->algo.name == HINT_ALGO_QMIX || cfg->algo.name == HINT_ALGO_MADDPG;
}

double runtime_teacher_frac(const hint_config_t *cfg, uint64_t g) {
  return ramp(cfg->interaction.teacher_env_frac.start, cfg->interaction.teacher_env_frac.end, g,
              (uint64_t)cfg->interaction.anneal_env_steps);
}

double runtime_kd_coef(const hint_config_t *cfg, uint64_t g) {
  if (g < (uint64_t)cfg->interaction.teacher_warmup_env_steps)
    return 0.0;
  return ramp(cfg->student.kd_coef_start, cfg->student.kd_coef_end, g,
              (uint64_t)cfg->student.kd_anneal_env_steps);
}

void runtime_run_dir(const hint_config_t *cfg, char *buf, size_t cap) {
  snprintf(buf, cap, "%s/%s", cfg->run.dir, cfg->run.name);
}

void runtime_ckpt_partial_dir(const hint_config_t *cfg, uint64_t id, char *buf, size_t cap) {
  snprintf(buf, cap, "%s/%s/ckpt/partial-%012llu", cfg->run.dir, cfg->run.name, (unsigned long long)id);
}

void runtime_ckpt_final_dir(const hint_config_t *cfg, uint64_t id, char *buf, size_t cap) {
  snprintf(buf, cap, "%s/%s/ckpt/ckpt-%012llu", cfg->run.dir, cfg->run.name, (unsigned long long)id);
}

void runtime_ckpt_actor_path(const hint_config_t *cfg, uint64_t id, int rank, char *buf, size_t cap) {
  snprintf(buf, cap, "%s/%s/ckpt/partial-%012llu/actor-%d.ckpt", cfg->run.dir, cfg->run.name,
           (unsigned long long)id, rank);
}

int runtime_mkdirs(const char *dir, char *err, size_t cap) {
  char tmp[4096];
  if (snprintf(tmp, sizeof tmp, "%s", dir) >= (int)sizeof tmp) {
    snprintf(err, cap, "path too long: %s", dir);
    return HINT_EINVAL;
  }
  for (char *p = tmp + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
      int e = errno;
      snprintf(err, cap, "cannot create directory %s: %s", tmp, strerror(e));
      return e == ENOSPC ? HINT_ENOSPC : HINT_EIO;
    }
    *p = '/';
  }
  if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
    int e = errno;
    snprintf(err, cap, "cannot create directory %s: %s", tmp, strerror(e));
    return e == ENOSPC ? HINT_ENOSPC : HINT_EIO;
  }
  return HINT_OK;
}

int runtime_mkdirs_for(const char *path, char *err, size_t cap) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash == NULL || slash == dir)
    return HINT_OK;
  *slash = '\0';
  return runtime_mkdirs(dir, err, cap);
}

/* Checkpoint ids of complete ("ckpt-") or partial directories, descending. */
static int list_ids(const char *ckpt_dir, const char *prefix, uint64_t *ids, int cap) {
  DIR *d = opendir(ckpt_dir);
  if (d == NULL)
    return 0;
  int n = 0;
  size_t plen = strlen(prefix);
  struct dirent *ent;
  while ((ent = readdir(d)) != NULL && n < cap) {
    if (strncmp(ent->d_name, prefix, plen) != 0)
      continue;
    char *end = NULL;
    unsigned long long id = strtoull(ent->d_name + plen, &end, 10);
    if (end && *end == '\0')
      ids[n++] = id;
  }
  closedir(d);
  for (int i = 1; i < n; i++) /* insertion sort, descending */
    for (int j = i; j > 0 && ids[j] > ids[j - 1]; j--) {
      uint64_t t = ids[j];
      ids[j] = ids[j - 1];
      ids[j - 1] = t;
    }
  return n;
}

static int verify_file(const char *path, uint64_t hash, char *err, size_t cap) {
  hint_ckpt_t c;
  int rc = hint_ckpt_read(path, hash, &c, err, cap);
  if (rc == HINT_OK)
    hint_ckpt_free(&c);
  return rc;
}

int runtime_find_resume(const hint_config_t *cfg, int n_actors, char *out_dir, size_t cap,
                        uint64_t *out_id) {
  out_dir[0] = '\0';
  *out_id = 0;
  char ckpt_dir[4096];
  snprintf(ckpt_dir, sizeof ckpt_dir, "%s/%s/ckpt", cfg->run.dir, cfg->run.name);
  uint64_t ids[1024];
  int n = list_ids(ckpt_dir, "ckpt-", ids, 1024);
  const uint64_t hash = hint_config_hash_resume(cfg);
  for (int i = 0; i < n; i++) {
    char dir[4096], path[4200], err[512];
    runtime_ckpt_final_dir(cfg, ids[i], dir, sizeof dir);
    snprintf(path, sizeof path, "%s/learner.ckpt", dir);
    int rc = verify_file(path, hash, err, sizeof err);
    for (int r = 1; rc == HINT_OK && r <= n_actors; r++) {
      snprintf(path, sizeof path, "%s/actor-%d.ckpt", dir, r);
      rc = verify_file(path, hash, err, sizeof err);
    }
    if (rc == HINT_OK) {
      /* A checkpoint of more actors than this job has would silently drop
       * their state: refuse it too. */
      snprintf(path, sizeof path, "%s/actor-%d.ckpt", dir, n_actors + 1);
      if (access(path, F_OK) == 0) {
        snprintf(err, sizeof err, "written by more than %d actors", n_actors);
        rc = HINT_ECONFIG;
      }
    }
    if (rc == HINT_OK) {
      snprintf(out_dir, cap, "%s", dir);
      *out_id = ids[i];
      return HINT_OK;
    }
    LOG_WARN("skipping checkpoint %s: %s", dir, err);
  }
  return HINT_OK;
}

void runtime_set_aside_newer(const hint_config_t *cfg, uint64_t id) {
  char ckpt_dir[4096];
  snprintf(ckpt_dir, sizeof ckpt_dir, "%s/%s/ckpt", cfg->run.dir, cfg->run.name);
  uint64_t ids[1024];
  int n = list_ids(ckpt_dir, "ckpt-", ids, 1024);
  for (int i = 0; i < n && ids[i] > id; i++) {
    char dir[4096], aside[4200];
    runtime_ckpt_final_dir(cfg, ids[i], dir, sizeof dir);
    snprintf(aside, sizeof aside, "%s.invalid", dir);
    if (rename(dir, aside) == 0)
      LOG_WARN("set the invalid checkpoint %s aside as %s", dir, aside);
    else
      LOG_WARN("cannot set the invalid checkpoint %s aside: %s", dir, strerror(errno));
  }
}

static void remove_tree(const char *dir) {
  DIR *d = opendir(dir);
  if (d == NULL)
    return;
  struct dirent *ent;
  while ((ent = readdir(d)) != NULL) {
    if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0)
      continue;
    char p[4500];
    snprintf(p, sizeof p, "%s/%s", dir, ent->d_name);
    unlink(p);
  }
  closedir(d);
  rmdir(dir);
}

void runtime_prune(const hint_config_t *cfg, int keep) {
  char ckpt_dir[4096];
  snprintf(ckpt_dir, sizeof ckpt_dir, "%s/%s/ckpt", cfg->run.dir, cfg->run.name);
  uint64_t ids[1024];
  int n = list_ids(ckpt_dir, "ckpt-", ids, 1024);
  for (int i = keep; i < n; i++) {
    char dir[4096];
    runtime_ckpt_final_dir(cfg, ids[i], dir, sizeof dir);
    remove_tree(dir);
  }
  uint64_t parts[1024];
  int np = list_ids(ckpt_dir, "partial-", parts, 1024);
  for (int i = 0; i < np; i++)
    if (n > 0 && parts[i] < ids[0]) {
      char dir[4096];
      runtime_ckpt_partial_dir(cfg, parts[i], dir, sizeof dir);
      remove_tree(dir);
    }
}

int runtime_bcast_resume(const boot_t *b, char *dir, size_t cap) {
  int len = b->is_learner ? (int)strlen(dir) : 0;
  if (MPI_Bcast(&len, 1, MPI_INT, 0, b->world) != MPI_SUCCESS)
    return HINT_EMPI;
  if (len < 0 || (size_t)len >= cap)
    return HINT_ERANGE;
  if (MPI_Bcast(dir, len, MPI_CHAR, 0, b->world) != MPI_SUCCESS)
    return HINT_EMPI;
  dir[len] = '\0';
  return HINT_OK;
}

const char *runtime_build_id(void) { return "hint 0.1.0 (" __DATE__ ")"; }
