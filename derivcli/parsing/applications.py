"""Functions as people write them: `f(…)`, `f x`, `f^2 x`, `f^-1(x)`, `√x`, `log_2 x`.

A function applied without parentheses takes the implicit product that follows, with its powers, up to
`+ - * /`, `,`, a closing bracket or the next function name (`sin 2x` = sin(2x), `sin x^2` = sin(x**2),
`sin x cos x` = sin(x)*cos(x)); its first factor may itself be signed or a function (`sin -x`,
`sin cos x`).  A whole-number power written on the name is a power of the value (`sin^2 x` =
sin(x)**2), except -1, the inverse function (`sin^-1 x` = asin(x)).  Radicals take the one factor that
follows (`√2x` = sqrt(2)*x).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..table.functions import FunctionSpec, by_name
from .arguments import bind
from .cursor import Cursor
from .notation import KEYWORDS, LOG_BASE
from .syntax import Call, Chain, Flag, IfElse, Items, Keyword, Name, Node, Num, Power, Span, Text, Unary, span_of
from .tokens import STRING_HINT, Token
from .unicode import RADICALS


class FunctionSyntax(Cursor):
    if TYPE_CHECKING:  # the operator grammar, which this part of it calls back into
        def if_else(self) -> Node: ...
        def power(self) -> Node: ...
        def unary(self) -> Node: ...
        def juxtaposed(self, functions: bool = True) -> bool: ...

    def function(self) -> Node:
        name = self.advance()
        plain_call = False  # f(x) as Python writes it: nothing to note
        canonical, extra = self.function_form(name)
        exponent = self.function_exponent(name) if self.at("**", "^") else None
        if name.text in RADICALS and not self.at("("):
            start = self.token.start
            argument = self.inside(self.power)
            call = Call(canonical, [argument, *extra], (name.start, self.previous.end), (name.start, name.end))
            written = self.text[start:call.span[1]]
        elif self.at("("):
            opened = self.token
            call = self.call(name, canonical, extra)
            written = self.text[opened.end:self.previous.start]
            plain_call = name.text == canonical and exponent is None
            if canonical == "where":
                if exponent is not None:
                    raise self.error("write a power of where(…) as where(…)**n", call.name_span)
                condition, body, orelse = call.args
                self.note(call.span, f"'{self.text[call.span[0]:call.span[1]]}' read as (a if condition else b)")
                return IfElse(body, condition, orelse, call.span)
        else:
            start = self.token.start
            call = self.application(name, canonical, extra)
            written = self.text[start:call.span[1]]
        reading = f"{canonical}({', '.join([written.strip(), *(self.argument_text(arg) for arg in extra)])})"
        if exponent is not None and exponent[0] == -1:
            return self.inverse(name, canonical, call, reading)
        if exponent is not None:
            value, exponent_span = exponent
            self.note(call.span, f"'{self.text[call.span[0]:call.span[1]]}' read as {reading}**{value}: a power "
                                 "of the function's value")
            return Power(call, Num(str(value), exponent_span), call.span)
        if not plain_call:
            self.note(call.span, f"'{self.text[call.span[0]:call.span[1]]}' read as {reading}")
        return call

    def argument_text(self, node: Node) -> str:
        return node.text if isinstance(node, Num) else node.id if isinstance(node, Name) else "…"

    def function_form(self, name: Token) -> tuple[str, list[Node]]:
        """The table name a written function stands for, and the arguments its spelling adds."""
        span = (name.start, name.end)
        if name.text == "∜":
            return "root", [Num("4", span)]
        if name.text in RADICALS:
            return RADICALS[name.text], []
        base = LOG_BASE.match(name.text) if name.text not in by_name() else None
        if base is not None:
            text = base.group(1)
            return "log", [Num(text, span) if text[0].isdigit() else Name(text, span)]
        return name.text, []

    def function_exponent(self, name: Token) -> tuple[int, Span]:
        """The whole-number power written on a function's name: `sin^2`, `sin**2`, `sin²`, `sin^(-1)`."""
        self.advance()
        start = self.token.start
        opened = self.advance() if self.at("(") else None
        sign = -1 if self.at("-") else 1
        if self.at("-", "+"):
            self.advance()
        number = self.token
        if number.kind != "NUMBER" or not number.text.isdigit() or len(number.text) > 3:
            raise self.error(f"a power of '{name.text}' must be a whole number, as in {name.text}^2 x",
                             hint=f"for another power write {name.text}(x)**p")
        self.advance()
        if opened is not None:
            self.expect(")", opened=opened)
        return sign * int(number.text), (start, self.previous.end)

    def inverse(self, name: Token, canonical: str, call: Call, reading: str) -> Node:
        spec = by_name().get(canonical)
        inverse = getattr(spec, "inverse", None)
        if spec is None or inverse is None:
            raise self.error(f"'{name.text}^-1' would be the inverse function, and {canonical} has none in the "
                             "table", call.span, hint=f"for the reciprocal write 1/{canonical}(x)")
        written = self.text[call.span[0]:call.span[1]]
        self.note(call.span, f"'{written}' read as {inverse}({reading[len(canonical) + 1:-1]}): the inverse "
                             f"function, not 1/{reading}")
        return Call(inverse, call.args, call.span, call.name_span)

    def call(self, name: Token, canonical: str, extra: list[Node] | None = None) -> Call:
        opened = self.advance()
        spec = by_name().get(canonical)

        def arguments() -> tuple[list[Node], list[Keyword]]:
            args: list[Node] = []
            keywords: list[Keyword] = []
            if not self.at(")"):
                self.argument(spec, args, keywords)
                while self.at(","):
                    self.advance()
                    self.argument(spec, args, keywords)
            self.expect(")", opened=opened)
            return args, keywords

        args, keywords = self.inside(arguments)
        call = Call(canonical, args + (extra or []), (name.start, self.previous.end), (name.start, name.end),
                    keywords)
        if spec is not None and (spec.signature or keywords):
            bind(spec, call, self.text)  # a wrong setting is an error before anything heavy is imported
        return call

    def argument(self, spec: FunctionSpec | None, args: list[Node], keywords: list[Keyword]) -> None:
        """One argument of a call: `name=value` (a setting), a quoted text, a list `[A, B]` where the
        function takes one, or an expression."""
        token = self.token
        if token.kind == "SETTING":
            self.advance()
            self.advance()  # the '='
            keywords.append(Keyword(token.text, self.setting_value(), (token.start, self.previous.end)))
            return
        if keywords:
            raise self.error("an argument without a name cannot follow name=value arguments",
                             hint="give the tensors first, then the settings, as in sum(X, dim=1)")
        if token.kind == "STRING":
            if spec is None or not any(param.kind == "text" for param in spec.signature):
                raise self.string_error(token)
            self.advance()
            args.append(Text(token.text[1:-1], (token.start, token.end)))
            return
        position = len(args)
        signature = spec.signature if spec is not None else ()
        if token.kind == "NAME" and token.text in ("True", "False") and signature:  # sum(X, 1, True)
            self.advance()
            args.append(Flag(token.text == "True", (token.start, token.end)))
            return
        if self.at("[") and position < len(signature) and signature[position].kind == "tensors":
            args.append(self.items())
            return
        args.append(self.if_else())

    def setting_value(self) -> Node:
        """A setting's value: a number (signed), True or False, or a quoted text."""
        token = self.token
        if token.kind == "NAME" and token.text in ("True", "False"):
            self.advance()
            return Flag(token.text == "True", (token.start, token.end))
        if token.kind == "STRING":
            self.advance()
            return Text(token.text[1:-1], (token.start, token.end))
        sign = self.advance() if self.at("-", "+") else None
        number = self.token
        if number.kind != "NUMBER":
            raise self.error("a setting's value is a number, True, False or a quoted text",
                             hint="as in sum(X, dim=1, keepdim=True)")
        self.advance()
        value: Node = Num(number.text, (number.start, number.end))
        return value if sign is None else Unary(sign.text, value, (sign.start, number.end))

    def items(self) -> Items:
        """`[A, B, …]`: the tensors cat and stack join."""
        opened = self.advance()

        def elements() -> list[Node]:
            found = [self.if_else()]
            while self.at(","):
                self.advance()
                found.append(self.if_else())
            self.expect("]", opened=opened)
            return found

        return Items(self.inside(elements), (opened.start, self.previous.end))

    def string_error(self, token: Token) -> Exception:
        return self.error(f"unexpected quoted string {token.text}", (token.start, token.start + 1), hint=STRING_HINT)

    def application(self, name: Token, canonical: str, extra: list[Node]) -> Call:
        """`sin x`: the argument is the implicit product that follows, stopping at the next function."""
        spec = by_name().get(canonical)
        if spec is not None and spec.arity[0] > 1 + len(extra):
            raise self.error(f"{name.text} takes {spec.arity_text().replace('-', ' to ')} arguments; write them "
                             f"in parentheses, as {name.text}(a, b)", (name.start, name.end))
        if not self.starts_argument():
            raise self.error(f"'{name.text}' is a function without an argument", (name.start, name.end),
                             hint=f"write {name.text}(x) or {name.text} x")

        def argument() -> Node:
            first = self.unary()  # its first factor may be signed: `sin -x` is sin(-x)
            items: list[tuple[str, Node, Span]] = [("*", first, span_of(first))]
            while self.juxtaposed(functions=False):
                factor = self.power()
                items.append(("*", factor, span_of(factor)))
            return first if len(items) == 1 else Chain(items, (span_of(first)[0], span_of(items[-1][1])[1]))

        self.nest()
        arg = argument()
        self.depth -= 1
        return Call(canonical, [arg, *extra], (name.start, self.previous.end), (name.start, name.end))

    def starts_argument(self) -> bool:
        """A number, name, bracket or bar; or a sign written onto one (`sin -x`, but not `cos + 1`)."""
        token = self.token
        if self.at("-", "+"):
            following = self.tokens[self.index + 1]
            return following.start == token.end and following.kind != "END"
        return token.kind == "NUMBER" or token.kind == "NAME" and token.text not in KEYWORDS or self.at("(", "|", "[")

