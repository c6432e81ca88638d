#!/usr/bin/env bash
# monitor.sh CASE: hint-top, the learner's Prometheus endpoint and hint-plot.
#   live   a short real job (FireCommander 5x5, mappo) with the endpoint on a
#          free port: two scrapes parse and hint_env_steps_total grows, other
#          paths are 404; hint-top live under tmux shows throughput and
#          success and quits on q; --once is plain text; after the run,
#          hint-top says finished, --csv exports every record, and hint-plot
#          writes three non-empty PNGs
#   warn   hint-top's warnings on a synthetic run directory: the learner is the
#          bottleneck, an actor lags, stale metrics, malformed lines counted
#   bad    bad inputs: missing run directory, no metrics.jsonl, bad options,
#          an unknown --csv key; the learner with its Prometheus port in use
#          fails naming address and port (exit 4); hint-plot with a
#          missing run, an unwritable output directory, no gnuplot
# Needs HINT_SOURCE_ROOT and BUILD_DIR (set by meson).
set -u
root=${HINT_SOURCE_ROOT:?}
BUILD_DIR=${BUILD_DIR:?}
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR="$root/$BUILD_DIR" ;; esac
export BUILD_DIR
launch="$root/deploy/hint-launch"
plot="$root/deploy/hint-plot"
top="$BUILD_DIR/learner/hint-top"
cfg="$root/configs/fire_commander_5x5.yaml"
work=$(mktemp -d /tmp/hint_monitor_XXXXXX)
tmux_sock="hint-monitor-$$"
job=""
holder=""
cleanup() {
  [ -n "$job" ] && kill "$job" 2>/dev/null && wait "$job" 2>/dev/null
  [ -n "$holder" ] && kill "$holder" 2>/dev/null
  tmux -L "$tmux_sock" kill-server 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
fails=0
passes=0
check() { # check DESCRIPTION COMMAND...
  local what=$1
  shift
  if "$@"; then passes=$((passes + 1)); else fails=$((fails + 1)); echo "FAIL: $what"; fi
}
has() { grep -q -- "$2" "$1"; }           # has FILE PATTERN
no_escape() { ! grep -q $'\033' "$1"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
sample() { # sample FILE NAME: the value of the first sample of metric NAME
  awk -v n="$2" '$1 ~ "^"n"[{]" {print $2; exit}' "$1"
}
valid_exposition() { # every line is HELP, TYPE or a sample with the run and algo labels
  awk '/^# HELP hint_[a-z_]+ .+$/ {next}
       /^# TYPE hint_[a-z_]+ (counter|gauge)$/ {typed[$3]=1; next}
       { name=$1; sub(/[{].*/, "", name)
         if (!typed[name]) {print "untyped: " $0; bad=1; next}
         if ($0 !~ /^hint_[a-z_]+[{]run="live",algo="mappo"(,[a-z]+="[^"]*")?[}] (NaN|[-+]?[0-9.e+-]+)$/) {
           print "bad sample: " $0; bad=1 } }
       END {exit bad}' "$1"
}
is_png() { [ -s "$1" ] && [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; }

case "$1" in
  live)
    port=$(free_port)
    run_dir="$work/runs/live"
    "$launch" "$cfg" --set algo.name=mappo --set run.dir="$work/runs" --set run.name=live \
      --set run.total_env_steps=150000 --set metrics.interval_s=0.5 --set metrics.prometheus_port="$port" \
      --set eval.episodes=10 --set env.eval_episodes=10 --set eval.interval_env_steps=40000 \
      --set transport.actor_timeout_s=30 >job.log 2>&1 &
    job=$!
    url="http://127.0.0.1:$port/metrics"
    for _ in $(seq 1 120); do # the first record comes once the actors are connected
      curl -sf "$url" >s1.txt 2>/dev/null && has s1.txt '^hint_env_steps_total' && break
      kill -0 "$job" 2>/dev/null || break
      sleep 0.5
    done
    check "endpoint serves env steps while the job runs" has s1.txt '^hint_env_steps_total{'
    check "HELP and TYPE lines" has s1.txt '^# HELP hint_env_steps_total '
    check "counter type" has s1.txt '^# TYPE hint_env_steps_total counter$'
    check "run and algo labels" has s1.txt '^hint_env_steps_per_second{run="live",algo="mappo"} '
    check "time split with a part label" has s1.txt '^hint_learner_time_ratio{run="live",algo="mappo",part="idle"} '
    check "per-actor rate with an actor label" has s1.txt '^hint_actor_env_steps_per_second{.*actor="2"} '
    check "exposition parses" valid_exposition s1.txt
    sleep 1.5
    curl -sf -o s2.txt -w '%{time_total}\n' "$url" >latency.txt
    v1=$(sample s1.txt hint_env_steps_total)
    v2=$(sample s2.txt hint_env_steps_total)
    check "hint_env_steps_total increases between scrapes ($v1 -> $v2)" [ "${v2:-0}" -gt "${v1:-0}" ]
    echo "scrape latency: $(cat latency.txt) s"
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/other")
    check "404 on another path (got $code)" [ "$code" = 404 ]

    # hint-top live in a 120x40 terminal; q quits it.
    tmux -L "$tmux_sock" new-session -d -s top -x 120 -y 40 "$top $run_dir --interval 0.5"
    sleep 2
    tmux -L "$tmux_sock" capture-pane -p -t top >pane.txt
    check "tmux screen: header" has pane.txt "hint-top  live: mappo on fire_commander 5x5"
    check "tmux screen: throughput line" has pane.txt '^throughput  .* env steps/s'
    check "tmux screen: success line" has pane.txt '^success     training'
    check "tmux screen: time split bars" has pane.txt 'idle      \[#'
    tmux -L "$tmux_sock" send-keys -t top q
    sleep 1
    check "q quits hint-top" bash -c "! tmux -L '$tmux_sock' has-session -t top 2>/dev/null"

    "$top" --once "$run_dir" >once.txt
    check "--once exits 0" [ $? -eq 0 ]
    check "--once: progress" has once.txt '^progress    \[.*env steps'
    check "--once: throughput" has once.txt '^throughput  '
    check "--once: no escape codes" no_escape once.txt

    wait "$job"
    rc=$?
    job=""
    check "job exits 0 (got $rc)" [ "$rc" -eq 0 ]
    check "result.json written" [ -s "$run_dir/result.json" ]
    "$top" --once "$run_dir" >once2.txt
    check "--once after the run: finished" has once2.txt '^  finished: .* env steps in'
    "$top" --csv env_steps,env_steps_per_s "$run_dir" >m.csv
    check "--csv: header" [ "$(head -n 1 m.csv)" = env_steps,env_steps_per_s ]
    check "--csv: one row per record" [ "$(($(wc -l <m.csv) - 1))" -eq "$(wc -l <"$run_dir/metrics.jsonl")" ]
    BUILD_DIR=$BUILD_DIR "$plot" "$run_dir" -o "$work/plots" >plot.txt 2>&1
    check "hint-plot exits 0" [ $? -eq 0 ]
    for f in learning throughput timesplit; do
      check "hint-plot: $f.png is a PNG" is_png "$work/plots/$f.png"
    done
    # two runs overlay (the same run twice is enough to exercise it)
    BUILD_DIR=$BUILD_DIR "$plot" "$run_dir" "$run_dir/" -o "$work/plots2" >>plot.txt 2>&1
    check "hint-plot with two runs" is_png "$work/plots2/throughput.png"
    [ $fails -eq 0 ] || { echo "--- job log"; tail -n 20 job.log; echo "--- plot"; cat plot.txt; }
    ;;
  warn)
    d="$work/runs/w"
    mkdir -p "$d"
    "$BUILD_DIR/common/hint-config" --print-config --set run.name=w --set actor.count=3 "$cfg" >"$d/config.yaml"
    for i in 1 2 3 4 5 6; do
      printf '{"elapsed_s":%d,"env_steps":%d,"env_steps_per_s":20000,"frac_idle":0.02,"actor_wait_frac":0.6,' "$i" $((i * 20000))
      printf '"success":0.5,"episodes":10,"actor1_env_steps_per_s":1000,"actor2_env_steps_per_s":9000,'
      printf '"actor3_env_steps_per_s":10000}\n'
    done >"$d/metrics.jsonl"
    printf 'garbage\n{"cut":\n' >>"$d/metrics.jsonl"
    "$top" --once "$d" >w.txt
    check "warn: exits 0" [ $? -eq 0 ]
    check "warn: header from config.yaml" has w.txt 'hint-top  w: hint on fire_commander 5x5, 3 actors'
    check "warn: learner is the bottleneck" has w.txt '! learner is the bottleneck: actors wait 60%'
    check "warn: actor 1 lags" has w.txt '! actor 1 lags'
    check "warn: actor 2 does not lag" bash -c "! grep -q 'actor 2 lags' w.txt"
    check "warn: malformed lines counted" has w.txt '! 2 malformed lines skipped'
    check "warn: not stale while fresh" bash -c "! grep -q 'stale' w.txt"
    touch -d '-2 minutes' "$d/metrics.jsonl"
    "$top" --once "$d" >w2.txt
    check "warn: stale after two minutes" has w2.txt '! stale: no new metrics for 1[0-9][0-9] s'
    printf '{"env_steps":120000,"train_wall_s":6,"sampled_success":0.25,"greedy_success":0.5}\n' >"$d/result.json"
    "$top" --once "$d" >w3.txt
    check "warn: finished instead of stale" has w3.txt 'finished: 120.0k env steps in 6s; final eval sampled 25.0%, greedy 50.0%'
    check "warn: finished is not stale" bash -c "! grep -q 'stale' w3.txt"
    [ $fails -eq 0 ] || { cat w.txt w2.txt w3.txt; }
    ;;
  bad)
    "$top" "$work/nope" >out.txt 2>err.txt
    rc=$?
    check "hint-top: missing dir is exit 5 (got $rc)" [ "$rc" -eq 5 ]
    check "hint-top: missing dir named" has err.txt "run directory $work/nope: No such file or directory"
    mkdir -p empty
    "$top" --once empty >out.txt 2>err.txt
    rc=$?
    check "hint-top --once: no metrics.jsonl is exit 5 (got $rc)" [ "$rc" -eq 5 ]
    check "hint-top --once: no metrics.jsonl named" has err.txt 'empty/metrics.jsonl does not exist'
    "$top" --interval 0 empty >/dev/null 2>err.txt
    check "hint-top: bad --interval is exit 2" [ $? -eq 2 ]
    check "hint-top: bad --interval named" has err.txt "interval '0'"
    "$top" --bogus empty >/dev/null 2>err.txt
    check "hint-top: unknown option is exit 2" [ $? -eq 2 ]
    printf '{"a":1}\n' >x.jsonl
    "$top" --csv a,b x.jsonl >/dev/null 2>err.txt
    check "hint-top --csv: unknown key is exit 1" [ $? -eq 1 ]
    check "hint-top --csv: unknown key named" has err.txt "key 'b' is in no record"

    # The learner with its Prometheus port taken: a clear startup error.
    port=$(free_port)
    python3 -c 'import socket,sys,time; s=socket.socket(); s.bind(("127.0.0.1",int(sys.argv[1]))); s.listen(); time.sleep(120)' "$port" &
    holder=$!
    sleep 0.5
    timeout 120 "$launch" "$cfg" --set algo.name=mappo --set run.dir="$work/runs" --set run.name=busy \
      --set run.total_env_steps=20000 --set metrics.prometheus_port="$port" >busy.log 2>&1
    rc=$?
    check "learner: port in use fails (exit $rc)" [ "$rc" -eq 4 ]
    check "learner: port in use names address and port" has busy.log "metrics.prometheus_port: cannot listen on 127.0.0.1:$port: Address already in use"
    kill "$holder" 2>/dev/null
    holder=""
    # (a bad metrics.prometheus_bind takes the same path; test_prom checks its message)

    # hint-plot
    "$plot" "$work/nope" >/dev/null 2>err.txt
    check "hint-plot: missing run is exit 5" [ $? -eq 5 ]
    check "hint-plot: missing run named" has err.txt "run directory '$work/nope' not found"
    mkdir -p r
    printf '{"elapsed_s":1,"env_steps":10,"env_steps_per_s":10}\n' >r/metrics.jsonl
    "$plot" r -o /proc/hint-plot-out >/dev/null 2>err.txt
    check "hint-plot: unwritable output is exit 5" [ $? -eq 5 ]
    check "hint-plot: unwritable output named" has err.txt "/proc/hint-plot-out"
    "$plot" r r >/dev/null 2>err.txt
    check "hint-plot: two runs need -o" [ $? -eq 2 ]
    mkdir -p bin
    ln -s "$(command -v dirname)" bin/dirname
    PATH="$work/bin" /bin/bash "$plot" r >/dev/null 2>err.txt
    check "hint-plot: no gnuplot is exit 2" [ $? -eq 2 ]
    check "hint-plot: no gnuplot named" has err.txt "gnuplot not found"
    [ $fails -eq 0 ] || { tail -n 5 busy.log; }
    ;;
  *)
    echo "monitor.sh: unknown case '$1'" >&2
    exit 2
    ;;
esac
echo "monitor $1: $passes passed, $fails failed"
[ $fails -eq 0 ]
