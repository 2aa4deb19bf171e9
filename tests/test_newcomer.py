"""What a newcomer meets (issue 28): a misspelled option never runs the wrong job (`--stpes 5` is an error
that names `--steps`, for every option of every command that reads `--NAME VALUE` bindings), and the API
shows itself to help(), dir() and Tab."""

from __future__ import annotations

import contextlib
import io
import json

import pytest

from derivcli.cli import main
from derivcli.cli.app import command
from derivcli.cli.commands import BindingCommand
from derivcli.limits.spelling import distance, nearest

EXPRESSIONS = {"implicit": "x^2 + y^2 = 1"}


def run(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, err.getvalue()


def one_edit_misspellings(name: str) -> list[str]:
    """A letter dropped, two neighbours swapped, a letter doubled, one changed."""
    found = {name[:i] + name[i + 1:] for i in range(len(name))}
    found |= {name[:i] + name[i + 1] + name[i] + name[i + 2:] for i in range(len(name) - 1)}
    found |= {name[:i] + name[i] + name[i:] for i in range(len(name))}
    found |= {name[:i] + ("q" if name[i] != "q" else "z") + name[i + 1:] for i in range(len(name))}
    return sorted(found - {name})


def binding_commands() -> list[tuple[str, list[str]]]:
    found = []
    for name, sub in sorted(command().commands.items()):
        if isinstance(sub, BindingCommand) and name != "check":  # (check runs only from a typed command line,
            # and knows its variables only once the user's code is imported: tests/test_check_command.py)
            options = sorted({o[2:] for p in sub.params for o in getattr(p, "opts", ()) if o.startswith("--")})
            found.append((name, options))
    return found


def unambiguous(typo: str, option: str, options: list[str]) -> bool:
    """`typo` is nearest to `option` alone among `options`, and near enough for `nearest` to take it.
    Each distance once: with the option the one unique nearest, `nearest` over all the options takes it
    exactly when it takes it alone (this list is built at import, and was 3 s of every test process's)."""
    distances = sorted(distance(typo, o) for o in options)
    mine = distance(typo, option)
    return distances[0] == mine and distances[:2].count(mine) == 1 and nearest(typo, [option]) == option


CASES = [(name, option, typo) for name, options in binding_commands() for option in options
         for typo in one_edit_misspellings(option)
         if len(typo) >= 3 and typo not in options and unambiguous(typo, option, options)]


def test_the_cases_cover_every_binding_command():
    assert {name for name, *_ in CASES} >= {"grad", "diff", "minimize", "taylor", "hessian", "jacobian"}
    assert ("minimize", "steps", "stpes") in CASES and ("diff", "order", "ordre") in CASES


@pytest.mark.parametrize("name, option, typo", CASES[::15] + [("minimize", "steps", "stpes"),
                                                             ("diff", "order", "ordre"), ("grad", "dtype", "dtyp")])
def test_a_misspelled_option_with_a_value_is_an_error_naming_the_option(name, option, typo):
    code, err = run([name, EXPRESSIONS.get(name, "x^2"), "--x", "1", f"--{typo}", "2"])
    assert code == 2 and f"did you mean --{option}?" in err and err.count("\n") == 1, err


@pytest.mark.parametrize("argv, warned", [
    (["grad", "y^2", "--y", "1", "--x", "2"], "--x is given but 'x' is not in the expression"),
    (["grad", "y^2", "--y", "1", "--width", "2"], "--width is given but 'width' is not in the expression"),
])
def test_a_name_that_is_neither_a_variable_nor_near_an_option_stays_a_warning(argv, warned):
    code, err = run(argv)
    assert code == 0 and warned in err


def test_a_variable_spelled_like_a_typo_of_an_option_is_a_variable():
    code, err = run(["minimize", "(stpes - 3)^2", "--stpes", "0", "--steps", "3"])
    assert code == 0 and "did you mean" not in err


def test_the_api_is_discoverable_without_loading_torch():
    """help(derivcli), dir(derivcli) and IPython's Tab show every public function; import stays light."""
    import ast
    import subprocess
    import sys

    script = ("import sys, derivcli, pydoc; names = dir(derivcli); light = 'torch' not in sys.modules; "
              "text = pydoc.render_doc(derivcli); print(names, light, all(f'{n}(' in text for n in "
              "('grad', 'jacobian', 'hessian', 'diff', 'taylor', 'compile')))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    names, light, documented = done.stdout.rsplit(" ", 2)
    assert {"grad", "diff", "jacobian", "hessian", "taylor", "compile", "Compiled"} <= set(ast.literal_eval(names))
    assert light == "True" and documented.strip() == "True", done.stderr


def test_batch_says_what_to_fix_in_its_own_terms():
    """A batch line is told to add the variable to "point" (not to pass --y), a misspelled key gets "did you
    mean", and jacobian and hessian requests take check and fd as grad's do."""
    from derivcli.scale.streams import batch

    requests = [{"expression": "x*y", "point": {"x": 1}},
                {"expression": "x*y", "point": {"x": 1, "y": 2}, "chek": True},
                {"expression": "softmax(a)", "point": {"a": [1, 2]}, "command": "jacobian", "check": True},
                {"expression": "x**2*y", "point": {"x": 1, "y": 2}, "command": "hessian", "fd": True}]
    missing, typo, jacobian, hessian = batch([json.dumps(request) for request in requests])
    assert missing["error"]["hint"] == 'add "y" to "point"'
    assert typo["error"]["message"] == "unknown key chek" and typo["error"]["hint"] == "did you mean check?"
    assert jacobian["check"]["verdict"] == "agree" and hessian["finite_differences"]["verdict"] == "agree"


@pytest.mark.parametrize("typo, meant", [("sen", "sin"), ("sn", "sin"), ("cso", "cos"), ("tnah", "tanh"),
                                         ("sqr", "sqrt"), ("expp", "exp")])
def test_a_misspelled_function_gets_the_nearest_name_of_the_table(typo, meant):
    """`sen(x)` (sine in Spanish) is one vowel from sin and one letter from sec and sgn: sin is named."""
    from derivcli.errors import DerivcliError
    from derivcli.parsing import parse

    with pytest.raises(DerivcliError, match=f"unknown function '{typo}'") as info:
        parse(f"{typo}(x)")
    assert info.value.hint == f"did you mean {meant}?"


def test_one_spelling_helper_ranks_slips_by_edits_with_vowels_counting_half():
    assert distance("steps", "stpes") == 1 and distance("sen", "sin") == 0.5 and distance("sen", "sec") == 1
    assert distance("chck", "check") == 0.5 and distance("gard", "grad") == 1 and distance("abc", "abc") == 0
    assert nearest("x", ["xy", "y"]) is None and nearest("wdith", ["width", "wrt"]) == "width"
    assert nearest("sin", ["sin", "sen"]) == "sen"  # never the name itself
    assert nearest("zzzz", ["steps", "order"]) is None


def test_a_caret_power_alone_is_no_news_but_other_readings_are_said():
    """`x^2` is read as README says `^` is: a table does not say so for every power; `2x^2` still shows
    the product it was read as."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["grad", "x^2 + cbrt(x)^2", "--x", "1", "--format", "table"]) == 0
    assert "read '" not in out.getvalue()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["grad", "2x^2", "--x", "1", "--format", "table"]) == 0
    assert "read '2x^2' as 2*x**2" in out.getvalue()
