"""fastgelu inside PyTorch's autograd, on CPU tensors, without copies.

``FastGELU`` is a ``torch.autograd.Function``: forward runs ``fastgelu.gelu`` (or
``gelu_tanh``), backward the fused ``fastgelu.gelu_backward`` (``grad_out * gelu'(x)``
in one pass, rounded once). ``tensor.numpy()`` on a CPU tensor is a view of the same
memory, so the ufuncs read the tensors and write their results straight into tensors
allocated by PyTorch (``out=``): no copy in either direction.

CPU tensors of float16, float32 or float64 only (NumPy has no bfloat16; ``.numpy()`` of a
CUDA tensor would copy). First-order gradients only (the backward is not itself
differentiable: ``once_differentiable``). PyTorch stays optional for fastgelu: only this
example imports it.

    python examples/torch_autograd.py
"""
from __future__ import annotations

import time

import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

import fastgelu

_FORWARD = {"none": fastgelu.gelu, "tanh": fastgelu.gelu_tanh}
_BACKWARD = {"none": fastgelu.gelu_backward, "tanh": fastgelu.gelu_tanh_backward}


def _view(t: torch.Tensor):
    """The NumPy view of a CPU tensor's memory (no copy; any strides)."""
    if t.device.type != "cpu":
        raise TypeError(f"fastgelu runs on CPU tensors, got a {t.device.type} tensor")
    return t.detach().numpy()


class FastGELU(torch.autograd.Function):
    """GELU with fastgelu's kernels; ``approximate`` as in ``torch.nn.functional.gelu``."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, approximate: str = "none") -> torch.Tensor:
        y = torch.empty_like(x)
        _FORWARD[approximate](_view(x), out=_view(y))
        ctx.save_for_backward(x)
        ctx.approximate = approximate
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out: torch.Tensor):
        (x,) = ctx.saved_tensors
        grad_in = torch.empty_like(x)
        # grad_out may be an expanded (zero-stride) tensor, e.g. from .sum(): the ufunc
        # takes any strides
        _BACKWARD[ctx.approximate](_view(grad_out), _view(x), out=_view(grad_in))
        return grad_in, None


def gelu(x: torch.Tensor, approximate: str = "none") -> torch.Tensor:
    """Drop-in for ``torch.nn.functional.gelu`` on CPU tensors."""
    return FastGELU.apply(x, approximate)


class GELU(torch.nn.Module):
    """Drop-in for ``torch.nn.GELU`` on CPU."""

    def __init__(self, approximate: str = "none"):
        super().__init__()
        self.approximate = approximate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return gelu(x, self.approximate)


def _demo() -> None:
    torch.manual_seed(0)
    x = (3 * torch.randn(1_000_000)).requires_grad_()
    for name, fn in (("fastgelu", gelu), ("torch", F.gelu)):
        t0 = time.perf_counter()
        for _ in range(20):
            y = fn(x)
            (g,) = torch.autograd.grad(y.sum(), x)
        dt = (time.perf_counter() - t0) / 20
        print(f"{name:9s} forward + backward, 1e6 float32: {dt * 1e3:.2f} ms")
    y_ref = F.gelu(x)
    (g_ref,) = torch.autograd.grad(y_ref.sum(), x)
    y = gelu(x)
    (g,) = torch.autograd.grad(y.sum(), x)
    print("max |forward - F.gelu| :", float((y - y_ref).abs().max().detach()))
    print("max |backward - torch| :", float((g - g_ref).abs().max()))
    x64 = torch.randn(64, dtype=torch.float64, requires_grad=True)
    print("gradcheck (float64)    :", torch.autograd.gradcheck(gelu, (x64,)))


if __name__ == "__main__":
    _demo()
