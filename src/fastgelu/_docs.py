"""Docstrings of the ufuncs (NumPy prepends the call signature when it shows them)."""

_COMMON_PARAMS = """
Parameters
----------
x : array_like
    Input values. Loops: float16 (computed in float32, then rounded to float16),
    float32 and float64, and bfloat16 where ml_dtypes is installed (computed in float32
    too). Other inputs cast as for ``np.exp``: bool, int8 and uint8 run the float16 loop
    (and return float16), int16/uint16 float32, larger integers float64.
out : ndarray, None, or tuple of ndarray and None, optional
    A location into which the result is stored; it may be ``x`` itself (in place).
where : array_like, optional
    Where False, ``out`` keeps its value (uninitialized if ``out`` is not given).
**kwargs
    ``dtype=``, ``casting=``, ``order=`` and the other ufunc keyword arguments; see
    the NumPy documentation on ufuncs.
"""

_ACCURACY = """
Accuracy is stated in units in the last place (ulp) of the result's dtype and checked
against a higher-precision reference; see the README for the measured figures. The
kernels never lose accuracy in the negative tail, where ``x * Phi(x)`` is tiny and the
usual ``0.5*x*(1+erf(x/sqrt(2)))`` cancels to zero.
"""

UFUNC_DOCS = {
    "gelu": f"""Exact GELU, ``x * Phi(x)``, with ``Phi`` the standard normal CDF.

The Gaussian Error Linear Unit (Hendrycks & Gimpel, 2016), the form PyTorch computes
with ``torch.nn.functional.gelu(x)`` (``approximate='none'``).
{_COMMON_PARAMS}
Returns
-------
y : ndarray or scalar
    ``x * Phi(x)``; a scalar if ``x`` is a scalar.

See Also
--------
gelu_tanh : the tanh approximation.
gelu_grad : the derivative.

Notes
-----
Special values: ``gelu(inf) = inf``, ``gelu(-inf) = 0`` (as ``-0.0``),
``gelu(nan) = nan``, ``gelu(-0.0) = -0.0``.
{_ACCURACY}
Examples
--------
>>> import numpy as np, fastgelu
>>> fastgelu.gelu(np.array([-1.0, 0.0, 1.0]))
array([-0.15865525,  0.        ,  0.84134475])
>>> x = np.linspace(-3, 3, 7, dtype=np.float32)
>>> _ = fastgelu.gelu(x, out=x)   # in place
""",
    "gelu_grad": f"""Derivative of the exact GELU, ``Phi(x) + x * phi(x)``.

``phi`` is the standard normal density. The result is the local gradient PyTorch's
``gelu_backward`` multiplies the incoming gradient by.
{_COMMON_PARAMS}
Returns
-------
y : ndarray or scalar
    ``d/dx gelu(x)``; a scalar if ``x`` is a scalar.

See Also
--------
gelu : the function itself.

Notes
-----
Special values: ``gelu_grad(inf) = 1``, ``gelu_grad(-inf) = 0``,
``gelu_grad(0) = 0.5``, ``gelu_grad(nan) = nan``. The gradient has a zero near
``x = -0.7518`` where ``Phi(x)`` and ``x * phi(x)`` cancel; it is computed there
without that cancellation.
{_ACCURACY}
Examples
--------
>>> import numpy as np, fastgelu
>>> fastgelu.gelu_grad(np.array([-1.0, 0.0, 1.0]))
array([-0.08331547,  0.5       ,  1.08331547])
""",
    "gelu_tanh": f"""GELU, tanh approximation: ``0.5 * x * (1 + tanh(z))``.

``z = sqrt(2/pi) * (x + 0.044715 * x**3)``; the form PyTorch computes with
``torch.nn.functional.gelu(x, approximate='tanh')`` (GPT-2, BERT's original code).
It is evaluated as ``x * sigmoid(2 z)``, which does not cancel for negative ``x``.
{_COMMON_PARAMS}
Returns
-------
y : ndarray or scalar
    The tanh-approximated GELU; a scalar if ``x`` is a scalar.

See Also
--------
gelu : the exact form.
gelu_tanh_grad : the derivative.

Notes
-----
Special values: ``gelu_tanh(inf) = inf``, ``gelu_tanh(-inf) = 0`` (as ``-0.0``),
``gelu_tanh(nan) = nan``, ``gelu_tanh(-0.0) = -0.0``.
{_ACCURACY}
Examples
--------
>>> import numpy as np, fastgelu
>>> fastgelu.gelu_tanh(np.array([-1.0, 0.0, 1.0]))
array([-0.15880801,  0.        ,  0.84119199])
""",
    "gelu_tanh_grad": f"""Derivative of the tanh-approximated GELU.

The exact derivative of ``0.5 * x * (1 + tanh(z))``, ``z = sqrt(2/pi) * (x + 0.044715 *
x**3)``: ``0.5 * (1 + tanh(z)) + 0.5 * x * (1 - tanh(z)**2) * dz/dx``.
{_COMMON_PARAMS}
Returns
-------
y : ndarray or scalar
    ``d/dx gelu_tanh(x)``; a scalar if ``x`` is a scalar.

See Also
--------
gelu_tanh : the function itself.

Notes
-----
Special values: ``gelu_tanh_grad(inf) = 1``, ``gelu_tanh_grad(-inf) = 0``,
``gelu_tanh_grad(0) = 0.5``, ``gelu_tanh_grad(nan) = nan``.
{_ACCURACY}
Examples
--------
>>> import numpy as np, fastgelu
>>> fastgelu.gelu_tanh_grad(np.array([-1.0, 0.0, 1.0]))
array([-0.08296408,  0.5       ,  1.08296408])
""",
}


_KWARGS = """out : ndarray, None, or tuple of ndarray and None, optional
    Where to store the result{s}; an output may be one of the
    inputs (in place).
where : array_like, optional
    Where False, the output keeps its value (uninitialized if no ``out`` is given).
**kwargs
    ``dtype=``, ``casting=``, ``order=`` and the other ufunc keyword arguments; see
    the NumPy documentation on ufuncs."""

_FUSED_ACCURACY = """
The product is rounded once: the kernel multiplies the function's unrounded value
(float32, float16 and bfloat16: a double within ~0.04 float32 ulp; float64: a
double-double) instead of rounding the function and then the product. Measured error,
in ulps of the result dtype: float32 <= 0.54, float64 <= 0.71 (<= 0.53 away from the
subnormal range), float16 <= 0.51, bfloat16 <= 0.5001; checked in the test suite.
Special values are those of the unfused product (``inf * 0`` is NaN, NaN propagates,
overflow gives inf and NumPy's overflow warning); the inputs broadcast. float32, float16
and bfloat16: within the bound for every input. float64, far left beyond the kernels'
range (``x < -38.75``; ``-22`` for the tanh form), the function is taken as ``-0.0``, as
in the unfused product: exact there only for a multiplier of magnitude at most 32 (see
the README).
"""

_DTYPES = """Loops: float16 (computed in float32, then rounded to float16), float32 and
float64, and bfloat16 where ml_dtypes is installed (computed in float32 too); mixed
inputs promote as for ``np.multiply`` (bfloat16 with float16 or float32: float32)."""


def _backward_doc(grad, forward, torch_call):
    return f"""The backward pass of ``{forward}``: ``grad_out * {grad}(x)`` in one pass.

The same contract as PyTorch's ``{torch_call}``: given the gradient
flowing back into ``{forward}(x)``, return the gradient with respect to ``x``.
No temporary array: the local gradient is computed and multiplied element by element.

Parameters
----------
x1 : array_like
    ``grad_out``, the gradient with respect to the output of ``{forward}``. A scalar
    (e.g. 1.0) broadcasts.
x2 : array_like
    ``x``, the input ``{forward}`` was applied to.
{_KWARGS.format(s="")}

Returns
-------
y : ndarray or scalar
    ``grad_out * {grad}(x)``; a scalar if both inputs are scalars.

See Also
--------
{grad} : the local gradient alone.
{forward} : the forward function.

Notes
-----
{_DTYPES}
{_FUSED_ACCURACY}
"""


def _gate_doc(gate, fn, grad):
    return f"""GeGLU gate ``{fn}(a) * b`` in one pass.

The gated feed-forward unit of Shazeer (2020), used by T5 v1.1 and Gemma:
``FFN(x) = ({gate}(x W, x V)) W2``. One pass over ``a`` and ``b``, no temporary for
``{fn}(a)``.

Parameters
----------
x1 : array_like
    ``a``, the gate's pre-activation.
x2 : array_like
    ``b``, the value it multiplies.
{_KWARGS.format(s="")}

Returns
-------
y : ndarray or scalar
    ``{fn}(a) * b``; a scalar if both inputs are scalars.

See Also
--------
{gate}_backward : its gradients.
{fn} : the activation alone.

Notes
-----
{_DTYPES}
{_FUSED_ACCURACY}
"""


def _gate_backward_doc(gate, fn, grad):
    return f"""Gradients of the GeGLU gate ``{gate}(a, b) = {fn}(a) * b``, in one pass.

Given ``grad_out``, the gradient with respect to ``{gate}(a, b)``, returns
``(grad_a, grad_b) = (grad_out * b * {grad}(a), grad_out * {fn}(a))``: a ufunc with
three inputs and two outputs, so both gradients come from one pass over the inputs.

Parameters
----------
x1 : array_like
    ``grad_out``, the gradient with respect to the gate's output.
x2 : array_like
    ``a``, the gate's pre-activation.
x3 : array_like
    ``b``, the value it multiplies.
{_KWARGS.format(s="s (a tuple of two arrays)")}

Returns
-------
grad_a : ndarray or scalar
    ``grad_out * b * {grad}(a)``.
grad_b : ndarray or scalar
    ``grad_out * {fn}(a)``.

See Also
--------
{gate} : the forward gate.

Notes
-----
{_DTYPES}
``grad_out * b`` is formed exactly (float32: in double; float64: as a double-double,
unless it overflows, which then follows the unfused product) before the single rounding
of ``grad_a``.
{_FUSED_ACCURACY}
"""


UFUNC_DOCS["gelu_backward"] = _backward_doc(
    "gelu_grad", "gelu", "torch.ops.aten.gelu_backward(grad_out, x)") + """
Examples
--------
>>> import numpy as np, fastgelu
>>> fastgelu.gelu_backward(np.array([1.0, 2.0, 3.0]), np.array([-1.0, 0.0, 1.0]))
array([-0.08331547,  1.        ,  3.24994641])
>>> fastgelu.gelu_backward(1.0, np.float32(0.5))   # grad_out broadcasts
np.float32(0.8674951)
"""
UFUNC_DOCS["gelu_tanh_backward"] = _backward_doc(
    "gelu_tanh_grad", "gelu_tanh",
    "torch.ops.aten.gelu_backward(grad_out, x, approximate='tanh')") + """
Examples
--------
>>> import numpy as np, fastgelu
>>> fastgelu.gelu_tanh_backward(np.array([1.0, 2.0, 3.0]), np.array([-1.0, 0.0, 1.0]))
array([-0.08296408,  1.        ,  3.24889225])
>>> g = np.ones((2, 3), np.float32)
>>> fastgelu.gelu_tanh_backward(g, np.zeros(3, np.float32)).shape   # broadcasting
(2, 3)
"""
UFUNC_DOCS["geglu"] = _gate_doc("geglu", "gelu", "gelu_grad") + """
Examples
--------
>>> import numpy as np, fastgelu
>>> fastgelu.geglu(np.array([-1.0, 0.0, 1.0]), np.array([2.0, 2.0, 2.0]))
array([-0.31731051,  0.        ,  1.68268949])
>>> h = np.arange(8.0).reshape(2, 4)          # [x W | x V] from one matmul
>>> a, b = np.split(h, 2, axis=-1)
>>> fastgelu.geglu(a, b).shape
(2, 2)
"""
UFUNC_DOCS["geglu_tanh"] = _gate_doc("geglu_tanh", "gelu_tanh", "gelu_tanh_grad") + """
Examples
--------
>>> import numpy as np, fastgelu
>>> fastgelu.geglu_tanh(np.array([-1.0, 0.0, 1.0]), np.array([2.0, 2.0, 2.0]))
array([-0.31761602,  0.        ,  1.68238398])
>>> fastgelu.geglu_tanh(np.float32(1.0), np.float32(-3.0)).dtype
dtype('float32')
"""
UFUNC_DOCS["geglu_backward"] = _gate_backward_doc("geglu", "gelu", "gelu_grad") + """
Examples
--------
>>> import numpy as np, fastgelu
>>> grad_a, grad_b = fastgelu.geglu_backward(1.0, np.array([-1.0, 0.0, 1.0]), 2.0)
>>> grad_a
array([-0.16663094,  1.        ,  2.16663094])
>>> grad_b
array([-0.15865525,  0.        ,  0.84134475])
"""
UFUNC_DOCS["geglu_tanh_backward"] = _gate_backward_doc(
    "geglu_tanh", "gelu_tanh", "gelu_tanh_grad") + """
Examples
--------
>>> import numpy as np, fastgelu
>>> grad_a, grad_b = fastgelu.geglu_tanh_backward(1.0, np.array([-1.0, 0.0, 1.0]), 2.0)
>>> grad_a
array([-0.16592817,  1.        ,  2.16592817])
>>> grad_b
array([-0.15880801,  0.        ,  0.84119199])
"""


# ---------------------------------------------------------------------------------------
# The fast tier (fastgelu.fast): the same functions, signatures and loops, <= 4 ulp.
# Its docstrings are the exact tier's with the accuracy notes and examples replaced.
# ---------------------------------------------------------------------------------------
_FAST_ACCURACY = """
This is the fast tier, ``fastgelu.fast``: at most 4 ulp of the result's dtype for every
input (float32: checked over all 2**32 inputs on every ISA build; float64: against an
mpmath reference), computed in the input's own precision. The tails are kept: the
relative error stays within the bound down to where the true result underflows (no
collapse to 0 in the negative tail). float16 and bfloat16 results run the float32 kernel
and stay within 1 ulp of their own dtype. ``fastgelu.{name}`` is the exact tier (at most
1 ulp), slower. Special values are the exact tier's.
"""

_FAST_FUSED_ACCURACY = """
This is the fast tier, ``fastgelu.fast``: at most 4 ulp of the result's dtype (the
function's own error plus the product's rounding), with the tails kept, as for the
one-input functions; float16 and bfloat16 within 1 ulp of their own dtype.
``fastgelu.{name}`` is the exact tier (rounded once, at most 1 ulp), slower. Special
values are those of the unfused product, as in the exact tier. float64, far left beyond
the kernels' range, the function is taken as ``-0.0``, as in the unfused product.
"""

_FAST_EXAMPLE_ARGS = {1: "x", 2: "x, 2.0", 3: "1.0, x, 2.0"}


def tier_doc(name, tier, nin):
    """The docstring of the ufunc ``name`` (``nin`` inputs) of a tier ("exact", "fast")."""
    doc = UFUNC_DOCS[name]
    if tier == "exact":
        return doc
    assert tier == "fast", tier
    body = doc.split("\nExamples\n--------\n")[0]
    body = body.replace(_ACCURACY, _FAST_ACCURACY.format(name=name))
    body = body.replace(_FUSED_ACCURACY, _FAST_FUSED_ACCURACY.format(name=name))
    assert "fast tier" in body, name  # every docstring states the tier's bound
    args = _FAST_EXAMPLE_ARGS[nin]
    return body + f"""
Examples
--------
>>> import numpy as np, fastgelu
>>> x = np.linspace(-4, 4, 9, dtype=np.float32)
>>> fast, exact = fastgelu.fast.{name}({args}), fastgelu.{name}({args})
>>> np.allclose(fast, exact, rtol=1e-6, atol=0)   # 4 float32 ulp are <= 4.8e-7 relative
True
"""
