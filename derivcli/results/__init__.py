"""Results as plain dataclasses: what the core computed, nothing about how it is shown.

`to_json()` is the output contract (derivcli/schemas/derivcli.schema.json); scripts depend on its keys.
Non-finite numbers are the strings "NaN", "Infinity" and "-Infinity" in JSON (`wire.dumps`) and are named
in `warnings`.  One module per family: `common` (what every result shares), `checks` (--check and --fd),
`point` (grad, jacobian, hessian), `series` (diff, taylor); every name is exported here.
"""

from __future__ import annotations

from .checks import (
    FAILING,
    SEVERITY,
    DifferenceRow,
    DifferenceTable,
    FdVerdict,
    MatrixCheck,
    SymbolicCheck,
    worst,
)
from .common import (
    Number,
    ParseInfo,
    at_point,
    derivative_key,
    element_label,
    element_names,
    learner_checks,
    to_plain,
)
from .point import GradResult, HessianResult, JacobianResult
from .series import DiffResult, TaylorResult

__all__ = [
    "FAILING", "SEVERITY", "DifferenceRow", "DifferenceTable", "FdVerdict", "MatrixCheck", "SymbolicCheck", "worst",
    "Number", "ParseInfo", "at_point", "derivative_key", "element_label", "element_names", "learner_checks",
    "to_plain", "GradResult", "HessianResult", "JacobianResult", "DiffResult", "TaylorResult",
]
