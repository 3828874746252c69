"""The PyTorch reference of one meta-iteration (the benchmark's comparison; not a test).

The plain implementation one would write: ``torch.nn.LSTMCell`` layers and a linear head,
coordinatewise over every optimizee coordinate, started from minigrad's initial weights (whose
names are PyTorch's); LogAndSign preprocessing; ``autograd.grad(loss, theta,
retain_graph=True)`` for g_t, detached (the paper's first-order cut); the meta-loss
sum_t f(theta_t) and Adam on the optimizer's weights. The problems are minigrad's, drawn from
the same seeds, so both sides compute the same numbers (``tests/test_bench_meta.py`` checks
that, after several meta-updates). PyTorch is needed here only.
"""

from __future__ import annotations

import os

__all__ = ["torch_iteration_fn"]


def torch_iteration_fn(problem_name, threads, cfg=None, flush_denormal=False):
    """The PyTorch reference: one meta-iteration per call (see the module docstring).

    ``cfg`` (a :class:`MetaConfig`, default the paper's) sets the horizon, unroll and Adam;
    ``flush_denormal`` runs PyTorch with ``torch.set_flush_denormal(True)`` (the CPU's
    flush-to-zero mode: subnormal floats become 0, see :mod:`minigrad.subnormals`)."""
    try:
        import torch
    except ImportError:
        raise SystemExit("bench: PyTorch is not installed (pip install torch==2.13.0, CPU "
                         "build): the PyTorch side of the comparison cannot run") from None
    import math

    import numpy as np

    from minigrad.backend import to_device
    from minigrad.l2l.lstm_optimizer import LSTMOptimizer, net_defaults
    from minigrad.l2l.meta import MetaConfig, MetaTrainer
    from minigrad.l2l.problems import make_problem

    torch.set_num_threads(threads)
    if flush_denormal and not torch.set_flush_denormal(True):
        raise SystemExit("bench: torch.set_flush_denormal(True) is not supported on this CPU")
    device = "cuda" if os.environ.get("MINIGRAD_BACKEND") == "cupy" and \
        torch.cuda.is_available() else "cpu"
    cfg = cfg or MetaConfig()
    defaults = net_defaults(problem_name)
    ref = LSTMOptimizer(**defaults)  # the same initial weights as minigrad's side
    problem = make_problem(problem_name)
    seeds = MetaTrainer(ref, problem, cfg)  # only for its problem_seed()
    H = ref.hidden_size
    cells = torch.nn.ModuleList(
        torch.nn.LSTMCell(ref.pre.input_size if k == 0 else H, H) for k in range(ref.num_layers))
    head = torch.nn.Linear(H, 1)
    with torch.no_grad():
        sd = {k: np.asarray(to_device(v, "cpu")) for k, v in ref.state_dict().items()}
        for k, cell in enumerate(cells):
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(cell, name).copy_(torch.from_numpy(sd[f"lstm.{name}_l{k}"]))
        head.weight.copy_(torch.from_numpy(sd["head.weight"]))
        head.bias.copy_(torch.from_numpy(sd["head.bias"]))
    cells.to(device)
    head.to(device)
    params = list(cells.parameters()) + list(head.parameters())
    meta_opt = torch.optim.Adam(params, lr=cfg.meta_lr, betas=cfg.betas, eps=cfg.eps)
    scale = ref.output_scale
    p = float(defaults["p"])
    logsign = defaults["preprocess"] == "logsign"

    def t(a):
        return torch.from_numpy(np.asarray(to_device(a, "cpu"))).to(device)

    def preprocess(g):
        if not logsign:
            return g.unsqueeze(1)
        mag = g.abs()
        big = mag >= math.exp(-p)
        first = torch.where(big, torch.log(torch.where(big, mag, torch.ones_like(mag))) / p,
                            torch.full_like(g, -1.0))
        second = torch.where(big, torch.sign(g), g * math.exp(p))
        return torch.stack([first, second], dim=1)

    def net(g, state):
        x, new = preprocess(g), []
        for cell, s in zip(cells, state):
            h, c = cell(x, s)
            new.append((h, c))
            x = h
        return head(x).squeeze(1) * scale, new

    def make_loss(instance):
        if problem_name == "quadratic":
            w, y = t(instance.w), t(instance.y)[..., 0]
            shape = tuple(instance.theta0.shape)

            def loss(theta, step):
                r = torch.matmul(w, theta.view(shape).unsqueeze(-1)).squeeze(-1) - y
                return (r * r).sum()
            return loss, t(instance.theta0).reshape(-1)
        arrays = instance.init_params()
        shapes = [tuple(a.shape) for a in arrays]
        sizes = [int(np.prod(s)) for s in shapes]

        def loss(theta, step):
            x, labels = instance.batch(step)
            h, parts = t(x), torch.split(theta, sizes)
            ps = [q.view(s) for q, s in zip(parts, shapes)]
            for k in range(0, len(ps), 2):
                h = h @ ps[k] + ps[k + 1]
                if k + 2 < len(ps):
                    h = torch.sigmoid(h)
            return torch.nn.functional.cross_entropy(h, t(labels).long())
        return loss, torch.cat([t(a).reshape(-1) for a in arrays])

    def grad_at(f, theta, step):
        leaf = theta.detach().requires_grad_(True)
        return torch.autograd.grad(f(leaf, step), leaf)[0]

    state = {"iteration": 0}

    def iteration():
        instance = problem.sample(seeds.problem_seed(state["iteration"]))
        f, theta = make_loss(instance)
        hidden = [None] * len(cells)
        total, t0 = 0.0, 0
        while t0 < cfg.steps:
            k_len = min(cfg.unroll, cfg.steps - t0)
            g = grad_at(f, theta, t0)
            cur, terms = theta, []
            for k in range(k_len):
                delta, hidden = net(g, hidden)
                cur = cur + delta
                loss = f(cur, t0 + k + 1)
                terms.append(loss)
                if k < k_len - 1:  # the first-order cut: g_t enters the LSTM as a constant
                    g = torch.autograd.grad(loss, cur, retain_graph=True)[0].detach()
            meta_loss = torch.stack(terms).sum()
            meta_opt.zero_grad()
            meta_loss.backward()
            meta_opt.step()
            total += float(sum(v.item() for v in terms))
            theta = cur.detach()
            hidden = [(h.detach(), c.detach()) for h, c in hidden]
            t0 += k_len
        state["iteration"] += 1
        return total / cfg.steps

    return iteration, device
