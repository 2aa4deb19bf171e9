"""The everyday tensor operations of ML code (issue 24.5): each against torch's own function on the same
float64 inputs, value and gradient; the settings in calls (`dim=1`, `reduction="sum"`) and their errors;
`--check` through the CLI's main in process; and each operation written two equivalent ways."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F

import derivcli
from derivcli.cli.app import main
from derivcli.errors import DerivcliError
from derivcli.parsing import Context, check_syntax, parse

A = [[0.3, -1.2, 0.7], [1.1, 0.4, -0.5]]
B = [[0.9, 0.1, -0.3], [-0.6, 0.8, 0.2]]
S = [[2.0, 0.5, 0.1], [0.3, 1.5, -0.4], [0.2, 0.7, 1.2]]
V = [0.2, -0.4, 0.9]
W = [0.5, 0.3, -0.7]
P = [0.25, 0.6, 0.85]
T = [0.0, 1.0, 1.0]
C = [2, 0]
I2 = [[2, 0], [1, 1]]
BATCH = [[[0.3, -1.2], [1.1, 0.4]], [[0.7, 0.2], [-0.5, 0.9]]]
VALUES = {"A": A, "B": B, "S": S, "v": V, "w": W, "p": P, "t": T, "c": C, "I": I2, "Z": BATCH}
DATA = {"c", "I", "t"}  # class indices, gather's indices and targets: not differentiated here


def tensors(names: list[str]) -> dict[str, torch.Tensor]:
    return {name: torch.tensor(VALUES[name], dtype=torch.float64, requires_grad=name not in DATA) for name in names}


def ce(x: dict[str, torch.Tensor], reduction: str = "mean") -> torch.Tensor:
    return F.cross_entropy(x["A"], x["c"].long(), reduction=reduction)


# (expression, torch's own computation of the same thing on the named tensors)
CASES: list[tuple[str, Callable[[dict[str, torch.Tensor]], torch.Tensor]]] = [
    ("sum(sum(A, dim=1)**2)", lambda x: (x["A"].sum(dim=1) ** 2).sum()),
    ("sum(sum(A, 0, keepdim=True)**2)", lambda x: (x["A"].sum(0, keepdim=True) ** 2).sum()),
    ("sum(mean(A, dim=0)**2)", lambda x: (x["A"].mean(dim=0) ** 2).sum()),
    ("sum(prod(A, dim=1, keepdim=True))", lambda x: x["A"].prod(dim=1, keepdim=True).sum()),
    ("sum(max(A, dim=1))", lambda x: torch.max(x["A"], dim=1).values.sum()),
    ("sum(min(A, dim=0, keepdim=True)*B)", lambda x: (torch.min(x["A"], dim=0, keepdim=True).values * x["B"]).sum()),
    ("sum(norm(A, dim=1))", lambda x: torch.linalg.vector_norm(x["A"], dim=1).sum()),
    ("norm(A, p=1)", lambda x: torch.linalg.vector_norm(x["A"], ord=1)),
    ("norm(A, p=3, dim=0)[1]", lambda x: torch.linalg.vector_norm(x["A"], ord=3, dim=0)[1]),
    ("sum(logsumexp(A, dim=1))", lambda x: torch.logsumexp(x["A"], dim=1).sum()),
    ("sum(softmax(A, dim=0)*B)", lambda x: (F.softmax(x["A"], dim=0) * x["B"]).sum()),
    ("sum(log_softmax(A, dim=0)*B)", lambda x: (F.log_softmax(x["A"], dim=0) * x["B"]).sum()),
    ("var(A)", lambda x: torch.var(x["A"])),
    ("sum(std(A, dim=1))", lambda x: torch.std(x["A"], dim=1).sum()),
    ("sum(var(A, dim=0, unbiased=False))", lambda x: torch.var(x["A"], dim=0, unbiased=False).sum()),
    ("std(A, correction=0)", lambda x: torch.std(x["A"], correction=0)),
    ("sum(where(A > 0, A**2, -B))", lambda x: torch.where(x["A"] > 0, x["A"] ** 2, -x["B"]).sum()),
    ("sum(clamp(A, -0.5, 0.5)*B)", lambda x: (torch.clamp(x["A"], -0.5, 0.5) * x["B"]).sum()),
    ("sum(clip(A, min=0)*B)", lambda x: (torch.clamp(x["A"], min=0) * x["B"]).sum()),
    ("sum(clamp(A, max=0.3)*B)", lambda x: (torch.clamp(x["A"], max=0.3) * x["B"]).sum()),
    ("sum(clamp(A, B, 0.5))", lambda x: torch.clamp(x["A"], x["B"], torch.tensor(0.5, dtype=torch.float64)).sum()),
    ('sum(einsum("ij,jk->ik", A, S)**2)', lambda x: (torch.einsum("ij,jk->ik", x["A"], x["S"]) ** 2).sum()),
    ('einsum("i,i->", v, w)', lambda x: torch.einsum("i,i->", x["v"], x["w"])),
    ('sum(einsum("bij,bjk->bik", Z, Z))', lambda x: torch.einsum("bij,bjk->bik", x["Z"], x["Z"]).sum()),
    ('sum(einsum("...j->...", A)**2)', lambda x: (torch.einsum("...j->...", x["A"]) ** 2).sum()),
    ("sum(outer(v, w)**2)", lambda x: (torch.outer(x["v"], x["w"]) ** 2).sum()),
    ("sum(bmm(Z, Z)**2)", lambda x: (torch.bmm(x["Z"], x["Z"]) ** 2).sum()),
    ("sum(reshape(A, 3, 2) @ B)", lambda x: (x["A"].reshape(3, 2) @ x["B"]).sum()),
    ("sum(view(A, -1)**3)", lambda x: (x["A"].view(-1) ** 3).sum()),
    ("sum(cat([A, B**2], dim=1)**2)", lambda x: (torch.cat([x["A"], x["B"] ** 2], dim=1) ** 2).sum()),
    ("sum(cat([A, B])**3)", lambda x: (torch.cat([x["A"], x["B"]]) ** 3).sum()),
    ("sum(stack([v, w**2], dim=1)**2)", lambda x: (torch.stack([x["v"], x["w"] ** 2], dim=1) ** 2).sum()),
    ("sum(unsqueeze(v, 1) @ unsqueeze(w, 0) @ S)",
     lambda x: (x["v"].unsqueeze(1) @ x["w"].unsqueeze(0) @ x["S"]).sum()),
    ("sum(tril(S)**2) + sum(triu(S, 1)**3)",
     lambda x: (torch.tril(x["S"]) ** 2).sum() + (torch.triu(x["S"], 1) ** 3).sum()),
    ("sum(tril(S, diagonal=-1)*S)", lambda x: (torch.tril(x["S"], diagonal=-1) * x["S"]).sum()),
    ("sum(cumsum(A, dim=1)**2)", lambda x: (torch.cumsum(x["A"], dim=1) ** 2).sum()),
    ("sum(gather(A, 1, I)**2)", lambda x: (torch.gather(x["A"], 1, x["I"].long()) ** 2).sum()),
    ("sum(layer_norm(A)*B)", lambda x: (F.layer_norm(x["A"], (3,)) * x["B"]).sum()),
    ("sum(layer_norm(A, eps=0.1)*B)", lambda x: (F.layer_norm(x["A"], (3,), eps=0.1) * x["B"]).sum()),
    ("cross_entropy(A, c)", ce),
    ('cross_entropy(A, c, reduction="sum")', lambda x: ce(x, "sum")),
    ('sum(cross_entropy(A, c, reduction="none")*v[0:2])', lambda x: (ce(x, "none") * x["v"][0:2]).sum()),
    ("cross_entropy(A, softmax(B, dim=1))", lambda x: F.cross_entropy(x["A"], F.softmax(x["B"], dim=1))),
    ("cross_entropy(v, 2)", lambda x: F.cross_entropy(x["v"], torch.tensor(2))),
    ("nll_loss(log_softmax(A, dim=1), c)", lambda x: F.nll_loss(F.log_softmax(x["A"], dim=1), x["c"].long())),
    ("bce(p, t)", lambda x: F.binary_cross_entropy(x["p"], x["t"])),
    ('binary_cross_entropy(p, t, reduction="sum")', lambda x: F.binary_cross_entropy(x["p"], x["t"], reduction="sum")),
    ("bce_with_logits(v, t)", lambda x: F.binary_cross_entropy_with_logits(x["v"], x["t"])),
    ("binary_cross_entropy_with_logits(v, p)", lambda x: F.binary_cross_entropy_with_logits(x["v"], x["p"])),
    ("huber_loss(v, w, delta=0.5)", lambda x: F.huber_loss(x["v"], x["w"], delta=0.5)),
    ("huber_loss(v, w)", lambda x: F.huber_loss(x["v"], x["w"])),
    ("smooth_l1_loss(v, w, beta=0.5)", lambda x: F.smooth_l1_loss(x["v"], x["w"], beta=0.5)),
    ("smooth_l1_loss(v, w, beta=0)", lambda x: F.smooth_l1_loss(x["v"], x["w"], beta=0.0)),
    ("kl_div(log_softmax(A, dim=1), softmax(B, dim=1))",
     lambda x: F.kl_div(F.log_softmax(x["A"], dim=1), F.softmax(x["B"], dim=1), reduction="mean")),
    ('kl_div(log_softmax(A, dim=1), softmax(B, dim=1), reduction="batchmean")',
     lambda x: F.kl_div(F.log_softmax(x["A"], dim=1), F.softmax(x["B"], dim=1), reduction="batchmean")),
    ("kl_div(log_softmax(A, dim=1), log_softmax(B, dim=1), log_target=True)",
     lambda x: F.kl_div(F.log_softmax(x["A"], dim=1), F.log_softmax(x["B"], dim=1), log_target=True)),
    ("sum(cosine_similarity(A, B))", lambda x: F.cosine_similarity(x["A"], x["B"]).sum()),
    ("cosine_similarity(v, w, dim=0)", lambda x: F.cosine_similarity(x["v"], x["w"], dim=0)),
    ("det(S)", lambda x: torch.linalg.det(x["S"])),
    ("sum(det(Z))", lambda x: torch.linalg.det(x["Z"]).sum()),
    ("sum(inverse(S)**2)", lambda x: (torch.linalg.inv(x["S"]) ** 2).sum()),
    ("sum(solve(S, v))", lambda x: torch.linalg.solve(x["S"], x["v"]).sum()),
    ("sum(solve(S, unsqueeze(w, 1)))", lambda x: torch.linalg.solve(x["S"], x["w"].unsqueeze(1)).sum()),
    ("sum(relu6(4*A)*B)", lambda x: (F.relu6(4 * x["A"]) * x["B"]).sum()),
    ("sum(hardswish(4*A)*B)", lambda x: (F.hardswish(4 * x["A"]) * x["B"]).sum()),
    ("sum(selu(A)*B)", lambda x: (F.selu(x["A"]) * x["B"]).sum()),
    ("sum(celu(A)*B) + sum(celu(A, 0.5))", lambda x: (F.celu(x["A"]) * x["B"]).sum() + F.celu(x["A"], 0.5).sum()),
]


def _names(text: str) -> list[str]:
    return [name for name in VALUES if name in parse(text, Context(frozenset(VALUES))).symbols]


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides the total loss")  # torch's kl_div default
@pytest.mark.parametrize(("text", "truth"), CASES, ids=[text for text, _ in CASES])
def test_value_and_gradient_are_torchs(text: str, truth: Callable[[dict[str, torch.Tensor]], torch.Tensor]) -> None:
    names = _names(text)
    x = tensors(names)
    expected = truth(x)
    wrt = [name for name in names if name not in DATA]
    gradients = torch.autograd.grad(expected, [x[name] for name in wrt])
    result = derivcli.grad(text, wrt=wrt, **{name: VALUES[name] for name in names})
    assert result.value == pytest.approx(expected.item(), rel=1e-13, abs=1e-14)
    for name, gradient in zip(wrt, gradients):
        got = torch.tensor(result.gradient[name], dtype=torch.float64)
        assert torch.allclose(got, gradient, rtol=1e-12, atol=1e-14), (name, got, gradient)


def test_hardsigmoids_gradient_is_exactly_one_sixth_where_torchs_is_float32s():
    """torch's own hardsigmoid backward multiplies by 1/6 rounded to float32 even in float64."""
    result = derivcli.grad("sum(hardsigmoid(v))", v=V)
    assert result.gradient["v"] == [1 / 6] * 3
    leaf = torch.tensor(V, dtype=torch.float64, requires_grad=True)
    F.hardsigmoid(leaf).sum().backward()
    assert torch.allclose(leaf.grad, torch.full((3,), 1 / 6, dtype=torch.float64), rtol=1e-7)
    assert result.value == pytest.approx(F.hardsigmoid(leaf).sum().item(), rel=1e-15)


@pytest.mark.parametrize("x", [-7.0, -3.0, -1.0, 0.0, 3.0, 6.0, 7.0])
@pytest.mark.parametrize("name", ["relu6", "hardswish", "hardsigmoid", "selu", "celu"])
def test_activations_at_their_kinks_take_torchs_side(name: str, x: float) -> None:
    leaf = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    value = getattr(F, name)(leaf)
    value.backward()
    result = derivcli.grad(f"{name}(x)", x=x, check=True)
    assert result.value == pytest.approx(value.item(), rel=1e-15, abs=1e-300)
    slope = 1 / 6 if name == "hardsigmoid" and -3 < x < 3 else leaf.grad.item()  # torch's is float32's 1/6
    assert result.gradient["x"] == pytest.approx(slope, rel=1e-15)
    assert result.check is not None and result.check.verdict_by_variable["x"] == "agree"


@pytest.mark.parametrize("bounds", [(-1.0, 1.0), (2.0, 1.0)])
@pytest.mark.parametrize("x", [-1.0, 0.0, 1.0, 2.0])
def test_clamp_with_variable_bounds_has_torchs_gradients_at_the_bounds(bounds: tuple[float, float], x: float):
    leaves = [torch.tensor(value, dtype=torch.float64, requires_grad=True) for value in (x, *bounds)]
    value = torch.clamp(*leaves)
    gradients = torch.autograd.grad(value, leaves)
    result = derivcli.grad("clamp(x, lo, hi)", x=x, lo=bounds[0], hi=bounds[1], check=True)
    assert result.value == value.item()
    assert [result.gradient[name] for name in ("x", "lo", "hi")] == [g.item() for g in gradients]
    assert result.check is not None and set(result.check.verdict_by_variable.values()) == {"agree"}


# ------------------------------------------------------------------------------------ two ways
# Each operation against a spelling of the same thing with other operations, both against torch.
ONES3 = "[[1], [1], [1]]"
TWO_WAYS = [
    ("sum(A, dim=1)", f"reshape(A @ {ONES3}, 2)"),
    ("mean(A, dim=0)", "reshape([[0.5, 0.5]] @ A, 3)"),
    ("var(A, dim=1)", f"reshape(((A - mean(A, dim=1, keepdim=True))**2) @ {ONES3}, 2)/2"),
    ("std(A)", "sqrt(sum((A - mean(A))**2)/5)"),
    ("softmax(A, dim=0)", "exp(A)/sum(exp(A), dim=0, keepdim=True)"),
    ("log_softmax(A, dim=1)", "A - logsumexp(A, dim=1, keepdim=True)"),
    ("logsumexp(A, dim=1)", "log(sum(exp(A), dim=1))"),
    ("norm(A, dim=1)", "sqrt(sum(A**2, dim=1))"),
    ('einsum("ij,jk->ik", A, S)', "A @ S"),
    ('einsum("ij->ji", A)', "A.T"),
    ("outer(v, w)", "reshape(v, 3, 1) @ reshape(w, 1, 3)"),
    ("bmm(Z, Z)", "stack([Z[0] @ Z[0], Z[1] @ Z[1]])"),
    ("cat([A, B], dim=1)", "reshape(stack([A, B], dim=1), 2, 6)"),
    ("unsqueeze(v, 0)", "reshape(v, 1, 3)"),
    ("cumsum(v, 0)", "tril([[1, 1, 1], [1, 1, 1], [1, 1, 1]]) @ v"),
    ("tril(S) + triu(S, 1)", "S"),
    ("gather(A, 1, I)", "stack([stack([A[0, 2], A[0, 0]]), stack([A[1, 1], A[1, 1]])])"),
    ("layer_norm(A)", "(A - mean(A, dim=1, keepdim=True))/sqrt(var(A, dim=1, keepdim=True, unbiased=False) + 1e-5)"),
    ("cross_entropy(A, c)", "(-log_softmax(A, dim=1)[0, 2] - log_softmax(A, dim=1)[1, 0])/2"),
    ("bce_with_logits(v, t)", "bce(sigmoid(v), t)"),
    ("huber_loss(v, w, delta=2)", "2*smooth_l1_loss(v, w, beta=2)"),
    ("kl_div(log_softmax(v, dim=0), softmax(w, dim=0), reduction=\"sum\")",
     "sum(softmax(w, dim=0)*(log_softmax(w, dim=0) - log_softmax(v, dim=0)))"),
    ("cosine_similarity(v, w, dim=0)", "dot(v, w)/(norm(v)*norm(w))"),
    ("inverse(S) @ v", "solve(S, v)"),
    ("det(S)", "S[0, 0]*(S[1, 1]*S[2, 2] - S[1, 2]*S[2, 1]) - S[0, 1]*(S[1, 0]*S[2, 2] - S[1, 2]*S[2, 0])"
               " + S[0, 2]*(S[1, 0]*S[2, 1] - S[1, 1]*S[2, 0])"),
    ("where(v > 0, v, w)", "v if v > 0 else w"),
    ("clamp(A, -0.45, 0.45)", "max(min(A, 0.45), -0.45)"),  # (they differ at a bound: a tie of max)
    ("relu6(4*v)", "min(relu(4*v), 6.0)"),
]


@pytest.mark.parametrize(("one", "other"), TWO_WAYS, ids=[one for one, _ in TWO_WAYS])
def test_each_operation_equals_another_spelling_of_it(one: str, other: str) -> None:
    names = sorted(set(_names(one)) | set(_names(other)))
    bindings = {name: VALUES[name] for name in names}
    wrt = [name for name in names if name not in DATA]
    first = derivcli.jacobian(one, wrt=wrt, **bindings)
    second = derivcli.jacobian(other, wrt=wrt, **bindings)
    assert torch.allclose(torch.tensor(first.value), torch.tensor(second.value), rtol=1e-12, atol=1e-13)
    for name in wrt:
        assert torch.allclose(torch.tensor(first.jacobian[name]), torch.tensor(second.jacobian[name]),
                              rtol=1e-11, atol=1e-13), name


# ------------------------------------------------------------------------------------- settings
def settings_error(text: str) -> DerivcliError:
    with pytest.raises(DerivcliError) as caught:
        check_syntax(text, Context(frozenset({"X", "Y", "x"})))
    return caught.value


@pytest.mark.parametrize(("text", "message", "span"), [
    ("sum(X, dims=1)", "sum(): no setting 'dims'", (7, 13)),
    ("sum(X, dim=1, dim=0)", "dim is given twice", (14, 19)),
    ("sum(X, 1, dim=1)", "dim is given twice", (10, 15)),
    ("sum(X, dim=1.5)", "dim must be a whole number", (11, 14)),
    ("sum(X, dim=x)", "a setting's value is a number, True, False or a quoted text", (11, 12)),
    ("sum(X, keepdim=1)", "keepdim must be True or False", (7, 16)),
    ("sum(X, keepdim=True)", "keepdim needs dim", (7, 19)),
    ("sum(X, dim=1, X)", "an argument without a name cannot follow", (14, 15)),
    ("sum(X, 1, True, 2)", "takes at most 3 arguments", (16, 18)),
    ("var(X, correction=0, unbiased=True)", "give correction or unbiased, not both", (21, 34)),
    ('mse_loss(X, Y, reduction="avg")', 'reduction="avg" is not one of mean, sum, none', (15, 30)),
    ('mse_loss(X, Y, reduction=1)', "reduction must be a quoted text", (15, 26)),
    ("sin(x, dim=1)", "sin(): takes no settings", (7, 12)),
    ("max(X, Y, dim=1)", "max(…, dim=…) takes one tensor", None),
    ('einsum("ij,jk->ik", X)', '"ij,jk->ik" names 2 operands, got 1', (7, 18)),
    ('einsum("i2,j->ij", X, X)', 'cannot read the equation "i2,j->ij"', (7, 17)),
    ('einsum("i..j->ij", X)', 'cannot read the equation', (7, 17)),
    ("einsum(X, X)", "equation must be a quoted text", (7, 8)),
    ("cat(X, Y)", "tensors is a list of tensors in brackets", (4, 5)),
    ("clamp(X)", "give min or max (or both)", (0, 8)),
    ("reshape(X, 2, y)", "shape must be a whole number", (14, 15)),
    ("x + 'a'", "unexpected quoted string", (4, 5)),
    ("sin('x')", "unexpected quoted string", (4, 5)),
    ("(x = 1)", "unexpected '='", (3, 4)),
])
def test_settings_are_checked_before_anything_is_built(text: str, message: str, span: tuple[int, int] | None):
    if span is None:  # an error of the build (it needs the table's internal entry), not of the syntax
        with pytest.raises(DerivcliError) as caught:
            parse(text, Context(frozenset({"X", "Y", "x"})))
        error = caught.value
    else:
        error = settings_error(text)
        assert error.span == span, error.span
    assert message in error.message, error.message


def test_an_unknown_setting_names_the_accepted_ones():
    error = settings_error("softmax(X, axis=0)")
    assert error.hint == "it accepts: dim"
    assert settings_error("var(X, ddof=1)").hint == "it accepts: dim, correction, keepdim, unbiased"


def test_setting_names_never_split_into_letters():
    """With nothing bound every single letter is a variable, yet `dim=` stays the setting's name."""
    parsed = parse("sum(x, dim=0, keepdim=True)")
    assert parsed.canonical == "sum(x, dim=0, keepdim=True)" and parsed.variables == ["x"]


def test_a_setting_at_its_default_is_the_plain_call():
    context = Context(frozenset({"X"}))
    assert parse("sum(X, keepdim=False)", context).expr == parse("sum(X)", context).expr
    assert parse("softmax(X, dim=-1)", context).expr == parse("softmax(X)", context).expr
    assert parse('mse_loss(X, X, reduction="mean")', context).expr == parse("mse_loss(X, X)", context).expr


def test_settings_print_as_written():
    context = Context(frozenset({"A", "B", "v"}))
    for text in ['einsum("ij,jk->ik", A, B)', "sum(A, dim=1, keepdim=True)", "clamp(v, max=1)",
                 'kl_div(A, B, reduction="batchmean")', "reshape(A, 3, -1)", "cat(A, B, dim=1)"]:
        written = text.replace("cat(A, B", "cat([A, B]")
        assert parse(written, context).canonical == text


def test_a_tensor_with_a_whole_number_still_reads_two_ways_and_names_dim():
    with pytest.raises(DerivcliError) as caught:
        parse("sum(max(X, 1))", Context(frozenset({"X"}), ranks=frozenset({("X", 2)})))
    assert "max(X, dim=1)" in (caught.value.hint or "")


# ----------------------------------------------------------------------------------- wrong shapes
@pytest.mark.parametrize(("text", "message"), [
    ("sum(A, dim=2)", "sum: dim 2 is out of range for shape (2, 3) (dims -2 to 1)"),
    ("det(A)", "det needs a square matrix (or a batch of them), got shape (2, 3)"),
    ("sum(outer(A, v))", "outer needs two vectors, got shape (2, 3) and shape (3,)"),
    ("sum(bmm(A, A))", "bmm needs (b, n, m) and (b, m, p), got shape (2, 3) and shape (2, 3)"),
    ("sum(reshape(A, 4, 2))", "reshape: cannot view shape (2, 3) (6 elements) as (4, 2)"),
    ("sum(cat([A, v]))", "cat needs tensors of the same sizes except along dim 0, got shape (2, 3), shape (3,)"),
    ("sum(stack([A, B, v]))", "stack needs tensors of the same shape, got shape (2, 3), shape (2, 3), shape (3,)"),
    ('sum(einsum("ij,jk->ik", A, A))', "einsum: 'j' is 3 in one operand and 2 in another (shape (2, 3), shape (2, 3))"),
    ('sum(einsum("ijk->i", A))', 'einsum: "ijk" does not fit shape (2, 3)'),
    ("cross_entropy(A, v)", "cross_entropy: target shape (3,) must be class indices"),
    ("cross_entropy(A, c + 0.5)", "cross_entropy: class index 2.5 is not a whole number in 0..2"),
    ("sum(gather(A, 1, c))", "gather: index shape (2,) does not fit input shape (2, 3) along dim 1"),
    ("bce(v, t)", "binary_cross_entropy: the input must be probabilities strictly between 0 and 1"),
    ("bce(t, t)", "binary_cross_entropy: the input must be probabilities strictly between 0 and 1"),
    ("var(v[0])", "var: 1 element with correction=1 leave no degrees of freedom (a scalar)"),
    ("sum(tril(v))", "tril needs a matrix (or a batch of them), got shape (3,)"),
    ("sum(solve(S, A))", "solve needs A (n, n) and b (n,) or (n, k), got shape (3, 3) and shape (2, 3)"),
    ("sum(inverse(S - S))", "inverse: the matrix shape (3, 3) is singular"),
    ("sum(unsqueeze(v, 3))", "unsqueeze: dim 3 is out of range for shape (3,) (dims -2 to 1)"),
    ("cosine_similarity(v, w)", "cosine_similarity: dim 1 is out of range for shape (3,)"),
])
def test_a_wrong_shape_is_one_error_naming_the_function_and_the_shapes(text: str, message: str) -> None:
    names = _names(text)
    with pytest.raises(DerivcliError) as caught:
        derivcli.grad(text, **{name: VALUES[name] for name in names})
    assert message in caught.value.message, caught.value.message


# ------------------------------------------------------------------------------------------ --check
def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict, str]:
    status = main(["grad", *args, "--check", "--json"])
    captured = capsys.readouterr()
    return status, json.loads(captured.out) if captured.out else {}, captured.err


@pytest.mark.parametrize("text", ["sum(softmax(X, dim=0)*X)", "cross_entropy(X, c)", 'einsum("ij,ij->", X, X)',
                                  "var(X, dim=1)[0]", "sum(layer_norm(X[0])*X[1])",
                                  "det(X[:, 0:2])"])
def test_check_covers_the_new_operations(capsys: pytest.CaptureFixture[str], text: str) -> None:
    status, answer, err = run(capsys, text, "--X", "[[0.3, -1.2, 0.7], [1.1, 0.4, -0.5]]", "--c", "[2, 0]",
                              "--wrt", "X")
    assert status == 0, err
    check = answer["check"]
    assert check.get("skipped") is None and check["verdicts"]["X"] == "agree", check


def test_check_says_when_sympy_cannot_expand_an_operation(capsys: pytest.CaptureFixture[str]) -> None:
    matrix = [[float(i == j) * 2 + 0.1 * (i - j) for j in range(5)] for i in range(5)]
    status, answer, err = run(capsys, "det(M)", "--M", json.dumps(matrix))
    assert status == 0
    assert "does not expand the determinant of a 5 x 5 matrix" in answer["check"]["skipped"]
    assert "--fd" in answer["check"]["skipped"]
    leaf = torch.tensor(matrix, dtype=torch.float64, requires_grad=True)
    torch.linalg.det(leaf).backward()
    assert torch.allclose(torch.tensor(answer["gradient"]["M"], dtype=torch.float64), leaf.grad, rtol=1e-13)


@pytest.mark.parametrize(("text", "x", "left", "right"), [
    ("relu6(x)", 6.0, 1.0, 0.0), ("hardsigmoid(x)", -3.0, 0.0, 1 / 6), ("hardswish(x)", 3.0, 1.5, 1.0),
    ("selu(x)", 0.0, 1.0507009873554805 * 1.6732632423543772, 1.0507009873554805), ("clamp(x, -1, 2)", 2.0, 1.0, 0.0),
])
def test_a_kink_of_the_new_activations_is_reported(text: str, x: float, left: float, right: float) -> None:
    (kink,) = derivcli.grad(text, x=x).nondifferentiable
    assert (kink.left, kink.right) == (pytest.approx(left, rel=1e-6), pytest.approx(right, rel=1e-6, abs=1e-9))


# ------------------------------------------------------------------------------- real processes
@pytest.mark.usefixtures("warm_env")  # a real process, answered by the shared warm server
def test_settings_through_the_installed_script() -> None:
    from servers import script

    done = script("grad", "cross_entropy(X, c, reduction=\"sum\")", "--X", json.dumps(A), "--c", "[2, 0]",
                  "--wrt", "X", "--check", "--json")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    x = tensors(["A", "c"])
    loss = ce(x, "sum")
    (gradient,) = torch.autograd.grad(loss, [x["A"]])
    assert answer["value"] == pytest.approx(loss.item(), rel=1e-14)
    assert torch.allclose(torch.tensor(answer["gradient"]["X"], dtype=torch.float64), gradient, rtol=1e-13)
    assert answer["check"]["verdicts"]["X"] == "agree"
    wrong = script("grad", "sum(X, dim=2)", "--X", json.dumps(A))
    assert wrong.returncode == 2 and wrong.stdout == ""
    assert wrong.stderr.strip() == "error: sum: dim 2 is out of range for shape (2, 3) (dims -2 to 1)"


def test_settings_through_batch(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    requests = [{"expression": "sum(softmax(X, dim=0)*X)", "point": {"X": A}},
                {"expression": "sum(X, dims=0)", "point": {"X": A}}]
    monkeypatch.setattr("sys.stdin", io.StringIO("".join(json.dumps(r) + "\n" for r in requests)))
    main(["batch"])
    first, second = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    x = tensors(["A"])
    value = (F.softmax(x["A"], dim=0) * x["A"]).sum()
    (gradient,) = torch.autograd.grad(value, [x["A"]])
    assert first["value"] == pytest.approx(value.item(), rel=1e-14)
    assert torch.allclose(torch.tensor(first["gradient"]["X"], dtype=torch.float64), gradient, rtol=1e-13)
    assert "no setting 'dims'" in json.dumps(second)


def test_a_tie_of_max_over_a_dim_is_a_kink_with_the_gradient_split_as_torch_amax():
    result = derivcli.grad("sum(max(X, dim=1))", X=[[1.0, 1.0], [0.0, 2.0]], check=True)
    leaf = torch.tensor([[1.0, 1.0], [0.0, 2.0]], dtype=torch.float64, requires_grad=True)
    torch.amax(leaf, dim=1).sum().backward()
    assert result.gradient["X"] == leaf.grad.tolist() == [[0.5, 0.5], [0.0, 1.0]]
    assert [kink.variable for kink in result.nondifferentiable] == ["X[0, 0]", "X[0, 1]"]
    assert result.check is not None and result.check.agree
