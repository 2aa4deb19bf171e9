"""The import graph of `derivcli/`, read from the source (every import, inside functions too): no cycle
between modules, and no import from a lower stage to a higher one.  docs/architecture.md's stage list is
checked against the same order, so the document cannot drift from the code."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "derivcli"
ARCHITECTURE = PACKAGE.parent / "docs" / "architecture.md"

# Bottom to top.  A module may import its own stage and the stages below it, never one above.
STAGES = [
    "__init__", "errors", "results", "wire",  # the package face (its version) and the shared vocabulary
    "limits", "table", "symbolic", "lowering", "parsing", "inputs", "differentiate", "checks", "learn", "api",
    "gradcheck", "science", "emit", "steps", "analyze", "explore", "render", "scale", "serve", "cli",
    "entry", "__main__",  # the console script and `python -m derivcli`
]
FACE = "derivcli"  # its lazy re-exports (`derivcli.grad`, inside __getattr__) import the API on first use


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in PACKAGE.rglob("*.py")}


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The derivcli modules `path` imports, anywhere in the file."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            targets = ([base] if node.module else []) + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {name: imports(name, path, known) for name, path in found.items()}


def stage(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_every_module_belongs_to_a_stage():
    assert {stage(module) for module in modules()} <= set(STAGES)


def test_no_import_cycle():
    assert cycles(graph()) == []


def test_no_import_from_a_lower_stage_to_a_higher_one():
    upward = sorted(f"{module} -> {target}" for module, targets in graph().items() for target in targets
                    if module != FACE and STAGES.index(stage(target)) > STAGES.index(stage(module)))
    assert upward == []


def test_the_library_never_imports_the_cli_the_server_or_typer():
    library = [module for module in modules() if stage(module) not in ("cli", "serve", "entry", "__main__")]
    for module in library:
        text = modules()[module].read_text(encoding="utf-8")
        assert not re.search(r"^\s*(from|import) (typer|click)\b", text, re.M), module


def test_the_console_script_imports_only_the_standard_library_before_it_knows_it_runs_cold():
    tree = ast.parse((PACKAGE / "entry.py").read_text(encoding="utf-8"))
    top = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    assert all(isinstance(node, ast.Import) or node.level == 0 and not (node.module or "").startswith("derivcli")
               or node.module in ("serve.client",) for node in top)


def test_the_architecture_document_lists_the_stages_in_this_order():
    text = ARCHITECTURE.read_text(encoding="utf-8")
    listed = re.search(r"<!-- stages -->(.*?)<!-- /stages -->", text, re.S)
    assert listed, "docs/architecture.md has no stage list between <!-- stages --> markers"
    heads = re.findall(r"^\d+\. (.*?):", listed.group(1), re.M)  # each item's stage names, before its colon
    named = [name for head in heads for name in re.findall(r"`(\w+)/?`", head)]
    assert [name for name in named if name in STAGES] == [s for s in STAGES if s in named]
    assert set(STAGES) - {"__main__", "__init__"} <= set(named)
