"""In the style of research code that tests NumPy arrays through PyTorch (CPU): functional
calls and autograd for derivatives. torch is imported inside each function: it is slow."""
import numpy as np


def gelu(x):
    # torch.nn.functional.gelu (approximate='none'): x * 0.5 * (1 + erf(x / sqrt 2)) in float64
    import torch
    return torch.nn.functional.gelu(torch.from_numpy(np.array(x, copy=True))).numpy()


def softplus(x):
    # torch.nn.functional.softplus with its defaults beta=1, threshold=20: returns x above 20
    import torch
    return torch.nn.functional.softplus(torch.from_numpy(np.array(x, copy=True))).numpy()


def sigmoid_grad_autograd(x):
    # derivative by autograd: sigmoid's backward is grad * (1 - y) * y
    import torch
    t = torch.from_numpy(np.array(x, copy=True)).requires_grad_(True)
    torch.sigmoid(t).sum().backward()
    return t.grad.numpy()


def relu_grad_autograd(x):
    # derivative by autograd: relu's backward is 0 at 0
    import torch
    t = torch.from_numpy(np.array(x, copy=True)).requires_grad_(True)
    torch.relu(t).sum().backward()
    return t.grad.numpy()
