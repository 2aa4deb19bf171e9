"""Vectors and matrices: the seeds' tensor examples with their printed numbers, bindings, shape errors,
the jacobian command, and the element-by-element check."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

import derivcli
from derivcli.cli import app


def approx(values, tolerance=5e-5):
    return pytest.approx(values, abs=tolerance)


def cli(*args: str):
    return CliRunner().invoke(app, list(args))


# --------------------------------------------------------------------------- the seeds' examples
def test_dot_with_a_constant_vector():
    # x = [10, -10]; y = torch.dot(x, [2, 3]) -> x.grad = tensor([2., 3.])
    assert derivcli.grad("dot(x, c)", x=[10, -10], c=[2, 3], wrt=["x"]).gradient == {"x": [2.0, 3.0]}


def test_linear_regression_gradient():
    # w = [10, 10], x = [3, 5], y = 100, Q = (y - dot(w, x))**2 -> w.grad = [-120., -200.]
    result = derivcli.grad("(y - dot(w, x))**2", w=[10, 10], x=[3, 5], y=100, wrt=["w"], check=True)
    assert result.gradient == {"w": [-120.0, -200.0]}
    assert result.check is not None and result.check.agree


def test_two_dot_x_x():
    # x = arange(4.); y = 2*dot(x, x) = 28 -> x.grad = [0, 4, 8, 12] == 4*x
    result = derivcli.grad("2*dot(x, x)", x="arange(4)" and [0, 1, 2, 3])
    assert result.value == 28.0
    assert result.gradient == {"x": [0.0, 4.0, 8.0, 12.0]}


def test_sum_and_indexing_and_sum_of_squares():
    x = [0.0, 1.0, 2.0, 3.0]
    assert derivcli.grad("sum(x)", x=x).gradient == {"x": [1.0, 1.0, 1.0, 1.0]}
    assert derivcli.grad("x[0] + 2*x[1]", x=x, check=True).gradient == {"x": [1.0, 2.0, 0.0, 0.0]}
    result = derivcli.grad("sum(x*x)", x=x)
    assert result.value == 14.0 and result.gradient == {"x": [0.0, 2.0, 4.0, 6.0]}


def test_detach_stops_the_gradient():
    # u = (x*x).detach(); z = u*x; z.sum().backward() -> x.grad == u = [0, 1, 4, 9]
    x = [0.0, 1.0, 2.0, 3.0]
    result = derivcli.grad("sum(detach(x*x) * x)", x=x, check=True)
    assert result.gradient == {"x": [0.0, 1.0, 4.0, 9.0]}
    assert result.check is not None and result.check.agree
    # ... and with y.sum() added, the tutorial's accumulated gradient tensor([0., 3., 8., 15.])
    assert derivcli.grad("sum(detach(x*x) * x) + sum(x*x)", x=x).gradient == {"x": [0.0, 3.0, 8.0, 15.0]}


def test_mse_loss_on_column_vectors():
    # a = [[1],[2]], b = [[3],[4]]: MSELoss()(a, b) and (b, a) -> a.grad = [[-2.], [-2.]]
    a, b = [[1.0], [2.0]], [[3.0], [4.0]]
    assert derivcli.grad("mse_loss(a, b)", a=a, b=b, wrt=["a"]).gradient == {"a": [[-2.0], [-2.0]]}
    result = derivcli.grad("mse_loss(b, a)", a=a, b=b, wrt=["a"], check=True)
    assert result.gradient == {"a": [[-2.0], [-2.0]]} and result.check.agree
    assert derivcli.grad("mean(mse_loss(b, a))", a=a, b=b, wrt=["a"]).gradient == {"a": [[-2.0], [-2.0]]}


def test_mse_loss_on_one_element_tensors():
    # x = ones(1), w = [2.]: F.mse_loss(x*w, ones(1)) = 1 -> autograd.grad(mse, w) = (tensor([2.]),)
    result = derivcli.grad("mse_loss(x*w, t)", x=[1.0], w=[2.0], t=[1.0], wrt=["w"])
    assert result.value == 1.0 and result.gradient == {"w": [2.0]}


W_SEED = [[0.6904, 0.7417, 0.6027, 0.7612], [0.3263, 0.9509, 0.6202, 0.9371], [0.1982, 0.1809, 0.3788, 0.1230]]


def test_relu_matrix_loss():
    # loss = sum((relu(W @ x) - target)**2) = 24.9044, W.grad as printed.  The tutorial prints W rounded
    # to 4 decimals, so the answers here (from that rounded W) agree to about 1e-3.
    printed = [[0.0, 6.4615, 12.9230, 19.3845], [0.0, 7.6048, 15.2095, 22.8143], [0.0, -0.1850, -0.3699, -0.5549]]
    result = derivcli.grad("sum((relu(W @ x) - t)**2)", W=W_SEED, x=[0, 1, 2, 3], t=[1, 1.2, 1.4], wrt=["W"],
                           check=True)
    assert result.value == pytest.approx(24.9044, abs=2e-3)
    assert result.gradient["W"] == [pytest.approx(row, abs=2e-3) for row in printed]
    assert result.check is not None and result.check.agree
    # exactly: dL/dW_ij = 2 (relu(W x)_i - t_i) x_j
    z = torch.tensor(W_SEED, dtype=torch.float64) @ torch.arange(4.0, dtype=torch.float64)
    exact = (2 * (torch.relu(z) - torch.tensor([1, 1.2, 1.4], dtype=torch.float64)))[:, None] * torch.arange(4.0)
    assert result.gradient["W"] == [pytest.approx(row, rel=1e-14) for row in exact.tolist()]


def test_sigmoid_perceptron():
    x = [[-1.5173, -0.1510, 1.5163, -1.1457, 0.6900, -0.3498, 0.4459, 0.1377, 0.9805, -1.5648]]
    w = [[1.4973, -0.5020, -0.0952, -1.7759, 0.9548, -0.3387, 1.4977, -0.7681, 0.8197, 1.0211]]
    printed = [[0.3294, 0.0328, -0.3291, 0.2487, -0.1498, 0.0759, -0.0968, -0.0299, -0.2128, 0.3397]]
    result = derivcli.grad("mse_loss(sigmoid(x @ w.T), 1)", x=x, w=w, wrt=["w"], check=True)
    assert result.value == approx(0.1940, 2e-4)
    assert result.gradient["w"] == [approx(printed[0], 2e-4)]
    assert result.check is not None and result.check.agree
    output = derivcli.jacobian("sigmoid(x @ w.T)", x=x, w=w, wrt=["w"])
    assert output.value == [[approx(0.5596, 2e-4)]]


def test_two_neuron_layer():
    x = [[0.1235, -1.6236, 2.3391, -2.3477, 0.0476, 0.4647, 0.8141, 0.1049, 1.4921, 0.0067]]
    w = [[9.2778e-01, 8.2995e-01, 9.1204e-01, 8.1783e-01, 5.5393e-01, 8.4093e-01, 1.8543e-01, 1.2240e-01,
          5.8497e-01, 7.2318e-01],
         [1.6900e-01, 3.0168e-01, 3.7606e-01, 4.9990e-04, 3.8866e-01, 8.9428e-01, 2.0580e-01, 1.9254e-01,
          1.5388e-01, 8.2669e-01]]
    printed = [[-0.0115, 0.1517, -0.2185, 0.2193, -0.0044, -0.0434, -0.0760, -0.0098, -0.1394, -0.0006],
               [-0.0047, 0.0612, -0.0882, 0.0885, -0.0018, -0.0175, -0.0307, -0.0040, -0.0563, -0.0003]]
    result = derivcli.grad("mse_loss(sigmoid(x @ w.T), ones)", x=x, w=w, ones=[[1.0, 1.0]], wrt=["w"])
    assert result.value == approx(0.1010, 2e-4)
    assert result.gradient["w"] == [approx(row, 2e-4) for row in printed]
    assert derivcli.jacobian("sigmoid(x @ w.T)", x=x, w=w).value == [[approx(0.6080, 2e-4), approx(0.7802, 2e-4)]]


def test_softmax_jacobian_rows():
    # p = softmax(a) = [0.2562, 0.4122, 0.3315]; grad(p[i], a) rows as printed (a itself is printed
    # rounded to 4 decimals, so the answers agree to 1e-4)
    result = derivcli.jacobian("softmax(a)", a=[0.5214, 0.9971, 0.7792])
    assert result.value == approx([0.2562, 0.4122, 0.3315], 1e-4)
    rows = [[0.1906, -0.1056, -0.0849], [-0.1056, 0.2423, -0.1367], [-0.0849, -0.1367, 0.2216]]
    assert result.jacobian["a"] == [approx(row) for row in rows]
    # each row is the gradient of one component, as the tutorial computes it
    for i, row in enumerate(rows):
        assert derivcli.grad(f"softmax(a)[{i}]", a=[0.5214, 0.9971, 0.7792], check=True).gradient["a"] == approx(row)


def test_jacobian_shape_is_output_shape_plus_variable_shape():
    result = derivcli.jacobian("W @ x", W=W_SEED, x=[0, 1, 2, 3])
    assert torch.tensor(result.jacobian["W"]).shape == (3, 3, 4)
    assert torch.tensor(result.jacobian["x"]).shape == (3, 4)
    assert result.jacobian["x"] == W_SEED


# --------------------------------------------------------------------------- syntax
def test_slices_transpose_and_reductions():
    x = [1.0, 2.0, 3.0, 4.0]
    assert derivcli.grad("sum(x[1:3]**2)", x=x).gradient == {"x": [0.0, 4.0, 6.0, 0.0]}
    assert derivcli.grad("sum(x[::2])", x=x).gradient == {"x": [1.0, 0.0, 1.0, 0.0]}
    assert derivcli.grad("x[-1]", x=x).gradient == {"x": [0.0, 0.0, 0.0, 1.0]}
    W = [[1.0, 2.0], [3.0, 4.0]]
    assert derivcli.grad("W[1, 0] * W.T[1, 0]", W=W).gradient == {"W": [[0.0, 3.0], [2.0, 0.0]]}
    assert derivcli.grad("max(x)", x=x).gradient == {"x": [0.0, 0.0, 0.0, 1.0]}
    assert derivcli.grad("min(x)", x=x).gradient == {"x": [1.0, 0.0, 0.0, 0.0]}
    assert derivcli.grad("mean(x)", x=x).gradient == {"x": [0.25] * 4}
    assert derivcli.grad("prod(x)", x=x, check=True).gradient == {"x": [24.0, 12.0, 8.0, 6.0]}
    assert derivcli.grad("norm(x)", x=[3.0, 4.0]).gradient == {"x": [0.6, 0.8]}


@pytest.mark.parametrize("text", ["logsumexp(x)", "sum(log_softmax(x))", "cross_entropy(x, 1)",
                                  "cross_entropy(x, p)", "sum(tanh(x) * sigmoid(x))", "norm(x)**2",
                                  "dot(softmax(x), x)", "sum(relu(x - 1.5))"])
def test_tensor_functions_agree_with_sympy_element_by_element(text):
    result = derivcli.grad(text, x=[0.5, -1.0, 2.0], p=[0.2, 0.3, 0.5], wrt=["x"], check=True)
    assert result.check is not None and result.check.skipped is None and result.check.agree, result.check


def test_elementwise_scalar_functions_apply_to_tensors():
    result = derivcli.grad("sum(sin(x) * exp(x))", x=[0.0, 1.0], check=True)
    assert result.check.agree
    assert result.gradient["x"][0] == pytest.approx(1.0)


# --------------------------------------------------------------------------- errors
def test_grad_of_a_non_scalar_suggests_jacobian_or_sum():
    result = cli("grad", "softmax(a)", "--a", "[1, 2]")
    assert result.exit_code == 2
    assert "shape (2,)" in result.stderr and "derivcli jacobian" in result.stderr and "sum(...)" in result.stderr


@pytest.mark.parametrize("args, fragments", [
    (["dot(x, y)", "--x", "[1,2,3]", "--y", "[1,2]"], ["shape (3,)", "shape (2,)"]),
    (["x[5]", "--x", "[1,2,3,4]"], ["index 5", "shape (4,)"]),
    (["sum(W @ x)", "--W", "ones(2,3)", "--x", "ones(2)"], ["shape (2, 3)", "shape (2,)"]),
    (["sum(x + y)", "--x", "[1,2,3]", "--y", "[[1],[2]]"], ["shape (3,)", "shape (2, 1)"]),
    (["x", "--x", "[[1,2],[3]]"], ["ragged"]),
    (["x", "--x", "[]"], ["empty"]),
    (["x", "--x", '[1, "a"]'], ["not a number"]),
    (["x", "--x", "[1, 2"], ["not a valid list"]),
    (["x", "--x", "zeros(-1)"], ["zeros"]),
    (["x", "--x", "@/nonexistent.json"], ["no such file"]),
])
def test_shape_and_binding_errors_name_what_is_wrong(args, fragments):
    result = cli("grad", *args)
    assert result.exit_code == 2 and result.stdout == ""
    first = result.stderr.splitlines()[0]
    assert first.startswith("error: ")
    for fragment in fragments:
        assert fragment in first


# --------------------------------------------------------------------------- bindings and output
def test_constructors_and_seed_are_reproducible():
    first = json.loads(cli("grad", "sum(W)", "--W", "randn(2,3)", "--seed", "7", "--json").stdout)
    second = json.loads(cli("grad", "sum(W)", "--W", "randn(2,3)", "--seed", "7", "--json").stdout)
    assert first["point"]["W"] == second["point"]["W"]
    assert torch.tensor(first["point"]["W"]).shape == (2, 3)
    data = json.loads(cli("grad", "sum(x)", "--x", "linspace(0, 1, 5)", "--json").stdout)
    assert data["point"]["x"] == [0.0, 0.25, 0.5, 0.75, 1.0]
    data = json.loads(cli("grad", "sum(x)", "--x", "arange(4)", "--json").stdout)
    assert data["point"]["x"] == [0.0, 1.0, 2.0, 3.0]


def test_values_from_files(tmp_path):
    np = pytest.importorskip("numpy")
    (tmp_path / "w.json").write_text("[[1, 2], [3, 4]]")
    (tmp_path / "x.csv").write_text("1,2\n")
    np.save(tmp_path / "t.npy", np.array([0.5, 0.25]))
    result = cli("grad", "sum(W @ x * t)", "--W", f"@{tmp_path / 'w.json'}", "--x", f"@{tmp_path / 'x.csv'}",
                 "--t", f"@{tmp_path / 't.npy'}", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["value"] == 5 * 0.5 + 11 * 0.25
    assert data["gradient"]["x"] == [1 * 0.5 + 3 * 0.25, 2 * 0.5 + 4 * 0.25]


def test_tensor_json_and_plain_output():
    data = json.loads(cli("grad", "sum(x*x)", "--x", "[1, 2]", "--json").stdout)
    assert data["gradient"] == {"x": [2.0, 4.0]} and data["point"] == {"x": [1.0, 2.0]}
    assert cli("grad", "sum(x*x)", "--x", "[1, 2]").stdout == "value\t5.0\nd/dx\t[2.0, 4.0]\n"


def test_jacobian_cli_outputs():
    plain = cli("jacobian", "softmax(a)", "--a", "[0, 0]")
    assert plain.exit_code == 0
    assert plain.stdout.splitlines()[1:] == ["df[0]/da\t0.25\t-0.25", "df[1]/da\t-0.25\t0.25"]
    data = json.loads(cli("jacobian", "x**2", "--x", "[1, 2]", "--json").stdout)
    assert data["jacobian"] == {"x": [[2.0, 0.0], [0.0, 4.0]]} and data["value"] == [1.0, 4.0]
    table = cli("jacobian", "softmax(a)", "--a", "[0, 0]", "--format", "table")
    assert "∂/∂a[1]" in table.stdout and "f[0]" in table.stdout


def test_fd_for_tensors_is_directional():
    data = json.loads(cli("grad", "sum(x**3)", "--x", "[1, 2, 3]", "--fd", "--json").stdout)
    table = data["finite_differences"]
    direction = table["directions"]["x"]
    assert sum(v * v for v in direction) == pytest.approx(1.0)
    expected = sum(3 * x * x * v for x, v in zip([1, 2, 3], direction))
    assert table["autograd"]["x"] == pytest.approx(expected)
    best = min(table["rows"], key=lambda row: row["central_error"]["x"])
    assert best["central"]["x"] == pytest.approx(expected, rel=1e-8)


def test_check_of_large_tensors_is_skipped_with_a_note():
    result = derivcli.grad("sum(W @ x)", W=torch.ones(30, 30).tolist(), x=[1.0] * 30, check=True)
    assert result.check is not None and result.check.skipped is not None and "elements" in result.check.skipped
    assert result.gradient["x"] == [30.0] * 30


def test_cross_entropy_of_a_number_is_checked_like_a_vectors():
    """The element-by-element check takes a number's logits too (it was an internal error, found by the
    fuzzer of binding values)."""
    result = derivcli.grad("cross_entropy(x, 0)", x=1, check=True)
    assert result.gradient == {"x": 0.0} and result.check is not None and result.check.agree
