# Type stubs for the compiled module (see _ufuncs.pyx). The ufuncs take the usual
# ufunc arguments (out=, where=, dtype=, casting=, order=, subok=, signature=).
from typing import Any, Generic, Literal, NamedTuple, SupportsIndex, TypeVar, overload

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray
from typing_extensions import TypedDict, Unpack

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
# The accuracy tiers ("exact", "fast"), the module of each tier's ufuncs, and the ufuncs
# of each tier by name (fastgelu.fast takes its ufuncs from UFUNCS["fast"]).
TIERS: tuple[str, ...]
TIER_MODULES: dict[str, str]
UFUNCS: dict[str, dict[str, np.ufunc]]

# The loops: float16, float32, float64 (ufunc.types), and bfloat16 where ml_dtypes
# imports (a user dtype's loops are not listed in ufunc.types).
#
# One class per shape of the kernel table (UNARY, BINARY, TERNARY2), written here rather
# than taken from numpy._typing._ufunc: that module is private, has no three-input
# shape, and types a scalar call as Any (and, under mypy, an NDArray[Any] call too: its
# Any-returning overload also matches). The overloads, first match wins:
#   1. NumPy float scalars of one type (float16, float32, float64) -> that type;
#   2. other scalars (Python numbers, other NumPy scalars; or a dtype=) -> np.floating;
#   3. arrays of one float type -> arrays of that type;
#   4. out= -> the out= array(s), which a ufunc returns;
#   5. anything else array-like -> NDArray[Any]. Objects that take over through
#      __array_ufunc__ (a Dask array) are typed as ndarrays here, as NumPy types its own
#      ufuncs: an Any-returning overload for them would turn every NDArray[Any] call
#      into Any as well.
_FloatT = TypeVar("_FloatT", np.float16, np.float32, np.float64)
_ArrayT = TypeVar("_ArrayT", bound=np.ndarray[Any, Any])
_Array2T = TypeVar("_Array2T", bound=np.ndarray[Any, Any])
_Scalar = float | np.generic  # float also takes int and bool

class _Kwargs(TypedDict, total=False):
    where: ArrayLike | None
    casting: Literal["no", "equiv", "safe", "same_kind", "unsafe"]
    order: Literal["K", "A", "C", "F"]
    subok: bool
    signature: str | tuple[str | None, ...] | None

_NIn = TypeVar("_NIn", bound=int, covariant=True)
_NOut = TypeVar("_NOut", bound=int, covariant=True)

# np.ufunc is final to the type checker, not at run time (NumPy's stubs subclass it too).
class _UFunc(np.ufunc, Generic[_NIn, _NOut]):  # type: ignore[misc]
    @property
    def nin(self) -> _NIn: ...
    @property
    def nout(self) -> _NOut: ...

class _UnaryUFunc(_UFunc[Literal[1], Literal[1]]):  # type: ignore[misc]
    """f(x): one input, one output."""

    @overload
    def __call__(self, x: _FloatT, /, out: None = None, *, dtype: None = None,
                 **kwargs: Unpack[_Kwargs]) -> _FloatT: ...
    @overload
    def __call__(self, x: _Scalar, /, out: None = None, *, dtype: DTypeLike | None = None,
                 **kwargs: Unpack[_Kwargs]) -> np.floating[Any]: ...
    @overload
    def __call__(self, x: NDArray[_FloatT], /, out: None = None, *, dtype: None = None,
                 **kwargs: Unpack[_Kwargs]) -> NDArray[_FloatT]: ...
    @overload
    def __call__(self, x: ArrayLike, /, out: _ArrayT | tuple[_ArrayT], *,
                 dtype: DTypeLike | None = None, **kwargs: Unpack[_Kwargs]) -> _ArrayT: ...
    @overload
    def __call__(self, x: ArrayLike, /, out: None = None, *, dtype: DTypeLike | None = None,
                 **kwargs: Unpack[_Kwargs]) -> NDArray[Any]: ...

class _BinaryUFunc(_UFunc[Literal[2], Literal[1]]):  # type: ignore[misc]
    """f(x1, x2): two inputs, one output."""

    @overload
    def __call__(self, x1: _FloatT, x2: _FloatT, /, out: None = None, *, dtype: None = None,
                 **kwargs: Unpack[_Kwargs]) -> _FloatT: ...
    @overload
    def __call__(self, x1: _Scalar, x2: _Scalar, /, out: None = None, *,
                 dtype: DTypeLike | None = None, **kwargs: Unpack[_Kwargs]) -> np.floating[Any]: ...
    @overload
    def __call__(self, x1: NDArray[_FloatT], x2: NDArray[_FloatT], /, out: None = None, *,
                 dtype: None = None, **kwargs: Unpack[_Kwargs]) -> NDArray[_FloatT]: ...
    @overload
    def __call__(self, x1: ArrayLike, x2: ArrayLike, /, out: _ArrayT | tuple[_ArrayT], *,
                 dtype: DTypeLike | None = None, **kwargs: Unpack[_Kwargs]) -> _ArrayT: ...
    @overload
    def __call__(self, x1: ArrayLike, x2: ArrayLike, /, out: None = None, *,
                 dtype: DTypeLike | None = None, **kwargs: Unpack[_Kwargs]) -> NDArray[Any]: ...

class _Ternary2UFunc(_UFunc[Literal[3], Literal[2]]):  # type: ignore[misc]
    """f(x1, x2, x3) -> (y1, y2): three inputs, two outputs (out= takes a pair)."""

    @overload
    def __call__(self, x1: _FloatT, x2: _FloatT, x3: _FloatT, /, *, out: None = None,
                 dtype: None = None, **kwargs: Unpack[_Kwargs]) -> tuple[_FloatT, _FloatT]: ...
    @overload
    def __call__(self, x1: _Scalar, x2: _Scalar, x3: _Scalar, /, *, out: None = None,
                 dtype: DTypeLike | None = None,
                 **kwargs: Unpack[_Kwargs]) -> tuple[np.floating[Any], np.floating[Any]]: ...
    @overload
    def __call__(self, x1: NDArray[_FloatT], x2: NDArray[_FloatT], x3: NDArray[_FloatT], /, *,
                 out: None = None, dtype: None = None,
                 **kwargs: Unpack[_Kwargs]) -> tuple[NDArray[_FloatT], NDArray[_FloatT]]: ...
    @overload
    def __call__(self, x1: ArrayLike, x2: ArrayLike, x3: ArrayLike, out1: _ArrayT,
                 out2: _Array2T, /, *, dtype: DTypeLike | None = None,
                 **kwargs: Unpack[_Kwargs]) -> tuple[_ArrayT, _Array2T]: ...
    @overload
    def __call__(self, x1: ArrayLike, x2: ArrayLike, x3: ArrayLike, /, *,
                 out: tuple[_ArrayT, _Array2T], dtype: DTypeLike | None = None,
                 **kwargs: Unpack[_Kwargs]) -> tuple[_ArrayT, _Array2T]: ...
    @overload
    def __call__(self, x1: ArrayLike, x2: ArrayLike, x3: ArrayLike, /, *, out: None = None,
                 dtype: DTypeLike | None = None,
                 **kwargs: Unpack[_Kwargs]) -> tuple[NDArray[Any], NDArray[Any]]: ...

gelu: _UnaryUFunc
gelu_grad: _UnaryUFunc
gelu_tanh: _UnaryUFunc
gelu_tanh_grad: _UnaryUFunc
# grad_out * gelu'(x) and grad_out * gelu_tanh'(x)
gelu_backward: _BinaryUFunc
gelu_tanh_backward: _BinaryUFunc
# gelu(a) * b and gelu_tanh(a) * b
geglu: _BinaryUFunc
geglu_tanh: _BinaryUFunc
# (grad_out, a, b) -> (grad_a, grad_b)
geglu_backward: _Ternary2UFunc
geglu_tanh_backward: _Ternary2UFunc

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
