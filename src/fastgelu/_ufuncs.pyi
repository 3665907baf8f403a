# Type stubs for the compiled module (see _ufuncs.pyx). The ufuncs take the usual
# ufunc arguments (out=, where=, dtype=, casting=, order=, subok=, signature=).
from typing import NamedTuple, SupportsIndex

import numpy as np

# The ufuncs, one per row of the kernel table (kernels/fg_kernels.h); the names here and
# below match the table (tests/test_kernel_table.py checks).
__all__ = [
    "geglu",
    "geglu_backward",
    "geglu_tanh",
    "geglu_tanh_backward",
    "gelu",
    "gelu_backward",
    "gelu_grad",
    "gelu_tanh",
    "gelu_tanh_backward",
    "gelu_tanh_grad",
]

class KernelInfo(NamedTuple):
    name: str
    nin: int
    nout: int

KERNELS: tuple[KernelInfo, ...]

# The loops: float16, float32, float64 (ufunc.types), and bfloat16 where ml_dtypes
# imports (a user dtype's loops are not listed in ufunc.types).

gelu: np.ufunc
gelu_grad: np.ufunc
gelu_tanh: np.ufunc
gelu_tanh_grad: np.ufunc
# grad_out * gelu'(x) and grad_out * gelu_tanh'(x): nin=2, nout=1
gelu_backward: np.ufunc
gelu_tanh_backward: np.ufunc
# gelu(a) * b and gelu_tanh(a) * b: nin=2, nout=1
geglu: np.ufunc
geglu_tanh: np.ufunc
# (grad_out, a, b) -> (grad_a, grad_b): nin=3, nout=2
geglu_backward: np.ufunc
geglu_tanh_backward: np.ufunc

# ml_dtypes' bfloat16 dtype if its loops are registered, else None.
bfloat16: np.dtype | None

def get_num_threads() -> int: ...
def set_num_threads(n: SupportsIndex) -> None: ...
def openmp_enabled() -> bool: ...
def compiler() -> str: ...
def compiled_isas() -> list[str]: ...
def cpu_supports(name: str) -> bool: ...
def active_isa() -> str: ...
def select_isa(name: str) -> None: ...
def get_parallel_threshold(dtype: str) -> int: ...
def set_parallel_threshold(dtype: str, n: SupportsIndex) -> None: ...
