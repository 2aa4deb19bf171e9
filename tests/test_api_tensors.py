"""The API at torch's speed (issue 24.6): `derivcli.grad` gives tensors for tensors, numpy arrays for
arrays and lists for lists, without copying inputs, without Python lists, with one sum per gradient as
its only pass beyond the computation itself; non-finite results are still reported as before."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

import derivcli
from derivcli.wire import dumps

LOSS = "sum((relu(W @ x) - t)**2)"


def tensors(n: int = 6) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    return {"W": torch.rand(n, n, dtype=torch.float64, generator=generator) - 0.5,
            "x": torch.rand(n, dtype=torch.float64, generator=generator),
            "t": torch.rand(n, dtype=torch.float64, generator=generator)}


def by_hand(v: dict[str, torch.Tensor]) -> torch.Tensor:
    leaf = v["W"].detach().requires_grad_(True)
    return torch.autograd.grad(torch.sum((torch.relu(leaf @ v["x"]) - v["t"]) ** 2), leaf)[0]


class DataOps(TorchDispatchMode):
    """The torch operations (views left out) that read or write a tensor of at least `size` elements."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size, self.ops = size, Counter[str]()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        out = func(*args, **(kwargs or {}))
        seen = torch.utils._pytree.tree_leaves((args, kwargs, out))
        if not func.is_view and any(isinstance(t, torch.Tensor) and t.numel() >= self.size for t in seen):
            self.ops[str(func)] += 1
        return out


def test_a_tensor_gets_its_gradient_as_a_tensor_equal_to_torchs_own():
    v = tensors()
    result = derivcli.grad(LOSS, wrt=["W"], **v)
    gradient = result.gradient["W"]
    assert isinstance(gradient, torch.Tensor) and gradient.dtype == torch.float64
    assert torch.equal(gradient, by_hand(v))
    assert result.point["W"].data_ptr() == v["W"].data_ptr()  # the point as given, not a copy
    assert not v["W"].requires_grad and gradient.data_ptr() != v["W"].data_ptr()


def test_each_kind_comes_back_as_it_was_given():
    result = derivcli.grad("sum(a*b) + c*d + e", a=np.array([1.0, 2.0]), b=[3.0, 4.0], c=torch.tensor(2.0),
                           d=5, e=np.float32(1.5))
    assert isinstance(result.gradient["a"], np.ndarray) and result.gradient["a"].tolist() == [3.0, 4.0]
    assert result.gradient["b"] == [1.0, 2.0]
    c = result.gradient["c"]
    assert isinstance(c, torch.Tensor) and c.dim() == 0 and float(c) == 5.0
    assert result.gradient["d"] == 2.0 and isinstance(result.gradient["d"], float)
    assert result.gradient["e"] == 1.0 and isinstance(result.gradient["e"], float)
    assert result.value == 3.0 + 8.0 + 10.0 + 1.5


def test_as_lists_and_to_json_are_what_lists_give_number_for_number():
    v = tensors()
    lists = derivcli.grad(LOSS, wrt=["W"], **{name: value.tolist() for name, value in v.items()})
    given = derivcli.grad(LOSS, wrt=["W"], **v)
    assert dumps(given.to_json(explain_parse=True)) == dumps(lists.to_json(explain_parse=True))
    plain = derivcli.grad(LOSS, wrt=["W"], as_lists=True, **v)
    assert plain.gradient == lists.gradient and plain.point == lists.point
    assert json.loads(dumps(plain.to_json())) == json.loads(dumps(lists.to_json()))


def test_float32_is_computed_and_returned_in_float32():
    v = {name: value.float() for name, value in tensors().items()}
    gradient = derivcli.grad(LOSS, wrt=["W"], dtype="float32", **v).gradient["W"]
    assert gradient.dtype == torch.float32
    assert torch.allclose(gradient, by_hand({k: t.double() for k, t in v.items()}).float(), rtol=1e-5, atol=1e-6)


def test_no_copy_no_lists_and_one_sum_beyond_hand_written_torch(monkeypatch):
    """The passes over the 64x64 matrix: the same operations as the hand-written torch, plus the one sum
    that shows every derivative finite; no copy of the input, no elementwise isfinite, no Python lists."""
    v = tensors(64)
    derivcli.grad(LOSS, wrt=["W"], **v)  # parsed and lowered once
    monkeypatch.setattr(torch.Tensor, "tolist", lambda self: pytest.fail("a tensor went through Python lists"))
    with DataOps(64 * 64) as ours:
        derivcli.grad(LOSS, wrt=["W"], **v)
    with DataOps(64 * 64) as theirs:
        by_hand(v)
    assert ours.ops - theirs.ops == Counter({"aten.sum.default": 1}), (ours.ops, theirs.ops)


def test_an_elementwise_loss_copies_nothing_and_sums_each_gradient_once():
    X, T = torch.randn(32, 32, dtype=torch.float64), torch.rand(32, 32, dtype=torch.float64)
    derivcli.grad("mean((tanh(X) - T)**2)", X=X, T=T)
    with DataOps(32 * 32) as ours:
        result = derivcli.grad("mean((tanh(X) - T)**2)", X=X, T=T)
    assert not {"aten.clone.default", "aten._to_copy.default", "aten.copy_.default", "aten.isfinite.default"
                } & set(ours.ops), ours.ops
    assert ours.ops["aten.sum.default"] == 2  # one per gradient (X and T)
    leaf = X.detach().requires_grad_(True)
    assert torch.allclose(result.gradient["X"], torch.autograd.grad(torch.mean((torch.tanh(leaf) - T) ** 2), leaf)[0],
                          rtol=1e-14, atol=0)


@pytest.mark.parametrize("kind", [torch.tensor, np.array, list])
def test_non_finite_derivatives_are_reported_whatever_the_kind(kind):
    result = derivcli.grad("sum(sqrt(x))", x=kind([0.0, 1.0, 4.0]))
    assert result.warnings == derivcli.grad("sum(sqrt(x))", x=[0.0, 1.0, 4.0]).warnings
    assert any("inf" in warning and "sqrt(x)" in warning for warning in result.warnings)
    assert [diagnosis.of for diagnosis in result.diagnosis] == ["d/dx"]
    nan = derivcli.grad("sum(x*log(x))", x=kind([0.0, 1.0]))
    assert nan.warnings == derivcli.grad("sum(x*log(x))", x=[0.0, 1.0]).warnings and nan.warnings


def test_a_gradient_whose_sum_overflows_is_still_finite_without_a_warning():
    """The sum is a proof of finiteness, not a test of it: an overflowing sum is looked at element by
    element (1e308 * cos(pi) twice sums to -inf; each is finite)."""
    result = derivcli.grad("sum(1e308*sin(x))", x=torch.tensor([torch.pi, torch.pi], dtype=torch.float64))
    assert torch.equal(result.gradient["x"], torch.full((2,), -1e308, dtype=torch.float64))
    assert not result.warnings and not result.diagnosis


def test_a_kink_is_found_from_the_forward_pass_as_before():
    W = torch.tensor([[1.0, -1.0], [2.0, 0.5]], dtype=torch.float64)
    x = torch.tensor([1.0, 1.0], dtype=torch.float64)
    given, lists = (derivcli.grad("sum(relu(W @ x))", W=a, x=b, wrt=["W"])
                    for a, b in ((W, x), (W.tolist(), x.tolist())))
    assert given.warnings == lists.warnings and any("not differentiable" in w for w in given.warnings)
    assert [kink.to_json() for kink in given.nondifferentiable] == [kink.to_json() for kink in lists.nondifferentiable]


def test_the_gradient_of_a_sum_is_memory_of_its_own():
    """autograd gives d sum(x)/dx as one 1 seen everywhere; writing to the answer writes one element."""
    gradient = derivcli.grad("sum(x)", x=torch.zeros(3, dtype=torch.float64)).gradient["x"]
    gradient[0] = 5.0
    assert gradient.tolist() == [5.0, 1.0, 1.0]
    array = derivcli.grad("sum(x)", x=np.zeros(3)).gradient["x"]
    array[0] = 5.0
    assert array.tolist() == [5.0, 1.0, 1.0]
    compiled = derivcli.compile("x").grad(x=torch.zeros(3, dtype=torch.float64))["x"]
    compiled[0] = 5.0
    assert compiled.tolist() == [5.0, 1.0, 1.0]


@pytest.mark.parametrize("kind", ["tensor", "numpy"])
def test_no_two_gradients_share_memory(kind):
    """autograd hands one tensor to both terms of a sum: in (x + y)*w, x's and y's gradients are the very
    same w.  An optimizer step in place on one must not change the other."""
    given = {name: (torch.tensor if kind == "tensor" else np.array)(values) for name, values in
             (("x", [1.0, 2.0]), ("y", [3.0, 4.0]), ("w", [5.0, 6.0]))}
    gradient = derivcli.grad("sum((x + y) * w)", wrt=["x", "y"], **given).gradient
    gradient["x"][0] = -1.0
    assert gradient["x"].tolist() == [-1.0, 6.0] and gradient["y"].tolist() == [5.0, 6.0]
    compiled = derivcli.compile("(x + y) * z").grad(x=given["x"], y=given["y"], z=given["w"])
    compiled["x"][0] = -1.0
    assert compiled["x"].tolist() == [-1.0, 6.0] and compiled["y"].tolist() == [5.0, 6.0]
    assert compiled["z"].tolist() == [4.0, 6.0]


def test_numpy_arrays_torch_cannot_share_are_read_all_the_same():
    base = np.arange(6.0)
    frozen = base.copy()
    frozen.setflags(write=False)
    for array in (frozen, base[::-1], base.astype(np.int32), base.astype(">f8")):
        assert derivcli.grad("sum(x*x)", x=array).gradient["x"].tolist() == (2 * np.asarray(array, float)).tolist()
    for array, message in ((np.array([True, False]), "not a number"), (np.array([]), "empty")):
        with pytest.raises(derivcli.DerivcliError, match=message):
            derivcli.grad("sum(x)", x=array)


def test_float32_overflow_is_refused_and_infinity_is_the_users_to_give():
    with pytest.raises(derivcli.DerivcliError, match="overflows float32"):
        derivcli.grad("sum(x)", x=torch.tensor([1.0, 1e39], dtype=torch.float64), dtype="float32")
    assert derivcli.grad("sum(x)", x=torch.tensor([1.0, float("inf")]), dtype="float32").value == float("inf")


def test_expect_refuses_a_tensor_variable_of_any_kind():
    for value in (torch.ones(2), np.ones(2), [1.0, 1.0]):
        with pytest.raises(derivcli.DerivcliError, match="x is a tensor"):
            derivcli.grad("sum(x)", x=value, expect="1")


def test_minimize_still_works_on_its_own_copy_of_the_tensors_given():
    from derivcli.explore.optimize import minimize

    x = torch.tensor([3.0, -2.0], dtype=torch.float64)
    result = minimize("sum(x**2)", {"x": x}, steps=5)
    assert x.tolist() == [3.0, -2.0] and result.trace[-1].point["x"] != [3.0, -2.0]


def test_a_training_loop_gets_each_steps_own_gradient_and_its_tensors_are_left_alone():
    """The second call of a signature reuses what the first worked out (names, ranks, the Program), never
    its values: W updated in place, then replaced by a tensor on the caller's own graph, and a constant t
    that requires grad; derivcli neither sets requires_grad on them nor accumulates into their .grad."""
    v = tensors()
    first = derivcli.grad(LOSS, wrt=["W"], **v).gradient["W"]
    assert torch.equal(first, by_hand(v))
    with torch.no_grad():
        v["W"] -= 0.1 * first  # an optimizer step, in place
    second = derivcli.grad(LOSS, wrt=["W"], **v).gradient["W"]
    assert torch.equal(second, by_hand(v)) and not torch.equal(second, first)
    raw = v["W"].clone().requires_grad_(True)
    on_graph = {**v, "W": raw * 1.0, "t": v["t"].clone().requires_grad_(True)}
    third = derivcli.grad(LOSS, wrt=["W"], **on_graph).gradient["W"]
    assert torch.equal(third, by_hand({**v, "W": raw.detach()}))
    assert raw.grad is None and on_graph["t"].grad is None and on_graph["t"].requires_grad
    assert not v["x"].requires_grad and not v["W"].requires_grad


class Logged(torch.Tensor):
    """A tensor subclass that may override autograd (through __torch_function__): it takes torch's own call."""


@pytest.mark.parametrize("text", [LOSS, "sum(W*W) + sum(t)", "sum(exp(W @ x))"])
def test_the_engine_call_gives_autograds_very_bits(text):
    """`differentiate.autograd.backward` calls the engine entry torch.autograd.grad ends in, without its
    Python: the same tensors bit for bit, an unused variable's zeros included, and a subclass takes the
    public call."""
    from derivcli.differentiate.autograd import backward

    v = tensors(8)
    leaves = {name: value.detach().requires_grad_(True) for name, value in v.items()}
    value = {LOSS: lambda: torch.sum((torch.relu(leaves["W"] @ leaves["x"]) - leaves["t"]) ** 2),
             "sum(W*W) + sum(t)": lambda: torch.sum(leaves["W"] * leaves["W"]) + torch.sum(leaves["t"]),
             "sum(exp(W @ x))": lambda: torch.sum(torch.exp(leaves["W"] @ leaves["x"]))}[text]
    targets = list(leaves.values())
    ours = backward(value(), targets)
    theirs = torch.autograd.grad(value(), targets, allow_unused=True, materialize_grads=True)
    assert all(torch.equal(a, b) and a.dtype == b.dtype for a, b in zip(ours, theirs))
    api = derivcli.grad(text, wrt=["W", "x", "t"], **v).gradient
    assert all(torch.equal(api[name], b) for name, b in zip(leaves, theirs) if name in api)
    sub = leaves["W"].detach().as_subclass(Logged).requires_grad_(True)
    (through_torch,) = backward(torch.sum(sub * sub), [sub])
    assert torch.equal(through_torch.as_subclass(torch.Tensor), 2 * leaves["W"].detach())


def test_a_torch_whose_engine_entry_takes_other_arguments_gets_the_public_call(monkeypatch):
    """The entry is private: where a torch changes its arguments, the TypeError comes before the graph is
    touched, and the public call answers (from then on)."""
    from derivcli.differentiate import autograd

    def changed(*args, **kwargs):
        raise TypeError("_engine_run_backward() got an unexpected keyword argument 'accumulate_grad'")

    monkeypatch.setattr(autograd, "_ENGINE", changed)
    v = tensors(8)
    assert torch.equal(derivcli.grad(LOSS, wrt=["W"], **v).gradient["W"], by_hand(v))
    assert autograd._ENGINE is None
