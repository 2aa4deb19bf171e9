"""The higher-order views: diff and taylor."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from ..results import derivative_key
from ..wire import dumps
from .answers import answer_lines, print_answers
from .layout import console_for, print_fitting, print_formula, print_reading, reading_lines
from .numbers import SUPERSCRIPTS, binding_text, derivative_label, in_working_dtype, maybe_number, number, short

if TYPE_CHECKING:
    from ..learn.implicit import ImplicitResult
    from ..results import DiffResult, TaylorResult

@in_working_dtype
def emit_diff(result: DiffResult, fmt: str, out: TextIO, explain_parse: bool = False, latex: bool = False) -> None:
    if fmt == "json":
        out.write(dumps(result.to_json(explain_parse)) + "\n")
        return
    what = derivative_label(result.wrt)
    if fmt == "plain":
        lines = reading_lines(result.parse, explain_parse)
        lines += [f"derivative\t{result.latex if latex else result.derivative}"] if result.derivative else []
        if result.point is not None:
            lines += [f"value\t{maybe_number(result.value)}",
                      f"{derivative_key(result.wrt)}\t{maybe_number(result.derivative_value)}",
                      f"method\t{result.method}"]
            if result.formula_value is not None:
                lines.append(f"check\t{'agree' if result.agree else 'DISAGREE'}\t{number(result.formula_value)}")
        lines += [f"note\t{note}" for note in result.notes]
        lines += answer_lines(result)
        out.write("".join(line + "\n" for line in lines))
        return
    from rich.text import Text

    console = console_for(out)
    print_formula(console, "f", result.expression)
    print_reading(console, result.parse, result.expression)
    if result.derivative is not None:
        shown = (result.latex if latex else result.derivative) or ""
        print_formula(console, what, shown, None if latex else result.pretty)
    if result.point is not None:
        at = ", ".join(binding_text(name, value) for name, value in result.point.items())
        console.print(Text(f"at {at}:  f = {maybe_number(result.value)}", style="dim"))
        console.print(Text.assemble((f"{what} = ", "bold"), maybe_number(result.derivative_value),
                                    (f"   by {result.method}", "dim")))
        if result.formula_value is not None:
            console.print(Text(f"the formula gives {number(result.formula_value)}: "
                               + ("agree" if result.agree else "DISAGREE"),
                               style="green" if result.agree else "bold red"))
    for note in result.notes:
        console.print(Text(f"note: {note}", style="yellow"))
    print_answers(console, result)


@in_working_dtype
def emit_taylor(result: TaylorResult, fmt: str, out: TextIO, explain_parse: bool = False) -> None:
    if fmt == "json":
        out.write(dumps(result.to_json(explain_parse)) + "\n")
        return
    reference = result.sympy_coefficients
    singularity = result.singularity
    if fmt == "plain":
        lines = reading_lines(result.parse, explain_parse)
        lines += [f"polynomial\t{result.polynomial}"] if result.coefficients else []
        lines += [f"method\t{result.method}"]
        if singularity is not None:
            lines.append(f"singularity\t{singularity['kind']}\t{singularity['statement']}")
            lines += [f"series\t{singularity['series']}"] if not result.coefficients else []
        for k, c in enumerate(result.coefficients):
            lines.append(f"c{k}\t{number(c)}" + (f"\t{number(reference[k])}" if reference else "")
                         + (f"\t{result.exact_coefficients[k]}" if result.exact_coefficients else ""))
        lines += [f"note\t{note}" for note in result.notes]
        out.write("".join(line + "\n" for line in lines))
        return
    from rich.text import Text

    console = console_for(out)
    console.print(Text.assemble(("f", "bold"), " = ", (result.expression, "cyan"),
                                f"   around {binding_text(result.variable, result.around)}"))
    print_reading(console, result.parse, result.expression)
    exact = result.exact_coefficients
    title = f"Taylor coefficients f⁽ᵏ⁾/k! to order {result.order}"
    if singularity is not None:
        console.print(Text(singularity["statement"], style="bold yellow"))
    if not result.coefficients:
        kind = singularity["kind"] if singularity else ""
        label = {"pole": "Laurent series", "branch point": "Puiseux series", "not smooth": "one-sided"}.get(
            kind, "SymPy's expansion")
        print_formula(console, label, singularity["series"] if singularity else "")
    elif result.method == "SymPy's series":  # torch's numbers were not finite: SymPy's are the answer
        rows = [[str(k), number(c), exact[k] if exact else "-"] for k, c in enumerate(result.coefficients)]
        print_fitting(console, ["k", "SymPy series", "exact"], rows, ["right"] * 3, title)
        print_formula(console, "T(x)", result.polynomial, result.pretty)
    else:
        rows = [[str(k), number(c), exact[k] if exact else maybe_number(reference[k] if reference else None),
                 "-" if not reference else short(abs(c - reference[k]))] for k, c in enumerate(result.coefficients)]
        print_fitting(console, ["k", f"torch ({result.method})", "SymPy series", "difference"], rows, ["right"] * 4,
                      title)
        print_formula(console, "T(x)", result.polynomial, result.pretty)
    if result.agree is not None:
        console.print(Text("torch and SymPy agree" if result.agree else "torch and SymPy DISAGREE",
                           style="green" if result.agree else "bold red"))
    for note in result.notes:
        console.print(Text(f"note: {note}", style="yellow"))


@in_working_dtype
def emit_implicit(result: ImplicitResult, fmt: str, out: TextIO, latex: bool = False) -> None:
    if fmt == "json":
        out.write(dumps(result.to_json()) + "\n")
        return
    shown = (result.latex if latex else result.derivative) or ""
    if fmt == "plain":
        lines = [f"curve\t{result.curve}", f"derivative\t{shown}"]
        if result.point is not None:
            lines += [f"{result.key}\t{maybe_number(result.value)}"]
            lines += [f"tangent\t{result.tangent}"] if result.tangent else []
        lines += [f"note\t{note}" for note in result.notes]
        out.write("".join(line + "\n" for line in lines))
        return
    from rich.text import Text

    console = console_for(out)
    console.print(Text.assemble(("curve ", "bold"), (result.equation, "cyan"), f"   (F = {result.curve} = 0)"))
    label = f"d{'' if result.order == 1 else str(result.order).translate(SUPERSCRIPTS)}{result.dependent}/" \
            f"d{result.wrt}{'' if result.order == 1 else str(result.order).translate(SUPERSCRIPTS)}"
    print_formula(console, label, shown, None if latex else result.pretty)
    if result.point is not None:
        at = ", ".join(binding_text(name, value) for name, value in result.point.items())
        console.print(Text(f"at {at} (on the curve):", style="dim"))
        if result.value is not None:
            console.print(Text.assemble((f"{label} = ", "bold"), number(result.value)))
        if result.tangent:  # `y = …`: the line's own equation, after its name
            dependent, _, line = result.tangent.partition(" = ")
            print_formula(console, f"tangent line: {dependent}", line)
    for note in result.notes:
        console.print(Text(f"note: {note}", style="yellow"))
