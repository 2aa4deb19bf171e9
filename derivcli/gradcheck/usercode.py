"""The user's own PyTorch code, for `derivcli check FILE.py:NAME` (or `package.module:NAME`).

Importing a file runs it: that is the command's point, so it happens only where the user asked for it, for
a target typed on the process's own command line (`cli/check.py` checks `sys.argv`): never from `batch`,
a request, the REPL or its history, and never under `--no-files` or DERIVCLI_NO_FILES.  Everything the
user's code can do wrong on the way (a missing file, a syntax error, a missing or uncallable NAME, an
exception inside it) is one `DerivcliError` naming the user's file and line, never a traceback.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import importlib.util
import inspect
import os
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any

from ..errors import DerivcliError

TARGET_HINT = "write FILE.py:NAME or package.module:NAME, e.g. model.py:MLP or mypkg.losses:focal_loss"


@dataclass
class Callee:
    """What NAME turned out to be, ready to call by argument name.

    kind is `function`, `autograd.Function` (called through its `apply`, positionally) or `module` (an
    nn.Module instance, called through `torch.func.functional_call` so its parameters can be swapped for
    leaves of any dtype without touching the module)."""

    target: str
    kind: str
    call: Any
    arguments: list[inspect.Parameter]  # what may be bound, in order (no self, no ctx)
    module: Any = None
    notes: list[str] = field(default_factory=list)

    def invoke(self, values: dict[str, Any], state: dict[str, Any] | None = None) -> Any:
        """Call it with `values` by argument name (a module with `state`: its parameters and buffers)."""
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        positional = self.kind == "autograd.Function"
        last = max((index for index, parameter in enumerate(self.arguments) if parameter.name in values), default=-1)
        for index, parameter in enumerate(self.arguments):
            if parameter.kind is inspect.Parameter.VAR_KEYWORD:
                kwargs.update({name: value for name, value in values.items() if name not in self._named()})
                continue
            if parameter.name not in values:
                if index < last and (positional or parameter.kind is inspect.Parameter.POSITIONAL_ONLY):
                    args.append(parameter.default)  # a later argument is given: this one keeps its default
                continue
            value = values[parameter.name]
            if positional or parameter.kind is inspect.Parameter.POSITIONAL_ONLY:
                args.append(value)
            else:
                kwargs[parameter.name] = value
        if self.module is not None:
            from torch.func import functional_call

            return functional_call(self.module, state or {}, tuple(args), kwargs)
        return self.call(*args, **kwargs)

    def number_type(self, name: str) -> type | None:
        """int or float where the argument takes a Python number (its default is one, or its annotation
        says so): a setting such as `dim` or `eps`, passed as that number and not differentiated."""
        for parameter in self.arguments:
            if parameter.name == name:
                for kind in (int, float):
                    if parameter.annotation in (kind, kind.__name__) or (
                            type(parameter.default) is kind):  # bool is no number here
                        return kind
        return None

    def _named(self) -> set[str]:
        return {parameter.name for parameter in self.arguments if parameter.kind is not inspect.Parameter.VAR_KEYWORD}

    def bind(self, bindings: dict[str, Any], input_value: Any = None) -> dict[str, Any]:
        """The bindings by argument name, `--input` as the first argument; every argument without a default
        must be given, and every binding must name an argument."""
        named = [parameter.name for parameter in self.arguments if parameter.kind is not inspect.Parameter.VAR_KEYWORD]
        values = dict(bindings)
        if input_value is not None:
            if not named:
                raise DerivcliError(f"--input: {self.target} takes no arguments")
            if named[0] in values:
                raise DerivcliError(f"--input and --{named[0]} both give {self.target}'s argument {named[0]}",
                                    hint="give it once")
            values = {named[0]: input_value, **values}
        takes_any = any(parameter.kind is inspect.Parameter.VAR_KEYWORD for parameter in self.arguments)
        for name in values:
            if name not in named and not takes_any:
                close = difflib.get_close_matches(name, named, n=1)
                hint = f"did you mean --{close[0]}?" if close else (
                    f"its arguments are {', '.join(named)}" if named else "it takes no arguments")
                raise DerivcliError(f"--{name}: {self.target} has no argument named {name}", hint=hint)
        for parameter in self.arguments:
            if parameter.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
                continue
            if parameter.name not in values and parameter.default is inspect.Parameter.empty:
                first = parameter.name == (named[0] if named else None)
                raise DerivcliError(f"{self.target} needs its argument {parameter.name}",
                                    hint=f"give --{parameter.name} VALUE" + (" (or --input VALUE)" if first else "")
                                    + ", e.g. \"randn(4, 3)\"")
        ordered = {parameter.name: values[parameter.name] for parameter in self.arguments if parameter.name in values}
        return {**ordered, **values}  # in the signature's order, then what **kwargs takes


def load(target: str) -> Callee:
    """Import the target's file or module and classify its NAME (see `Callee`)."""
    source, name = split_target(target)
    module = _import_file(source) if _is_path(source) else _import_module(source)
    return classify(target, _attribute(module, source, name))


def split_target(target: str) -> tuple[str, str]:
    source, colon, name = target.rpartition(":")
    if not colon or not source or not name:
        raise DerivcliError(f"'{_clip(target)}' names no callable", hint=TARGET_HINT)
    if not all(part.isidentifier() for part in name.split(".")):
        raise DerivcliError(f"'{_clip(name)}' is not a Python name", hint=TARGET_HINT)
    if not _is_path(source) and not all(part.isidentifier() for part in source.split(".")):
        raise DerivcliError(f"'{_clip(source)}' is neither a .py file nor a module name", hint=TARGET_HINT)
    return source, name


def _is_path(source: str) -> bool:
    return source.endswith(".py") or "/" in source or os.sep in source


def _import_file(source: str) -> ModuleType:
    """The file, run as `python FILE.py` would see it (its directory first on sys.path, for its own
    imports), under a module name of its own."""
    path = Path(source).expanduser()
    if not path.exists():
        raise DerivcliError(f"no such file: {_clip(source)}", hint=TARGET_HINT)
    if not path.is_file():
        raise DerivcliError(f"{_clip(source)} is not a regular file", hint=TARGET_HINT)
    if path.suffix != ".py":
        raise DerivcliError(f"{_clip(source)} is not a .py file", hint=TARGET_HINT)
    path = path.resolve()
    module_name = "_derivcli_check_" + "".join(char if char.isalnum() else "_" for char in path.stem)
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise DerivcliError(f"cannot import {_clip(source)}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses and pickling look their module up here
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))
    try:
        _run_user_code(lambda: spec.loader.exec_module(module), f"importing {_clip(source)}")  # type: ignore[union-attr]
    except DerivcliError:
        del sys.modules[module_name]
        raise
    return module


def _import_module(source: str) -> ModuleType:
    """`package.module`, found from the working directory first, as `python -m` finds it."""
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return _run_user_code(lambda: importlib.import_module(source), f"importing {source}")
    except DerivcliError as error:
        cause = error.__cause__
        if isinstance(cause, ModuleNotFoundError) and cause.name is not None and \
                (source == cause.name or source.startswith(cause.name + ".")):
            raise DerivcliError(f"no module named {source}",
                                hint="give FILE.py:NAME, or run from the directory that holds the package") from None
        raise


def _attribute(module: ModuleType, source: str, name: str) -> Any:
    value: Any = module
    for depth, part in enumerate(name.split(".")):
        if not hasattr(value, part):
            where = _clip(source) if depth == 0 else ".".join(name.split(".")[:depth])
            defined = [item for item in dir(value) if not item.startswith("_")]
            close = difflib.get_close_matches(part, defined, n=1)
            raise DerivcliError(f"{where} has no {part}", hint=f"did you mean {close[0]}?" if close else
                                TARGET_HINT)
        value = getattr(value, part)
    return value


def classify(target: str, value: Any) -> Callee:
    """A function, an autograd.Function (or its apply), an nn.Module (class, instance or factory)."""
    import torch

    owner = getattr(value, "__self__", None)
    if inspect.isclass(owner) and issubclass(owner, torch.autograd.Function) and getattr(value, "__name__", "") \
            == "apply":
        value = owner
    if inspect.isclass(value) and issubclass(value, torch.autograd.Function):
        arguments = list(_signature(target, value.forward).parameters.values())
        if value.setup_context is torch.autograd.Function.setup_context:  # forward(ctx, ...): the old style
            arguments = arguments[1:]
        return Callee(target, "autograd.Function", value.apply, arguments)
    if inspect.isclass(value) and issubclass(value, torch.nn.Module):
        return _module(target, _run_user_code(value, f"{target} (building the module)", needs_arguments=True))
    if isinstance(value, torch.nn.Module):
        return _module(target, value)
    if inspect.isclass(value) or not callable(value):
        raise DerivcliError(f"{target} is {_article(type(value).__name__)}, not a function, an autograd.Function "
                            "or an nn.Module", hint=TARGET_HINT)
    arguments = list(_signature(target, value).parameters.values())
    if not arguments:  # a factory
        built = _run_user_code(value, f"{target}()")
        if not isinstance(built, torch.nn.Module):
            raise DerivcliError(f"{target}() returned {_article(type(built).__name__)}, not an nn.Module",
                                hint="a function to check takes its inputs as arguments; one without arguments "
                                     "must build an nn.Module")
        return _module(target, built)
    return Callee(target, "function", value, arguments)


def _module(target: str, module: Any) -> Callee:
    module.eval()  # dropout off and batch norm on its running statistics: the same function at every step
    arguments = list(_signature(target, module.forward).parameters.values())
    return Callee(target, "module", module, arguments, module=module,
                  notes=["the module is checked in eval mode (dropout off, batch norm on its running statistics)"])


def _signature(target: str, value: Any) -> inspect.Signature:
    try:
        return inspect.signature(value)
    except (TypeError, ValueError):
        raise DerivcliError(f"cannot read the arguments of {target}",
                            hint="wrap it in a Python function whose arguments have names") from None


def _run_user_code(call: Any, what: str, needs_arguments: bool = False) -> Any:
    """The user's code, any exception in it as one error line naming it and where it was raised."""
    try:
        return call()
    except SyntaxError as error:
        where = f"{shown_path(error.filename)}:{error.lineno}" if error.filename else "the file"
        raise DerivcliError(f"{where}: syntax error: {error.msg}") from error
    except TypeError as error:
        if needs_arguments and user_frame(error.__traceback__) is None:  # the constructor's own arguments
            raise DerivcliError(f"{what}: {error}",
                                hint="name a factory function without arguments that builds the module") from error
        raise user_error(error, what) from error
    except (Exception, SystemExit) as error:
        raise user_error(error, what) from error


def user_error(error: BaseException, what: str) -> DerivcliError:
    """`what raised ValueError: message (at model.py:12)`: the user's innermost line, where there is one."""
    text = str(error).strip().splitlines()
    where = user_frame(error.__traceback__)
    return DerivcliError(f"{what} raised {type(error).__name__}" + (f": {text[0]}" if text else "") +
                         (f" (at {where})" if where else ""))


def user_frame(trace: TracebackType | None) -> str | None:
    """The innermost frame of the traceback in the user's code (not torch's, derivcli's or Python's), as
    FILE:LINE."""
    found = None
    while trace is not None:
        filename = trace.tb_frame.f_code.co_filename
        if is_user_file(filename):
            found = f"{shown_path(filename)}:{trace.tb_lineno}"
        trace = trace.tb_next
    return found


def is_user_file(filename: str) -> bool:
    return not filename.startswith("<") and not any(
        os.path.abspath(filename).startswith(directory + os.sep) for directory in _library_directories())


@functools.cache
def _library_directories() -> tuple[str, ...]:
    import torch

    paths = sysconfig.get_paths()
    return (os.path.dirname(os.path.abspath(torch.__file__)), os.path.dirname(os.path.abspath(__file__)),
            os.path.abspath(paths["stdlib"]), os.path.abspath(paths["platstdlib"]))


def shown_path(filename: str) -> str:
    relative = os.path.relpath(filename) if os.path.isabs(filename) else filename
    return relative if not relative.startswith("..") else filename


def _article(word: str) -> str:
    return ("an " if word[:1].lower() in "aeiou" else "a ") + word


def _clip(text: str) -> str:
    from ..errors import printable

    return printable(text if len(text) <= 60 else text[:57] + "...")
