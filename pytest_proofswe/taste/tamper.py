"""Tampering APIs added to product code: ways to lie about test outcomes or escape the run.

Code under test runs inside the pytest process that grades it. A few APIs let it change
what that process reports (``pytest.xfail()`` from library code, ``_pytest`` internals,
``sys.modules["pytest"]``), act after the run (``atexit``, a detached ``setsid`` or
double-forked process), read other processes (``/proc``) or poison later runs (writes to
site-packages, ``.pth`` files). Product code has no use for them: each use on an added
line of a non-test Python file is a heavy ``tamper-*`` finding. A repository that is
pytest itself, or a pytest plugin, is exempt from the pytest rules.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Sequence

from .model import Finding, TasteConfig, TasteInput
from .pyparse import nodes

_OUTCOME_CALLS = {"xfail", "skip", "exit", "importorskip"}
_DETACH_CALLS = {"os.setsid", "os.fork", "os.forkpty", "os.setpgrp", "os.daemon", "daemon.DaemonContext"}
_SITE_CALLS = {"site.getsitepackages", "site.getusersitepackages", "site.addsitedir", "sysconfig.get_paths"}


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return f"{inner}.{node.attr}" if inner else ""
    return ""


def _is_pytest_module(name: str) -> bool:
    return name == "pytest" or name == "_pytest" or name.startswith("_pytest.")


def _sys_modules_key(node: ast.AST) -> str | None:
    """``"pytest"`` for ``sys.modules["pytest"]`` or ``sys.modules.get("pytest")``; else None."""
    key: ast.expr | None
    if isinstance(node, ast.Subscript) and _dotted(node.value) == "sys.modules":
        key = node.slice
    elif isinstance(node, ast.Call) and _dotted(node.func) in ("sys.modules.get", "sys.modules.__getitem__"):
        key = node.args[0] if node.args else None
    else:
        return None
    return key.value if isinstance(key, ast.Constant) and isinstance(key.value, str) else None


def _pytest_aliases(nodes: Iterable[ast.AST]) -> tuple[set[str], set[str]]:
    """Local names bound to the pytest module, and to its outcome functions (``from pytest import xfail``)."""
    modules, functions = {"pytest"}, set()
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "pytest":
                    modules.add(alias.asname or "pytest")
        elif isinstance(node, ast.ImportFrom) and node.module == "pytest" and not node.level:
            for alias in node.names:
                if alias.name in _OUTCOME_CALLS:
                    functions.add(alias.asname or alias.name)
    return modules, functions


def _string_findings(value: str) -> tuple[str, str] | None:
    if value == "/proc" or value.startswith("/proc/"):
        return "tamper-proc", f"path {value!r} into /proc (other processes' memory, environment, files)"
    if "site-packages" in value or "dist-packages" in value:
        return "tamper-site-packages", f"path {value!r} into an installed environment"
    if value.endswith(".pth"):
        return "tamper-site-packages", f"a .pth file {value!r} (run at every interpreter start)"
    if value == "setsid":
        return "tamper-detach", "runs setsid: a process that outlives the test run"
    if value == "_pytest" or value.startswith("_pytest."):
        return "tamper-pytest-internals", f"names pytest's internal module {value!r}"
    return None


def _check_call(
    node: ast.Call, line: int, modules: set[str], functions: set[str], pytest_exempt: bool
) -> Iterator[tuple[str, int, str]]:
    name = _dotted(node.func)
    head, _, last = name.rpartition(".")
    via_modules = _sys_modules_key(node.func.value) if isinstance(node.func, ast.Attribute) else None
    if not pytest_exempt:
        if (last in _OUTCOME_CALLS and head in modules) or (not head and last in functions):
            yield "tamper-pytest-outcome", line, f"{name}() in non-test code sets a test's outcome"
        elif via_modules is not None and _is_pytest_module(via_modules) and isinstance(node.func, ast.Attribute):
            called = f'sys.modules["{via_modules}"].{node.func.attr}'
            if node.func.attr in _OUTCOME_CALLS:
                yield "tamper-pytest-outcome", line, f"{called}() in non-test code sets a test's outcome"
        key = _sys_modules_key(node)
        if key is not None and _is_pytest_module(key.split(".")[0]):
            yield "tamper-pytest-internals", line, f"{name}({key!r}): reaches the running pytest"
        if name in ("importlib.import_module", "__import__"):
            arg = node.args[0] if node.args else None
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value.startswith("_pytest"):
                yield "tamper-pytest-internals", line, f"{name}({arg.value!r})"
    if name.startswith("atexit."):
        yield "tamper-atexit", line, f"{name}(): code that runs after the test run"
    elif name in _DETACH_CALLS:
        yield "tamper-detach", line, f"{name}(): a process that can outlive the test run"
    elif name in _SITE_CALLS:
        yield "tamper-site-packages", line, f"{name}(): where the installed environment lives"
    if any(k.arg == "start_new_session" for k in node.keywords):
        yield "tamper-detach", line, "start_new_session=: a process that can outlive the test run"


def _check_tree(nodes: Sequence[ast.AST], added: set[int], pytest_exempt: bool) -> Iterator[tuple[str, int, str]]:
    """``nodes``: every node of the file, in ``ast.walk``'s order (:func:`.pyparse.nodes`)."""
    modules, functions = _pytest_aliases(nodes)
    for node in nodes:
        line = getattr(node, "lineno", None)
        if line not in added:
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for name in names:
                if name == "atexit" and isinstance(node, ast.ImportFrom):  # atexit.register() is found as a call
                    yield "tamper-atexit", line, "from atexit import: code that runs after the test run"
                elif _is_pytest_module(name) and name != "pytest" and not pytest_exempt:
                    yield "tamper-pytest-internals", line, f"import of pytest's internals ({name})"
            if isinstance(node, ast.ImportFrom) and node.module == "pytest" and not pytest_exempt:
                for alias in node.names:
                    if alias.name in _OUTCOME_CALLS:
                        yield "tamper-pytest-outcome", line, f"from pytest import {alias.name} in non-test code"
        elif isinstance(node, ast.Call):
            yield from _check_call(node, line, modules, functions, pytest_exempt)
        elif isinstance(node, ast.Subscript):
            key = _sys_modules_key(node)
            if key is not None and _is_pytest_module(key.split(".")[0]) and not pytest_exempt:
                yield "tamper-pytest-internals", line, f'sys.modules["{key}"]: reaches the running pytest'
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found = _string_findings(node.value)
            if found is not None and not (pytest_exempt and found[0].startswith("tamper-pytest")):
                yield found[0], line, found[1]


def check(data: TasteInput, config: TasteConfig) -> Iterator[Finding]:
    from ..change import is_test_path

    exempt = any(m == "pytest" or m == "_pytest" or m.startswith("pytest_") for m in data.local_modules)
    for f in data.files:
        if not f.is_python or f.binary or f.head is None or is_test_path(f.path):
            continue
        every = nodes(f.head)
        if not every:  # the head does not parse
            continue
        added = {ln for ln, _ in f.added()}
        seen: set[tuple[str, int]] = set()  # one finding per rule and line
        for rule, line, message in _check_tree(every, added, exempt):
            if (rule, line) in seen:
                continue
            seen.add((rule, line))
            yield Finding(rule, f.path, line, message, config.weight(rule))
