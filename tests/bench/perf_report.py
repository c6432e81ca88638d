"""perf_report.py: where the time of a HINT job goes, against each stage's limit (issue 9).

One command (tests/bench/perf_report.sh runs this) measures, on this machine and
in this run:
  e2e      for each algo x config x actor count: a real job through
           deploy/hint-launch for --seconds (run.max_wall_s; evaluation only the
           final 10 episodes, no periodic checkpoint, metrics every second) and the
           medians, after --warmup records, of its metrics.jsonl: env steps/s,
           segments/s, the actors' time split and the learner's
  ingest   the learner's ingest ceiling: the real hint-learner fed by
           --ingest-senders synthetic actor ranks (ingest_ceiling --rank-wrapper),
           which send pre-generated segments whenever a credit is free; and the same
           work in process (ingest_ceiling: (a) validate + store + targets, (b) plus
           a teacher update per round), the wire alone at the config's segment
           size, and the compute kernels at the config's shapes
  refs     env-only speed (bench_env), sgemm and network figures (bench_nn, one
           BLAS thread as every rank runs), raw ZeroMQ vs wire (bench_wire), MPI
           ping-pong and the gradient allreduce (bench_mpi, per actor count)
and then states each stage's efficiency against its limit:
  actor env         per-actor env rate while stepping vs bench_env
  actor inference,  FLOP/s while doing it (flop_model.py) vs the 1-thread sgemm
  actor update,     peak (each rank runs one BLAS thread)
  learner targets,
  teacher update
  actor allreduce   measured share vs bench_mpi's allreduce time x allreduces
  learner ingest    segments/s vs the ingest ceiling (real learner, synthetic senders)
  whole job         FLOP/s of all stages vs the 2-core sgemm peak, and the
                    arithmetic bound: env steps/s if every FLOP ran at that peak
and the ratios to the issue's baseline (the lab's Python MAPPO, ~250 env steps/s)
and target (50,000 env steps/s; actors waiting < 10% at 2 actors).

Output: one JSON object per line per figure (name, config, value, unit, and
baseline / ratio, target / target_ratio where there is one, load1 = the 1-min
load average when it was measured), then a table; both also go to --out
(default results/perf/<date>/): figures.jsonl, table.txt, shapes.jsonl,
meta.json and each job's metrics.jsonl. The machine is shared: read every
figure with its load1.

Ctrl-C (or SIGTERM) stops the current job cleanly (hint-launch checkpoints and
ends its ranks), writes what was measured so far and exits 130; a second one
forces the job down.
"""
import argparse
import datetime
import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flop_model  # noqa: E402

PYTHON_BASELINE = 250.0      # env steps/s, the lab's Python recurrent MAPPO (issue 9)
TARGET = 50000.0             # env steps/s, issue 9
WAIT_TARGET = 0.10           # actor_wait_frac at 2 actors, issue 9
DEFAULT_CONFIGS = ["configs/fire_commander_5x5.yaml", "configs/fire_commander_10x10.yaml",
                   "configs/marine_10x10.yaml"]
ALGOS = ("hint", "mappo", "kd", "ippo")
ACTOR_SPLIT = ("actor_frac_env", "actor_frac_inference", "actor_frac_update", "actor_frac_allreduce",
               "actor_wait_frac")
LEARNER_SPLIT = ("frac_decode", "frac_teacher_update", "frac_targets", "frac_publish", "frac_idle")


class Interrupted(Exception):
    pass


class Fail(Exception):
    pass


def load1():
    try:
        return float(open("/proc/loadavg").read().split()[0])
    except OSError:
        return float("nan")


# ---- children: one at a time, in their own session, stoppable -----------------

class Runner:
    def __init__(self):
        self.child = None
        self.signals = 0

    def on_signal(self, sig, frame):
        self.signals += 1
        c = self.child
        if c is None or c.poll() is not None:
            return
        try:
            if self.signals == 1:
                os.kill(c.pid, signal.SIGINT)   # hint-launch: SIGUSR1 to the ranks, clean stop
            else:
                os.killpg(c.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass

    def run(self, cmd, env=None, timeout=600, log=None):
        """Runs cmd; returns (rc, stdout text). stderr goes to log (a path) or
        is kept with stdout."""
        if self.signals:
            raise Interrupted()
        errf = open(log, "w") if log else subprocess.STDOUT
        try:
            self.child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errf, env=env, text=True,
                                          start_new_session=True)
            try:
                out, _ = self.child.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                print(f"perf_report: {os.path.basename(cmd[0])} ran over {timeout:.0f} s; stopping it",
                      file=sys.stderr)
                self.stop_child()
                out, _ = self.child.communicate()
                return 124, out
            return self.child.returncode, out
        finally:
            self.child = None
            if log:
                errf.close()
            if self.signals:
                raise Interrupted()

    def stop_child(self):
        c = self.child
        for sig, wait in ((signal.SIGINT, 60), (signal.SIGTERM, 20), (signal.SIGKILL, 5)):
            try:
                if sig == signal.SIGINT:
                    os.kill(c.pid, sig)
                else:
                    os.killpg(c.pid, sig)
            except ProcessLookupError:
                return
            try:
                c.wait(wait)
                return
            except subprocess.TimeoutExpired:
                pass


RUNNER = Runner()


# ---- figures --------------------------------------------------------------------

class Report:
    def __init__(self, out_dir):
        self.out_dir = out_dir
        self.figs = []
        self.f = open(os.path.join(out_dir, "figures.jsonl"), "w")

    def fig(self, name, config, value, unit, baseline=None, baseline_name=None, target=None,
            load=None, **extra):
        rec = {"name": name, "config": config,
               "value": None if value is None or (isinstance(value, float) and math.isnan(value))
               else round(value, 6),
               "unit": unit}
        if baseline is not None and value is not None and baseline > 0:
            rec.update(baseline=round(baseline, 6), baseline_name=baseline_name, ratio=round(value / baseline, 4))
        if target is not None and value is not None and target > 0:
            rec.update(target=target, target_ratio=round(value / target, 4))
        rec.update(extra)
        rec["load1"] = round(load if load is not None else load1(), 2)
        self.figs.append(rec)
        line = json.dumps(rec)
        print(line, flush=True)
        self.f.write(line + "\n")
        self.f.flush()
        return rec

    def get(self, name, config):
        for r in reversed(self.figs):
            if r["name"] == name and r["config"] == config:
                return r["value"]
        return None


def parse_json_lines(text):
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return out


def cfg_name(path):
    return os.path.splitext(os.path.basename(path))[0]


# ---- job runs --------------------------------------------------------------------

def launch(a, cfg, algo, n, seconds, run_dir, name, wrapper=None, extra_sets=()):
    cmd = [os.path.join(a.root, "deploy", "hint-launch"), cfg,
           "--set", f"algo.name={algo}", "--actors", str(n),
           "--set", f"run.dir={run_dir}", "--set", f"run.name={name}",
           "--set", "run.total_env_steps=1000000000", "--set", f"run.max_wall_s={seconds}",
           "--set", "run.resume=never", "--set", "metrics.interval_s=1",
           "--set", "metrics.status_line=false", "--set", "eval.interval_env_steps=0",
           "--set", "eval.episodes=10", "--set", "env.eval_episodes=10", "--set", "ckpt.interval_s=0"]
    for s in extra_sets:
        cmd += ["--set", s]
    env = dict(os.environ, BUILD_DIR=a.build)
    env.pop("HINT_RANK_WRAPPER", None)
    if wrapper:
        env["HINT_RANK_WRAPPER"] = wrapper
    log = os.path.join(run_dir, name + ".log")
    os.makedirs(run_dir, exist_ok=True)
    load = load1()
    rc, _ = RUNNER.run(cmd, env=env, timeout=seconds + 240, log=log)
    metrics = os.path.join(run_dir, name, "metrics.jsonl")
    if rc != 0 or not os.path.exists(metrics):
        tail = open(log).read().splitlines()[-15:] if os.path.exists(log) else []
        kept = os.path.join(a.out, "runs", name)
        os.makedirs(kept, exist_ok=True)
        if os.path.exists(log):
            shutil.copy(log, os.path.join(kept, "launch.log"))
        raise Fail(f"job {name} ({algo}, {cfg_name(cfg)}, {n} actors) exited {rc} (log: {kept}/launch.log):\n  "
                   + "\n  ".join(tail))
    recs = [json.loads(l) for l in open(metrics) if l.strip()]
    return recs, load, metrics


def medians(recs, warmup, keys):
    body = recs[warmup:]
    # The last record covers the shutdown (final evaluation, checkpoint).
    if len(body) > 3:
        body = body[:-1]
    if len(body) < 3:
        raise Fail(f"only {len(body)} metrics records after a warm-up of {warmup}: run longer (--seconds)")
    out = {}
    for k in keys:
        vals = [r[k] for r in body if isinstance(r.get(k), (int, float))]
        out[k] = statistics.median(vals) if vals else None
    return out, len(body)


def per_actor_sps(recs, warmup, n):
    body = recs[warmup:-1] if len(recs) > warmup + 3 else recs[warmup:]
    vals = []
    for r in body:
        xs = [r.get(f"actor{k}_env_steps_per_s") for k in range(1, n + 1)]
        xs = [x for x in xs if isinstance(x, (int, float))]
        if xs:
            vals.append(sum(xs) / len(xs))
    return statistics.median(vals) if vals else None


def skipped_rate(recs, warmup):
    body = recs[warmup:]
    if len(body) < 2 or "teacher_skipped_segments" not in body[0]:
        return None
    ds = body[-1]["segments"] - body[0]["segments"]
    dk = body[-1]["teacher_skipped_segments"] - body[0]["teacher_skipped_segments"]
    return dk / ds if ds > 0 else None


# ---- the parts -------------------------------------------------------------------

def tool(a, *parts):
    p = os.path.join(a.build, *parts)
    if not os.access(p, os.X_OK):
        raise Fail(f"{p} is missing: build first (ninja -C {a.build})")
    return p


def part_shapes(a, rep, shapes):
    exe = tool(a, "tests", "bench", "ingest_ceiling")
    with open(os.path.join(rep.out_dir, "shapes.jsonl"), "w") as f:
        for cfg in a.configs:
            for algo in a.algos:
                rc, out = RUNNER.run([exe, cfg, "--set", f"algo.name={algo}", "--senders",
                                      str(a.ingest_senders), "--what", "shapes"], timeout=120)
                recs = parse_json_lines(out)
                if rc != 0 or not recs:
                    raise Fail(f"ingest_ceiling --what shapes {cfg} ({algo}) failed: {out.strip()[-300:]}")
                sh = recs[0]
                shapes[(cfg_name(cfg), algo)] = sh
                f.write(json.dumps(sh) + "\n")
                s_m, s_a, t_m, t_a = flop_model.check_params(sh)
                label = f"{cfg_name(cfg)} {algo}"
                rep.fig("flop_model_params_match", label, 1.0 if (s_m == s_a and t_m == t_a) else 0.0,
                        "1 = the model's networks have the arenas' parameter counts",
                        student_model=s_m, student_arena=s_a, teacher_model=t_m, teacher_arena=t_a)
                fl = flop_model.flops_per_env_step(sh)
                for k in ("inference_student", "inference_teacher", "student_update", "teacher_targets",
                          "teacher_update"):
                    rep.fig(f"flops_{k}", label, fl[k] / 1e6, "MFLOP per env step (model)")


def part_refs(a, rep, refs, shapes):
    s = str(a.ref_seconds)
    load = load1()
    rc, out = RUNNER.run([tool(a, "tests", "bench", "bench_env"), s], timeout=300)
    if rc != 0:
        raise Fail(f"bench_env failed: {out.strip()[-300:]}")
    for r in parse_json_lines(out):
        if r.get("name") == "env_steps_per_s":
            label = r["config"].split()[0]
            refs[("env", label)] = r["value"]
            rep.fig("ref_env_steps_per_s", label, r["value"], "env steps/s (env only, one core, bench_env)",
                    baseline=r.get("baseline"), baseline_name="lab Python env", load=load)
    load = load1()
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    rc, out = RUNNER.run([tool(a, "tests", "bench", "bench_nn"), "1", s], env=env, timeout=300)
    if rc != 0:
        raise Fail(f"bench_nn failed: {out.strip()[-300:]}")
    for r in parse_json_lines(out):
        name, cfgs = r.get("name"), r.get("config", "")
        if name == "sgemm" and "threads=1" in cfgs:
            # The 1-thread limit is the best sgemm seen: the training shapes
            # (4096 x 128 x 128) run faster than 1024^3 here.
            refs["sgemm_peak_1"] = max(refs.get("sgemm_peak_1", 0), r["value"])
        if name == "sgemm_peak" and "threads=1" in cfgs:
            refs["sgemm_peak_1"] = max(refs.get("sgemm_peak_1", 0), r["value"])
            rep.fig("ref_sgemm_peak_1", cfgs, r["value"], "GFLOP/s (bench_nn)", load=load)
        elif name == "sgemm_peak":
            key = "sgemm_peak_2" if "threads=2" in cfgs else "sgemm_peak_1"
            refs[key] = r["value"]
            rep.fig("ref_" + key, cfgs, r["value"], "GFLOP/s (bench_nn)", load=load)
        elif name in ("sgemm", "nn_infer_b64", "nn_fwdbwd_b4096", "nn_train_b4096"):
            if name == "nn_fwdbwd_b4096":
                refs["fwdbwd_b4096"] = r["value"]
            rep.fig("ref_" + name, cfgs, r["value"], r["unit"] + " (bench_nn)", load=load)
    load = load1()
    rc, out = RUNNER.run([tool(a, "tests", "bench", "bench_wire"), s], timeout=600)
    if rc != 0:
        raise Fail(f"bench_wire failed: {out.strip()[-300:]}")
    for r in parse_json_lines(out):
        if r.get("bench") == "wire_vs_raw":
            refs["wire_5x5_sps"] = r["wire_segments_per_s"]
            rep.fig("ref_wire_segments_per_s", "bench_wire: FC 5x5 segment, 2 senders -> 1 learner, loopback",
                    r["wire_segments_per_s"], "segments/s", baseline=r["raw_segments_per_s"],
                    baseline_name="raw ZeroMQ, same frames", load=load)
            rep.fig("ref_raw_zmq_segments_per_s", "bench_wire: raw ZeroMQ zmq_send, same frames",
                    r["raw_segments_per_s"], "segments/s", load=load)
        elif r.get("bench") == "wire_codec":
            rep.fig("ref_wire_decode_us", "bench_wire: FC 5x5 segment", r["decode_us"], "us per segment", load=load)
            rep.fig("ref_wire_encode_us", "bench_wire: FC 5x5 segment", r["encode_us"], "us per segment", load=load)
    mpi_ns = sorted({n for n in a.actors if n >= 2})
    bench_mpi = tool(a, "tests", "bench", "bench_mpi")
    mpirun = shutil.which("mpirun") or shutil.which("mpiexec")
    for cfg in a.configs:
        algo0 = a.algos[0]
        p = shapes[(cfg_name(cfg), algo0)]["student_params"]
        for n in mpi_ns:
            load = load1()
            env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
            cmd = [mpirun, "--allow-run-as-root", "--oversubscribe", "--mca", "btl_vader_single_copy_mechanism",
                   "none", "-np", str(n), bench_mpi, str(p), s]
            rc, out = RUNNER.run(cmd, env=env, timeout=300)
            if rc != 0:
                raise Fail(f"bench_mpi failed: {out.strip()[-300:]}")
            for r in parse_json_lines(out):
                if r["name"] == "mpi_allreduce_us":
                    refs[("allreduce_us", cfg_name(cfg), n)] = r["value"]
                    rep.fig("ref_mpi_allreduce_us", f"{cfg_name(cfg)} student gradient: {r['config']}",
                            r["value"], "us", load=load)
                elif cfg == a.configs[0]:
                    rep.fig("ref_" + r["name"], r["config"], r["value"], r["unit"], load=load)
    for cfg in a.configs:
        for algo in a.algos:
            load = load1()
            label = f"{cfg_name(cfg)} {algo}"
            cmd = [tool(a, "tests", "bench", "ingest_ceiling"), cfg, "--set", f"algo.name={algo}",
                   "--senders", str(a.ingest_senders), "--seconds", str(max(2.0, 2 * a.ref_seconds))]
            rc, out = RUNNER.run(cmd, timeout=900)
            if rc != 0:
                raise Fail(f"ingest_ceiling {label} failed: {out.strip()[-400:]}")
            for r in parse_json_lines(out):
                if r["name"] == "loadavg_1min":
                    continue
                refs[("inproc", label, r["name"])] = r["value"]
                rep.fig("inproc_" + r["name"], label + f", {a.ingest_senders} senders", r["value"], r["unit"],
                        load=load)
            kernel_checks(a, rep, refs, shapes[(cfg_name(cfg), algo)], label)


def kernel_checks(a, rep, refs, sh, label):
    """The FLOP model against the kernels' measured times: achieved GFLOP/s
    of each kernel, vs the 1-thread sgemm peak. Above ~1.1 x peak the model
    counts work the code does not do."""
    fl = flop_model.flops_per_env_step(sh)
    peak = refs.get("sgemm_peak_1")
    kern = {
        "student_act": ("kernel_student_act_us_per_env_step", fl["student_act_per_step"]),
        "teacher_act": ("kernel_teacher_act_us_per_env_step", fl["teacher_act_per_step"]),
        "teacher_targets": ("kernel_teacher_targets_us_per_state", fl["targets_per_state"]),
        "student_update": ("kernel_student_update_us_per_pair_epoch", fl["student_update_per_pair_epoch"]),
        "teacher_update": ("kernel_teacher_update_us_per_env_step", fl["teacher_update_per_round_step"]),
    }
    for k, (fig, flops) in kern.items():
        us = refs.get(("inproc", label, fig))
        if not us or not flops:
            continue
        gf = flops / us / 1e3
        rep.fig(f"kernel_{k}_gflops", label, gf, "GFLOP/s (model FLOPs / measured kernel time)",
                baseline=peak, baseline_name="sgemm peak, 1 thread",
                model_check="ok" if not peak or gf <= 1.1 * peak else "MODEL OVERCOUNTS (above peak)")


def part_ingest(a, rep, refs, work):
    wrapper = tool(a, "tests", "bench", "ingest_ceiling") + " --rank-wrapper"
    for cfg in a.configs:
        for algo in a.algos:
            label = f"{cfg_name(cfg)} {algo}"
            name = f"ingest-{cfg_name(cfg)}-{algo}"
            recs, load, path = launch(a, cfg, algo, a.ingest_senders, a.ingest_seconds, work, name, wrapper=wrapper)
            keep_metrics(a, path, name)
            keys = ("segments_per_s", "env_steps_per_s", "teacher_updates_per_s", "actor_wait_frac") + LEARNER_SPLIT
            m, nrec = medians(recs, a.warmup, keys)
            conf = f"{label}, real hint-learner, {a.ingest_senders} synthetic senders"
            refs[("ceiling", label)] = m["segments_per_s"]
            refs[("ceiling_steps", label)] = m["env_steps_per_s"]
            rep.fig("ingest_ceiling_segments_per_s", conf, m["segments_per_s"], "segments/s", load=load, records=nrec)
            rep.fig("ingest_ceiling_env_steps_per_s", conf, m["env_steps_per_s"], "env steps/s",
                    baseline=PYTHON_BASELINE, baseline_name="lab Python MAPPO", target=TARGET, load=load)
            rep.fig("ingest_ceiling_sender_wait_frac", conf, m["actor_wait_frac"],
                    "fraction of time the senders waited for credits (near 1: the learner is the limit)", load=load)
            rep.fig("ingest_ceiling_teacher_updates_per_s", conf, m["teacher_updates_per_s"], "updates/s", load=load)
            sk = skipped_rate(recs, a.warmup)
            if sk is not None:
                rep.fig("ingest_ceiling_teacher_skipped_frac", conf, sk,
                        "fraction of segments the teacher did not train on", load=load)
            for k in LEARNER_SPLIT:
                rep.fig("ingest_ceiling_" + k, conf, m[k], "fraction of learner wall time", load=load)


def keep_metrics(a, path, name):
    d = os.path.join(a.out, "runs", name)
    os.makedirs(d, exist_ok=True)
    shutil.copy(path, os.path.join(d, "metrics.jsonl"))


def part_e2e(a, rep, refs, shapes, work, rows):
    for algo in a.algos:
        for cfg in a.configs:
            for n in a.actors:
                label = f"{cfg_name(cfg)} {algo}"
                conf = f"{label}, 1 learner + {n} actors, {os.cpu_count()} vCPU"
                name = f"e2e-{algo}-{cfg_name(cfg)}-a{n}"
                try:
                    recs, load, path = launch(a, cfg, algo, n, a.seconds, work, name)
                    keep_metrics(a, path, name)
                    keys = ("env_steps_per_s", "segments_per_s", "teacher_updates_per_s") + ACTOR_SPLIT + LEARNER_SPLIT
                    m, nrec = medians(recs, a.warmup, keys)
                except Fail as e:
                    print(f"perf_report: {e}", file=sys.stderr)
                    rep.fig("e2e_failed", conf, 1.0, "1 = this job failed (see stderr)")
                    a.failed = True
                    continue
                finally:
                    shutil.rmtree(os.path.join(work, name), ignore_errors=True)
                m["per_actor"] = per_actor_sps(recs, a.warmup, n)
                m["skipped"] = skipped_rate(recs, a.warmup)
                row = analyse(a, rep, refs, shapes[(cfg_name(cfg), algo)], label, conf, n, m, load, nrec)
                rows.append(row)


def analyse(a, rep, refs, sh, label, conf, n, m, load, nrec):
    """Figures of one e2e job, and each stage's efficiency against its limit."""
    sps = m["env_steps_per_s"]
    fig = lambda *x, **k: rep.fig(*x, load=load, **k)  # noqa: E731
    fig("e2e_env_steps_per_s", conf, sps, "env steps/s", baseline=PYTHON_BASELINE,
        baseline_name="lab Python recurrent MAPPO (issue 9)", target=TARGET, records=nrec)
    fig("e2e_segments_per_s", conf, m["segments_per_s"], "segments/s")
    for k in ACTOR_SPLIT:
        if k == "actor_wait_frac" and n == 2:
            fig("e2e_" + k, conf, m[k], "fraction of actor wall time", target=WAIT_TARGET,
                met=m[k] is not None and m[k] < WAIT_TARGET)
        else:
            fig("e2e_" + k, conf, m[k], "fraction of actor wall time")
    for k in LEARNER_SPLIT:
        fig("e2e_" + k, conf, m[k], "fraction of learner wall time")
    if m["skipped"] is not None:
        fig("e2e_teacher_skipped_frac", conf, m["skipped"], "fraction of segments the teacher did not train on")
    fl = flop_model.flops_per_env_step(sh)
    T, E = sh["T"], sh["E"]
    p = m["per_actor"] or (sps / n if sps else None)
    fig("e2e_per_actor_env_steps_per_s", conf, p, "env steps/s per actor")
    row = {"label": label, "n": n, "sps": sps, "split": {k: m[k] for k in ACTOR_SPLIT + LEARNER_SPLIT},
           "eff": {}}
    peak1, peak2 = refs.get("sgemm_peak_1"), refs.get("sgemm_peak_2")

    def eff(name, value, unit, limit, limit_name):
        if value is None:
            return
        fig(name, conf, value, unit, baseline=limit, baseline_name=limit_name)
        if limit:
            row["eff"][name] = value / limit

    def rate_while(frac):
        # The env share is often ~0.1% of an actor's time: still a rate.
        return p / frac if p and frac and frac > 1e-5 else None

    env_ref = refs.get(("env", cfg_name_of(label)))
    r = rate_while(m["actor_frac_env"])
    eff("eff_actor_env_steps_per_s_while_stepping", r, "env steps/s per actor while in env.step", env_ref,
        "env only (bench_env)")
    r = rate_while(m["actor_frac_inference"])
    if r:
        eff("eff_actor_inference_gflops", r * (fl["inference_student"] + fl["inference_teacher"]) / 1e9,
            "GFLOP/s while in inference", peak1, "sgemm peak, 1 thread")
    r = rate_while(m["actor_frac_update"])
    if r:
        eff("eff_actor_update_gflops", r * fl["student_update"] / 1e9, "GFLOP/s while in the student update",
            peak1, "sgemm peak, 1 thread")
    ar = refs.get(("allreduce_us", cfg_name_of(label), n))
    if ar and p and n >= 2:
        # One update per segment: epochs x minibatches gradient allreduces.
        predicted = p / (T * E) * sh["student_epochs"] * sh["student_minibatches"] * ar * 1e-6
        if m["actor_frac_allreduce"] is not None:
            fig("eff_actor_allreduce_frac_vs_raw_mpi", conf, m["actor_frac_allreduce"],
                "fraction of actor time in allreduce", baseline=predicted,
                baseline_name="raw MPI_Allreduce time x allreduces (bench_mpi): the rest is waiting for the slowest actor")
    if sh["algo"] in ("hint", "kd") and sps:
        if m["frac_targets"]:
            eff("eff_learner_targets_gflops", sps * fl["teacher_targets"] / m["frac_targets"] / 1e9,
                "GFLOP/s while computing targets", peak1, "sgemm peak, 1 thread")
        upd = m["teacher_updates_per_s"]
        if upd and m["frac_teacher_update"]:
            trained = upd * n * T * E  # each update trains on the newest n segments
            fig("e2e_teacher_trained_env_steps_per_s", conf, trained, "env steps/s the teacher trains on",
                baseline=sps, baseline_name="env steps/s produced")
            eff("eff_learner_teacher_update_gflops", trained * fl["teacher_update"] / m["frac_teacher_update"] / 1e9,
                "GFLOP/s while in the teacher update", peak1, "sgemm peak, 1 thread")
    ceil = refs.get(("ceiling", label))
    if ceil and m["segments_per_s"]:
        eff("eff_learner_ingest", m["segments_per_s"], "segments/s", ceil,
            "ingest ceiling (real learner, synthetic senders)")
    if sps:
        trained_share = 1.0 - (m["skipped"] or 0.0)
        total = sps * (fl["inference_student"] + fl["inference_teacher"] + fl["student_update"] +
                       fl["teacher_targets"] + trained_share * fl["teacher_update"])
        eff("eff_job_gflops", total / 1e9, "GFLOP/s of the whole job (all stages, model)", peak2,
            "sgemm peak, 2 threads")
        per_step = (fl["inference_student"] + fl["inference_teacher"] + fl["student_update"] +
                    fl["teacher_targets"] + fl["teacher_update"])
        row["mflop_per_step"] = per_step / 1e6
        if peak2:
            row["bound"] = peak2 * 1e9 / per_step
            fig("bound_arithmetic_env_steps_per_s", conf, row["bound"],
                "env steps/s if every FLOP ran at the 2-thread sgemm peak (teacher trains on every segment)",
                target=TARGET, mflop_per_env_step=round(per_step / 1e6, 3))
    return row


def cfg_name_of(label):
    return label.split()[0]


def scaling(a, rep, refs, rows):
    """How many actors one learner can feed: its ingest ceiling over one
    actor's production rate (measured with 1 actor, so it is not slowed by
    sharing the cores with other actors)."""
    for row in rows:
        if row["n"] != min(a.actors):
            continue
        ceil_steps = refs.get(("ceiling_steps", row["label"]))
        prod = row["sps"] / row["n"] if row["sps"] else None
        if ceil_steps and prod:
            row["feeds"] = ceil_steps / prod
            rep.fig("scaling_actors_one_learner_feeds", row["label"], ceil_steps / prod,
                    "actors (ingest ceiling / one actor's env steps/s)",
                    ceiling_env_steps_per_s=ceil_steps, per_actor_env_steps_per_s=prod)


def table(a, rep, refs, rows):
    L = []
    L.append(f"perf_report {datetime.datetime.now().isoformat(timespec='seconds')}  load at end {load1():.2f}, "
             f"{os.cpu_count()} vCPU; sgemm peak 1 thread (best shape) {fmt(refs.get('sgemm_peak_1'))}, "
             f"2 threads {fmt(refs.get('sgemm_peak_2'))} GFLOP/s")
    L.append("")
    L.append(f"{'job':26s} {'act':>3s} {'env st/s':>9s} {'xPy':>5s} {'/50k':>5s} | actor: {'env':>4s} {'inf':>4s} "
             f"{'upd':>4s} {'allr':>4s} {'wait':>4s} | learner: {'dec':>4s} {'tupd':>4s} {'tgt':>4s} {'pub':>4s} "
             f"{'idle':>4s}")
    for r in rows:
        s = r["split"]
        f = lambda k: f"{s[k]:4.2f}" if s.get(k) is not None else "   -"  # noqa: E731
        sps = r["sps"] or 0
        L.append(f"{r['label']:26s} {r['n']:3d} {sps:9.0f} {sps / PYTHON_BASELINE:5.0f} {sps / TARGET:5.2f} |        "
                 f"{f('actor_frac_env')} {f('actor_frac_inference')} {f('actor_frac_update')} "
                 f"{f('actor_frac_allreduce')} {f('actor_wait_frac')} |          {f('frac_decode')} "
                 f"{f('frac_teacher_update')} {f('frac_targets')} {f('frac_publish')} {f('frac_idle')}")
    L.append("")
    L.append("efficiency against each stage's limit (achieved / limit):")
    names = [("eff_actor_env_steps_per_s_while_stepping", "env/env-only"),
             ("eff_actor_inference_gflops", "infer/peak"), ("eff_actor_update_gflops", "update/peak"),
             ("eff_learner_targets_gflops", "targets/peak"), ("eff_learner_teacher_update_gflops", "tupd/peak"),
             ("eff_learner_ingest", "ingest/ceil"), ("eff_job_gflops", "job/2-core")]
    L.append(f"{'job':26s} {'act':>3s} " + " ".join(f"{h:>12s}" for _, h in names))
    for r in rows:
        L.append(f"{r['label']:26s} {r['n']:3d} " + " ".join(
            f"{r['eff'][k]:12.2f}" if k in r["eff"] else f"{'-':>12s}" for k, _ in names))
    L.append("")
    L.append("arithmetic (flop_model.py): model MFLOP per env step, the env steps/s they allow at the 2-thread")
    L.append("sgemm peak, and how many actors one learner feeds (ingest ceiling / one actor's env steps/s):")
    for r in rows:
        if "mflop_per_step" in r:
            L.append(f"  {r['label']:26s} {r['n']:d} actors: {r['mflop_per_step']:7.2f} MFLOP/env step, bound "
                     f"{fmt(r.get('bound'))} env steps/s" + (f"; one learner feeds {r['feeds']:.1f} actors"
                                                              if "feeds" in r else ""))
    L.append("")
    L.append("ingest ceiling and references:")
    seen = set()
    for cfg in a.configs:
        for algo in a.algos:
            label = f"{cfg_name(cfg)} {algo}"
            if label in seen:
                continue
            seen.add(label)
            c = refs.get(("ceiling", label))
            cs = refs.get(("ceiling_steps", label))
            ia = refs.get(("inproc", label, "ingest_a_env_steps_per_s"))
            ib = refs.get(("inproc", label, "ingest_b_env_steps_per_s"))
            w = refs.get(("inproc", label, "wire_env_steps_per_s"))
            L.append(f"  {label:26s} real learner {fmt(c, '.1f')} seg/s = {fmt(cs)} env st/s; in process "
                     f"(a) {fmt(ia)} (b) {fmt(ib)} env st/s; wire alone {fmt(w)} env st/s")
    for k, v in sorted((k, v) for k, v in refs.items() if isinstance(k, tuple) and k[0] == "env"):
        L.append(f"  env only {k[1]:22s} {v:10.0f} env steps/s (one core)")
    if refs.get("wire_5x5_sps"):
        L.append(f"  wire (bench_wire, FC 5x5 segments, 2 senders) {refs['wire_5x5_sps']:.0f} segments/s")
    for k, v in sorted((k, v) for k, v in refs.items() if isinstance(k, tuple) and k[0] == "allreduce_us"):
        L.append(f"  MPI_Allreduce of the {k[1]} student gradient on {k[2]} ranks: {v:.0f} us")
    text = "\n".join(L)
    print()
    print(text)
    with open(os.path.join(a.out, "table.txt"), "w") as f:
        f.write(text + "\n")


def default_out(root, marker):
    """results/perf/<date>/, or <date>-2, -3, ... if that one already holds marker."""
    base = os.path.join(root, "results", "perf", datetime.date.today().isoformat())
    out, k = base, 2
    while os.path.exists(os.path.join(out, marker)):
        out, k = f"{base}-{k}", k + 1
    return out


def fmt(v, spec=".0f"):
    return "-" if v is None else format(v, spec)


# ---- command line ----------------------------------------------------------------

class Parser(argparse.ArgumentParser):
    def error(self, message):
        print(f"{self.prog}: {message} (see --help)", file=sys.stderr)
        sys.exit(2)


def csv_of(kind, allowed=None):
    def conv(s):
        items = [x.strip() for x in s.split(",") if x.strip()]
        if not items:
            raise argparse.ArgumentTypeError(f"empty {kind} list")
        if allowed:
            for x in items:
                if x not in allowed:
                    raise argparse.ArgumentTypeError(f"unknown {kind} '{x}' (one of {', '.join(allowed)})")
        return items
    return conv


def actors_list(s):
    try:
        xs = [int(x) for x in s.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"actor counts must be whole numbers, got '{s}'")
    if not xs or any(x < 1 or x > 16 for x in xs):
        raise argparse.ArgumentTypeError(f"actor counts must be in 1..16, got '{s}'")
    return xs


def num(lo, hi, integer=False):
    def conv(s):
        try:
            v = int(s) if integer else float(s)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{s}' is not a {'whole ' if integer else ''}number")
        if not (lo <= v <= hi):
            raise argparse.ArgumentTypeError(f"{v} is not in [{lo}, {hi}]")
        return v
    return conv


def main(argv):
    root = os.path.abspath(os.environ.get("HINT_SOURCE_ROOT") or
                           os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    ap = Parser(prog="perf_report", description=__doc__.split("\n\n")[0],
                formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--algos", type=csv_of("algo", ALGOS), default=["hint", "mappo"])
    ap.add_argument("--configs", type=csv_of("config"), default=DEFAULT_CONFIGS)
    ap.add_argument("--actors", type=actors_list, default=[1, 2, 3], help="actor counts (default 1,2,3)")
    ap.add_argument("--seconds", type=num(5, 3600), default=25.0, help="seconds per end-to-end job (default 25)")
    ap.add_argument("--warmup", type=num(0, 1000, True), default=5, help="metrics records skipped (default 5)")
    ap.add_argument("--ref-seconds", type=num(0.1, 60), default=1.0, help="seconds per reference figure (default 1)")
    ap.add_argument("--ingest-seconds", type=num(5, 3600), default=15.0,
                    help="seconds of the real-learner ingest ceiling run per config and algo (default 15)")
    ap.add_argument("--ingest-senders", type=num(1, 16, True), default=2, help="synthetic senders (default 2)")
    ap.add_argument("--parts", type=csv_of("part", ("refs", "ingest", "e2e")), default=["refs", "ingest", "e2e"])
    ap.add_argument("--quick", action="store_true",
                    help="FireCommander 5x5 only, 2 actors, 12 s jobs, 10 s ingest runs, warm-up 3 (about 3 minutes)")
    ap.add_argument("--out", help="results directory (default results/perf/<date>)")
    ap.add_argument("--build", help="build directory (default $BUILD_DIR or build)")
    a = ap.parse_args(argv)
    a.root = root
    a.failed = False
    if a.quick:
        a.configs, a.actors, a.seconds, a.ingest_seconds, a.warmup = [DEFAULT_CONFIGS[0]], [2], 12.0, 10.0, 3
    a.build = os.path.abspath(a.build or os.environ.get("BUILD_DIR") or os.path.join(root, "build"))
    if not os.path.isdir(a.build):
        ap.error(f"build directory {a.build} does not exist")
    cfgs = []
    for c in a.configs:
        p = c if os.path.isabs(c) or os.path.exists(c) else os.path.join(root, c)
        if not os.path.isfile(p):
            ap.error(f"config file '{c}' not found")
        cfgs.append(os.path.abspath(p))
    a.configs = cfgs
    for what, secs in (("--seconds", a.seconds), ("--ingest-seconds", a.ingest_seconds)):
        if a.warmup + 5 > secs:
            ap.error(f"--warmup {a.warmup} leaves fewer than 4 one-second records in a {secs:g} s job ({what})")
    if not a.out:
        a.out = default_out(root, "figures.jsonl")
    os.makedirs(a.out, exist_ok=True)
    a.out = os.path.abspath(a.out)
    if " " in a.build:
        ap.error("the build directory's path contains a space (HINT_RANK_WRAPPER cannot carry it)")

    signal.signal(signal.SIGINT, RUNNER.on_signal)
    signal.signal(signal.SIGTERM, RUNNER.on_signal)
    rep = Report(a.out)
    meta = {"command": [sys.argv[0]] + argv, "start": datetime.datetime.now().isoformat(timespec="seconds"),
            "loadavg_start": open("/proc/loadavg").read().split()[:3], "nproc": os.cpu_count(),
            "build": a.build}
    try:
        meta["git_head"] = subprocess.run(["git", "-C", root, "rev-parse", "HEAD"], capture_output=True,
                                          text=True).stdout.strip()
    except OSError:
        pass
    work = tempfile.mkdtemp(prefix="hint_perf_")
    refs, shapes, rows = {}, {}, []
    code = 0
    t0 = time.time()
    try:
        part_shapes(a, rep, shapes)
        if "refs" in a.parts:
            part_refs(a, rep, refs, shapes)
        if "ingest" in a.parts:
            part_ingest(a, rep, refs, work)
        if "e2e" in a.parts:
            part_e2e(a, rep, refs, shapes, work, rows)
            scaling(a, rep, refs, rows)
        code = 1 if a.failed else 0
    except Interrupted:
        print("perf_report: interrupted; the figures so far are in " + a.out, file=sys.stderr)
        code = 130
    except Fail as e:
        print(f"perf_report: {e}", file=sys.stderr)
        code = 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
        meta.update(end=datetime.datetime.now().isoformat(timespec="seconds"), seconds=round(time.time() - t0),
                    loadavg_end=open("/proc/loadavg").read().split()[:3], exit=code)
        with open(os.path.join(a.out, "meta.json"), "w") as f:
            json.dump(meta, f, indent=1)
    if code != 130:
        table(a, rep, refs, rows)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
