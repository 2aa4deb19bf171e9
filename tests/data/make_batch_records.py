"""Regenerate batch_records.json: a fixed corpus of batch requests (simple shapes, Rubi-like expressions
from benchmarks/rubi.py, a vectorized run, other commands) with the answer records `derivcli batch` gave.

The file was written by the batch path as it stood before the speed work of issue 27 (commit 60c3016:
`PYTHONPATH=<a worktree of it> .venv/bin/python tests/data/make_batch_records.py`), so
tests/test_batch_speed_paths.py holds today's answers to those, bit for bit.  Rerunning this script with
today's code only reproduces the file while no answer has changed.

Bits are a machine's: torch's tanh, exp, … differ in the last place between CPUs (one ulp of tanh(11.1)
moves the gradient of tanh(16x - y)**2 by 2e-7, relative, through 1 - tanh²).  So the file also holds
`machine_fingerprint()` of the machine that wrote it: on a machine with the same fingerprint the test
compares bit for bit; on another, texts exactly and numbers to 1e-6, relative.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent / "benchmarks"))

SHAPES = ["x**2 + {k}*sin(x)*y", "exp(-x/{k})*cos(y)", "log(1 + x**2)/{k} + y", "sqrt(x*y + {k})",
          "tanh({k}*x - y)**2", "(x - {k})**3*y", "1/(1 + exp({k} - x*y))", "x**{k} + y"]
OTHERS = ["x/x + sin(x)^2", "x - x + y", "2x + 3x", "log(exp(x))*y", "sqrt(x)**2 + y", "|x| + y",
          "max(x, y) + min(x, 2)", "x if x > y else y**2", "sigmoid(x*y) + relu(x - y)", "erf(x) + gamma(y)",
          "xsinx + y", "d/dx x^3*y", "y = x^2 + y", "sin^2(x) + cos^{2}(y)", "\\frac{x}{y} + \\sqrt{x}",
          "2(x+1)(y-1)", "x^y^2", "e^x + pi*y", "atan2(y, x)", "floor(x) + y % 2 + x // y", "cbrt(x) - log1p(y)",
          "x*y*0", "0*x + y", "(x + y)/(x + y)", "x**(1/3) + y**(-2)", "1e-3*x + 1.5e2*y", "sinh(x)/cosh(y)",
          "exp(log(x)) + y", "acosh(1 + x**2) + asinh(y)", "x.y", "sin(", "foo(x)"]


def requests() -> list[str]:
    import rubi

    rng = random.Random(2027)
    lines = [json.dumps({"expression": SHAPES[k % len(SHAPES)].format(k=k // len(SHAPES) + 2),
                         "point": {"x": round(rng.uniform(-2, 2), 3), "y": round(rng.uniform(0.1, 3), 3)}})
             for k in range(120)]
    lines += rubi.rubi_requests(80, seed=2027)
    lines += [json.dumps({"expression": "x**2 + 3*sin(x)*y", "point": {"x": 0.5 + k / 7, "y": 2}}) for k in range(12)]
    for k, text in enumerate(OTHERS):
        point = {"x": 0.75 + k / 50, "y": 1.25}
        lines.append(json.dumps({"expression": text, "point": point}))
        lines.append(json.dumps({"expression": text, "point": point, "command": "jacobian", "wrt": ["y", "x"]}))
        if k % 8 == 0:  # (the slower commands, for a few)
            lines.append(json.dumps({"expression": text, "point": point, "command": "hessian"}))
        if k % 16 == 0:
            lines.append(json.dumps({"expression": text, "point": point, "command": "diff", "wrt": ["x"], "order": 2}))
    return lines


def machine_fingerprint() -> str:
    """A digest of the bits torch's transcendental functions give here, 0-d and vectorized: equal on two
    machines when their kernels round alike."""
    import hashlib

    import torch

    arguments = torch.tensor([k / 7 - 3 for k in range(43)] + [11.102, 0.145, 0.542, 0.707], dtype=torch.float64)
    digest = hashlib.sha256()
    for function in (torch.tanh, torch.exp, torch.log1p, torch.sin, torch.cos, torch.atan, torch.sinh, torch.cosh,
                     torch.sigmoid, torch.erf, torch.asin, torch.acos, torch.sqrt):
        for argument in (arguments, arguments / 4):
            digest.update(function(argument).numpy().tobytes())
            digest.update(b"".join(function(value).numpy().tobytes() for value in argument))
    return digest.hexdigest()[:16]


def main() -> None:
    from derivcli.scale.streams import batch_groups

    lines = requests()
    groups = [lines[i:i + 100] for i in range(0, len(lines), 100)]
    answers = [json.dumps(answer, sort_keys=True) for answer in batch_groups(groups, 1)]
    assert len(answers) == len(lines)
    records = [{"request": line, "answer": answer} for line, answer in zip(lines, answers)]
    (HERE / "batch_records.json").write_text(json.dumps({"machine": machine_fingerprint(), "records": records},
                                                        indent=0) + "\n")


if __name__ == "__main__":
    main()
