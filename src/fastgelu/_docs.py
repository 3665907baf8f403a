"""Docstrings of the ufuncs (NumPy prepends the call signature when it shows them)."""

_COMMON_PARAMS = """
Parameters
----------
x : array_like
    Input values. float32 (and float16, int8/int16, uint8/uint16) compute in float32;
    float64 and other integers in float64, as with ``np.exp``.
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
