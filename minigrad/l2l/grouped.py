"""One coordinatewise LSTM per parameter group: the paper's CIFAR optimizer.

For its convnet the paper uses two LSTMs with separate weights, "one for the convolutional
parameters and one for the fully connected ones". Each is an ordinary
:class:`~minigrad.l2l.lstm_optimizer.LSTMOptimizer` (the same settings, its own weights and
its own per-coordinate state); a problem labels each of its parameter arrays with a *kind*
(``instance.param_kinds()``: ``conv`` or ``fc``, see
:class:`~minigrad.l2l.problems.ConvNetProblem`), and the coordinates of the arrays of kind k
go through the LSTM of group k::

    theta = [a_1.ravel(), a_2.ravel(), ...]                  (N,) the flat vector
    g_k   = the coordinates of g whose array is of kind k    (gathered, in flat order)
    delta_k, state_k = LSTM_k(g_k, state_k)
    delta = delta_k put back where g_k came from             (N,)

Nothing else changes: each LSTM is coordinatewise, so one LSTM per group is the same as
running each group's coordinates as a problem of its own, and the first-order meta-gradient
still reaches every LSTM's weights through the theta_t of its own coordinates only.

:class:`GroupedLSTMOptimizer` holds the LSTMs (state-dict names prefixed by the group:
``conv.lstm.weight_ih_l0``, ``fc.head.bias``, ...). Which coordinates belong to which group
depends on the problem instance, so it steps a flat vector only once bound to a *layout*
(:func:`bind_net`, done by :func:`~minigrad.l2l.meta.unroll` and
:func:`~minigrad.l2l.evaluate.rollout`): ``((group, start, stop), ...)`` runs of coordinates.

Its :meth:`~GroupedLSTMOptimizer.config` (stored in checkpoints) is the LSTMs' shared settings
plus ``groups`` (the group names, in order; group k's LSTM is initialised from seed
``seed + k``) and ``assignment`` (``{group: [parameter names]}`` of the problem it was built
for, for the reader). A configuration without ``groups`` is a single
:class:`~minigrad.l2l.lstm_optimizer.LSTMOptimizer`, as every checkpoint written before groups
existed: :func:`build_net` builds either.
"""

from __future__ import annotations

from .. import ops
from ..backend import get_array_module
from ..grad_mode import no_grad
from ..nn import Module
from ..tensor import Tensor
from .lstm_optimizer import LSTMOptimizer

__all__ = ["GROUP_KINDS", "GroupedLSTMOptimizer", "bind_net", "build_net", "is_grouped",
           "make_layout", "mask_layout", "parse_groups", "restrict_layout", "subset_net"]

#: The parameter kinds problems label their arrays with, hence the possible group names.
GROUP_KINDS = ("conv", "fc")


def parse_groups(spec) -> list:
    """``"conv,fc"`` (or a list) -> ``["conv", "fc"]``: one LSTM per group; ``"all"``, ``""``
    or None -> ``[]``: one LSTM for every parameter. Names must be among
    :data:`GROUP_KINDS`, each once."""
    if spec is None:
        return []
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    names = [str(s).strip() for s in items if str(s).strip()]
    if names in ([], ["all"]):
        return []
    bad = [n for n in names if n not in GROUP_KINDS]
    if bad or len(set(names)) != len(names):
        raise ValueError(f"groups {spec!r}: expected 'all' (one LSTM) or distinct names among "
                         f"{', '.join(GROUP_KINDS)}, comma-separated (e.g. conv,fc)")
    return names


class GroupedLSTMOptimizer(Module):
    """One :class:`~minigrad.l2l.lstm_optimizer.LSTMOptimizer` per group (module docstring).

    ``groups``: the group names (:func:`parse_groups`); ``seed``: group k's LSTM is drawn from
    ``seed + k``; ``assignment``: ``{group: [parameter names]}``, kept in :meth:`config` for
    the reader; every other keyword is an LSTMOptimizer setting shared by all groups.
    """

    def __init__(self, groups, *, seed: int = 0, assignment: dict | None = None, dtype=None,
                 device=None, **settings):
        super().__init__()
        names = parse_groups(groups)
        if not names:
            raise ValueError("GroupedLSTMOptimizer: needs at least one group; for one LSTM on "
                             "every parameter use LSTMOptimizer")
        self.groups = tuple(names)
        self.seed = int(seed)
        self.assignment = None if assignment is None else {
            str(k): [str(n) for n in v] for k, v in assignment.items()}
        self._nets = {g: LSTMOptimizer(**settings, seed=self.seed + k, dtype=dtype,
                                       device=device)
                      for k, g in enumerate(self.groups)}

    def named_children(self):
        yield from self._nets.items()

    def net(self, group: str) -> LSTMOptimizer:
        """The LSTM of ``group``."""
        if group not in self._nets:
            raise ValueError(f"this optimizer has no LSTM for {group!r}; its groups are "
                             f"{', '.join(self.groups)}")
        return self._nets[group]

    def config(self) -> dict:
        config = {**self._nets[self.groups[0]].config(), "seed": self.seed,
                  "groups": list(self.groups)}
        if self.assignment is not None:
            config["assignment"] = {k: list(v) for k, v in self.assignment.items()}
        return config

    @property
    def dtype(self):
        return self._nets[self.groups[0]].dtype

    def forward(self, *args, **kwargs):
        raise TypeError("GroupedLSTMOptimizer steps a flat vector only once bound to a layout: "
                        "use bind(layout) or minigrad.l2l.grouped.bind_net(net, instance, flat)")

    def bind(self, layout) -> BoundGroups:
        """This optimizer on flat vectors of ``layout`` (:func:`make_layout`)."""
        return BoundGroups(self, layout)

    # ----- one step on a flat vector ------------------------------------------------------------
    def update(self, g, state=None, create_graph: bool = False, *, layout=None):
        """``(delta (N,), state)`` for the flat gradient ``g`` (an array, or a Tensor with a
        graph when ``create_graph``) laid out as ``layout``; ``state`` is a tuple of the
        groups' LSTM states (None: all zero)."""
        if layout is None:
            raise ValueError("GroupedLSTMOptimizer.update: needs the layout of the flat vector "
                             "(which coordinates are conv, which fc): bind the optimizer first "
                             "(bind_net(net, instance, flat))")
        states = dict(zip(self.groups, state)) if state is not None else {}
        runs = {grp: [] for grp in self.groups}
        for grp, a, b in layout:
            runs[grp].append((a, b))
        deltas, new_states = {}, []
        for grp in self.groups:
            if not runs[grp]:  # no coordinate of this kind here: its state stays as it is
                new_states.append(states.get(grp))
                continue
            deltas[grp], st = self._nets[grp].update(_gather(g, runs[grp]), states.get(grp),
                                                     create_graph=create_graph)
            new_states.append(st)
        parts, used = [], dict.fromkeys(self.groups, 0)
        for grp, a, b in layout:
            d, o = deltas[grp], used[grp]
            parts.append(d if (o == 0 and b - a == d.shape[0]) else
                         ops.getitem(d, slice(o, o + b - a)))
            used[grp] += b - a
        delta = parts[0] if len(parts) == 1 else ops.concatenate(parts)
        return delta, tuple(new_states)

    def update_array(self, g, state=None, *, layout=None):
        """Evaluation: ``(delta array (N,), new_state)`` without recording any graph."""
        with no_grad():
            delta, state = self.update(g, state, layout=layout)
        return delta.data, state

    def extra_repr(self) -> str:
        return f"groups={list(self.groups)}"


class BoundGroups:
    """A :class:`GroupedLSTMOptimizer` bound to one layout: the ``update`` / ``update_array``
    interface of an :class:`~minigrad.l2l.lstm_optimizer.LSTMOptimizer` on that flat vector."""

    def __init__(self, net: GroupedLSTMOptimizer, layout):
        self.net, self.layout = net, tuple(layout)
        for grp, a, b in self.layout:
            if grp not in net.groups:
                raise ValueError(f"the problem's parameters of kind {grp!r} have no LSTM in "
                                 f"this optimizer (its groups: {', '.join(net.groups)})")
            if not 0 <= a < b:
                raise ValueError(f"bad layout run {(grp, a, b)}")

    def update(self, g, state=None, create_graph: bool = False):
        return self.net.update(g, state, create_graph, layout=self.layout)

    def update_array(self, g, state=None):
        return self.net.update_array(g, state, layout=self.layout)

    @property
    def dtype(self):
        return self.net.dtype


def _gather(g, runs):
    """The coordinates of ``runs`` [(start, stop), ...] of the flat ``g``, in order."""
    if len(runs) == 1:
        a, b = runs[0]
        if isinstance(g, Tensor):
            return g if (a == 0 and b == g.shape[0]) else ops.getitem(g, slice(a, b))
        return g[a:b]
    if isinstance(g, Tensor):
        return ops.concatenate([ops.getitem(g, slice(a, b)) for a, b in runs])
    return get_array_module(g).concatenate([g[a:b] for a, b in runs])


def make_layout(kinds, sizes) -> tuple:
    """``((kind, start, stop), ...)``: the runs of flat coordinates of each kind, for arrays
    of ``kinds`` and ``sizes`` laid end to end (neighbouring arrays of a kind merged; empty
    arrays left out)."""
    kinds, sizes = list(kinds), [int(s) for s in sizes]
    if len(kinds) != len(sizes):
        raise ValueError(f"make_layout: {len(kinds)} kinds for {len(sizes)} arrays")
    out, start = [], 0
    for kind, size in zip(kinds, sizes):
        if size == 0:
            continue
        if out and out[-1][0] == kind:
            out[-1] = (kind, out[-1][1], start + size)
        else:
            out.append((kind, start, start + size))
        start += size
    return tuple(out)


def restrict_layout(layout, rows: slice) -> tuple:
    """The layout of the coordinates ``rows`` (a contiguous slice) alone, renumbered from 0
    (what one process of :mod:`minigrad.l2l.parallel` steps)."""
    lo, hi = rows.start, rows.stop
    out = []
    for kind, a, b in layout:
        a2, b2 = max(a, lo), min(b, hi)
        if a2 < b2:
            out.append((kind, a2 - lo, b2 - lo))
    return tuple(out)


def mask_layout(layout, mask) -> tuple:
    """The layout of the coordinates where the boolean ``mask`` is True, gathered in order
    and renumbered from 0 (what a subset of :mod:`minigrad.l2l.parallel`'s coordinates
    steps): each run keeps its kind and shrinks to its chosen coordinates (:func:`make_layout`
    of the shrunk runs)."""
    return make_layout([kind for kind, _, _ in layout],
                       [int(mask[a:b].sum()) for _, a, b in layout])


def subset_net(net, mask):
    """``net`` stepping only the coordinates where ``mask`` is True (gathered in order): a
    single LSTM as it is (coordinatewise, it does not see which), a bound grouped one
    (:class:`BoundGroups`) bound to its layout's :func:`mask_layout`."""
    if not isinstance(net, BoundGroups):
        return net
    return net.net.bind(mask_layout(net.layout, mask))


def is_grouped(net) -> bool:
    return isinstance(net, GroupedLSTMOptimizer)


def bind_net(net, instance, flat, rows: slice | None = None):
    """``net`` ready to step the flat vector of ``instance`` (laid out by ``flat``): a single
    LSTM as it is, a :class:`GroupedLSTMOptimizer` bound to the instance's layout (its
    ``param_kinds()``), on the coordinates ``rows`` only if given."""
    if not is_grouped(net):
        return net
    kinds = getattr(instance, "param_kinds", None)
    if kinds is None:
        raise ValueError(f"an optimizer with one LSTM per parameter group "
                         f"({', '.join(net.groups)}) needs a problem whose parameters have "
                         f"kinds; {type(instance).__name__} has none (use one LSTM)")
    layout = make_layout(kinds(), flat.sizes)
    if rows is not None:
        layout = restrict_layout(layout, rows)
    return net.bind(layout)


def build_net(config: dict, dtype=None, device=None, assignment: dict | None = None):
    """The learned optimizer of a configuration (:meth:`LSTMOptimizer.config` or
    :meth:`GroupedLSTMOptimizer.config`): one LSTM unless it names ``groups``.
    ``assignment`` replaces the configuration's (grouped only)."""
    cfg = dict(config)
    groups = parse_groups(cfg.pop("groups", None))
    stored = cfg.pop("assignment", None)
    if not groups:
        return LSTMOptimizer(**cfg, dtype=dtype, device=device)
    return GroupedLSTMOptimizer(groups, **cfg, assignment=assignment or stored, dtype=dtype,
                                device=device)
