"""The taste grade's shortcuts give its results: complexity of the changed functions only, each once per side,
to radon's count; one ruff process per grade; an import's providers; formatting-only blocks found without
tokenizing the others."""

from __future__ import annotations

import ast
import copy
import sys
from pathlib import Path
from typing import Any

import pytest

from pytest_proofswe.taste import TasteConfig, TasteInput, grade_taste, lint
from pytest_proofswe.taste import complexity as cx
from pytest_proofswe.taste.pyparse import tree_of
from tests.unit.test_taste_rules import code, diff_of

ROOT = Path(__file__).resolve().parents[2]
LIMIT = TasteConfig().thresholds["max_function_complexity"]


def _radon_units(text: str | None, only: set[str] | None, test: bool) -> dict[str, tuple[int, int]]:
    """What the grade measured before: radon over every module-level definition named in ``only``, whole."""
    from radon.complexity import cc_visit_ast  # type: ignore[import-untyped]

    tree = tree_of(text)
    if tree is None:
        return {}
    if only is not None:
        tree = ast.Module(body=[n for n in tree.body if getattr(n, "name", None) in only], type_ignores=[])
    if test:

        class Drop(ast.NodeTransformer):
            def drop(self, node: ast.expr) -> ast.expr:
                return ast.copy_location(ast.Constant(value=None), node)

            visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = drop

        tree = Drop().visit(copy.deepcopy(tree))
    out: dict[str, tuple[int, int]] = {}

    def add(block: Any, prefix: str) -> None:
        out[f"{prefix}{block.name}"] = (block.complexity, block.lineno)
        for closure in block.closures:
            add(closure, f"{prefix}{block.name}.")

    for block in cc_visit_ast(tree, no_assert=test):
        if type(block).__name__ == "Function":
            add(block, f"{block.classname}." if block.classname else "")
    return out


def _reference(data: TasteInput) -> list[tuple[str, str, int, str]]:
    """The complexity findings as the grade gave them before (radon on whole touched classes), by hand."""
    out = []
    for f in data.files:
        touched = cx._touched_names(f.head, {ln for ln, _ in f.added()})
        touched |= cx._touched_names(f.base, {ln for ln, _ in f.removed()})
        test = "test" in f.path
        base, head = _radon_units(f.base, touched, test), _radon_units(f.head, touched, test)
        for qual, (cc, line) in head.items():
            if qual in base and cc > base[qual][0]:
                out.append(("complexity-increase", f.path, line, f"{qual}: complexity {base[qual][0]} -> {cc}"))
            elif qual not in base and cc > LIMIT and not test:
                out.append(
                    ("complexity-new-complex-function", f.path, line, f"new function {qual} has complexity {cc}")
                )
    return sorted(out)


def _complexity_findings(data: TasteInput) -> list[tuple[str, str, int, str]]:
    found = cx.check(data, TasteConfig(), {})
    return sorted((f.rule, f.path, f.line or 0, f.message.split(" (")[0]) for f in found)


METHOD_BRANCHES = "".join(f"        if x == {i}:\n            return {i}\n" for i in range(11))
FUNCTION_BRANCHES = METHOD_BRANCHES.replace("\n    ", "\n")[4:]
BASE = code("""
    import functools


    class Shop:
        tax = 0.2

        def price(self, x):
            return x * (1 + self.tax)

        def busy(self, x):
            BRANCHES
            return -1

        @property
        def total(self):
            return 1

        @total.setter
        def total(self, value):
            self._total = value


    def outer(items):
        def inner(x):
            return x + 1

        return [inner(i) for i in items]


    def plain(x):
        return x


    class Renamed:
        def busy(self, x):
            BRANCHES
            return -1
""").replace("        BRANCHES\n", METHOD_BRANCHES)
FRESH = f"\n\n@functools.cache\ndef fresh(x):\n{FUNCTION_BRANCHES}    return -1\n"


@pytest.mark.parametrize(
    ("edits", "expected"),
    [
        # a method in a class: only it is measured, not its complex neighbour
        (
            [
                (
                    "        return x * (1 + self.tax)",
                    "        if x < 0:\n            x = 0\n        return x * (1 + self.tax)",
                )
            ],
            [("complexity-increase", "Shop.price: complexity 1 -> 2")],
        ),
        # a nested function: the closure's own count, not the outer's
        (
            [("        return x + 1", "        return x + 1 if x else 0")],
            [("complexity-increase", "outer.inner: complexity 1 -> 2")],
        ),
        # decorators count nothing; a new decorated function is measured, at its def line
        (
            [
                (
                    "class Renamed:\n    def busy(self, x):",
                    "class Renamed:\n    @functools.cache\n    def busy(self, x):",
                ),
                ("def plain(x):\n    return x\n", f"@functools.cache\ndef plain(x):\n    return x\n{FRESH}"),
            ],
            [("complexity-new-complex-function", "new function fresh has complexity 12")],
        ),
        # a class body that changes (a class attribute) leaves its methods alone
        ([("    tax = 0.2", "    tax = 0.25\n    rounding = 2")], []),
        # a class renamed: its methods are new functions, measured though their own lines did not change
        (
            [("class Renamed:", "class RenamedShop:")],
            [("complexity-new-complex-function", "new function RenamedShop.busy has complexity 12")],
        ),
        # a name defined twice (a property and its setter): the last one is compared, as radon reports it
        ([("    def total(self):\n        return 1\n", "    def total(self):\n        return 1 if self else 2\n")], []),
    ],
    ids=["method", "nested", "decorators", "class-body", "class-renamed", "property-setter"],
)
def test_touched_functions_only_give_the_same_findings_as_whole_classes(
    tmp_path: Path, edits: list[tuple[str, str]], expected: list[tuple[str, str]]
) -> None:
    head = BASE
    for old, new in edits:
        assert head.count(old) == 1, old
        head = head.replace(old, new)
    data = diff_of(tmp_path, {"shop.py": (BASE, head)})
    got = _complexity_findings(data)
    assert got == _reference(data)
    assert [(rule, message) for rule, _, _, message in got] == expected
    lines = head.splitlines()
    for _, _, line, message in got:
        assert lines[line - 1].lstrip().startswith("def "), message  # the def line, not a decorator's


def test_only_the_changed_functions_are_measured_each_once_per_side(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    measured: list[str] = []
    real = cx.complexity_of

    def counting(node: ast.FunctionDef | ast.AsyncFunctionDef, *, test: bool = False) -> int:
        measured.append(node.name)
        return real(node, test=test)

    monkeypatch.setattr(cx, "complexity_of", counting)
    head = BASE.replace("        return x * (1 + self.tax)", "        return x * (2 + self.tax)")
    data = diff_of(tmp_path, {"shop.py": (BASE, head)})
    assert _complexity_findings(data) == []
    # Shop was touched: radon walked all of it (busy, total twice), base and head; now only price, once a side.
    assert measured == ["price", "price"]


def test_an_unchanged_head_measures_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    measured: list[str] = []
    monkeypatch.setattr(cx, "complexity_of", lambda node, *, test=False: measured.append(node.name) or 1)
    data = diff_of(tmp_path, {"shop.py": (BASE, BASE.replace("import functools", "import functools  # cache"))})
    assert _complexity_findings(data) == [] and measured == []


SNIPPETS = code("""
    import asyncio


    def every_branch(x, items):
        assert x and items, "a check"
        try:
            y = 1
        except ValueError:
            y = 2
        else:
            y = 4
        for i in items:
            pass
        else:
            pass
        while x or y and items:
            break
        match x:
            case 1 | 2:
                pass
            case [a, *rest] if a > 0:
                pass
            case _:
                pass
        f = lambda v: v if v else None
        data = {k: v for k, v in items if k if v}
        total = sum(i for i in items if i > 0)
        with open("f") as fh:
            pass

        def closure(z):
            return z or x

        class Inner:
            def hidden(self):
                return 1 if self else 2

        return [f(i) for i in items if i]


    async def coroutine(xs):
        async for x in xs:
            if x:
                await asyncio.sleep(0)
        async with xs:
            pass


    if True:
        def under_if(x):
            return x if x else 0
    else:
        def under_if(x):
            return x


    try:
        import json
    except ImportError:
        def loads(text):
            return text or None


    class Outer:
        if True:
            def conditional(self):
                return 1 if self else 2

        class Nested:
            def method(self):
                return 1 if self else 2

        def method(self, x):
            def helper():
                def deepest():
                    return x and 1 or 2

                return deepest() if x else None

            return helper()
""")


# radon counts a try's handlers, but not those of a try/except* (a node of another name).
EXCEPT_STAR = code("""
    def groups(x):
        try:
            x()
        except* TypeError:
            pass
        except* ValueError:
            pass
        return 1 if x else 2
""")


def _corpus(test: bool) -> list[Path]:
    """This project's code and the example tasks' (their tests, for the rules of a test file)."""
    files = sorted((ROOT / "fixtures").rglob("*.py")) + sorted((ROOT / "tests" / "data").rglob("*.py"))
    return files + sorted((ROOT / "pytest_proofswe" / ("taste" if test else "")).rglob("*.py"))


@pytest.mark.parametrize("test", [False, True], ids=["product", "test-file"])
def test_the_count_is_radons_on_real_code(test: bool) -> None:
    texts = [SNIPPETS, *(p.read_text(encoding="utf-8") for p in _corpus(test))]
    if sys.version_info >= (3, 11):
        texts.append(EXCEPT_STAR)
    compared = 0
    for text in texts:
        tree = tree_of(text)
        if tree is None:
            continue
        names = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
        for only in (None, set(sorted(names)[::2])):
            expected = _radon_units(text, only, test)
            got = cx.function_complexity(text, only, test=test)
            assert list(got.items()) == list(expected.items())
            compared += len(got)
    assert compared > 300  # the corpus is real code, not a handful of functions
    snippets = cx.function_complexity(SNIPPETS, test=test)
    assert set(snippets) >= {"every_branch", "every_branch.closure", "Outer.method.helper.deepest", "under_if", "loads"}
    assert "Outer.Nested.method" not in snippets and "Nested.method" not in snippets  # radon reports no inner class


def test_one_ruff_process_per_grade(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ruff = lint.find_ruff()
    if ruff is None:
        pytest.skip("ruff is not installed")
    calls: list[list[str]] = []
    real = lint.process.run

    def counting(argv: list[str], **kwargs: Any) -> Any:
        if argv and argv[0] == ruff:
            calls.append(list(argv[1:2]))
        return real(argv, **kwargs)

    monkeypatch.setattr(lint.process, "run", counting)
    data = diff_of(tmp_path, {"m.py": ("import os\n", "import os\nimport sys\n")})
    first = grade_taste(data, TasteConfig())
    calls.clear()
    second = grade_taste(data, TasteConfig())
    assert calls == [["check"]]  # the version was asked once, by the first grade of this process
    assert second.metrics["lint_tool"] == first.metrics["lint_tool"] and first.metrics["lint_tool"].startswith("ruff ")


def test_the_installed_providers_of_an_import_are_packages_distributions() -> None:
    """What imports-new-third-party asks the environment, without reading every distribution's files."""
    import importlib.metadata

    from pytest_proofswe.taste import structure

    every = importlib.metadata.packages_distributions()
    modules = [*sorted(every)[:60], "pytest", "_pytest", "radon", "libcst", "_typeshed", "no_such_module_at_all"]
    structure._providers.cache_clear()
    assert {m: structure._providers(m) for m in modules} == {m: tuple(every.get(m, ())) for m in modules}
    assert structure._providers("pytest") and not structure._providers("no_such_module_at_all")


@pytest.mark.parametrize(
    ("removed", "added", "differs"),
    [
        (["def get_type(self):"], ["def get_type(self) -> str:"], True),  # an annotation: code
        (["x = f(a, b)"], ["x = f(", "    a,", "    b,", ")"], False),  # layout and a trailing comma
        (["s = 'it'"], ['s = "it"'], False),  # quotes
        (['s = R"x"'], ['s = r"x"'], False),  # a string prefix's case
        (["x = 1  # one"], ["x = 1  # uno"], False),  # a comment: tokenizing decides
        (['s = "a#b"'], ["s = 'a#c'"], False),  # a # in a string: tokenizing decides
        (["total = price * qty"], ["total = qty * price"], False),  # the same letters: tokenizing decides
    ],
)
def test_a_block_whose_letters_differ_is_not_formatting_only(
    removed: list[str], added: list[str], differs: bool
) -> None:
    from pytest_proofswe.taste import churn

    assert churn._code_differs(removed, added) is differs
    if differs:  # never a formatting-only change that the shortcut would hide
        before, after = churn._normalise_python(removed), churn._normalise_python(added)
        assert before is None or before != after
