# Type stubs for fastgelu.fast (fast.py): the fast tier's ufuncs, one per row of the
# kernel table, typed as the top level's of the same names in _ufuncs.pyi
# (tests/test_kernel_table.py checks both stubs against the table).
from ._ufuncs import (
    geglu as geglu,
)
from ._ufuncs import (
    geglu_backward as geglu_backward,
)
from ._ufuncs import (
    geglu_tanh as geglu_tanh,
)
from ._ufuncs import (
    geglu_tanh_backward as geglu_tanh_backward,
)
from ._ufuncs import (
    gelu as gelu,
)
from ._ufuncs import (
    gelu_backward as gelu_backward,
)
from ._ufuncs import (
    gelu_grad as gelu_grad,
)
from ._ufuncs import (
    gelu_tanh as gelu_tanh,
)
from ._ufuncs import (
    gelu_tanh_backward as gelu_tanh_backward,
)
from ._ufuncs import (
    gelu_tanh_grad as gelu_tanh_grad,
)

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
