#!/usr/bin/python3
"""maddpg_parity.py: one MADDPG update (learner/maddpg.c) against PyTorch.

Runs the C dumper (maddpg_parity_dump), which performs one update from known
weights, batch and Gumbel noise and writes inputs and results, then replays
the same update in PyTorch written from the definitions in learner/maddpg.h:
  critic: target actors' Gumbel-max actions on next_obs (avail-masked), target
          critics, y = r + gamma (1 - done) Q', masked MSE over agent rows
          (trunc_obs_missing rows that are not done left out),
          clip_grad_norm_, Adam;
  actors: z = (logits + g) / tau (unavailable -> -inf), y = softmax(z),
          a = one_hot(argmax z) - y.detach() + y (straight-through), critic
          input with agent i's slot replaced, loss -mean Q + reg mean logits^2,
          clip_grad_norm_, Adam;
  targets: soft update with tau.
Compared: critic loss, mean Q, critic gradients (unclipped) and their norm,
actor loss, actor gradients (unclipped) and their norm, and every parameter
after the update (policies, critics, target policies, target critics).

Tolerance: |ours - torch| <= RTOL * |torch| + ATOL * max|torch| per tensor,
RTOL = 1e-5, ATOL = 1e-6 for losses and gradients; ATOL = 1e-5 for the
parameters after the Adam step (as tests/parity/nn_parity.py: Adam turns a
gradient's rounding into at most lr/eps times it). The hard actions must be
identical; the script reports the smallest Gumbel-max margin so a near-tie
would be visible. It also prints torch float32 against float64 for scale.

Usage: maddpg_parity.py PATH_TO_maddpg_parity_dump
Exit 0 pass, 1 fail, 77 skip (torch not importable).
"""
import os
import struct
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import torch
except ImportError as e:  # Debian python3-torch is optional
    print(f"SKIP: {e}")
    sys.exit(77)

RTOL = 1e-5
ATOL = 1e-6
ATOL_ADAM = 1e-5


def read_records(path):
    out = {}
    with open(path, "rb") as f:
        data = f.read()
    at = 0
    while at < len(data):
        (n,) = struct.unpack_from("<I", data, at)
        at += 4
        name = data[at:at + n].decode()
        at += n
        kind, count = struct.unpack_from("<IQ", data, at)
        at += 12
        dtype = np.float32 if kind == 0 else np.int32
        out[name] = np.frombuffer(data, dtype=dtype, count=count, offset=at).copy()
        at += 4 * count
    return out


def mlp(sizes, act, dtype):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(act())
    return torch.nn.Sequential(*layers).to(dtype)


def to_torch(flat, net):
    """Copies a common/nn flat vector (weights (in, out)) into net."""
    at = 0
    with torch.no_grad():
        for p in net.parameters():
            n = p.numel()
            chunk = torch.from_numpy(flat[at:at + n].copy()).to(p.dtype)
            if p.dim() == 2:
                chunk = chunk.reshape(p.shape[1], p.shape[0]).t()
            p.copy_(chunk.reshape(p.shape))
            at += n
    assert at == flat.size, (at, flat.size)


def to_ours(tensors):
    return torch.cat([(t.t() if t.dim() == 2 else t).reshape(-1) for t in tensors])


def run_torch(d, dtype):
    A, O, S, NA, K, n, hp_, lp, hc, lc = (int(x) for x in d["dims"][:10])
    first = [int(d["dims"][10]), int(d["dims"][12])]
    count = [int(d["dims"][11]), int(d["dims"][13])]
    lr_a, lr_c, eps, gamma, max_norm, tau, gtau, reg = (float(x) for x in d["hp"])
    cls = [c for c in range(K) for _ in range(count[c])]
    kin = [i - first[cls[i]] for i in range(A)]
    ident = [count[c] if count[c] > 1 else 0 for c in range(K)]
    t = lambda k: torch.from_numpy(d[k]).to(dtype)
    nets = {}
    for c in range(K):
        for tag in ("pol", "tpol"):
            nets[f"{tag}{c}"] = mlp([O] + [hp_] * lp + [NA], torch.nn.Tanh, dtype)
        for tag in ("crit", "tcrit"):
            nets[f"{tag}{c}"] = mlp([S + A * NA + ident[c]] + [hc] * lc + [1], torch.nn.ReLU, dtype)
        for tag in ("pol", "tpol", "crit", "tcrit"):
            to_torch(d[f"{tag}{c}_0"], nets[f"{tag}{c}"])
    obs, nobs = t("obs").reshape(n, A, O), t("next_obs").reshape(n, A, O)
    state, nstate = t("state"), t("next_state").reshape(n, S)
    state = state.reshape(n, S)
    act = torch.from_numpy(d["actions"]).long().reshape(n, A)
    rew, done = t("reward"), t("done")
    avail = torch.from_numpy(d["avail"]).bool().reshape(n, A, NA)
    navail = torch.from_numpy(d["next_avail"]).bool().reshape(n, A, NA)
    done_np = d["done"] != 0
    keep = torch.from_numpy(~((d["missing"] != 0) & ~done_np)).to(dtype)
    gnext, gcur = t("gnext").reshape(n, A, NA), t("gcur").reshape(n, A, NA)
    onehot = lambda a: torch.nn.functional.one_hot(a, NA).to(dtype)

    def critic_in(c, i, st, acts_flat):
        parts = [st, acts_flat]
        if ident[c]:
            e = torch.zeros(n, ident[c], dtype=dtype)
            e[:, kin[i]] = 1
            parts.append(e)
        return torch.cat(parts, 1)

    res = {}
    margins = []
    # ---- critic
    with torch.no_grad():
        nact = []
        for i in range(A):
            lg = nets[f"tpol{cls[i]}"](nobs[:, i]) + gnext[:, i]
            lg = torch.where(navail[:, i], lg, torch.tensor(-float("inf"), dtype=dtype))
            top = torch.topk(lg, 2, dim=1).values
            margins.append((top[:, 0] - top[:, 1]).min().item())
            nact.append(lg.argmax(1))
        na_flat = torch.cat([onehot(a) for a in nact], 1)
        y = []
        for i in range(A):
            c = cls[i]
            qn = nets[f"tcrit{c}"](critic_in(c, i, nstate, na_flat)).squeeze(1)
            y.append(rew + gamma * (1 - done) * qn)
    a_flat = torch.cat([onehot(act[:, i]) for i in range(A)], 1)
    kept = keep.sum()
    loss = 0
    qsum = 0
    for i in range(A):
        c = cls[i]
        q = nets[f"crit{c}"](critic_in(c, i, state, a_flat)).squeeze(1)
        loss = loss + (keep * (q - y[i]) ** 2).sum()
        qsum = qsum + (keep * q).sum().detach()
    loss = loss / (kept * A)
    cparams = [p for c in range(K) for p in nets[f"crit{c}"].parameters()]
    loss.backward()
    for c in range(K):
        res[f"critic_grad{c}"] = to_ours([p.grad for p in nets[f"crit{c}"].parameters()])
    gn = torch.nn.utils.clip_grad_norm_(cparams, max_norm)
    torch.optim.Adam(cparams, lr=lr_c, eps=eps).step()
    # ---- actors (critic just updated)
    pparams = [p for c in range(K) for p in nets[f"pol{c}"].parameters()]
    aloss = 0
    sq = 0
    for i in range(A):
        c = cls[i]
        lg = nets[f"pol{c}"](obs[:, i])
        sq = sq + (lg ** 2).sum()
        z = torch.where(avail[:, i], (lg + gcur[:, i]) / gtau, torch.tensor(-float("inf"), dtype=dtype))
        ysoft = torch.softmax(z, 1)
        zd = z.detach()
        top = torch.topk(zd, 2, dim=1).values
        margins.append(((top[:, 0] - top[:, 1]) * gtau).min().item())
        hard = onehot(zd.argmax(1))
        a_i = hard - ysoft.detach() + ysoft
        flat = torch.cat([a_i if k == i else onehot(act[:, k]) for k in range(A)], 1)
        q = nets[f"crit{c}"](critic_in(c, i, state, flat)).squeeze(1)
        aloss = aloss - q.sum()
    aloss = aloss / (n * A) + reg * sq / (n * A * NA)
    for p in cparams:
        p.grad = None
    aloss.backward()
    for c in range(K):
        res[f"actor_grad{c}"] = to_ours([p.grad for p in nets[f"pol{c}"].parameters()])
    gna = torch.nn.utils.clip_grad_norm_(pparams, max_norm)
    torch.optim.Adam(pparams, lr=lr_a, eps=eps).step()
    # ---- targets
    with torch.no_grad():
        for c in range(K):
            for src, dst in (("pol", "tpol"), ("crit", "tcrit")):
                for ps, pt in zip(nets[f"{src}{c}"].parameters(), nets[f"{dst}{c}"].parameters()):
                    pt.mul_(1 - tau).add_(tau * ps)
    res["losses"] = torch.stack([loss.detach(), qsum / (kept * A), gn.detach(), aloss.detach(),
                                 gna.detach()])
    res["stats"] = res["losses"][:4]
    for c in range(K):
        for tag in ("pol", "crit", "tpol", "tcrit"):
            res[f"{tag}{c}_1"] = to_ours([p.detach() for p in nets[f"{tag}{c}"].parameters()])
    out = {k: v.double().numpy() for k, v in res.items()}
    return out, min(margins)


def compare(name, ours, ref, atol_scale):
    ours = ours.astype(np.float64)
    scale = float(np.max(np.abs(ref))) if ref.size else 0.0
    err = np.abs(ours - ref)
    bound = RTOL * np.abs(ref) + atol_scale * scale
    worst = int(np.argmax(err - bound))
    ok = bool(np.all(err <= bound)) and ours.shape == ref.shape
    print(f"{'ok  ' if ok else 'FAIL'} {name:14s} n={ref.size:5d} max|diff|={err.max():.3g} "
          f"max|ref|={scale:.3g}"
          + ("" if ok else f"  (index {worst}: {ours[worst]:.9g} vs {ref[worst]:.9g})"))
    return ok


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "maddpg_parity.bin")
        subprocess.run([sys.argv[1], out], check=True)
        d = read_records(out)
    ref, margin = run_torch(d, torch.float32)
    ref64, _ = run_torch(d, torch.float64)
    print(f"smallest Gumbel-max margin {margin:.3g} (hard actions are robust to rounding if >> 1e-6)")
    ok = margin > 1e-4
    if not ok:
        print("FAIL: a near-tie in the hard actions; change the seed")
    names = ["losses", "stats", "critic_grad0", "critic_grad1", "actor_grad0", "actor_grad1"]
    names += [f"{t}{c}_1" for c in range(2) for t in ("pol", "crit", "tpol", "tcrit")]
    for name in names:
        ok &= compare(name, d[name], ref[name], ATOL if "grad" in name or name in ("losses", "stats")
                      else ATOL_ADAM)
    # Clipping must have been active for both optimisers, and the update must
    # have moved every network, or the comparison would prove less.
    max_norm = float(d["hp"][4])
    if not (d["losses"][2] > max_norm and d["losses"][4] > max_norm):
        print(f"FAIL: clipping not exercised (norms {d['losses'][2]:.3g}, {d['losses'][4]:.3g})")
        ok = False
    for c in range(2):
        for t in ("pol", "crit", "tpol", "tcrit"):
            if np.array_equal(d[f"{t}{c}_0"], d[f"{t}{c}_1"]):
                print(f"FAIL: {t}{c} did not change")
                ok = False
    print("for scale, torch float32 vs float64:")
    for name in ["losses", "critic_grad0", "actor_grad0", "pol0_1", "crit0_1"]:
        err = np.abs(ref[name] - ref64[name])
        print(f"     {name:14s} max|diff|={err.max():.3g} max|ref|={np.abs(ref64[name]).max():.3g}")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
