"""Rendering: results -> a Rich table, plain tab-separated lines, or JSON.  Never computes.

`numbers` turns values into text, `layout` places text (tables that fit the terminal), and one module per
command family holds its views: `point` (grad, jacobian, hessian), `series` (diff, taylor), `minimize`,
`listings` (functions, --points columns).
"""

from .layout import reading_lines
from .listings import emit_functions, write_points, write_points_json
from .minimize import emit_minimize
from .numbers import number
from .point import emit_grad, emit_hessian, emit_jacobian
from .series import emit_diff, emit_implicit, emit_taylor

FORMATS = ("table", "plain", "json")

__all__ = ["FORMATS", "emit_diff", "emit_functions", "emit_grad", "emit_hessian", "emit_implicit", "emit_jacobian",
           "emit_minimize", "emit_taylor", "number", "reading_lines", "write_points", "write_points_json"]
