#!/usr/bin/python3
"""qmix_parity.py: learner/qmix.c against PyTorch on the same weights and batch.

Runs the C dumper (qmix_parity_dump), which performs QMIX updates with
learner/qmix.c and writes their inputs and results, then replays them in
PyTorch (float32, one thread) and compares:
  - the TD targets y (double-Q: online argmax on the next observations,
    target agent nets and target mixer evaluate; done and time-limit rows do
    not bootstrap),
  - the loss mean (Q_tot - y)^2 and the mean Q_tot,
  - every gradient of the agent networks (message encoders and policies of
    both classes, through the communication mean) and of the mixer
    (hypernetworks through |W1|, |W2|, ELU), and the global gradient norm,
  - all parameters after 1 and after 3 updates (global-norm clip over agent
    nets and mixer together, then Adam), targets recomputed each update.

Layouts: common/nn stores weights as (in, out) row-major, so here x @ W + b
with W read straight from the flat arena (no transpose) and gradients map
back element for element. Student arena: per class [encoder O->H->C,
policy O+C->H->H->NA], then the central critic S->H->H->1 and 3 return
normaliser floats (no gradient reaches those; they must stay unchanged).
Mixer arena: hyper_w1 S->HH->A*E, hyper_b1 S->E, hyper_w2 S->HH->E,
V S->E->1 (relu hidden).

Tolerance (nn_parity.py's): |ours - torch| <= RTOL * |torch| + ATOL *
max|torch| per tensor, RTOL = 1e-5 and ATOL = 1e-6 for targets, losses and
gradients, ATOL = 1e-5 for parameters (Adam turns a gradient's rounding into
at most lr/eps times it per step). Measured here: targets 2e-7, gradients
5e-8 relative to their largest element, parameters 1e-7 after 3 updates;
torch float32 against float64 differs by about as much (printed below).
The double-Q argmax must not be a near tie (top-2 gap >= 1e-6, 10x the
float rounding of the agents' Q values), or rounding could pick another
action on either side.

Usage: qmix_parity.py PATH_TO_qmix_parity_dump
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
except ImportError as e:
    print(f"SKIP: {e}")
    sys.exit(77)

RTOL = 1e-5
ATOL = 1e-6
ATOL_PARAMS = 1e-5


def read_records(path):
    out = {}
    data = open(path, "rb").read()
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


class Arena:
    """Leaf tensors over slices of a flat common/nn arena, in layout order."""

    def __init__(self, flat, dtype):
        self.flat = torch.from_numpy(flat.astype(np.float64)).to(dtype)
        self.at = 0
        self.slices = []  # (offset, tensor)

    def take(self, shape):
        n = int(np.prod(shape))
        t = self.flat[self.at:self.at + n].reshape(shape).clone().requires_grad_(True)
        self.slices.append((self.at, t))
        self.at += n
        return t

    def linear(self, i, o):
        return self.take((i, o)), self.take((o,))

    def mlp(self, dims):
        return [self.linear(dims[k], dims[k + 1]) for k in range(len(dims) - 1)]

    def params(self):
        return [t for _, t in self.slices]

    def flat_of(self, what):
        """The arena-sized vector of each tensor's `what` (grad or data)."""
        out = torch.zeros_like(self.flat)
        for off, t in self.slices:
            v = t.grad if what == "grad" else t.detach()
            if v is not None:
                out[off:off + t.numel()] = v.reshape(-1)
        return out

    def flat_params(self):
        out = self.flat.clone()
        for off, t in self.slices:
            out[off:off + t.numel()] = t.detach().reshape(-1)
        return out


def run(layers, x, act):
    for k, (w, b) in enumerate(layers):
        x = x @ w + b
        if k < len(layers) - 1:
            x = act(x)
    return x


class Model:
    def __init__(self, d, stu_flat, mix_flat, dtype):
        (self.A, self.O, self.S, self.NA, self.B, self.H, self.C, self.E, self.HH,
         c0, c1) = (int(v) for v in d["dims"])
        self.cls = [0] * c0 + [1] * c1
        self.stu = Arena(stu_flat, dtype)
        self.enc, self.pol = [], []
        for _ in range(2):
            self.enc.append(self.stu.mlp([self.O, self.H, self.C]))
            self.pol.append(self.stu.mlp([self.O + self.C, self.H, self.H, self.NA]))
        self.mix = Arena(mix_flat, dtype)
        self.hw1 = self.mix.mlp([self.S, self.HH, self.A * self.E])
        self.hb1 = self.mix.mlp([self.S, self.E])
        self.hw2 = self.mix.mlp([self.S, self.HH, self.E])
        self.hv = self.mix.mlp([self.S, self.E, 1])
        assert self.mix.at == mix_flat.size, (self.mix.at, mix_flat.size)
        assert self.stu.at + self.H * (self.S + 1) + self.H * (self.H + 1) + self.H + 1 + 3 == stu_flat.size

    def agents(self, obs):  # obs (B, A, O) -> Q (B, A, NA)
        msg = [torch.tanh(run(self.enc[self.cls[a]], obs[:, a], torch.tanh)) for a in range(self.A)]
        total = sum(msg)
        q = []
        for a in range(self.A):
            c = (total - msg[a]) / (self.A - 1)
            q.append(run(self.pol[self.cls[a]], torch.cat([obs[:, a], c], 1), torch.tanh))
        return torch.stack(q, 1)

    def mixer(self, s, qs):  # s (B, S), qs (B, A) -> (B,)
        B = s.shape[0]
        w1 = torch.abs(run(self.hw1, s, torch.relu)).view(B, self.A, self.E)
        b1 = run(self.hb1, s, torch.relu).view(B, 1, self.E)
        w2 = torch.abs(run(self.hw2, s, torch.relu)).view(B, self.E)
        v = run(self.hv, s, torch.relu).view(B)
        h = torch.nn.functional.elu(torch.bmm(qs.view(B, 1, self.A), w1) + b1).view(B, self.E)
        return (h * w2).sum(1) + v


def replay(d, dtype):
    t = lambda k: torch.from_numpy(d[k].astype(np.float64)).to(dtype)
    on = Model(d, d["stu0"], d["mix0"], dtype)
    tg = Model(d, d["tstu"], d["tmix"], dtype)
    A, O, S, B, NA = on.A, on.O, on.S, on.B, on.NA
    gamma, lr, adam_eps, max_norm, double_q = (float(x) for x in d["hyper"])
    obs, nobs = t("obs").view(B, A, O), t("next_obs").view(B, A, O)
    st, nst = t("state").view(B, S), t("next_state").view(B, S)
    act = torch.from_numpy(d["actions"].astype(np.int64)).view(B, A)
    boot = (1 - t("done")) * (1 - t("trunc"))
    params = on.stu.params() + on.mix.params()
    opt = torch.optim.Adam(params, lr=lr, eps=adam_eps)
    res = {}
    gaps = []
    for step in range(3):
        with torch.no_grad():
            qn_t = tg.agents(nobs)
            pick = on.agents(nobs) if double_q else qn_t
            top2 = torch.topk(pick, 2, dim=2).values
            gaps.append(float((top2[..., 0] - top2[..., 1]).min()))
            best = pick.argmax(2, keepdim=True)
            y = t("reward") + gamma * boot * tg.mixer(nst, qn_t.gather(2, best).squeeze(2))
        opt.zero_grad()
        qtot = on.mixer(st, on.agents(obs).gather(2, act.unsqueeze(2)).squeeze(2))
        loss = ((qtot - y) ** 2).mean()
        loss.backward()
        if step == 0:
            res["y"], res["loss"], res["qmean"] = y, loss.detach().view(1), qtot.detach().mean().view(1)
            res["gstu"], res["gmix"] = on.stu.flat_of("grad"), on.mix.flat_of("grad")
        norm = torch.nn.utils.clip_grad_norm_(params, max_norm)
        if step == 0:
            res["gnorm"] = norm.detach().view(1)
        opt.step()
        if step == 0:
            res["stu1"], res["mix1"] = on.stu.flat_params(), on.mix.flat_params()
    res["stu3"], res["mix3"] = on.stu.flat_params(), on.mix.flat_params()
    return {k: v.detach().double().numpy() for k, v in res.items()}, min(gaps)


def compare(name, ours, ref, atol_scale):
    ours = ours.astype(np.float64)
    scale = float(np.max(np.abs(ref))) if ref.size else 0.0
    err = np.abs(ours - ref)
    bound = RTOL * np.abs(ref) + atol_scale * scale
    worst = int(np.argmax(err - bound))
    ok = bool(np.all(err <= bound))
    print(f"{'ok  ' if ok else 'FAIL'} {name:6s} n={ref.size:7d} max|diff|={err.max():.3g} max|ref|={scale:.3g}"
          + ("" if ok else f"  (index {worst}: {ours[worst]:.9g} vs {ref[worst]:.9g})"))
    return ok


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "qmix_parity.bin")
        subprocess.run([sys.argv[1], out], check=True)
        d = read_records(out)
    ref, gap = replay(d, torch.float32)
    ref64, _ = replay(d, torch.float64)
    ok = True
    for name in ["y", "loss", "qmean", "gstu", "gmix", "gnorm", "stu1", "mix1", "stu3", "mix3"]:
        ok &= compare(name, d[name], ref[name], ATOL_PARAMS if name[-1].isdigit() else ATOL)
    # What the test must exercise: the clip, bootstrapped and terminal rows,
    # and argmaxes that float rounding cannot flip.
    if not d["gnorm"][0] > float(d["hyper"][3]):
        print("FAIL: the gradient clip was not active")
        ok = False
    boot = (1 - d["done"]) * (1 - d["trunc"])
    if not (0 < boot.sum() < boot.size and d["trunc"].sum() > 0):
        print("FAIL: the batch needs bootstrapped, terminal and time-limit rows")
        ok = False
    if gap < 1e-6:
        print(f"FAIL: a double-Q argmax is a near tie ({gap:.3g}); change the dumper's seed")
        ok = False
    print(f"smallest top-2 gap of the double-Q argmax: {gap:.3g}")
    print("for scale, torch float32 vs float64:")
    for name in ["y", "gstu", "gmix", "stu3"]:
        err = np.abs(ref[name] - ref64[name])
        print(f"     {name:6s} max|diff|={err.max():.3g} max|ref|={np.abs(ref64[name]).max():.3g}")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
