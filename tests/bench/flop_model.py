"""flop_model.py: matrix FLOPs per env step of each stage of a HINT job.

A model, not a measurement: it counts the multiply-adds of the dense layers
(2 FLOPs each) of every network pass the code makes per env step, from the
network shapes of the config as `ingest_ceiling --what shapes` reports them.
Biases, activations, softmaxes, losses, Adam and the teacher's input features
are not counted (they are O(width), not O(width^2)); they show up as the gap
between achieved FLOP/s and the sgemm peak.

Networks (actor/student.c, teacher/teacher.c, teacher/hier.c), H = hidden,
L = layers, per agent class c:
  student encoder   O -> H -> C                      (only with student.comm)
  student policy    O + C -> H x L -> NA
  student critic    S -> H x L -> 1                  (central; ippo: O -> ... -> 1 per class)
  flat teacher      pi: P_in -> H x L -> NA,  V_T: S -> H x L -> 1,  P_in = S + F + A
  hierarchical      worker pi_L: P_L -> ... -> NA,  V_L: P_L -> ... -> 1,
                    V_H: S -> ... -> 1,  manager: (P_in + TD) -> ... -> 1 scored per
                    candidate (goal_set targets, K = n_targets slots, all scored)
                    or P_in -> ... -> G (cells);  P_L = P_in + G + 3
Passes per env step (one env step = one (t, e) pair with A agent rows):
  inference_student  encoder + policy on A rows, critic on 1 row (+1/T bootstrap)
  inference_teacher  per TEACHER-driven step: manager on A rows (x K candidates),
                     worker on A rows (teacher_act); flat: pi on A rows
  student_update     per STUDENT-driven step, student.epochs x forward + backward
                     of encoder, policy (input gradient too: it feeds the
                     teammates' messages) and critic
  teacher_targets    per env step of a guided segment (every state of the segment
                     is evaluated): manager (A x K rows), worker (A rows), V_H (1)
  teacher_update     per env step of a segment that trains the teacher: batch
                     formation (V_H on every state; worker + V_L on the sample
                     rows, V_L again on the next state, manager at decision rows)
                     then teacher.epochs x forward + backward of worker, V_L, V_H
                     and the manager at decision rows, on own (teacher-driven)
                     rows plus, with student_data_coef > 0, student_data_frac of
                     the student-driven rows. Decision rows: 1 / manager_period of
                     the agent rows (goal arrivals add a few more: not counted).
The teacher-driven share f_T is n_teacher_envs / E from the shapes (the
schedule's value at env step 0 unless ingest_ceiling was told otherwise).

check_params() rebuilds both parameter counts from these shapes: the model's
networks are the code's exactly when they match the arenas' sizes.

Usage as a program: python3 flop_model.py SHAPES.json  (one `--what shapes`
line per line) prints the model for each and exits 1 if a parameter count
does not match.
"""
import json
import math
import sys


def mlp(n_in, hidden, layers, n_out):
    """[(in, out)] of an MLP with `layers` hidden layers of width `hidden`."""
    dims = [n_in] + [hidden] * layers + [n_out]
    return list(zip(dims[:-1], dims[1:]))


def n_params(net):
    return sum(i * o + o for i, o in net)


def fwd(net):
    """Forward FLOPs per row."""
    return sum(2 * i * o for i, o in net)


def fwd_bwd(net, input_grad=False):
    """Forward + backward FLOPs per row: forward, weight gradient of every
    layer, input gradient of every layer but the first (unless the caller
    needs d/dinput)."""
    f = fwd(net)
    ig = sum(2 * i * o for k, (i, o) in enumerate(net) if k > 0 or input_grad)
    return f + f + ig


def goal_cells(sh):
    """hier.c: goal_cell 0 = 1 up to 10x10 maps, 2 above; G = ceil(size/gcell)^2."""
    gcell = sh["goal_cell"] if sh["goal_cell"] > 0 else (1 if sh["size"] <= 10 else 2)
    return math.ceil(sh["size"] / gcell) ** 2


def networks(sh):
    """Every network of the job, by name, as [(in, out)] layer lists."""
    O, S, A, NA, C = sh["obs_dim"], sh["state_dim"], sh["n_agents"], sh["n_actions"], sh["comm_dim"]
    H, L = sh["student_hidden"], sh["student_layers"]
    nets = {
        "student_encoder": mlp(O, H, 1, C if C > 0 else 1),
        "student_policy": mlp(O + C, H, L, NA),
        "student_critic": mlp(O if sh["ippo"] else S, H, L, 1),
    }
    TH, TL = sh["teacher_hidden"], sh["teacher_layers"]
    P_in = S + sh["feat_dim"] + A
    if sh["hierarchical"]:
        G = goal_cells(sh)
        P_L = P_in + G + 3
        targets = sh["goal_set"] == "targets"
        nets.update({
            "teacher_worker": mlp(P_L, TH, TL, NA),
            "teacher_vh": mlp(S, TH, TL, 1),
            "teacher_manager": mlp(P_in + (sh["target_dim"] if targets else 0), TH, TL, 1 if targets else G),
            "teacher_vl": mlp(P_L, TH, TL, 1),
        })
    else:
        nets.update({"teacher_pi": mlp(P_in, TH, TL, NA), "teacher_vf": mlp(S, TH, TL, 1)})
    return nets


def check_params(sh):
    """(model student params, arena's, model teacher params, arena's)."""
    nets = networks(sh)
    K = sh["n_classes"]
    per_class = n_params(nets["student_policy"]) + (n_params(nets["student_encoder"]) if sh["comm_dim"] > 0 else 0)
    student = K * per_class + (K * n_params(nets["student_critic"]) if sh["ippo"] else n_params(nets["student_critic"])) + 3
    if sh["hierarchical"]:
        teacher = sum(n_params(nets[k]) for k in ("teacher_worker", "teacher_vh", "teacher_manager", "teacher_vl")) + 8
    else:
        teacher = n_params(nets["teacher_pi"]) + n_params(nets["teacher_vf"]) + 4
    uses_teacher = sh["algo"] in ("hint", "kd")
    return student, sh["student_params"], teacher if uses_teacher else 0, sh["teacher_params"]


def flops_per_env_step(sh):
    """FLOPs per env step of each stage (see the module text), and the
    per-unit figures the kernels of ingest_ceiling time:
      student_act_per_step, teacher_act_per_step (per teacher-driven step),
      targets_per_state, student_update_per_pair_epoch,
      teacher_update_per_round_step (per env step of the segments of one update)."""
    nets = networks(sh)
    A, T, E, C = sh["n_agents"], sh["T"], sh["E"], sh["comm_dim"]
    uses_teacher = sh["algo"] in ("hint", "kd")
    fT = sh["n_teacher_envs"] / E if uses_teacher else 0.0
    enc = fwd(nets["student_encoder"]) if C > 0 else 0
    crit_rows = A if sh["ippo"] else 1
    student_act = A * (enc + fwd(nets["student_policy"])) + crit_rows * fwd(nets["student_critic"]) * (1 + 1 / T)
    pair_epoch = (A * ((fwd_bwd(nets["student_encoder"]) if C > 0 else 0)
                       + fwd_bwd(nets["student_policy"], input_grad=C > 0))
                  + crit_rows * fwd_bwd(nets["student_critic"]))
    out = {"f_teacher": fT, "student_act_per_step": student_act, "student_update_per_pair_epoch": pair_epoch}
    out["inference_student"] = student_act
    out["student_update"] = (1 - fT) * sh["student_epochs"] * pair_epoch
    if not uses_teacher:
        out.update(teacher_act_per_step=0, inference_teacher=0, targets_per_state=0, teacher_targets=0,
                   teacher_update_per_round_step=0, teacher_update=0)
        return out
    if sh["hierarchical"]:
        Kc = sh["n_targets"] if sh["goal_set"] == "targets" else 1
        mgr, wrk, vh, vl = (nets[k] for k in ("teacher_manager", "teacher_worker", "teacher_vh", "teacher_vl"))
        teacher_act = A * Kc * fwd(mgr) + A * fwd(wrk)
        targets = A * Kc * fwd(mgr) + A * fwd(wrk) + fwd(vh)
        dec = 1.0 / sh["manager_period"]
        rows = fT + ((1 - fT) * sh["student_data_frac"] if sh["student_data_coef"] > 0 else 0.0)
        form = (fwd(vh) * (1 + 1 / T)                          # V_H on every state of the segments
                + rows * A * (fwd(wrk) + 2 * fwd(vl) + dec * Kc * fwd(mgr)))
        epoch = rows * (A * (fwd_bwd(wrk) + fwd_bwd(vl) + dec * Kc * fwd_bwd(mgr)) + fwd_bwd(vh))
        update = form + sh["teacher_epochs"] * epoch
    else:
        pi, vf = nets["teacher_pi"], nets["teacher_vf"]
        teacher_act = A * fwd(pi)
        targets = A * fwd(pi) + fwd(vf)
        update = fwd(vf) * (1 + 1 / T) + sh["teacher_epochs"] * fT * (A * fwd_bwd(pi) + fwd_bwd(vf))
    out.update(teacher_act_per_step=teacher_act, inference_teacher=fT * teacher_act, targets_per_state=targets,
               teacher_targets=targets if sh.get("kd_coef_start", 1) > 0 else 0.0,
               teacher_update_per_round_step=update, teacher_update=update)
    return out


def main(argv):
    if len(argv) != 2:
        print("usage: flop_model.py SHAPES.jsonl", file=sys.stderr)
        return 2
    bad = 0
    for line in open(argv[1]):
        sh = json.loads(line)
        s_m, s_a, t_m, t_a = check_params(sh)
        ok = s_m == s_a and (t_m == t_a)
        bad |= not ok
        f = flops_per_env_step(sh)
        print(f"{sh['config']}: params student {s_m} (arena {s_a}), teacher {t_m} (arena {t_a}) "
              f"{'match' if ok else 'MISMATCH'}")
        for k in ("inference_student", "inference_teacher", "student_update", "teacher_targets", "teacher_update"):
            print(f"  {k:18s} {f[k] / 1e6:9.3f} MFLOP per env step")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
