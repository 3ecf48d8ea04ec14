"""Parsing analysed code: never the analysed code's warnings, never an error that is only a warning."""

from __future__ import annotations

import ast
import warnings
from pathlib import Path

import pytest

from pytest_proofswe import pysource
from pytest_proofswe.harness.guard import _conftest_plugins
from pytest_proofswe.taste import TasteConfig, grade_taste
from pytest_proofswe.taste.complexity import maintainability
from tests.unit.test_taste_rules import diff_of

# "a\*b" is an invalid escape sequence: DeprecationWarning on 3.10/3.11, SyntaxWarning on 3.12+.
INVALID_ESCAPES = 'import re\n\n\ndef stars(text):\n    return re.sub("a\\*b", "x", text)\n'


def test_invalid_escape_parses_under_an_error_filter_and_warns_nothing() -> None:
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("error")
        tree = pysource.parse_quietly(INVALID_ESCAPES)
        warnings.simplefilter("always")
        pysource.parse_quietly(INVALID_ESCAPES)
        pysource.parse_quietly(INVALID_ESCAPES.encode())
    assert isinstance(tree, ast.Module)
    assert seen == []


def test_a_real_syntax_error_still_raises() -> None:
    with pytest.raises(SyntaxError):
        pysource.parse_quietly("def f(:\n    pass\n")
    with pytest.raises(SyntaxError):
        pysource.parse_quietly('x = "a\\*b" +\n')  # broken, and with an invalid escape


def test_when_the_filters_were_replaced_the_warning_is_still_not_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # Another thread (pytest's filters for a test phase) can replace the filter list between
    # our filter and the parse: the warning is then promoted; the parse must still succeed.
    monkeypatch.setattr(pysource, "_ignore_analysed_warnings", lambda: None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tree = pysource.parse_quietly(INVALID_ESCAPES)
    assert [n.name for n in tree.body if isinstance(n, ast.FunctionDef)] == ["stars"]


def test_without_invalid_escapes_keeps_length_and_valid_escapes() -> None:
    text = 'a = "x\\*y\\n\\\\*\\d"  # \\w\nb = 1 + \\\n    2\n'
    cleaned = pysource._without_invalid_escapes(text)
    assert len(cleaned) == len(text)
    assert cleaned == 'a = "x\\\\y\\n\\\\*\\\\"  # \\\\\nb = 1 + \\\n    2\n'
    ast.parse(cleaned)


def _grade(tmp_path: Path, text: str) -> list[str]:
    result = grade_taste(diff_of(tmp_path, {"pkg/stars.py": (None, text)}), TasteConfig(), task="t", submission="s")
    return [f.rule for f in result.findings]


def test_taste_of_code_with_an_invalid_escape_under_an_error_filter(tmp_path: Path) -> None:
    text = INVALID_ESCAPES + '\n\n# found = re.findall("a\\*b", text)\n'
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("error")
        rules = _grade(tmp_path, text)
        mi = maintainability(text)
    assert "code-syntax-error" not in rules
    assert "comments-commented-out-code" in rules  # the comment was parsed as code, quietly
    assert mi is not None
    assert seen == []


def test_the_guard_reads_plugins_of_a_conftest_with_an_invalid_escape(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text('import re\nPATTERN = re.compile("a\\*")\npytest_plugins = ["evil_plugin"]\n')
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("error")
        plugins = _conftest_plugins(tmp_path)
    assert plugins == {"evil_plugin"}
    assert seen == []
