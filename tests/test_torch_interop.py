"""examples/torch_autograd.py: fastgelu in a torch.autograd.Function on CPU tensors,
zero-copy through ``tensor.numpy()``. Skipped when PyTorch is not installed (it is never
a dependency of fastgelu)."""
from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest

import fastgelu

torch = pytest.importorskip("torch")
F = torch.nn.functional

EXAMPLE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                       "examples", "torch_autograd.py")


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("torch_autograd_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _bits(t):
    return t.detach().numpy().view({2: np.uint16, 4: np.uint32, 8: np.uint64}[t.element_size()])


@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("dtype", [torch.float16, torch.float32, torch.float64])
def test_forward_and_backward_are_fastgelus(example, approximate, dtype):
    torch.manual_seed(0)
    x = (3 * torch.randn(5000, dtype=torch.float64)).to(dtype).requires_grad_()
    grad_out = torch.randn(5000, dtype=torch.float64).to(dtype)
    y = example.gelu(x, approximate)
    y.backward(grad_out)
    xn = x.detach().numpy()
    forward = fastgelu.gelu if approximate == "none" else fastgelu.gelu_tanh
    backward = fastgelu.gelu_backward if approximate == "none" else fastgelu.gelu_tanh_backward
    np.testing.assert_array_equal(_bits(y), forward(xn).view(_bits(y).dtype))
    np.testing.assert_array_equal(_bits(x.grad),
                                  backward(grad_out.numpy(), xn).view(_bits(y).dtype))
    # and close to PyTorch's own (which is less accurate; float16 in torch computes in
    # float32 too)
    tol = {torch.float16: 2e-3, torch.float32: 1e-5, torch.float64: 1e-12}[dtype]
    x_ref = x.detach().clone().requires_grad_()
    y_ref = F.gelu(x_ref, approximate=approximate)
    y_ref.backward(grad_out)
    assert torch.allclose(y, y_ref, rtol=tol, atol=tol)
    assert torch.allclose(x.grad, x_ref.grad, rtol=tol, atol=tol)


def test_gradcheck_float64(example):
    x = torch.randn(40, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(example.gelu, (x,))
    assert torch.autograd.gradcheck(lambda t: example.gelu(t, "tanh"), (x,))


def test_module_in_a_network(example):
    torch.manual_seed(1)
    net = torch.nn.Sequential(torch.nn.Linear(8, 16), example.GELU(), torch.nn.Linear(16, 1))
    ref = torch.nn.Sequential(net[0], torch.nn.GELU(), net[2])
    x = torch.randn(32, 8)
    net(x).sum().backward()
    grads = [p.grad.clone() for p in net.parameters()]
    net.zero_grad()
    ref(x).sum().backward()
    for a, p in zip(grads, ref.parameters()):
        assert torch.allclose(a, p.grad, rtol=1e-5, atol=1e-6)


def test_numpy_views_share_the_tensors_memory(example):
    """The zero-copy the example relies on: .numpy() views, and out= writes into them."""
    x = torch.randn(1000)
    view = x.numpy()
    assert view.ctypes.data == x.data_ptr()
    expected = fastgelu.gelu(view.copy())
    fastgelu.gelu(view, out=view)  # in place, in the tensor's memory
    assert np.array_equal(x.numpy(), expected)
    # strided and expanded tensors are views too (the backward gets such grad_outs)
    t = torch.randn(10, 10).t()
    assert not t.is_contiguous() and np.shares_memory(t.numpy(), t.numpy())
    e = torch.ones(1).expand(100)
    assert e.numpy().strides == (0,)
    y = torch.randn(100, requires_grad=True)
    example.gelu(y).sum().backward()  # grad_out = ones expanded: zero stride
    np.testing.assert_array_equal(y.grad.numpy(), fastgelu.gelu_grad(y.detach().numpy()))


def test_cuda_tensors_are_refused(example):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    with pytest.raises(TypeError):
        example.gelu(torch.randn(3, device="cuda"))
