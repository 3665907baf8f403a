# Type stubs for fastgelu.fast (fast.py): the fast tier's ufuncs, one per row of the
# kernel table, typed as the top level's of the same names in _ufuncs.pyi (a star import
# from a stub re-exports its __all__: the ufuncs' names, checked against the table by
# tests/test_kernel_table.py).
from ._ufuncs import *
from ._ufuncs import __all__ as __all__
