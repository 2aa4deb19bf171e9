"""The views of `derivcli steps`: a Rich tree on a terminal, numbered indented lines in a pipe, LaTeX
texts with --latex, JSON.  Everything printed was made by `derivcli.steps.result`; nothing is computed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TextIO

from ..wire import dumps
from .answers import answer_lines, print_answers
from .layout import console_for, print_fitting, print_formula, print_reading, reading_lines
from .numbers import binding_text, in_working_dtype, maybe_number, number, short, step_text

if TYPE_CHECKING:
    from ..steps import StepsResult, StepView
    from ..steps.from_definition import DefinitionResult

TREE_GUIDE = 4  # columns each level of a Rich tree takes
NARROWEST_LABEL = 30  # a tree deeper than the console leaves this much is printed as numbered lines


@in_working_dtype
def emit_steps(result: StepsResult, fmt: str, out: TextIO, explain_parse: bool = False, latex: bool = False) -> None:
    if fmt == "json":
        out.write(dumps(result.to_json(explain_parse)) + "\n")
    elif fmt == "plain":
        lines = reading_lines(result.parse, explain_parse) + _numbered(result.root, latex)
        out.write("".join(line + "\n" for line in lines + _summary(result, latex)))
    else:
        _table(result, out, latex)


def _texts(view: StepView, latex: bool, pretty: bool = False) -> dict[str, Any]:
    """The step's texts in the notation asked for: LaTeX, a textbook's (a terminal), or plain one-line."""
    if latex and view.latex is not None:
        return view.latex
    if pretty and view.pretty:
        return view.pretty
    return {"statement": view.statement, "expression": view.expression, "result": view.result, "wrt": view.wrt,
            "let": {**dict(view.names), **dict(view.lets)}}


def step_line(view: StepView, latex: bool, pretty: bool = False) -> str:
    """d/dx expression = result (in LaTeX: \\frac{d}{dx}\\left(…\\right) = …)."""
    texts = _texts(view, latex, pretty)
    if latex and view.latex is not None:
        return f"\\frac{{d}}{{d{texts['wrt']}}}\\left({texts['expression']}\\right) = {texts['result']}"
    shown = f"({texts['expression']})" if view.sum else texts["expression"]  # d/dx (x + 1), not d/dx x + 1
    return f"d/d{view.wrt} {shown} = {texts['result']}"


def heading(view: StepView, latex: bool, pretty: bool = False) -> str:
    """The rule's name, its general statement, and the parts it names (f and g, the chain rule's u), led by
    the part this step differentiates (f': power rule …)."""
    texts = _texts(view, latex, pretty)
    statement = texts["statement"]
    where = ", ".join(f"{name} = {text}" for name, text in texts["let"].items())
    role = f"{view.role}{'′' if pretty else chr(39)}: " if view.role else ""
    return role + view.rule + (f": {statement}" if statement else "") + (f", with {where}" if where else "")


def assembled_line(view: StepView, latex: bool, pretty: bool = False) -> str | None:
    """The rule with the parts put in, before simplifying: = f'*g + f*g' = (2*x)*sin(x) + x**2*cos(x)."""
    if view.assembled is None:
        return None
    formula = {"product rule": "f'*g + f*g'" if len(view.names) == 2 else "sum of fi'*(the other factors)",
               "quotient rule": "(f'*g - f*g')/g**2", "reciprocal rule": "-g'/g**2"}.get(view.rule, "")
    if latex:
        formula = {"product rule": "f' g + f g'" if len(view.names) == 2 else r"\sum_i f_i' \prod_{j \ne i} f_j",
                   "quotient rule": r"\frac{f' g - f g'}{g^2}",
                   "reciprocal rule": r"-\frac{g'}{g^2}"}.get(view.rule, "")
    shown = view.assembled.latex if latex else view.assembled.pretty if pretty else view.assembled.text
    if len(view.names) <= 2 and [name for name, _ in view.names] not in (["f", "g"], ["g"]):
        import re  # F and G (or p and q) where the expression's own variables are f and g

        renamed = dict(zip(("f", "g"), [name for name, _ in view.names][-2:])) if len(view.names) == 2 else \
            {"g": view.names[0][0]}
        formula = re.sub(r"\b[fg]\b", lambda match: renamed.get(match.group(), match.group()), formula)
    if pretty:
        formula = formula.replace("**2", "²").replace("*", "·").replace("'", "′").replace(" - ", " − ")
    return f"put together: {formula} = {shown}"


def numbers_line(view: StepView) -> str | None:
    """The step at the point: its value, its derivative (for a chain rule: the local derivative times the
    inner one), and the gradient autograd sends into its node."""
    numbers = view.numbers
    if numbers is None:
        return None
    parts = [f"value {maybe_number(numbers.value)}", f"d/d{view.wrt} {maybe_number(numbers.derivative)}"]
    if len(view.lets) == 1 and view.substeps[0].numbers is not None and view.substeps[1].numbers is not None:
        name = view.lets[0][0]
        parts[1] += (f" = {maybe_number(view.substeps[0].numbers.derivative)} (d/d{name}) × "
                     f"{maybe_number(view.substeps[1].numbers.derivative)} (d{name}/d{view.wrt})")
    if numbers.upstream is not None:
        parts.append(f"gradient from above {number(numbers.upstream)}")
    return ", ".join(parts) + ("" if numbers.source == "autograd" else " (evaluated by torch from the formulas)")


def check_line(view: StepView) -> str | None:
    """Only what needs saying: a step that failed, or could not be checked (a tensor function is said by
    its note)."""
    check = view.check
    if check is None or check.ok or check.method == "autograd":
        return None
    return f"check: {check.method}" + (f" ({check.detail})" if check.detail else "")


def _details(view: StepView, latex: bool, pretty: bool = False, width: int | None = None) -> list[str]:
    """The step's lines; on a terminal (`width`: the columns its label has) a line with a quotient in 2-D,
    fractions as fractions, where that fits (else the one-line text)."""
    lines = [_block(view, "line", width) or step_line(view, latex, pretty)]
    lines += [line for line in (_block(view, "assembled", width) or assembled_line(view, latex, pretty),
                                numbers_line(view), check_line(view)) if line]
    return lines + ([f"note: {view.note}"] if view.note else [])


def _block(view: StepView, which: str, width: int | None) -> str | None:
    block = view.blocks.get(which) if width is not None else None
    return block if block is not None and width is not None and _width(block) <= width else None


def _width(block: str) -> int:
    return max(len(line) for line in block.split("\n"))


def _numbered(view: StepView, latex: bool, pretty: bool = False, width: int | None = None) -> list[str]:
    """The step as `1.2. rule: statement` and its details indented below, then its substeps (on a terminal
    of `width` columns, with fractions in 2-D where they fit)."""
    lines: list[str] = []
    stack: list[tuple[StepView, str]] = [(view, "1")]
    while stack:
        step, label = stack.pop()
        indent = "   " * label.count(".")
        lines.append(f"{indent}{label}. {heading(step, latex, pretty)}")
        pad = indent + " " * (len(label) + 2)
        room = None if width is None else width - len(pad)
        lines += [pad + line.replace("\n", "\n" + pad) for line in _details(step, latex, pretty, room)]
        stack.extend((substep, f"{label}.{index}") for index, substep in reversed(list(enumerate(step.substeps, 1))))
    return lines


def _summary(result: StepsResult, latex: bool) -> list[str]:
    lines = [f"derivative\t{result.derivative_latex if latex else result.derivative}"]
    if result.unsimplified is not None and not latex:
        lines.append(f"as-built\t{result.unsimplified}")
    if result.point is not None:
        lines += [f"value\t{maybe_number(result.value)}", f"d/d{result.wrt}\t{number(result.gradient)}"]
    lines.append(f"verified\t{_verdict(result)}")
    return lines + [f"note\t{note}" for note in result.notes] + answer_lines(result)


def _verdict(result: StepsResult) -> str:
    if result.verified is False:
        return "NO: a step's result differs from sympy.diff of its expression (see its check)"
    checks = result.checks
    verified = sum(count for method, count in checks.items() if method in ("identical", "numeric", "simplified"))
    parts = [f"{_count(verified, 'step')}: each result equals sympy.diff of its expression"] if verified else []
    if checks.get("autograd"):
        parts.append(f"{_count(checks['autograd'], 'tensor function')} left to autograd")
    if result.verified is None:
        parts.append("not every step could be checked (see its check)")
    return "; ".join(parts)


def _count(number_: int, thing: str) -> str:
    return f"{number_} {thing}{'' if number_ == 1 else 's'}"


def _table(result: StepsResult, out: TextIO, latex: bool) -> None:
    from rich.text import Text
    from rich.tree import Tree

    console = console_for(out)
    print_formula(console, "f", result.root.pretty.get("expression", result.expression) if not latex else
                  result.expression)
    print_reading(console, result.parse, result.expression)
    if result.point is not None:
        at = ", ".join(binding_text(name, value) for name, value in result.point.items())
        console.print(Text(f"at {at}", style="dim"))
    width = console.width if console.is_terminal and not latex else None  # 2-D fractions: a terminal's only
    if _depth(result.root) * TREE_GUIDE + NARROWEST_LABEL > console.width:
        for line in _numbered(result.root, latex, True, width):  # too deep for a tree's guides: numbered lines
            console.print(Text(line), overflow="fold")
    else:
        tree = Tree(_label(result.root, latex, width), guide_style="dim")
        stack: list[tuple[StepView, Any, int]] = [(result.root, tree, 1)]
        while stack:
            view, node, depth = stack.pop()
            for substep in view.substeps:
                room = None if width is None else width - depth * TREE_GUIDE
                stack.append((substep, node.add(_label(substep, latex, room)), depth + 1))
        console.print(tree, overflow="fold")
    print_formula(console, f"d/d{result.wrt}", result.derivative_latex if latex else result.textbook or
                  result.derivative, None if latex else result.pretty)
    if result.unsimplified_pretty is not None and not latex:
        console.print(Text(f"(simplified; as the steps built it: {result.unsimplified_pretty})", style="dim"),
                      overflow="fold")
    if result.point is not None:
        console.print(Text.assemble((f"at the point: f = {maybe_number(result.value)}, d/d{result.wrt} = ", "bold"),
                                    number(result.gradient), ("   (grad's gradient)", "dim")))
    console.print(Text(f"verified: {_verdict(result)}", style="green" if result.verified else "bold red"))
    for note in result.notes:
        console.print(Text(f"note: {note}", style="yellow"))
    print_answers(console, result)


def _label(view: StepView, latex: bool, width: int | None) -> Any:
    """The step's heading and details for a tree node that has `width` columns (None: one-line texts)."""
    from rich.text import Text

    role = heading(view, latex, pretty=True)[:len(heading(view, latex, pretty=True)) - len(
        heading(view, latex, pretty=True).split(view.rule, 1)[1]) - len(view.rule)]
    label = Text(role, style="magenta")
    label.append(view.rule, style="bold")
    label.append(heading(view, latex, pretty=True).split(view.rule, 1)[1])
    for position, line in enumerate(_details(view, latex, True, width)):
        label.append("\n" + line, style="dim" if position else "cyan")
    return label


def _depth(view: StepView) -> int:
    deepest, stack = 0, [(view, 0)]
    while stack:
        step, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((substep, depth + 1) for substep in step.substeps)
    return deepest


# ------------------------------------------------------------------------------------------- --definition
DEFINITION = "f'(x) = lim(h->0) (f(x + h) - f(x))/h"


@in_working_dtype
def emit_definition(result: DefinitionResult, fmt: str, out: TextIO, explain_parse: bool = False,
                    latex: bool = False) -> None:
    """The board: the definition, each line with why it follows, the derivative; at a point the secant
    slopes converging on autograd's f′."""
    if fmt == "json":
        out.write(dumps(result.to_json(explain_parse)) + "\n")
    elif fmt == "plain":
        lines = reading_lines(result.parse, explain_parse) + _definition_lines(result, latex)
        out.write("".join(line + "\n" for line in lines))
    else:
        _board(result, out, latex)


def _definition_lines(result: DefinitionResult, latex: bool) -> list[str]:
    h = result.step
    lines = [f"f\t{result.f.latex if latex else result.f.text}",
             f"definition\t{_definition(h, latex)}"]
    for derivation in result.derivations:
        if len(result.derivations) > 1:
            lines.append(f"term\t{derivation.term.latex if latex else derivation.term.text}")
        lines += [f"line\t{_board_line(line, h, latex)}\t{line.reason}" for line in derivation.lines]
    if len(result.derivations) > 1:
        lines.append("sum\tthe limit of a sum is the sum of the limits")
    lines += [f"derivative\t{result.derivative.latex if latex else result.derivative.text}",
              f"verified\t{_definition_verdict(result)}"]
    if result.point is not None:
        lines.append(f"value\t{maybe_number(result.value)}")
        lines += [f"secant\t{step_text(row.h)}\t{number(row.slope)}\t{short(row.error)}\t{row.regime}"
                  for row in result.secants]
        lines.append(f"d/d{result.wrt}\t{number(result.gradient)}")
    return lines


def _definition(h: str, latex: bool) -> str:
    if latex:
        return rf"f'(x) = \lim_{{{h} \to 0}} \frac{{f(x + {h}) - f(x)}}{{{h}}}"
    return DEFINITION.replace("h", h) if h != "h" else DEFINITION


def _board_line(line: Any, h: str, latex: bool, pretty: bool = False) -> str:
    return str(line.text(h, "latex" if latex else "pretty" if pretty else "text"))


def _definition_verdict(result: DefinitionResult) -> str:
    if not result.verified:
        return "NO: a line does not check with SymPy (see its check)"
    return (f"each line equals the one before it (SymPy), and {result.derivative.text} is SymPy's derivative of "
            f"{result.f.text}")


def _board(result: DefinitionResult, out: TextIO, latex: bool) -> None:
    from rich.table import Table
    from rich.text import Text

    console = console_for(out)
    h = result.step
    print_reading(console, result.parse, result.expression)
    console.print(Text.assemble(("f(x) = ", "bold"), (result.f.latex if latex else result.f.pretty, "cyan")))
    console.print(Text(_definition(h, latex) if latex else f"f′(x) = lim {h}→0 (f(x + {h}) − f(x))/{h}",
                       style="bold"))
    for derivation in result.derivations:
        if len(result.derivations) > 1:
            console.print(Text(f"the term {derivation.term.latex if latex else derivation.term.pretty}:",
                               style="bold"))
        board = Table.grid(padding=(0, 2))
        board.add_column(overflow="fold", ratio=3)
        board.add_column(overflow="fold", ratio=2, style="dim")
        for line in derivation.lines:
            board.add_row(f"  = {_board_line(line, h, latex, pretty=True)}", line.reason)
        console.print(board)
    if len(result.derivations) > 1:
        console.print(Text("the limit of a sum is the sum of the limits", style="dim"))
    console.print(Text.assemble(("f′(x) = ", "bold"), result.derivative.latex if latex else result.derivative.pretty))
    console.print(Text(f"verified: {_definition_verdict(result)}", style="green" if result.verified else "bold red"))
    if result.point is not None:
        at = ", ".join(binding_text(name, value) for name, value in result.point.items())
        console.print(Text(f"at {at}: the secant slopes (f(x + {h}) − f(x))/{h}", style="bold"))
        rows = [[step_text(row.h), number(row.slope), short(row.error), row.regime] for row in result.secants]
        print_fitting(console, [h, "slope", "error vs autograd", "regime"], rows, ["right", "right", "right", "left"])
        console.print(Text.assemble(("autograd: ", "bold"), f"f′ = {number(result.gradient)}"))
