"""decay.py: each figure on small codebases whose values are counted by hand (lint apart: it runs ruff)."""

from __future__ import annotations

import ast
from collections.abc import Mapping

import pytest

from pytest_proofswe.modes.decay import (
    WEIGHTS,
    DecayTrend,
    StepInfo,
    content_key,
    is_wrapper,
    measure,
    significant,
)

BLOCK = """    subtotal = 0.0
    for item in items:
        price = item["price"]
        qty = item["qty"]
        line = price * qty
        subtotal = subtotal + line
"""


def run(*states: Mapping[str, str], lint: bool = False) -> DecayTrend:
    """measure() over states given as path -> text."""
    texts: dict[str, str] = {}
    keyed = []
    for state in states:
        keyed.append({path: content_key(text) for path, text in state.items()})
        texts.update({content_key(text): text for text in state.values()})
    steps = [StepInfo(f"s{i}", f"step {i}") for i in range(1, len(states))]
    return measure(keyed, steps, texts.get, lint=lint)


def test_significant_lines() -> None:
    assert significant("   x  =   1  ") == "x = 1"
    for line in ("", "   ", "# a comment", "    )", "]:", "import os", "from a.b import c", "},"):
        assert significant(line) is None, line
    assert significant("from_date = 1") == "from_date = 1"  # not an import


@pytest.mark.parametrize(
    ("source", "wrapper"),
    [
        ("def f(a, b):\n    return g(a, b)\n", True),
        ("def f(a, b):\n    '''Doc.'''\n    return g(b, a)\n", True),
        ("def f(self, x):\n    self._impl.run(x)\n", True),
        ("def f(*args, **kw):\n    return g(*args, **kw)\n", True),
        ("def f(a):\n    return g(a, 1)\n", False),  # a constant: the wrapper adds something
        ("def f(a):\n    return g(a.b)\n", False),
        ("def f(a):\n    x = g(a)\n    return x\n", False),
        ("def f(a):\n    return f(a)\n", False),  # recursion
        ("def __len__(self):\n    return len(self)\n", False),  # dunder
        ("def flush(self):\n    self._stream.flush()\n", False),  # an adapter: the same operation forwarded
        ("@overload\ndef f(a):\n    return g(a)\n", False),
    ],
)
def test_is_wrapper(source: str, wrapper: bool) -> None:
    fn = ast.parse(source).body[0]
    assert isinstance(fn, ast.FunctionDef)
    assert is_wrapper(fn) is wrapper


def test_a_copied_block_of_six_lines_is_twelve_duplicated_lines() -> None:
    one = f"def a(items):\n{BLOCK}    return subtotal\n"
    two = one + f"\n\ndef b(items):\n{BLOCK}    return -subtotal\n"
    trend = run({"m.py": one}, {"m.py": two})
    step = trend.steps[0]
    # BLOCK is 6 significant lines: one window, seen twice -> 6 lines in each copy.
    assert (step.before.duplicated_lines, step.after.duplicated_lines) == (0, 12)
    assert step.points["duplication"] == 12 * WEIGHTS["duplication"] == 3.0
    assert step.new_clones == (("m.py", 2, "m.py:12"),)  # def b is line 11, its copy starts at 12
    # Five lines copied are not a window: no duplication.
    five = BLOCK.split("\n", 1)[1]
    short = f"def a(items):\n{five}    return 1\n\n\ndef b(items):\n{five}    return 2\n"
    assert run({"m.py": short}).start.duplicated_lines == 0


def test_docstrings_and_overloads_are_not_duplication() -> None:
    doc = '    """' + "\n".join(f"    line {i} of a shared docstring" for i in range(8)) + '\n    """\n'
    sig = "".join(f"    p{i}: int = {i},\n" for i in range(8))
    text = (
        f"def a():\n{doc}    return 1\n\n\ndef b():\n{doc}    return 2\n\n\n"
        f"@overload\ndef c(\n{sig}) -> int: ...\n\n\n@t.overload\ndef c(\n{sig}) -> str: ...\n"
    )
    assert run({"m.py": text}).start.duplicated_lines == 0


def test_excess_complexity_counts_above_five_only() -> None:
    branches = "".join(f"    if x == {i}:\n        return {i}\n" for i in range(7))  # complexity 8
    text = f"def big(x):\n{branches}    return -1\n\n\ndef small(x):\n    return x\n"
    start = run({"m.py": text}).start
    assert (start.complexity_total, start.complexity_excess) == (8 + 1, 3)
    # Tests are not code: their complexity does not count.
    assert run({"tests/test_m.py": text}).start.complexity_total == 0


def test_single_use_and_wrappers_are_state_figures() -> None:
    before = "def helper(x):\n    return x * 2\n\n\ndef main(x):\n    return helper(x) + 1\n"
    after = before + "\n\ndef run(x):\n    return main(x)\n"
    trend = run({"m.py": before}, {"m.py": after})
    step = trend.steps[0]
    # helper is named once (by main): single-use; main is called by nobody before, once by run after.
    assert (step.before.single_use, step.after.single_use) == (1, 2)
    assert step.new_single_use == ("m.py::main",)
    assert (step.before.wrappers, step.after.wrappers) == (0, 1)
    assert step.new_wrappers == ("m.py::run",)
    assert step.new_functions == ("m.py::run",)
    assert step.points["wrappers"] == 2.0 and step.points["single_use"] == 0.5
    assert step.total == 2.5


def test_test_health_never_earns_credit() -> None:
    tests = "import pytest\n\n\ndef test_a():\n    assert 1\n    assert 2\n\n\ndef test_b():\n    assert 3\n"
    fewer = "import pytest\n\n\n@pytest.mark.skip\ndef test_a():\n    assert 1\n"
    trend = run(
        {"tests/test_a.py": tests, "tests/test_b.py": "def test_c():\n    assert 1\n"},
        {"tests/test_a.py": fewer},
        {"tests/test_a.py": tests, "tests/test_b.py": "def test_c():\n    assert 1\n"},
    )
    lost, back = trend.steps
    # 4 asserts -> 1 (3 lost), 0 skips -> 1, 2 test files -> 1
    assert lost.points["tests"] == 3 * 2 + 1 * 3 + 1 * 5 == 14
    assert back.points["tests"] == 0  # putting them back earns nothing
    assert trend.decay == 14


def test_conditional_skips_are_not_counted() -> None:
    marks = (
        "import sys\nimport unittest\n\nimport pytest\n\n\n"
        "@pytest.mark.skipif(sys.platform == 'win32', reason='posix only')\ndef test_a():\n    assert 1\n\n\n"
        "@unittest.skipUnless(sys.platform == 'linux', 'linux')\ndef test_b():\n    assert 1\n\n\n"
        "@pytest.mark.xfail\ndef test_c():\n    assert 1\n\n\n"
        "def test_d():\n    pytest.skip('later')\n"
    )
    assert run({"tests/test_m.py": marks}).start.skips == 2  # the xfail mark and the skip() call


def test_a_file_that_stops_parsing_costs_ten_points() -> None:
    trend = run({"m.py": "x = 1\n"}, {"m.py": "x = (\n"})
    assert trend.steps[0].points["syntax"] == 10
    assert trend.steps[0].after.syntax_errors == 1


def test_a_renamed_module_is_not_new() -> None:
    text = "def f(x):\n    return x\n"
    trend = run({"a.py": text}, {"b.py": text}, {"b.py": text, "c.py": text + "\n\ndef g(y):\n    return y\n"})
    moved, added = trend.steps
    assert moved.new_modules == () and moved.new_functions == () and moved.files_changed == 1
    assert added.new_modules == ("c.py",) and added.new_functions == ("c.py::f", "c.py::g")
    assert added.abstractions_per_100_lines == pytest.approx(100 * 3 / 4)


def test_touched_functions_and_their_complexity() -> None:
    before = "def f(x):\n    return x\n\n\ndef g(x):\n    return x\n"
    after = "def f(x):\n    if x:\n        return 1\n    return x\n\n\ndef g(x):\n    return x\n"
    step = run({"m.py": before}, {"m.py": after}).steps[0]
    assert step.touched_functions == ("m.py::f",)
    assert (step.touched_complexity_before, step.touched_complexity_after) == (1, 2)
    assert (step.lines_added, step.lines_removed) == (2, 0)


def test_the_gate_names_the_fewest_steps_that_bring_the_range_within() -> None:
    copy = f"def a(items):\n{BLOCK}    return 1\n"
    states = [
        {"m.py": "x = 1\n"},
        {"m.py": copy},  # 0 points
        {"m.py": copy + f"\n\ndef b(items):\n{BLOCK}    return 2\n"},  # +3 (12 duplicated lines)
        {"m.py": copy + f"\n\ndef b(items):\n{BLOCK}    return 2\n", "n.py": f"def c(items):\n{BLOCK}    return 3\n"},
    ]
    trend = run(*states)
    assert [s.total for s in trend.steps] == [0, 3.0, 1.5]  # the third copy adds 6 lines
    assert trend.decay == 4.5
    assert trend.gate(4.5).passed
    assert [s.info.id for s in trend.gate(2).culprits] == ["s2"]  # 4.5 - 3 = 1.5, within 2
    assert [s.info.id for s in trend.gate(1).culprits] == ["s2", "s3"]
    gate = trend.gate(1)
    assert not gate.passed and "s2 'step 2': +3 (duplication +3 (duplicated lines 0 -> 12))" in gate.message()
    assert gate.to_json() == {"decay": 4.5, "max_decay": 1, "passed": False, "culprits": ["s2", "s3"]}


def test_json_is_complete_and_the_series_has_one_value_per_state() -> None:
    trend = run({"m.py": "x = 1\n"}, {"m.py": "x = 2\n"}, {"m.py": "x = 3\n"})
    doc = trend.to_json()
    assert doc["decay"] == 0 and len(doc["steps"]) == 2
    assert all(len(values) == 3 for values in doc["trend"]["series"].values())
    assert doc["trend"]["cumulative"] == [0, 0]
    assert doc["notes"] == ["lint: not measured"]
    assert set(doc["steps"][0]) >= {"complexity", "lint", "duplication", "abstraction", "tests", "points"}


def test_states_and_steps_must_agree() -> None:
    with pytest.raises(ValueError, match="2 states need 1 steps, got 0"):
        measure([{}, {}], [], {}.get, lint=False)


def test_lint_is_counted_with_one_rule_set_for_every_state() -> None:
    clean = "import os\n\nprint(os.sep)\n"
    dirty = "import os\nimport sys\n\nprint(os.sep)\n"  # F401: sys unused
    trend = run({"m.py": clean}, {"m.py": dirty}, {"m.py": clean, "n.py": dirty}, lint=True)
    assert [s.after.lint for s in trend.steps] == [1, 1]
    assert [s.points["lint"] for s in trend.steps] == [1, 0]
    assert trend.steps[0].lint_introduced == {"F401": 1}
    assert trend.lint_tool.startswith("ruff ")
