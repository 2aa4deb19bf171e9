"""The backward graph: node names, leaves, values and incoming gradients, the DAG shown as a tree, DOT
text, constants and deep graphs."""

from __future__ import annotations

import json
import math
import re

import pytest

from derivcli.explore.graph import MAX_DEPTH, autograd_graph

MISSION = "exp(-(x**2-x+1)/cos(log(x))**2)"


def names(result):
    return [node.name for node in result.nodes()]


def test_polynomial_plus_sine():
    result = autograd_graph("x**2 + sin(x)", {"x": 1})
    assert result.root is not None and result.root.name == "AddBackward0"
    assert {"PowBackward0", "SinBackward0", "AddBackward0", "AccumulateGrad"} <= set(names(result))
    leaves = [node for node in result.nodes() if node.name == "AccumulateGrad"]
    assert {node.variable for node in leaves} == {"x"}
    # x feeds both terms: the DAG shows it once in full and once as "(see above)"
    assert [node.repeated for node in leaves] == [False, True]
    assert leaves[0].grad == pytest.approx(2 + math.cos(1))  # d/dx (x**2 + sin x) at 1
    assert result.node_count == 4


def test_values_and_gradients_of_the_nodes():
    result = autograd_graph("x**2 + sin(x)", {"x": 1})
    by_name = {node.name: node for node in result.nodes() if not node.repeated}
    assert result.root.value == pytest.approx(1 + math.sin(1))
    assert result.root.grad == 1.0
    assert by_name["SinBackward0"].value == pytest.approx(math.sin(1))
    assert by_name["PowBackward0"].grad == 1.0


def test_mission_expression():
    result = autograd_graph(MISSION, {"x": 1})
    assert {"ExpBackward0", "DivBackward0", "CosBackward0", "LogBackward0"} <= set(names(result))
    assert result.root.name == "ExpBackward0"
    assert result.root.value == pytest.approx(math.exp(-1))
    assert result.root.grad == 1.0
    x = next(node for node in result.nodes() if node.variable == "x" and not node.repeated)
    assert x.grad == pytest.approx(-math.exp(-1))  # the known derivative at 1


def test_node_inside_one_lowered_step_gets_its_value():
    # -(x**2 - x + 1) / cos(...)**2 lowers to one step (multiply, then divide): the multiply's value is
    # still known, from recording every op's output
    result = autograd_graph(MISSION, {"x": 1})
    assert all(node.value is not None and node.grad is not None for node in result.nodes())


def test_repeated_node_is_marked_where_it_appears_second():
    # exp(sin(x)) + sin(x): sin(x) is one node; its full subtree comes first in pre-order
    result = autograd_graph("exp(sin(x)) + sin(x)", {"x": 1})
    sines = [node for node in result.nodes() if node.name == "SinBackward0"]
    assert [node.repeated for node in sines] == [False, True]
    assert sines[0].grad == pytest.approx(math.exp(math.sin(1)) + 1)  # both paths summed
    assert sines[1].children == []
    assert result.tree_lines()[-1].endswith("SinBackward0  (see above)")


def test_tree_lines():
    lines = autograd_graph("x**2 + sin(x)", {"x": 1}).tree_lines()
    assert lines[0].startswith("AddBackward0")
    assert lines[1].startswith("├── PowBackward0")
    assert lines[2].startswith("│   └── x (AccumulateGrad)")
    assert lines[-1] == "    └── x (AccumulateGrad)  (see above)"


def test_dot_output():
    dot = autograd_graph(MISSION, {"x": 1}).to_dot()
    assert dot.startswith("digraph") and dot.rstrip().endswith("}")
    assert "->" in dot and "ExpBackward0" in dot
    edges = re.findall(r"n(\d+) -> n(\d+);", dot)
    declared = set(re.findall(r"^  n(\d+) \[", dot, flags=re.M))
    assert edges and all(a in declared and b in declared for a, b in edges)
    assert dot.count('"') % 2 == 0


def test_json_shape():
    data = json.loads(json.dumps(autograd_graph("x*y", {"x": 2, "y": 3}).to_json()))
    assert set(data) >= {"expression", "point", "root"}
    root = data["root"]
    assert root["name"] == "MulBackward0" and root["grad"] == 1.0 and root["value"] == 6.0
    children = {child["variable"]: child for child in root["children"]}
    assert children["x"]["grad"] == 3.0 and children["y"]["grad"] == 2.0
    assert all(set(child) >= {"name", "value", "grad", "children"} for child in root["children"])


def test_constant_expression_has_no_backward_nodes():
    result = autograd_graph("2 + 3", {})
    assert result.root is None and result.node_count == 0
    assert "no backward nodes" in result.notes[0]
    assert result.to_json()["root"] is None
    assert "no backward nodes" in result.tree_lines()[0]
    assert result.to_dot().startswith("digraph")


def test_held_variable_is_not_in_the_graph():
    result = autograd_graph("x*y", {"x": 2, "y": 3}, wrt=["x"])
    assert {node.variable for node in result.nodes()} == {None, "x"}
    assert "y is held constant" in result.notes[0]


def test_the_variable_itself():
    result = autograd_graph("x", {"x": 2})
    assert result.root.name == "AccumulateGrad" and result.root.variable == "x" and result.root.grad == 1.0


def test_tensor_expression():
    result = autograd_graph("sum((relu(W @ x) - t)**2)", {"W": [[1, 2], [3, -4]], "x": [1, 1], "t": [0, 1]},
                            wrt=["W"])
    assert {"SumBackward0", "ReluBackward0"} <= set(names(result))
    w = next(node for node in result.nodes() if node.variable == "W")
    assert w.grad == [[6.0, 6.0], [0.0, 0.0]]  # relu cuts the second row


def test_vector_output_is_back_propagated_as_its_sum():
    result = autograd_graph("x**2", {"x": [1, 2]})
    assert result.root.grad == [1.0, 1.0]
    assert any("sum" in note for note in result.notes)


def test_deep_graph_is_cut_not_a_recursion_error():
    expression = " + ".join(f"x**{i}" for i in range(1, 2 * MAX_DEPTH))
    result = autograd_graph(expression, {"x": 1})
    assert any(node.truncated for node in result.nodes())
    assert any("cut" in note for note in result.notes)
    json.dumps(result.to_json())
    assert len(result.tree_lines()) > MAX_DEPTH
