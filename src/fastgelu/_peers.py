"""The implementations ``python -m fastgelu bench`` and the benchmark suite compare.

Nothing here times anything (that is :mod:`fastgelu._bench`); it imports only NumPy and
fastgelu, and the optional peers (SciPy for the exact NumPy formula, PyTorch) when they
are asked for: one that is not installed raises :class:`Unavailable` with the reason.

Implementations (``IMPLS``), each a callable ``fn(x, out)`` per function kind:

``fastgelu``
    the ufunc of the exact tier (``fastgelu.<name>``, at most 1 ulp), writing into a
    preallocated ``out=``.
``fast``
    the same for the fast tier (``fastgelu.fast.<name>``, at most 4 ulp). fastgelu's
    implementations are one per accuracy tier (``IMPL_TIERS``), each checked against its
    tier's bound.
``numpy``
    the textbook formulas in plain NumPy: ``0.5*x*(1 + erf(x/sqrt(2)))`` with
    ``scipy.special.erf`` (the exact kinds need SciPy), the tanh form with ``np.tanh``,
    and the gradients; the last operation writes into ``out``.
``torch``
    ``torch.nn.functional.gelu(torch.from_numpy(x))`` (``approximate='tanh'`` for the
    tanh kinds) and ``torch.ops.aten.gelu_backward(ones, t)`` for the gradients, with
    ``torch.set_num_threads`` set to the same thread count as fastgelu. PyTorch
    allocates its result (there is no ``out=`` in ``F.gelu``), as in normal use.
    ml_dtypes' bfloat16 arrays reach it as ``torch.bfloat16`` views of the same bits.
``copy``
    ``np.copyto(out, x)``: one read and one write stream, the memory-bandwidth limit
    for any elementwise function on large arrays.
``unfused`` (fused kinds only)
    the two-step form with fastgelu's own unary ufunc (exact tier): ``gelu(a) * b`` and
    ``grad_out * gelu_grad(x)`` (a temporary, two passes, two roundings): what the fused
    ufuncs save.

The fused kinds (``FUSED_KINDS``: ``gelu_backward``, ``geglu``) take two inputs; their
benchmark input ``x`` is the two operands stacked, shape ``(2, n)``, in argument order
(``grad_out, x`` and ``a, b``): the GELU argument follows the chosen distribution, the
other operand is N(0, 1). Their peers: ``numpy`` (the textbook formula times the other
operand), ``torch`` (``torch.ops.aten.gelu_backward(grad_out, x)``,
``F.gelu(a) * b``) and ``unfused``.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import _ufuncs
from ._reference import INV_SQRT_2PI, SQRT1_2, TANH_A, TANH_C, UNARY

#: The one-input functions, forward ones first (the tables' order).
KINDS = tuple(sorted(UNARY, key=lambda kind: kind.endswith("_grad")))
#: The fused kinds with peers: gelu_backward(grad_out, x) and geglu(a, b).
FUSED_KINDS = ("gelu_backward", "geglu")
ALL_KINDS = KINDS + FUSED_KINDS
#: fastgelu's own implementations, one per accuracy tier (:data:`fastgelu._ufuncs.TIERS`):
#: {implementation: tier}; "fastgelu" is the exact tier, "fast" the fast one.
IMPL_TIERS = {("fastgelu" if tier == "exact" else tier): tier for tier in _ufuncs.TIERS}
FASTGELU_IMPLS = tuple(IMPL_TIERS)
#: Table order; "copy" is the bandwidth limit, not a GELU.
IMPLS = (*FASTGELU_IMPLS, "numpy", "torch", "copy")
#: With the fused kinds, also fastgelu's unfused two-step form.
ALL_IMPLS = (*FASTGELU_IMPLS, "numpy", "torch", "unfused", "copy")

Kernel = Callable[[np.ndarray, np.ndarray], Any]


class Unavailable(Exception):
    """An implementation (or one kind of it) cannot run here; the message says why."""


@dataclass
class Impl:
    """One implementation: a callable ``fn(x, out)`` per kind it can run."""

    name: str
    label: str
    funcs: dict[str, Kernel]
    #: kind -> why this implementation cannot run it here
    missing: dict[str, str] = field(default_factory=dict)
    #: fastgelu's implementations: the accuracy tier, whose bound its results are held to
    tier: str | None = None

    def get(self, kind: str) -> Kernel:
        if kind in self.funcs:
            return self.funcs[kind]
        raise Unavailable(self.missing.get(kind, f"{self.name} has no {kind}"))


def _fastgelu_impl(threads: int | None, name: str = "fastgelu") -> Impl:
    """fastgelu's implementation ``name``: the ufuncs of its tier (:data:`IMPL_TIERS`:
    ``fastgelu.<name>``, ``fastgelu.fast.<name>``)."""
    import fastgelu

    if threads is not None:
        fastgelu.set_num_threads(threads)
    tier = IMPL_TIERS[name]
    ufuncs = _ufuncs.UFUNCS[tier]

    def bind(uf):
        return lambda x, out: uf(x, out=out)

    def bind2(uf):
        return lambda x, out: uf(x[0], x[1], out=out)

    funcs = {kind: bind(ufuncs[kind]) for kind in KINDS}
    funcs.update({kind: bind2(ufuncs[kind]) for kind in FUSED_KINDS})
    label = f"{_ufuncs.TIER_MODULES[tier]} {fastgelu.__version__} ({fastgelu.get_isa()})"
    return Impl(name, label, funcs, tier=tier)


def _numpy_impl(threads: int | None) -> Impl:
    # Written as people write it: temporaries everywhere, the last step into out.
    # x*x*x, not x**3: NumPy's float power is a libm pow() call, 5x slower than the rest
    def gelu_tanh(x, out):
        inner = TANH_C * x * (1 + TANH_A * (x * x))
        return np.multiply(0.5 * x, 1 + np.tanh(inner), out=out)

    def gelu_tanh_grad(x, out):
        x2 = x * x
        t = np.tanh(TANH_C * x * (1 + TANH_A * x2))
        dinner = TANH_C * (1 + 3 * TANH_A * x2)
        return np.add(0.5 * (1 + t), 0.5 * x * (1 - t * t) * dinner, out=out)

    funcs: dict[str, Kernel] = {"gelu_tanh": gelu_tanh, "gelu_tanh_grad": gelu_tanh_grad}
    missing: dict[str, str] = {}
    try:
        from scipy.special import erf
    except ImportError as e:
        for kind in ("gelu", "gelu_grad") + FUSED_KINDS:
            missing[kind] = f"the exact NumPy formula needs scipy.special.erf ({e})"
        label = f"NumPy {np.__version__}"
    else:
        import scipy

        def gelu(x, out):
            return np.multiply(0.5 * x, 1 + erf(x * SQRT1_2), out=out)

        def gelu_grad(x, out):
            pdf = np.exp(-0.5 * x * x) * INV_SQRT_2PI
            return np.add(0.5 * (1 + erf(x * SQRT1_2)), x * pdf, out=out)

        def gelu_backward(x, out):
            return np.multiply(x[0], gelu_grad(x[1], None), out=out)

        def geglu(x, out):
            return np.multiply(gelu(x[0], None), x[1], out=out)

        funcs.update(gelu=gelu, gelu_grad=gelu_grad, gelu_backward=gelu_backward, geglu=geglu)
        label = f"NumPy {np.__version__} + SciPy {scipy.__version__} erf"
    return Impl("numpy", label, funcs, missing)


def _torch_impl(threads: int | None) -> Impl:
    try:
        import torch
        import torch.nn.functional as F
    except ImportError as e:
        raise Unavailable(f"PyTorch is not installed ({e})") from None

    if threads is not None:
        torch.set_num_threads(threads)
    ones: dict[tuple, Any] = {}

    def ones_like(t):
        key = (tuple(t.shape), t.dtype)
        if key not in ones:
            ones.clear()  # keep one: the benchmarks walk sizes in order
            ones[key] = torch.ones_like(t)
        return ones[key]

    def tensor(x):
        # torch.from_numpy has no bfloat16 (ml_dtypes' dtype): share its bits instead
        if x.dtype.name == "bfloat16":
            return torch.from_numpy(x.view(np.int16)).view(torch.bfloat16)
        return torch.from_numpy(x)

    def gelu(x, out):
        return F.gelu(tensor(x))

    def gelu_tanh(x, out):
        return F.gelu(tensor(x), approximate="tanh")

    def gelu_grad(x, out):
        t = tensor(x)
        return torch.ops.aten.gelu_backward(ones_like(t), t)

    def gelu_tanh_grad(x, out):
        t = tensor(x)
        return torch.ops.aten.gelu_backward(ones_like(t), t, approximate="tanh")

    def gelu_backward(x, out):
        return torch.ops.aten.gelu_backward(tensor(x[0]), tensor(x[1]))

    def geglu(x, out):
        return F.gelu(tensor(x[0])) * tensor(x[1])

    funcs = {"gelu": gelu, "gelu_tanh": gelu_tanh, "gelu_grad": gelu_grad,
             "gelu_tanh_grad": gelu_tanh_grad, "gelu_backward": gelu_backward,
             "geglu": geglu}
    return Impl("torch", f"PyTorch {torch.__version__}", funcs)


def _unfused_impl(threads: int | None) -> Impl:
    import fastgelu

    if threads is not None:
        fastgelu.set_num_threads(threads)

    def gelu_backward(x, out):
        return np.multiply(x[0], fastgelu.gelu_grad(x[1]), out=out)

    def geglu(x, out):
        return np.multiply(fastgelu.gelu(x[0]), x[1], out=out)

    missing = dict.fromkeys(KINDS, "unfused is the two-step form of the fused kinds")
    return Impl("unfused", "fastgelu unary ufunc, then np.multiply",
                {"gelu_backward": gelu_backward, "geglu": geglu}, missing)


def _copy_impl(threads: int | None) -> Impl:
    def copy(x, out):
        np.copyto(out, x[-1] if x.ndim > out.ndim else x)  # fused kinds: the last operand
        return out

    return Impl("copy", "np.copyto (bandwidth limit)", dict.fromkeys(ALL_KINDS, copy))


_FACTORIES: dict[str, Callable[[int | None], Impl]] = {
    **{impl: functools.partial(_fastgelu_impl, name=impl) for impl in FASTGELU_IMPLS},
    "numpy": _numpy_impl,
    "torch": _torch_impl,
    "unfused": _unfused_impl,
    "copy": _copy_impl,
}


def make_impl(name: str, threads: int | None = None) -> Impl:
    """Build one implementation; ``threads`` sets its thread count (None: leave it).

    Raises
    ------
    ValueError
        If ``name`` is not one of :data:`ALL_IMPLS`.
    Unavailable
        If it cannot run here (e.g. PyTorch is not installed).
    """
    if name not in _FACTORIES:
        raise ValueError(f"unknown implementation {name!r}; choose from {', '.join(ALL_IMPLS)}")
    return _FACTORIES[name](threads)


def implementations(
    names: Iterable[str] = IMPLS, threads: int | None = None
) -> tuple[dict[str, Impl], dict[str, str]]:
    """The implementations that can run here, and ``{name: reason}`` for those that can't."""
    impls: dict[str, Impl] = {}
    skipped: dict[str, str] = {}
    for name in names:
        try:
            impls[name] = make_impl(name, threads)
        except Unavailable as e:
            skipped[name] = str(e)
    return impls, skipped


def as_numpy(result: Any) -> np.ndarray:
    """An implementation's result as a NumPy array (PyTorch tensors share memory)."""
    if isinstance(result, np.ndarray):
        return result
    if str(getattr(result, "dtype", "")) == "torch.bfloat16":  # .numpy() has no bfloat16
        import torch

        from . import _ufuncs

        return result.view(torch.int16).numpy().view(_ufuncs.bfloat16)
    if hasattr(result, "numpy"):
        return result.numpy()
    return np.asarray(result)
