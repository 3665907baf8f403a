"""fastgelu: fast, accurate GELU and its gradient as NumPy ufuncs.

>>> import numpy as np, fastgelu
>>> y = fastgelu.gelu(np.linspace(-3, 3, 7))
>>> dx = fastgelu.gelu_backward(np.ones(7), np.linspace(-3, 3, 7))  # grad_out * gelu'(x)

The functions are real ``numpy.ufunc`` objects, so they take ``out=``, ``where=``,
``dtype=``, ``casting=``, broadcast, accept any strides, and dispatch through
``__array_ufunc__`` (Dask, xarray) like ``np.exp``. Besides the activations and their
local gradients: the fused backward passes (``gelu_backward``, ``gelu_tanh_backward``),
the GeGLU gate (``geglu``, ``geglu_tanh``) and its gradients (``geglu_backward``,
``geglu_tanh_backward``, two outputs), each one pass over memory with one rounding.

``fastgelu.fast`` holds the same ufuncs in a fast tier: at most 4 ulp instead of 1, tails
kept, several times faster in float32.
"""
import os as _os

from . import _ufuncs, fast  # noqa: F401 -- fast: the fast tier, fastgelu.fast.<name>
from ._config import get_isa, get_num_threads, set_isa, set_num_threads, show_config
from ._ufuncs import *  # noqa: F403 -- the ufuncs: one per row of _ufuncs.KERNELS
from ._version import __version__

__all__ = [
    "__version__",
    "get_isa",
    "get_num_threads",
    "set_isa",
    "set_num_threads",
    "show_config",
]
__all__ += _ufuncs.__all__  # the ufuncs' names, from the kernel table (kernels/fg_kernels.h)

# FASTGELU_ISA=avx2|avx512|baseline forces a kernel build (e.g. to compare paths).
set_isa(_os.environ.get("FASTGELU_ISA", "auto") or "auto")
