"""Import a student's ``layers.py`` from the assignment's layout, robustly.

Students' files import sibling modules the checker does not need
(``from cs231n.layers import *``, ``from .fast_layers import *``, Cython
extensions) and older editions use Python 2 names (``xrange``, ``from
past.builtins import xrange``). :func:`load_layers` executes the file as a
module of a private package while a meta-path finder answers those imports
with stub modules: ``cs231n.layers`` re-exports normcore's layers, every other
sibling is empty, and a name imported from it is a placeholder that raises if
called. Python 2's builtins (``xrange``, ``basestring``, ...) are put in the
module's namespace, its renamed modules (``cPickle``, ``StringIO``, ...) are
answered with their Python 3 successors, tabs are expanded as Python 2 did, and
``print x`` statements are read as ``print(x)`` calls. A module that is not
installed here is stubbed too, with a note. The stubs are removed again
afterwards, so a real ``cs231n`` package is not shadowed.

What was adapted is listed in the module's ``__normcore_notes__``.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import io
import os
import re
import sys
import types
import warnings

from normcore.check.probe import one_line

__all__ = ["load_layers", "LoadError"]

_PACKAGE = "_normcore_student"  # the private package the file is loaded into
_STUBBED = ("cs231n", _PACKAGE, "past", "future")
# Python 2 modules renamed in Python 3: answered with the successor.
_RENAMED = {"cPickle": "pickle", "StringIO": "io", "cStringIO": "io", "Queue": "queue",
            "ConfigParser": "configparser", "urllib2": "urllib.request"}
_PY2_BUILTINS = {"xrange": range, "basestring": str, "unicode": str, "long": int,
                 "raw_input": input}
_PRINT_STATEMENT = re.compile(r"^(\s*)print(?:\s+(?!\()(.*?))?\s*$")
_MAX_MISSING = 5  # modules not installed here that may be stubbed in one file


class LoadError(ImportError):
    """The file could not be imported; ``str(err)`` is a one-line reason."""


class _StubModule(types.ModuleType):
    """A sibling module the checker does not need: any name is a placeholder."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)

        def placeholder(*args, **kwargs):
            # Not NotImplementedError: that would read as the student's own stub.
            raise RuntimeError(f"{self.__name__}.{name} is not loaded by the checker")
        placeholder.__name__ = name
        return placeholder


def _fill(module: types.ModuleType) -> None:
    name = module.__name__
    if name in ("cs231n.layers", f"{_PACKAGE}.layers_reference"):
        import normcore as nc
        for attr in nc.__all__:
            setattr(module, attr, getattr(nc, attr))
        module.__all__ = list(nc.__all__)
    elif name in ("past.builtins", "future.builtins"):
        for attr, value in _PY2_BUILTINS.items():
            setattr(module, attr, value)
        module.range = range
    if name.split(".")[-1] == "gradient_check":
        import normcore.gradient_check as gc
        for attr in gc.__all__:
            setattr(module, attr, getattr(gc, attr))


class _StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self, missing):
        self.missing = missing  # top-level names not installed here

    def find_spec(self, fullname, path=None, target=None):
        top = fullname.split(".")[0]
        if top in _RENAMED and fullname == top:
            return importlib.util.spec_from_loader(fullname, self)
        if top not in _STUBBED and top not in self.missing:
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec):
        if spec.name in _RENAMED:  # a copy: the real module's own attributes stay intact
            module = types.ModuleType(spec.name)
            real = importlib.import_module(_RENAMED[spec.name])
            module.__dict__.update({k: v for k, v in vars(real).items()
                                    if not k.startswith("__")})
            return module
        module = _StubModule(spec.name)
        module.__path__ = []
        return module

    def exec_module(self, module):
        if isinstance(module, _StubModule):
            _fill(module)


@contextlib.contextmanager
def _stubs(missing):
    prefixes = set(_STUBBED) | set(missing) | set(_RENAMED)
    saved = {k: v for k, v in sys.modules.items() if k.split(".")[0] in prefixes}
    for k in saved:
        del sys.modules[k]
    finder = _StubFinder(missing)
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
        for k in [k for k in sys.modules if k.split(".")[0] in prefixes]:
            del sys.modules[k]
        sys.modules.update(saved)


def _print_calls(text: str) -> str:
    """Python 2's ``print x, y`` statements as ``print(x, y)`` calls."""
    lines = []
    for line in text.splitlines():
        m = _PRINT_STATEMENT.match(line)
        if m and not (m.group(2) or "").startswith(("=", ">>")):
            args = (m.group(2) or "").rstrip()
            end = ", end=' '" if args.endswith(",") else ""
            line = f"{m.group(1)}print({args.rstrip(',')}{end})"
        lines.append(line)
    return "\n".join(lines) + "\n"


def _compile(path: str, notes: list[str]):
    """The file's code object, adapting Python 2 tabs and print statements."""
    with open(path, "rb") as fh:
        source = fh.read()
    text = source.decode("utf-8", errors="replace")
    tabs = "tabs expanded to 8 columns, as Python 2 read them"
    prints = "Python 2 print statements read as print() calls"
    expanded = text.expandtabs(8)
    attempts = [(source, [])]
    if expanded != text:
        attempts.append((expanded, [tabs]))
    attempts.append((_print_calls(expanded), [tabs, prints] if expanded != text else [prints]))
    first = None
    for src, adapted in attempts:
        try:
            code = compile(src, path, "exec", dont_inherit=True)
        except SyntaxError as exc:
            first = first or exc
            continue
        notes.extend(adapted)
        return code
    hint = " (a Python 2 print statement?)" if "print" in (first.text or "") else ""
    raise LoadError(f"{type(first).__name__}: {first.msg} ({os.path.basename(path)} line "
                    f"{first.lineno}){hint}")


def load_layers(path) -> types.ModuleType:
    """Import a student's ``layers.py`` and return it as a module.

    Parameters
    ----------
    path : str or os.PathLike
        The file, e.g. ``assignment2/cs231n/layers.py``.

    Returns
    -------
    module
        Its functions are the student's; ``module.__file__`` is ``path``.

    Raises
    ------
    TypeError
        If ``path`` is not a str or path (misuse).
    FileNotFoundError
        If ``path`` is not a file (misuse).
    LoadError
        If the file cannot be imported; the message is one line, e.g.
        ``"SyntaxError: invalid syntax (layers.py line 12)"``.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike naming a layers.py file, "
                        f"got {type(path).__name__}")
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"path must be an existing layers.py file, got {path!r}")
    notes: list[str] = []
    try:
        code = _compile(path, notes)
    except (OSError, ValueError) as exc:
        raise LoadError(one_line(exc)) from None
    missing: list[str] = []
    while True:
        try:
            module = _execute(code, path, missing)
        except ModuleNotFoundError as exc:
            top = (exc.name or "").split(".")[0]
            if not top or top in missing or len(missing) >= _MAX_MISSING:
                raise LoadError(one_line(exc)) from None
            missing.append(top)  # not needed to define the layers, perhaps: try again
            continue
        except (Exception, SystemExit) as exc:  # the file's own error, in one line
            raise LoadError(one_line(exc)) from None
        break
    for top in missing:
        notes.append(f"module {top!r} is not installed here; the names the file imports "
                     "from it fail only if a layer calls them")
    module.__normcore_notes__ = notes
    return module


def _execute(code, path: str, missing: list[str]) -> types.ModuleType:
    name = f"{_PACKAGE}.{os.path.splitext(os.path.basename(path))[0]}"
    module = types.ModuleType(name)
    module.__file__ = path
    module.__package__ = _PACKAGE
    module.__dict__.update(_PY2_BUILTINS)  # names older editions still use
    with _stubs(missing):
        importlib.import_module(_PACKAGE)
        sys.modules[name] = module
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exec(code, module.__dict__)
    return module
