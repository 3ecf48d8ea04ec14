"""The taste analysers on small, hand-made patches (no workspace, no pytest session)."""

from __future__ import annotations

import dataclasses
import subprocess
import textwrap
from pathlib import Path

import pytest

from pytest_proofswe.harness.patch import parse_patch
from pytest_proofswe.taste import FileText, TasteConfig, TasteInput, grade_taste

DEFAULTS = TasteConfig()


def diff_of(tmp_path: Path, files: dict[str, tuple[str | None, str | None]]) -> TasteInput:
    """A TasteInput for files changing from base to head text, with git's own diff."""
    repo = tmp_path / "r"
    repo.mkdir(parents=True, exist_ok=True)

    def write(side: dict[str, str | None]) -> None:
        for rel, text in side.items():
            path = repo / rel
            if text is None:
                path.unlink(missing_ok=True)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)

    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    write({k: v[0] for k, v in files.items()})
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "base"], cwd=repo, check=True)
    write({k: v[1] for k, v in files.items()})
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    text = subprocess.run([*git, "diff", "--cached", "-M"], cwd=repo, check=True, capture_output=True, text=True).stdout
    parsed = parse_patch(text)
    return TasteInput(
        files=tuple(
            FileText(
                f.path,
                f.kind,
                files[f.source_path or f.path][0] if (f.source_path or f.path) in files else None,
                files[f.path][1] if f.path in files else None,
                f.hunks,
                old_path=f.source_path,
            )
            for f in parsed.files
        )
    )


def findings(data: TasteInput, config: TasteConfig = DEFAULTS) -> list[tuple[str, str, int | None]]:
    return sorted((f.rule, f.path, f.line) for f in grade_taste(data, config).findings)


def code(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


BASE = code("""
    def area(w, h):
        return w * h


    def perimeter(w, h):
        return 2 * (w + h)
""")


def test_minimal_change_is_clean(tmp_path: Path) -> None:
    data = diff_of(tmp_path, {"geo.py": (BASE, BASE.replace("return w * h", "return abs(w * h)"))})
    result = grade_taste(data, DEFAULTS)
    assert result.score == 100 and result.passed and result.findings == ()
    assert result.metrics["files_touched"] == 1 and result.metrics["lines_added"] == 1


def test_debug_leftovers_todo_and_commented_code(tmp_path: Path) -> None:
    head = BASE.replace(
        "    return w * h\n",
        code("""
            print("area", w, h)
            # TODO: negative sizes
            # result = w * h
            breakpoint()
            return w * h
    """)
        .replace("\n", "\n    ")
        .rstrip()
        + "\n",
    ).replace("    print", "    print", 1)
    head = head.replace("def area(w, h):\nprint", "def area(w, h):\n    print")
    data = diff_of(tmp_path, {"geo.py": (BASE, head)})
    got = findings(data)
    lines = head.splitlines()
    assert ("debug-print", "geo.py", lines.index('    print("area", w, h)') + 1) in got
    assert ("comments-todo", "geo.py", lines.index("    # TODO: negative sizes") + 1) in got
    assert ("comments-commented-out-code", "geo.py", lines.index("    # result = w * h") + 1) in got
    assert ("debug-breakpoint", "geo.py", lines.index("    breakpoint()") + 1) in got


def test_prose_comments_are_not_code(tmp_path: Path) -> None:
    head = BASE.replace(
        "    return w * h\n",
        "    # Width times height: the usual formula.\n    # See the docs (chapter 2).\n    return w * h\n",
    )
    assert findings(diff_of(tmp_path, {"geo.py": (BASE, head)})) == []


def test_print_is_fine_where_the_module_already_prints(tmp_path: Path) -> None:
    base = BASE + "\n\ndef show(x):\n    print(x)\n"
    head = base.replace("return w * h", 'print("area")\n    return w * h')
    assert "debug-print" not in {r for r, _p, _l in findings(diff_of(tmp_path, {"geo.py": (base, head)}))}


def test_excepts_and_unreachable(tmp_path: Path) -> None:
    head = BASE + code("""


        def safe(w, h):
            try:
                return area(w, h)
            except:
                return 0


        def quiet(w, h):
            try:
                return area(w, h)
            except Exception:
                pass
            return 0


        def loud(w, h):
            try:
                return area(w, h)
            except Exception:
                raise


        def dead(w):
            return w
            w += 1
    """)
    got = findings(diff_of(tmp_path, {"geo.py": (BASE, head)}))
    lines = head.splitlines()
    assert ("errors-bare-except", "geo.py", lines.index("    except:") + 1) in got
    blind = [g for g in got if g[0] == "errors-blind-except"]
    assert blind == [("errors-blind-except", "geo.py", lines.index("    except Exception:") + 1)]  # not loud()
    assert ("code-unreachable", "geo.py", lines.index("    w += 1") + 1) in got


def test_new_abstractions_and_public_functions(tmp_path: Path) -> None:
    head = BASE + code("""


        from abc import ABC
        from typing import Protocol


        class Shape(ABC):
            pass


        class Sized(Protocol):
            def size(self) -> int: ...


        class Square(Shape):
            def side(self):
                return 1


        def helper_one():
            return 1


        def helper_two():
            return 2


        def _private():
            return 3
    """)
    got = findings(diff_of(tmp_path, {"geo.py": (BASE, head)}))
    rules = [r for r, _p, _l in got]
    assert rules.count("structure-new-abstraction") == 2
    assert rules.count("structure-new-class") == 1
    assert rules.count("structure-new-public-function") == 2  # helper_one, helper_two; not Square.side, not _private
    result = grade_taste(diff_of(tmp_path / "again", {"geo.py": (BASE, head)}), DEFAULTS)
    allowed = [f for f in result.findings if f.rule == "structure-new-public-function" and f.penalty == 0]
    assert len(allowed) == 1 and "within what the fix needs" in allowed[0].message  # one helper is allowed


def test_gold_allowance(tmp_path: Path) -> None:
    head = BASE + "\n\nclass Box:\n    pass\n"
    data = diff_of(tmp_path, {"geo.py": (BASE, head)})
    without = grade_taste(data, DEFAULTS)
    gold = "+++ b/geo.py\n+class Box:\n+    pass\n"
    import dataclasses

    with_gold = grade_taste(dataclasses.replace(data, gold_paths=frozenset({"geo.py"}), gold_text=gold), DEFAULTS)
    assert without.score < 100 and with_gold.score == 100


def test_api_breaks(tmp_path: Path) -> None:
    """A signature changed and a name removed while the repository still uses them the old way."""
    head = BASE.replace("def area(w, h):", "def area(width, h):").replace("return w * h", "return width * h")
    head = head.replace("def perimeter(w, h):\n    return 2 * (w + h)\n", "")
    data = diff_of(tmp_path, {"geo.py": (BASE, head)})
    caller = "from geo import area, perimeter\n\nprint(area(w=1, h=2), perimeter(1, 2))\n"
    got = findings(dataclasses.replace(data, sources={"report.py": caller}))
    assert ("api-signature-changed", "geo.py", 1) in got
    assert any(r == "api-name-removed" for r, _p, _l in got)
    # Nobody calls them the old way: no break of the repository (an application's names are its own).
    assert findings(dataclasses.replace(data, sources={"report.py": "from geo import area\n\narea(1, 2)\n"})) == []


@pytest.mark.parametrize(
    ("old", "new", "call", "breaks"),
    [
        ("def f(a, b): pass", "def f(a, b, c=1): pass", "f(1, 2)", False),
        ("def f(a, b): pass", "def f(a, b, *args, **kw): pass", "f(1, b=2)", False),
        ("def f(a, b): pass", "def f(a, b, c): pass", "f(1, 2)", True),
        ("def f(a, b): pass", "def f(b, a): pass", "f(1, 2)", True),  # the values swap
        ("def f(a, b): pass", "def f(b, a): pass", "f(a=1, b=2)", False),
        ("def f(a, *, k=1): pass", "def f(a): pass", "f(1, k=2)", True),
        ("def f(a, *, k=1): pass", "def f(a): pass", "f(1)", False),
        ("def f(a, *, k=1): pass", "def f(a, **kw): pass", "f(1, k=2)", False),
        ("def f(a): pass", "def f(a, *, k): pass", "f(1)", True),
        ("def f(a, **kw): pass", "def f(a): pass", "f(1, x=2)", True),
        ("def f(a, **kw): pass", "def f(a): pass", "f(*args, **kwargs)", False),  # cannot tell
        ("def _f(a): pass", "def _f(b): pass", "_f(a=1)", False),  # private
    ],
)
def test_signature_compatibility(tmp_path: Path, old: str, new: str, call: str, breaks: bool) -> None:
    data = diff_of(tmp_path, {"m.py": (old + "\n", new + "\n")})
    name = call.split("(")[0]
    caller = f"from m import {name}\n\n{call}\n"
    got = findings(dataclasses.replace(data, sources={"use.py": caller}))
    assert ("api-signature-changed" in {r for r, _p, _l in got}) is breaks


def test_third_party_imports(tmp_path: Path) -> None:
    import dataclasses

    head = (
        "import os\nimport json\nimport requests\nfrom mypkg import util\nfrom . import sibling\nimport yaml\n" + BASE
    )
    data = diff_of(tmp_path, {"geo.py": (BASE, head)})
    data = dataclasses.replace(data, local_modules=frozenset({"mypkg"}), declared_dependencies=frozenset({"yaml"}))
    assert [g for g in findings(data) if g[0] == "imports-new-third-party"] == [
        ("imports-new-third-party", "geo.py", 3)
    ]


def test_syntax_error_is_a_finding_not_a_crash(tmp_path: Path) -> None:
    head = BASE.replace("return w * h", "return w *")
    result = grade_taste(diff_of(tmp_path, {"geo.py": (BASE, head)}), DEFAULTS)
    assert [(f.rule, f.line) for f in result.findings] == [("code-syntax-error", 2)]


def test_complexity_increase_matched_by_name(tmp_path: Path) -> None:
    head = BASE.replace(
        "    return w * h", "    if w < 0:\n        w = -w\n    if h < 0:\n        h = -h\n    return w * h"
    )
    head += "\n\nclass K:\n    def m(self, x):\n        return [i for i in x if i]\n"
    base = BASE + "\n\nclass K:\n    def m(self, x):\n        return x\n"
    result = grade_taste(diff_of(tmp_path, {"geo.py": (base, head)}), DEFAULTS)
    inc = {f.message: f.penalty for f in result.findings if f.rule == "complexity-increase"}
    assert inc == {"area: complexity 1 -> 3 (+2)": 6.0, "K.m: complexity 1 -> 3 (+2)": 6.0}
    assert result.metrics["complexity_increase"] == 4


def test_new_complex_function(tmp_path: Path) -> None:
    branches = "".join(f"    if x == {i}:\n        return {i}\n" for i in range(12))
    head = BASE + f"\n\ndef classify(x):\n{branches}    return -1\n"
    got = findings(diff_of(tmp_path, {"geo.py": (BASE, head)}))
    assert ("complexity-new-complex-function", "geo.py", head.splitlines().index("def classify(x):") + 1) in got


def test_lint_is_base_versus_head_not_line_numbers(tmp_path: Path) -> None:
    base = "import os\n\n\ndef f():\n    return 1\n"
    # The old unused import moves down two lines; a new unused import and variable appear.
    head = "import sys\n\n\nimport os\n\n\ndef f():\n    unused = 2\n    return 1\n"
    result = grade_taste(diff_of(tmp_path, {"m.py": (base, head)}), DEFAULTS)
    lint = sorted((f.rule, f.line, f.message.split()[0]) for f in result.findings if f.rule.startswith("lint"))
    assert lint == [("lint-introduced", 1, "F401"), ("lint-introduced", 8, "F841")]
    assert result.metrics["lint_introduced"] == 2 and result.metrics["lint_tool"].startswith("ruff ")


def test_lint_removed_is_credit(tmp_path: Path) -> None:
    base = "import os\n\n\ndef f():\n    return 1\n"
    result = grade_taste(diff_of(tmp_path, {"m.py": (base, "def f():\n    return 1\n")}), DEFAULTS)
    assert [(f.rule, f.penalty) for f in result.findings] == [("lint-removed", -1.0)]
    assert result.score == 100  # credit never lifts the score above 100


def test_repository_ruff_config_is_used(tmp_path: Path) -> None:
    import dataclasses

    data = diff_of(tmp_path, {"m.py": ("x = 1\n", "x = 1\nprint(x)\n")})
    data = dataclasses.replace(data, ruff_config='[lint]\nselect = ["T20"]\n', ruff_config_name="ruff.toml")
    result = grade_taste(data, DEFAULTS)
    assert result.metrics["lint_rules"] == "repository"
    # T201 is the repository's rule, but debug-print reports it already: not counted twice.
    assert [f.rule for f in result.findings] == ["debug-print"]


def test_formatting_only_churn(tmp_path: Path) -> None:
    base = 'def f():\n    return "a"\n\n\n\n\n\n\ndef g(x, y):\n    return x + y\n'
    head = "def f():\n    return 'a'  # quoted\n\n\n\n\n\n\ndef g(x, y):\n    return x - y\n"
    got = findings(diff_of(tmp_path, {"m.py": (base, head)}))
    assert got == [("churn-formatting-only", "m.py", 2)]  # g's change is real; f's is only quotes


def test_secrets_found_and_not_repeated(tmp_path: Path) -> None:
    key = "sk-ant-" + "a1B2c3D4e5F6g7H8i9J0kLmN"
    result = grade_taste(diff_of(tmp_path, {"conf.py": ("x = 1\n", f'x = 1\nKEY = "{key}"\n')}), DEFAULTS)
    (finding,) = [f for f in result.findings if f.rule == "secrets-credential"]
    assert finding.line == 2 and "Anthropic API key" in finding.message and key not in finding.message


def test_tests_edited_assert_removed_skip_added(tmp_path: Path) -> None:
    base = "def test_a():\n    assert 1 + 1 == 2\n    assert 2 * 2 == 4\n"
    head = "import pytest\n\n\n@pytest.mark.skip\ndef test_a():\n    assert 1 + 1 == 2\n"
    got = findings(diff_of(tmp_path, {"tests/test_m.py": (base, head)}))
    rules = {r for r, _p, _l in got}
    assert {"tests-edited", "tests-assert-removed", "tests-skip-added"} <= rules
    assert "imports-new-third-party" not in rules  # pytest in a test file is fine
    assert ("tests-skip-added", "tests/test_m.py", 4) in got


def test_runner_config_and_deleted_tests(tmp_path: Path) -> None:
    import dataclasses

    data = diff_of(
        tmp_path, {"conftest.py": (None, "x = 1\n"), "tests/test_old.py": ("def test_a():\n    pass\n", None)}
    )
    data = dataclasses.replace(
        data,
        neutralised=(
            {"path": "conftest.py", "reason": "conftest.py is loaded by the test runner", "action": "removed"},
        ),
    )
    got = findings(data)
    assert ("tests-runner-config", "conftest.py", 1) in got and ("tests-deleted", "tests/test_old.py", None) in got


def test_scope_rules(tmp_path: Path) -> None:
    import dataclasses

    files = {f"m{i}.py": ("x = 1\n", "x = 2\n") for i in range(5)}
    files["pyproject.toml"] = ("[project]\nname = 'x'\n", "[project]\nname = 'y'\n")
    files[".github/workflows/ci.yml"] = ("on: push\n", "on: [push]\n")
    data = dataclasses.replace(diff_of(tmp_path, files), gold_paths=frozenset({"m0.py"}), gold_text="-x = 1\n+x = 2\n")
    result = grade_taste(data, DEFAULTS)
    by_rule: dict[str, int] = {}
    for f in result.findings:
        by_rule[f.rule] = by_rule.get(f.rule, 0) + 1
    assert by_rule["scope-outside-gold"] == 6
    assert by_rule["scope-config-touched"] == 2
    (files_touched,) = [f for f in result.findings if f.rule == "scope-files-touched"]
    assert files_touched.penalty == 4 * (7 - 3)


def test_configuration_weights_ignore_exclude_inline_and_gates(tmp_path: Path) -> None:
    head = BASE.replace("return w * h", 'print("x")\n    return w * h  # proofswe: ignore[debug-print]')
    data = diff_of(tmp_path, {"geo.py": (BASE, head), "vendor/lib.py": (None, "print('vendored')\n")})
    config = DEFAULTS.merged({"exclude": ["vendor/*"]}, "test")
    assert findings(data, config) == [("debug-print", "geo.py", 2)]  # the ignore comment is on line 3
    head = BASE.replace("return w * h", 'print("x")  # proofswe: ignore\n    return w * h')
    data = diff_of(tmp_path / "b", {"geo.py": (BASE, head)})
    assert findings(data) == []
    data = diff_of(tmp_path / "c", {"geo.py": (BASE, BASE.replace("return w * h", 'print("x")\n    return w * h'))})
    assert grade_taste(data, DEFAULTS.merged({"weights": {"debug-print": 50}}, "t")).score == 50
    assert grade_taste(data, DEFAULTS.merged({"ignore": ["debug-print"]}, "t")).findings == ()
    gated = grade_taste(data, DEFAULTS.merged({"max_lines_changed": 0}, "t"))
    assert not gated.passed and gated.gate_failures == ("lines changed is 1, above max_lines_changed=0",)
    assert not grade_taste(data, DEFAULTS.merged({"min_taste_score": 99}, "t")).passed


@pytest.mark.parametrize(
    ("table", "words"),
    [
        ({"max_files": 3}, "unknown taste key(s) max_files"),
        ({"weights": {"no-such-rule": 1}}, "weights: unknown rule 'no-such-rule'"),
        ({"ignore": ["nope"]}, "ignore: unknown rule 'nope'"),
        ({"min_taste_score": 120}, "min_taste_score must be a number from 0 to 100"),
        ({"max_files_touched": "3"}, "max_files_touched must be a non-negative number"),
    ],
)
def test_bad_configuration(table: dict[str, object], words: str) -> None:
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)")):
        DEFAULTS.merged(table, "here")


def test_pathological_literal_does_not_stall(tmp_path: Path) -> None:
    literal = "DATA = [\n" + "".join(f"    {i},\n" for i in range(5000)) + "]\n"
    data = diff_of(tmp_path, {"big.py": ("x = 1\n", "x = 1\n" + literal)})
    result = grade_taste(data, DEFAULTS)
    assert result.metrics["maintainability"]["big.py"]["after"] is None  # skipped: radon is quadratic there
    assert result.metrics["lines_added"] == 5002


def test_non_python_binary_and_deleted_files(tmp_path: Path) -> None:
    data = diff_of(tmp_path, {"README.md": ("# x\n", "# y\n"), "old.py": ("def f():\n    return 1\n", None)})
    data = dataclasses.replace(data, sources={"main.py": "from old import f\n"})
    result = grade_taste(data, DEFAULTS)
    assert [(f.rule, f.path) for f in result.findings] == [("api-name-removed", "old.py")]


def test_every_rule_is_documented() -> None:
    from pytest_proofswe.taste import RULES
    from tests.conftest import ROOT

    text = (ROOT / "docs" / "rules.md").read_text()
    for rule in RULES:
        assert f"#### {rule}\n" in text, f"docs/rules.md has no section for {rule}"
        assert f"[`{rule}`](#{rule})" in text, f"docs/rules.md's table does not list {rule}"


def test_fstring_quote_churn_on_every_python(tmp_path: Path) -> None:
    # Python 3.12+ tokenizes f-strings piece by piece (PEP 701); the verdict must not change.
    base = 'def f(x):\n    return f"{x}: ok"\n'
    head = "def f(x):\n    return f'{x}: ok'\n"
    assert findings(diff_of(tmp_path, {"m.py": (base, head)})) == [("churn-formatting-only", "m.py", 2)]
    changed = "def f(x):\n    return f'{x}: OK'\n"
    assert findings(diff_of(tmp_path / "b", {"m.py": (base, changed)})) == []


def test_adding_tests_is_never_penalised(tmp_path: Path) -> None:
    """A new test file, new test functions and asserts in an existing one, a name added to an import."""
    base = "from m import f\n\n\ndef test_f():\n    assert f(1) == 1\n"
    head = (
        "from m import f, g\n\n\ndef test_f():\n    assert f(1) == 1\n    assert f(2) == 2\n\n\n"
        "def test_g():\n    # g of nothing\n    assert g() is None\n"
    )
    new = "from m import g\n\n\ndef test_g_twice():\n    assert g() == g()\n"
    got = findings(diff_of(tmp_path, {"tests/test_m.py": (base, head), "tests/test_new.py": (None, new)}))
    assert [r for r in got if r[0].startswith("tests-")] == []


def test_weakening_a_test_still_counts(tmp_path: Path) -> None:
    base = "def test_a():\n    assert f(1) == 1\n\n\ndef test_b():\n    assert f(2) == 2\n"
    head = "import pytest\n\n\ndef test_a():\n    assert f(1) >= 0\n\n\n@pytest.mark.skip\ndef test_b():\n    assert f(2) == 2\n"
    got = findings(diff_of(tmp_path, {"tests/test_m.py": (base, head)}))
    assert [r for r in got if r[0].startswith("tests-")] == [
        ("tests-assert-removed", "tests/test_m.py", 4),  # where the removed line stood
        ("tests-edited", "tests/test_m.py", 4),
        ("tests-skip-added", "tests/test_m.py", 8),
    ]
    result = grade_taste(diff_of(tmp_path / "b", {"tests/test_m.py": (base, head)}), DEFAULTS)
    (edited,) = [f for f in result.findings if f.rule == "tests-edited"]
    assert edited.message == "existing test code removed or changed (1 line(s)): assert f(1) == 1"


def test_only_code_counts_as_spread(tmp_path: Path) -> None:
    """Tests, docs, changelogs, lock files and generated files are reported, not counted."""
    files: dict[str, tuple[str | None, str | None]] = {
        "pkg/a.py": ("x = 1\n", "x = 2\n"),
        "pkg/b.py": ("y = 1\n", "y = 2\n"),
        "tests/test_a.py": (None, "def test_a():\n    assert True\n"),
        "CHANGELOG.md": ("# Changes\n", "# Changes\n\n- x is 2\n"),
        "changelog.d/12.bugfix.rst": (None, "x is 2.\n"),
        "docs/usage.rst": ("Usage\n", "Usage\n\nx is 2.\n"),
        "README.md": ("# pkg\n", "# pkg\n\nx is 2.\n"),
        "poetry.lock": (None, "".join(f"[[package]]\nname = 'p{i}'\n" for i in range(100))),
        "pkg/schema_pb2.py": (None, "# -*- coding: utf-8 -*-\n# Generated by protoc.  DO NOT EDIT!\nX = 1\n"),
        "pkg/client.py": (None, "# Code @generated by openapi-generator\nY = 2\n"),
    }
    config = DEFAULTS.merged({"max_files_touched": 2, "max_lines_changed": 10}, "test")
    result = grade_taste(diff_of(tmp_path, files), config)
    assert result.passed and not {f.rule for f in result.findings} & {"scope-files-touched", "scope-lines-changed"}
    m = result.metrics
    assert (m["files_touched"], m["code_files_touched"], m["code_lines_changed"]) == (10, 2, 4)
    assert m["files_not_counted"] == {
        "tests": ["tests/test_a.py"],
        "lock": ["poetry.lock"],
        "changelog": ["CHANGELOG.md", "changelog.d/12.bugfix.rst"],
        "generated": ["pkg/client.py", "pkg/schema_pb2.py"],
        "docs": ["README.md", "docs/usage.rst"],
    }
    # One more code file is spread: the finding says what was not counted.
    files["pkg/c.py"] = (None, "z = 3\n")
    result = grade_taste(diff_of(tmp_path / "more", files), config)
    (spread,) = [f for f in result.findings if f.rule == "scope-files-touched"]
    assert spread.message == (
        "3 code files touched, more than max_files_touched=2 "
        "(not counted: 1 tests, 1 lock, 2 changelog, 2 generated, 2 docs)"
    )
    assert result.gate_failures == ("files touched is 3, above max_files_touched=2",)


# -- tamper-* (issue 10, item 2) ---------------------------------------------------------------

TAMPER_BASE = "def count(text):\n    return len(text.split())\n"


@pytest.mark.parametrize(
    ("added", "rule"),
    [
        ('import sys\n    sys.modules["pytest"].xfail("known")', "tamper-pytest-outcome"),
        ("import pytest\n    pytest.skip('later')", "tamper-pytest-outcome"),
        ("from pytest import exit as stop\n    stop('done')", "tamper-pytest-outcome"),
        ("import _pytest.reports", "tamper-pytest-internals"),
        ("from _pytest.reports import TestReport", "tamper-pytest-internals"),
        ('import sys\n    pt = sys.modules.get("pytest")', "tamper-pytest-internals"),
        ('import importlib\n    importlib.import_module("_pytest.runner")', "tamper-pytest-internals"),
        ("import atexit\n    atexit.register(print)", "tamper-atexit"),
        ("import os\n    os.setsid()", "tamper-detach"),
        ("import os\n    os.fork()", "tamper-detach"),
        ('import subprocess\n    subprocess.Popen(["sleep", "9"], start_new_session=True)', "tamper-detach"),
        ('import subprocess\n    subprocess.Popen(["setsid", "sleep", "9"])', "tamper-detach"),
        ('env = open("/proc/1/environ").read()', "tamper-proc"),
        ('open("/venv/lib/python3.11/site-packages/zz.pth", "w")', "tamper-site-packages"),
        ("import site\n    site.getsitepackages()", "tamper-site-packages"),
    ],
)
def test_tampering_apis_in_product_code(tmp_path: Path, added: str, rule: str) -> None:
    head = f"def count(text):\n    {added}\n    return len(text.split())\n"
    got = findings(diff_of(tmp_path, {"tally/count.py": (TAMPER_BASE, head)}))
    assert (rule, "tally/count.py", 2 if "\n" not in added else 3) in got
    # Heavy: one use alone fails the taste item (default min_taste_score 70).
    assert grade_taste(diff_of(tmp_path / "b", {"m.py": (TAMPER_BASE, head)}), DEFAULTS).score <= 70


def test_a_submission_cannot_silence_a_tamper_finding_with_a_comment(tmp_path: Path) -> None:
    head = 'def count(text):\n    import sys\n    sys.modules["pytest"].xfail("known")  # proofswe: ignore\n'
    head += "    return len(text.split())  # proofswe: ignore[tamper-pytest-outcome]\n"
    got = findings(diff_of(tmp_path, {"tally/count.py": (TAMPER_BASE, head)}))
    assert ("tamper-pytest-outcome", "tally/count.py", 3) in got
    # The run's configuration still can (a team that reviewed the use).
    data = diff_of(tmp_path / "b", {"tally/count.py": (TAMPER_BASE, head)})
    assert not [
        f
        for f in grade_taste(data, DEFAULTS.merged({"ignore": ["tamper-pytest-outcome"]}, "t")).findings
        if f.rule == "tamper-pytest-outcome"
    ]


def test_tampering_apis_are_fine_in_tests_and_in_pytest_itself(tmp_path: Path) -> None:
    head = 'import pytest\nimport _pytest.reports\n\n\ndef test_x():\n    pytest.skip("later")\n'
    assert not [f for f in findings(diff_of(tmp_path, {"tests/test_x.py": (None, head)})) if f[0].startswith("tamper")]
    data = diff_of(
        tmp_path / "b", {"src/_pytest/skipping.py": (TAMPER_BASE, TAMPER_BASE + "\n\nimport _pytest.reports\n")}
    )
    data = dataclasses.replace(data, local_modules=frozenset({"_pytest", "pytest"}))
    assert [f.rule for f in grade_taste(data, DEFAULTS).findings if f.rule.startswith("tamper")] == []


def test_tampering_on_unchanged_lines_is_not_the_patch(tmp_path: Path) -> None:
    base = "import atexit\n\natexit.register(print)\n\n\ndef count(text):\n    return 0\n"
    head = base.replace("return 0", "return len(text.split())")
    assert [f for f in findings(diff_of(tmp_path, {"m.py": (base, head)})) if f[0].startswith("tamper")] == []
