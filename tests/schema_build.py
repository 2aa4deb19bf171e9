"""Builds derivcli/schemas/derivcli.schema.json from the modules whose to_json writes each shape.

Each such module ends with `JSON_SCHEMA = {NAME: schema, ...}` (its `$defs` entries) and, where a shape is a
command's whole output, `JSON_OUTPUTS = (NAME, ...)` (the root's `anyOf` accepts each). Both are plain
literals, read from the source with `ast.literal_eval`: nothing is imported or run. A new command declares
its shape beside its to_json; `test_schemas.test_the_shipped_schema_is_built_from_the_modules` fails until
the shipped file is rebuilt:

    .venv/bin/python tests/schema_build.py > derivcli/schemas/derivcli.schema.json
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path
from typing import Any

PACKAGE = Path(__file__).resolve().parent.parent / "derivcli"
SHIPPED = PACKAGE / "schemas" / "derivcli.schema.json"
HEAD = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://derivcli.invalid/schemas/derivcli.schema.json",
    "title": "derivcli JSON output",
    "description": (
        "Every --json object, --points --json line and batch record of derivcli. Each command's output is "
        "$defs/<command>; an error is $defs/error on stdout and $defs/record_error in a stream or batch. "
        "Non-finite numbers are the strings NaN, Infinity and -Infinity. The root accepts any one command's "
        "output, an --json error object or a batch error record: validating against this file as shipped "
        "checks an output whatever command made it."),
}


def declarations() -> dict[str, dict[str, Any]]:
    """Each declaring module's path (relative to the package) and its JSON_SCHEMA and JSON_OUTPUTS."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        values = {}
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) \
                    and node.targets[0].id in ("JSON_SCHEMA", "JSON_OUTPUTS"):
                values[node.targets[0].id] = ast.literal_eval(node.value)
        if values:
            found[str(path.relative_to(PACKAGE))] = values
    return found


def build() -> dict[str, Any]:
    """The shipped schema: every module's `$defs`, and a root that accepts every whole output."""
    defs: dict[str, Any] = {}
    outputs: list[str] = []
    for module, values in declarations().items():
        for name, schema in values.get("JSON_SCHEMA", {}).items():
            if name in defs:
                raise ValueError(f"$defs/{name} is declared twice (again in {module})")
            defs[name] = schema
        outputs += values.get("JSON_OUTPUTS", ())
    if unknown := [name for name in outputs if name not in defs]:
        raise ValueError(f"JSON_OUTPUTS names shapes no JSON_SCHEMA declares: {unknown}")
    return {**HEAD, "anyOf": [{"$ref": f"#/$defs/{name}"} for name in outputs], "$defs": defs}


def text(schema: dict[str, Any]) -> str:
    """The file's text: one `$defs` entry per line, so a change to one shape is one line of diff."""
    lines = ["{"]
    lines += [f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}," for key, value in schema.items()
              if key != "$defs"]
    lines.append('  "$defs": {')
    entries = [f"    {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}" for key, value in
               schema["$defs"].items()]
    lines.append(",\n".join(entries))
    lines += ["  }", "}", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(text(build()))
