"""The user's file `derivcli check` is tested on (tests/test_check_command.py copies it to user.py): correct
functions, and autograd.Functions and modules with known faults."""

import torch
import torch.nn.functional as F


def smooth(x, w):
    return torch.sin(x @ w).sum() + torch.tanh(x).pow(2).mean() + torch.logsumexp(x, dim=1).sum()


def layered(x, w):
    return F.cross_entropy(F.layer_norm(x, x.shape[-1:]) @ w, torch.tensor([0, 1, 1, 0]))


def vector(x):
    return torch.exp(-x * x) * x


class Sin(torch.autograd.Function):
    """sin, whose backward passes cos(x) * grad through `wrong`: each subclass below gets it wrong its own way."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.sin()

    @classmethod
    def backward(cls, ctx, grad):
        (x,) = ctx.saved_tensors
        return cls.wrong(grad * x.cos(), x)

    @staticmethod
    def wrong(result, x):
        return result


def off_in_element_123(result, x):
    result.view(-1)[123] *= 1.01
    return result


class WrongSin(Sin):
    """1% off in element 123 alone."""
    wrong = staticmethod(off_in_element_123)


def wrong_sin_sum(x):
    return WrongSin.apply(x).sum()


class SlightlyOff(Sin):
    """1e-3 too large everywhere."""
    wrong = staticmethod(lambda result, x: result * (1 + 1e-3))


class OffInFloat32(Sin):
    """1e-3 too large only when it runs in float32."""
    wrong = staticmethod(lambda result, x: result * (1 + 1e-3 if x.dtype == torch.float32 else 1))


class Doubled(torch.autograd.Function):
    """The identity, whose backward doubles the gradient."""

    @staticmethod
    def forward(ctx, v):
        return v.clone()

    @staticmethod
    def backward(ctx, grad):
        return 2 * grad


class Params(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor([0.5, -1.0, 2.0]))
        self.v = torch.nn.Parameter(torch.tensor([1.5, 0.25, -0.75]))
        self.b = torch.nn.Parameter(torch.tensor([0.1, 0.2, 0.3]))

    def forward(self, x):
        return (x * self.w.detach() + Doubled.apply(self.v) * x ** 2 + self.b).sum()


class Log(torch.nn.Module):
    def forward(self, h):
        return torch.log(h - 10)


class NaNInside(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(3, 3)
        self.act = Log()

    def forward(self, x):
        return self.act(self.fc(x)).sum()


def mlp():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))


def root(x):
    return torch.sqrt(x).sum()


def kink(x):
    return torch.abs(x).sum()


def logs(x):
    return torch.log(x).sum()


def cube(x, y):
    return (x ** 3 * torch.sin(y)).sum()


class WrongDouble(torch.autograd.Function):
    """x**3 with a right gradient whose own derivative is wrong (x is detached in it)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x * x.detach()


def pick(x, dim: int = 0):
    return torch.logsumexp(x, dim).sum()


def prints(x):
    print("hello from the user's code")
    return (x ** 2).sum()


def raises(x):
    y = x * 2  # noqa: F841 (the user's code, as written)
    raise ValueError("the user's own error")


NOT_CALLABLE = 3
