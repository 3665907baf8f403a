"""fastgelu.fast: the fast tier -- the same ufuncs as ``fastgelu``, at most 4 ulp.

>>> import numpy as np, fastgelu.fast as fgf
>>> y = fgf.gelu(np.linspace(-3, 3, 7, dtype=np.float32))

Every function of the top level is here, with the same name, signature, loops (float16,
bfloat16 where ml_dtypes is installed, float32, float64) and ufunc behaviour, computed in
the input's own precision: within 4 ulp of the true value for every input, tails
included (the exact tier, ``fastgelu.<name>``, is within 1 ulp and slower). Threads, the
ISA build (``fastgelu.set_isa``) and ``fastgelu.show_config()`` are shared with the top
level. See the README, "Which tier?".
"""
from . import _ufuncs

# the ufuncs: one per row of the kernel table (kernels/fg_kernels.h), as at the top level
globals().update(_ufuncs.UFUNCS["fast"])
__all__ = [k.name for k in _ufuncs.KERNELS]
