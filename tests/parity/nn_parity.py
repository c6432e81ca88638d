#!/usr/bin/python3
"""nn_parity.py: common/nn against PyTorch on the same weights and batch.

Runs the C dumper (nn_parity_dump), which performs one student update with
common/nn and writes its inputs and results, then replays it in PyTorch
(float32, one thread) and compares:
  - forward outputs (policy logits, critic values),
  - the four losses, the total, and the PPO clip fraction / approx KL,
  - d(loss)/d(logits), d(loss)/d(values) and every parameter gradient,
  - the global gradient norm,
  - all parameters after 10 steps of Adam with global-norm clipping.

Layouts: common/nn stores each weight as (in, out), the transpose of
torch.nn.Linear.weight, in the same tensor order; to_torch / to_ours map
between the two flat vectors.

Tolerance: |ours - torch| <= RTOL * |torch| + ATOL * max|torch| per tensor,
RTOL = 1e-5 and ATOL = 1e-6 for forward outputs, losses and gradients,
ATOL = 1e-5 for the parameters after 10 Adam steps (parameters are O(0.1);
Adam turns a gradient's rounding into at most lr/eps times it per step).
For scale, the script also prints torch float32 against torch float64.

Usage: nn_parity.py PATH_TO_nn_parity_dump
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


def build(d, dtype):
    obs, h1, h2, a, _, _ = (int(x) for x in d["dims"])
    pol = torch.nn.Sequential(
        torch.nn.Linear(obs, h1), torch.nn.Tanh(),
        torch.nn.Linear(h1, h2), torch.nn.Tanh(),
        torch.nn.Linear(h2, a)).to(dtype)
    cri = torch.nn.Sequential(
        torch.nn.Linear(obs, h1), torch.nn.ReLU(),
        torch.nn.Linear(h1, h2), torch.nn.ReLU(),
        torch.nn.Linear(h2, 1)).to(dtype)
    params = list(pol.parameters()) + list(cri.parameters())
    to_torch(d["params0"], params)
    return pol, cri, params


def to_torch(flat, params):
    """Copies a common/nn flat vector into torch parameters (same tensor
    order; weights transposed from (in, out) to (out, in))."""
    at = 0
    with torch.no_grad():
        for p in params:
            n = p.numel()
            chunk = torch.from_numpy(flat[at:at + n].copy()).to(p.dtype)
            if p.dim() == 2:
                chunk = chunk.reshape(p.shape[1], p.shape[0]).t()
            p.copy_(chunk.reshape(p.shape))
            at += n
    assert at == flat.size


def to_ours(tensors):
    """The common/nn flat vector of torch tensors (weights transposed)."""
    return torch.cat([(t.t() if t.dim() == 2 else t).reshape(-1) for t in tensors])


def student_loss(d, pol, cri, dtype):
    t = lambda k: torch.from_numpy(d[k]).to(dtype)
    B = int(d["dims"][5])
    clip_eps, vclip, c_v, c_ent, kd_coef = (float(x) for x in d["hyper"][:5])
    obs = t("obs").reshape(B, -1)
    act = torch.from_numpy(d["actions"]).long()
    logits = pol(obs)
    logits.retain_grad()
    values = cri(obs).squeeze(1)
    values.retain_grad()
    logp_all = torch.log_softmax(logits, dim=1)
    logp = logp_all.gather(1, act[:, None]).squeeze(1)
    ratio = torch.exp(logp - t("old_logp"))
    adv = t("adv")
    ppo = -torch.min(ratio * adv, torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps) * adv).mean()
    old_v, ret = t("old_v"), t("ret")
    v_clip = old_v + torch.clamp(values - old_v, -vclip, vclip)
    value = 0.5 * torch.max((values - ret) ** 2, (v_clip - ret) ** 2).mean()
    entropy = -(torch.exp(logp_all) * logp_all).sum(1).mean()
    teacher = t("teacher").reshape(B, -1)
    mask = t("mask")
    kl = (torch.xlogy(teacher, teacher) - teacher * logp_all).sum(1)
    kd = (mask * kl).sum() / torch.clamp(mask.sum(), min=1.0)
    total = ppo + c_v * value - c_ent * entropy + kd_coef * kd
    with torch.no_grad():
        clip_frac = ((ratio - 1).abs() > clip_eps).to(dtype).mean()
        approx_kl = ((ratio - 1) - torch.log(ratio)).mean()
    return logits, values, [ppo, value, entropy, kd, total], [clip_frac, approx_kl]


def run_torch(d, dtype):
    pol, cri, params = build(d, dtype)
    hyper = [float(x) for x in d["hyper"]]
    lr, b1, b2, eps, max_norm = hyper[5:10]
    opt = torch.optim.Adam(params, lr=lr, betas=(b1, b2), eps=eps)
    res = {}
    for step in range(10):
        opt.zero_grad()
        logits, values, losses, stats = student_loss(d, pol, cri, dtype)
        losses[4].backward()
        if step == 0:
            res["logits"] = logits.detach().reshape(-1)
            res["values"] = values.detach()
            res["losses"] = torch.stack([x.detach() for x in losses])
            res["ppo_stats"] = torch.stack(stats)
            res["dlogits"] = logits.grad.reshape(-1)
            res["dvalues"] = values.grad
            res["grads0"] = to_ours([p.grad for p in params])
        norm = torch.nn.utils.clip_grad_norm_(params, max_norm)
        if step == 0:
            res["grad_norm0"] = norm.detach().reshape(1)
        opt.step()
    res["params10"] = to_ours([p.detach() for p in params])
    return {k: v.double().numpy() for k, v in res.items()}


def compare(name, ours, ref, atol_scale):
    ours = ours.astype(np.float64)
    scale = float(np.max(np.abs(ref))) if ref.size else 0.0
    err = np.abs(ours - ref)
    bound = RTOL * np.abs(ref) + atol_scale * scale
    worst = int(np.argmax(err - bound))
    ok = bool(np.all(err <= bound))
    rel = float(np.max(err / np.maximum(np.abs(ref), 1e-30 + scale * 1e-3)))
    print(f"{'ok  ' if ok else 'FAIL'} {name:12s} n={ref.size:6d} max|diff|={err.max():.3g} "
          f"max|ref|={scale:.3g} worst rel={rel:.3g}"
          + ("" if ok else f"  (index {worst}: {ours[worst]:.9g} vs {ref[worst]:.9g})"))
    return ok


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "nn_parity.bin")
        subprocess.run([sys.argv[1], out], check=True)
        d = read_records(out)
    ref = run_torch(d, torch.float32)
    ref64 = run_torch(d, torch.float64)
    ok = True
    for name in ["logits", "values", "losses", "ppo_stats", "dlogits", "dvalues",
                 "grads0", "grad_norm0", "params10"]:
        atol = ATOL_ADAM if name == "params10" else ATOL
        ok &= compare(name, d[name], ref[name], atol)
    # The clip must have been active and some rows clipped, or the test would
    # not exercise those paths.
    if not (d["grad_norm0"][0] > float(d["hyper"][9]) and 0 < d["ppo_stats"][0] < 1):
        print("FAIL: clip paths not exercised")
        ok = False
    print("for scale, torch float32 vs float64:")
    for name in ["logits", "grads0", "params10"]:
        err = np.abs(ref[name] - ref64[name])
        print(f"     {name:12s} max|diff|={err.max():.3g} max|ref|={np.abs(ref64[name]).max():.3g}")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
