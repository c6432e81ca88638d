"""time_to_result.py: wall-clock time for `hint` to reach 90% greedy success on
FireCommander 5x5 2P1A (issue 9), per seed and the median over seeds.

Each seed is one job through deploy/hint-launch with exactly these settings
(printed with the results and written to the results folder):
  configs/fire_commander_5x5.yaml        2 perception + 1 action agent, hint
  --actors 2 --set run.sync=false        async: the fast mode
  the README quickstart's schedules (deploy/quickstart.sh at its 1M budget):
  --set student.kd_anneal_env_steps=600000 --set interaction.anneal_env_steps=600000
  --set eval.interval_env_steps=N        (--eval-every, default 100000)
  --set eval.episodes=E                  (--episodes, default 100, greedy and sampled,
                                          from the fixed evaluation set)
  --set run.total_env_steps=CAP          (--cap-steps, default 3000000: the give-up point)
  --set run.max_wall_s=W                 (--max-wall, default 1800 s per seed)
  --set run.seed=S --set run.resume=never --set ckpt.interval_s=0
  --set metrics.status_line=false
The job is stopped (cleanly: SIGINT to hint-launch) as soon as eval.jsonl holds
an evaluation with greedy_success >= --threshold (default 0.9). Time to result
is measured two ways from that evaluation's record:
  wall_s   its `time` (when the learner logged it) minus the launch time: what a
           user waits, MPI start-up included
  train_s  its `time` minus the learner's start of serving (first metrics
           record's time - elapsed_s): training time alone
and env_steps is the evaluation's env-step count. A seed that never reaches
the threshold reports null with its best greedy success.

Output: one JSON object per seed and one for the median (name, config, value,
unit, seed, ...), then a table; also in --out (default results/perf/<date>/):
time_to_result.jsonl, time_to_result.txt, and each seed's eval.jsonl.
Ctrl-C stops the current job cleanly and exits 130.
"""
import datetime
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from perf_report import RUNNER, Interrupted, Parser, default_out, load1, num  # noqa: E402

CONFIG = "configs/fire_commander_5x5.yaml"


def seeds_list(s):
    import argparse
    try:
        xs = [int(x) for x in s.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"seeds must be whole numbers, got '{s}'")
    if not xs or any(x < 0 for x in xs) or len(set(xs)) != len(xs):
        raise argparse.ArgumentTypeError(f"seeds must be distinct numbers >= 0, got '{s}'")
    return xs


def settings(a, seed, run_dir, name):
    return ["--actors", "2", "--set", "algo.name=hint", "--set", "run.sync=false",
            "--set", "student.kd_anneal_env_steps=600000", "--set", "interaction.anneal_env_steps=600000",
            "--set", f"eval.interval_env_steps={a.eval_every}", "--set", f"eval.episodes={a.episodes}",
            "--set", f"run.total_env_steps={a.cap_steps}", "--set", f"run.max_wall_s={a.max_wall}",
            "--set", f"run.seed={seed}", "--set", "run.resume=never", "--set", "ckpt.interval_s=0",
            "--set", "metrics.status_line=false", "--set", f"run.dir={run_dir}", "--set", f"run.name={name}"]


def read_jsonl(path):
    out = []
    if os.path.exists(path):
        for line in open(path):
            line = line.strip()
            if line.endswith("}"):
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    pass
    return out


def run_seed(a, seed, work):
    name = f"ttr-seed{seed}"
    cmd = [os.path.join(a.root, "deploy", "hint-launch"), os.path.join(a.root, CONFIG)] + settings(a, seed, work, name)
    env = dict(os.environ, BUILD_DIR=a.build)
    env.pop("HINT_RANK_WRAPPER", None)
    log = open(os.path.join(work, name + ".log"), "w")
    evals_path = os.path.join(work, name, "eval.jsonl")
    load_start = load1()
    t_launch = time.time()
    RUNNER.child = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    hit = None
    loads = [load_start]
    try:
        while RUNNER.child.poll() is None:
            time.sleep(2)
            loads.append(load1())
            if hit is None:
                for e in read_jsonl(evals_path):
                    if e.get("greedy_success", 0) >= a.threshold:
                        hit = e
                        print(f"time_to_result: seed {seed}: greedy {e['greedy_success']:.3f} at "
                              f"{e['env_steps'] / 1e6:.2f}M env steps; stopping the job", file=sys.stderr)
                        os.kill(RUNNER.child.pid, signal.SIGINT)
                        break
            if RUNNER.signals:
                break
        RUNNER.child.wait()
    finally:
        rc = RUNNER.child.returncode
        RUNNER.child = None
        log.close()
    if RUNNER.signals:
        raise Interrupted()
    evals = read_jsonl(evals_path)
    metrics = read_jsonl(os.path.join(work, name, "metrics.jsonl"))
    if rc != 0 and hit is None:
        tail = open(os.path.join(work, name + ".log")).read().splitlines()[-15:]
        raise RuntimeError(f"seed {seed}: the job exited {rc}:\n  " + "\n  ".join(tail))
    if hit is None:  # the last evaluation may have reached it right at the end
        hit = next((e for e in evals if e.get("greedy_success", 0) >= a.threshold), None)
    serve_start = metrics[0]["time"] - metrics[0]["elapsed_s"] if metrics else None
    d = os.path.join(a.out, f"time_to_result-seed{seed}")
    os.makedirs(d, exist_ok=True)
    for f in ("eval.jsonl", "metrics.jsonl"):
        p = os.path.join(work, name, f)
        if os.path.exists(p):
            shutil.copy(p, os.path.join(d, f))
    res = {"seed": seed, "evals": len(evals), "load1_mean": round(statistics.mean(loads), 2),
           "best_greedy": max((e.get("greedy_success", 0) for e in evals), default=None)}
    if hit:
        res.update(wall_s=round(hit["time"] - t_launch, 1),
                   train_s=round(hit["time"] - serve_start, 1) if serve_start else None,
                   env_steps=hit["env_steps"], greedy_success=hit["greedy_success"],
                   sampled_success=hit.get("sampled_success"))
    else:
        last = metrics[-1] if metrics else {}
        res.update(wall_s=None, train_s=None, env_steps=None, reached_env_steps=last.get("env_steps"),
                   ran_s=round(time.time() - t_launch, 1))
    return res


def main(argv):
    root = os.path.abspath(os.environ.get("HINT_SOURCE_ROOT") or
                           os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    ap = Parser(prog="time_to_result", description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=seeds_list, default=[1, 2, 3], help="seeds (default 1,2,3)")
    ap.add_argument("--threshold", type=num(0.01, 1.0), default=0.9, help="greedy success to reach (default 0.9)")
    ap.add_argument("--eval-every", type=num(10000, 10**9, True), default=100000,
                    help="env steps between evaluations (default 100000)")
    ap.add_argument("--episodes", type=num(1, 200, True), default=100, help="evaluation episodes (default 100)")
    ap.add_argument("--cap-steps", type=num(100000, 10**10, True), default=3000000,
                    help="give up after this many env steps (default 3000000)")
    ap.add_argument("--max-wall", type=num(30, 86400), default=1800.0, help="give up after this many seconds")
    ap.add_argument("--out", help="results directory (default results/perf/<date>)")
    ap.add_argument("--build", help="build directory (default $BUILD_DIR or build)")
    a = ap.parse_args(argv)
    a.root = root
    a.build = os.path.abspath(a.build or os.environ.get("BUILD_DIR") or os.path.join(root, "build"))
    for exe in ("learner/hint-learner", "actor/hint-actor", "common/hint-config"):
        if not os.access(os.path.join(a.build, exe), os.X_OK):
            ap.error(f"{os.path.join(a.build, exe)} is missing: build first (ninja -C {a.build})")
    a.out = os.path.abspath(a.out or default_out(root, "time_to_result.jsonl"))
    os.makedirs(a.out, exist_ok=True)
    signal.signal(signal.SIGINT, RUNNER.on_signal)
    signal.signal(signal.SIGTERM, RUNNER.on_signal)
    conf = (f"hint {os.path.basename(CONFIG)} 2P1A, 2 actors async, quickstart schedules (600k), "
            f"eval every {a.eval_every} env steps x {a.episodes} episodes, greedy >= {a.threshold}")
    cmdline = "deploy/hint-launch " + CONFIG + " " + " ".join(settings(a, "SEED", "DIR", "NAME"))
    print(f"time_to_result: {cmdline}", file=sys.stderr)
    jf = open(os.path.join(a.out, "time_to_result.jsonl"), "w")

    def emit(rec):
        line = json.dumps(rec)
        print(line, flush=True)
        jf.write(line + "\n")
        jf.flush()

    work = tempfile.mkdtemp(prefix="hint_ttr_")
    results, code = [], 0
    try:
        for seed in a.seeds:
            r = run_seed(a, seed, work)
            results.append(r)
            emit(dict({"name": "time_to_result_s", "config": conf, "value": r["wall_s"], "unit": "s (wall, from launch)",
                       "command": cmdline.replace("SEED", str(seed))}, **r))
    except Interrupted:
        print("time_to_result: interrupted", file=sys.stderr)
        code = 130
    except RuntimeError as e:
        print(f"time_to_result: {e}", file=sys.stderr)
        code = 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    done = [r for r in results if r["wall_s"] is not None]
    if results and code == 0:
        med = statistics.median([r["wall_s"] for r in results]) if len(done) == len(results) else None
        medt = statistics.median([r["train_s"] for r in done]) if done and len(done) == len(results) else None
        emit({"name": "time_to_result_median_s", "config": conf, "value": med, "unit": "s (wall, from launch)",
              "train_s": medt, "seeds": [r["seed"] for r in results], "reached": len(done),
              "load1": round(load1(), 2)})
        lines = [f"time to {a.threshold:.0%} greedy success, {conf}", "",
                 f"{'seed':>5s} {'wall s':>8s} {'train s':>8s} {'env steps':>10s} {'greedy':>7s} {'load':>5s}"]
        for r in results:
            w = f"{r['wall_s']:8.0f}" if r["wall_s"] is not None else f"{'-':>8s}"
            t = f"{r['train_s']:8.0f}" if r.get("train_s") is not None else f"{'-':>8s}"
            s = f"{r['env_steps']:10d}" if r.get("env_steps") is not None else f"{'not reached':>10s}"
            g = r.get("greedy_success", r.get("best_greedy")) or 0
            lines.append(f"{r['seed']:5d} {w} {t} {s} {g:7.3f} {r['load1_mean']:5.2f}")
        lines.append(f"{'median':>5s} " + (f"{med:8.0f} {medt:8.0f}" if med is not None else "   (not every seed reached it)"))
        text = "\n".join(lines)
        print("\n" + text)
        with open(os.path.join(a.out, "time_to_result.txt"), "w") as f:
            f.write(text + "\n" + cmdline + "\n")
        if len(done) < len(results):
            code = 1
    jf.close()
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
