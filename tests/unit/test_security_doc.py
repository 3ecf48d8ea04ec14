"""docs/security.md names only tests and submissions that exist, and every hostile submission.

The page's threat table says, for each threat, the test that shows it is closed: a test
renamed or removed, or a hostile submission added without a row, must fail here. Cited
forms: ``test_x.py::test_name`` (a test function of that file under ``tests/``), a bare
``test_name`` (a test function somewhere under ``tests/``), ``hostile/<group>/<name>``
(``fixtures/hostile/<group>/**/submissions/<name>.diff``) and ``tasks/<task>/<name>``
(``fixtures/tasks/<task>/submissions/<name>``, a diff or a folder).
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

from tests.conftest import FIXTURES, ROOT

DOC = ROOT / "docs" / "security.md"
TESTS = ROOT / "tests"
TABLE_HEADING = "## Threats and what closes them"
COLUMNS = ["threat", "what closes it", "the test that shows it", "with `--proofswe-sandbox=none`"]

_QUALIFIED = re.compile(r"((?:[\w.-]+/)*test_\w+\.py)::(test_\w+)")
_FILE = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*test_\w+\.py)\b")
_NAME = re.compile(r"(?<![\w.])(test_\w+)\b(?!\.py|<)")
_SUBMISSION = re.compile(r"`(hostile|tasks)/([\w-]+)/([\w-]+)`")
_DIFF = re.compile(r"(?<![\w/<>-])([\w-]+\.diff)\b")
_CODE = re.compile(r"`([^`]+)`")
_ANCHOR = re.compile(r"\]\((?:[\w./-]*security\.md)?#([\w-]+)\)")


@cache
def _test_functions() -> dict[str, frozenset[str]]:
    """Path under the repository (POSIX) -> the test functions and methods defined in it."""
    out: dict[str, frozenset[str]] = {}
    for path in sorted(TESTS.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {
            node.name
            for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_")
        }
        out[path.relative_to(ROOT).as_posix()] = frozenset(names)
    return out


def _test_file(cited: str) -> tuple[str | None, str]:
    """The one file under tests/ that ``cited`` names (a path or its end), or None and why."""
    found = [p for p in _test_functions() if p == cited or p.endswith("/" + cited)]
    if len(found) == 1:
        return found[0], ""
    return None, f"{cited}: {'no such test file' if not found else 'ambiguous: ' + ', '.join(found)}"


def _submission_exists(kind: str, group: str, name: str) -> bool:
    if kind == "hostile":
        return any((FIXTURES / "hostile" / group).glob(f"**/submissions/{name}.diff"))
    folder = FIXTURES / "tasks" / group / "submissions"
    return (folder / f"{name}.diff").is_file() or (folder / name).is_dir()


def citation_problems(text: str) -> list[str]:
    """Every cited test, test file, submission and ``*.diff`` of ``text`` that does not exist."""
    problems: list[str] = []
    functions = _test_functions()
    everywhere = frozenset().union(*functions.values())
    for cited_file, name in _QUALIFIED.findall(text):
        path, why = _test_file(cited_file)
        if path is None:
            problems.append(why)
        elif name not in functions[path]:
            problems.append(f"{cited_file}::{name}: no test function {name} in {path}")
    for cited_file in set(_FILE.findall(text)):
        if _test_file(cited_file)[0] is None and not any(FIXTURES.rglob(Path(cited_file).name)):
            problems.append(f"{cited_file}: no such file under tests/ or fixtures/")
    for name in set(_NAME.findall(text)):
        if name not in everywhere:
            problems.append(f"{name}: no test function of that name under tests/")
    for kind, group, name in _SUBMISSION.findall(text):
        if not _submission_exists(kind, group, name):
            problems.append(f"{kind}/{group}/{name}: no such submission under fixtures/{kind}/{group}/")
    for diff in set(_DIFF.findall(text)):
        if not any(FIXTURES.rglob(diff)):
            problems.append(f"{diff}: no file of that name under fixtures/")
    return sorted(problems)


def threat_rows(text: str) -> list[list[str]]:
    """The cells of each row of the threat table (the header included)."""
    section = text.split(TABLE_HEADING, 1)[1]
    lines = section.split("\n|", 1)[1].split("\n\n", 1)[0]
    rows = [line.strip().strip("|").split("|") for line in ("|" + lines).splitlines()]
    return [[cell.strip() for cell in row] for row in rows if not set("".join(row)) <= set("-: ")]


def column_problems(text: str) -> list[str]:
    """Rows whose test column cites something that is neither a test nor a submission."""
    problems = []
    for row in threat_rows(text)[1:]:
        if len(row) != len(COLUMNS):
            problems.append(f"{len(row)} cells instead of {len(COLUMNS)}: {row[0][:60]}")
            continue
        if row[0].startswith("**"):  # a group's title
            continue
        if not row[2]:
            problems.append(f"no test named for: {row[0][:60]}")
        for code in _CODE.findall(row[2]):
            is_test = _QUALIFIED.fullmatch(code) or _FILE.fullmatch(code) or _NAME.fullmatch(code)
            if not is_test and not _SUBMISSION.fullmatch(f"`{code}`"):
                problems.append(f"`{code}` in the test column is neither a test nor a submission")
    return problems


def missing_submissions(text: str) -> list[str]:
    """Hostile submissions (but ``fix``) that the threat table's test column does not name."""
    named = set()
    for row in threat_rows(text)[1:]:
        if len(row) == len(COLUMNS):
            named |= {f"{g}/{n}" for kind, g, n in _SUBMISSION.findall(row[2]) if kind == "hostile"}
    hostile = FIXTURES / "hostile"
    every = {
        f"{p.relative_to(hostile).parts[0]}/{p.stem}" for p in hostile.glob("**/submissions/*.diff") if p.stem != "fix"
    }
    return sorted(every - named)


def _slug(heading: str) -> str:
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_the_threat_table_has_its_columns() -> None:
    assert threat_rows(DOC.read_text(encoding="utf-8"))[0] == COLUMNS


def test_every_cited_test_and_submission_exists() -> None:
    assert citation_problems(DOC.read_text(encoding="utf-8")) == []


def test_the_test_column_cites_only_tests_and_submissions() -> None:
    assert column_problems(DOC.read_text(encoding="utf-8")) == []


def test_every_hostile_submission_has_a_row() -> None:
    assert missing_submissions(DOC.read_text(encoding="utf-8")) == []


def test_links_to_sections_of_the_page_resolve() -> None:
    text = DOC.read_text(encoding="utf-8")
    anchors = {_slug(line.lstrip("#")) for line in text.splitlines() if line.startswith("#")}
    broken = [f"docs/security.md: #{a}" for a in _ANCHOR.findall(text) if a not in anchors]
    for other in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted(FIXTURES.rglob("README.md"))]:
        for a in re.findall(r"security\.md#([\w-]+)", other.read_text(encoding="utf-8")):
            if a not in anchors:
                broken.append(f"{other.relative_to(ROOT)}: security.md#{a}")
    assert broken == []


def test_the_checks_fail_on_a_renamed_test_or_a_missing_submission() -> None:
    """The checks above can fail: a cited name that no test has, a submission that does not exist."""
    some_file, names = next((p, n) for p, n in sorted(_test_functions().items()) if n)
    real = sorted(names)[0]
    short = Path(some_file).name
    text = (
        f"| a | b | `{short}::{real}`, `{short}::{real}_renamed`, `{real}_gone`; `hostile/guard/no-such` | c |\n"
        "`hostile/guard/fix` and `nowhere-to-be-found.diff`"
    )
    assert citation_problems(text) == sorted(
        [
            f"{real}_gone: no test function of that name under tests/",
            f"{real}_renamed: no test function of that name under tests/",
            f"{short}::{real}_renamed: no test function {real}_renamed in {some_file}",
            "hostile/guard/no-such: no such submission under fixtures/hostile/guard/",
            "nowhere-to-be-found.diff: no file of that name under fixtures/",
        ]
    )
    table = f"{TABLE_HEADING}\n\n| {' | '.join(COLUMNS)} |\n|---|---|---|---|\n| x | y | `--not-a-test` | z |\n"
    assert column_problems(table) == ["`--not-a-test` in the test column is neither a test nor a submission"]
    assert "guard/gitignore-conftest" in missing_submissions(table)
