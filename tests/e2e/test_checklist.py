"""Checklists as the oracle where no hidden tests exist (issue 13, item 4), end to end over HTTP.

A free-form task ("add a --name option and document it") has no tests: its ``[review]
checklist`` is answered yes/no by the reviewer (the fake LLM server of tests/conftest.py),
with quotes checked against the diff, and decides the behaviour verdict.
"""

from __future__ import annotations

import difflib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from pytest_proofswe.review import load_rubric
from tests.conftest import FIXTURES, LLMServer

pytestmark = pytest.mark.slow
pytest.importorskip("litellm")

IDS = [c.id for c in load_rubric("taste").criteria]
BASE = '"""Say hello."""\n\n\ndef main() -> None:\n    print("Hello!")\n\n\nif __name__ == "__main__":\n    main()\n'
WITH_NAME = BASE.replace(
    '    print("Hello!")\n',
    '    parser = argparse.ArgumentParser()\n    parser.add_argument("--name", default="world")\n'
    '    print(f"Hello, {parser.parse_args().name}!")\n',
).replace('"""Say hello."""\n', '"""Say hello."""\n\nimport argparse\n')
README = "# greet\n\n`python greet.py --name Ada` prints `Hello, Ada!`.\n"
CHECKLIST = ["main() takes a --name option", "The README documents --name"]


def _diff(path: str, before: str, after: str) -> str:
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        "/dev/null" if not before else f"a/{path}",
        f"b/{path}",
    )
    head = f"diff --git a/{path} b/{path}\n" + ("new file mode 100644\n" if not before else "")
    return head + "".join(lines)


def reply(*answers: tuple[str, str]) -> str:
    """The reviewer's reply: every criterion 4, and each checklist item's (answer, quote)."""
    body: dict[str, Any] = {
        cid: {
            "score": 4,
            "rationale": "fine",
            "evidence": [{"quote": "import argparse", "path": "greet.py", "line": 3}],
        }
        for cid in IDS
    }
    body["checklist"] = {
        f"item_{n}": {
            "answer": answer,
            "rationale": f"item {n}: {answer}",
            "evidence": [{"quote": quote, "path": "README.md" if "Ada" in quote else "greet.py", "line": 1}],
        }
        for n, (answer, quote) in enumerate(answers, 1)
    }
    return json.dumps(body)


def _project(pytester: pytest.Pytester, llm_server: LLMServer | None, name: str) -> Path:
    task = pytester.path / "greeting"
    (task / "repo").mkdir(parents=True)
    (task / "repo" / "greet.py").write_text(BASE)
    (task / "issue.md").write_text("Let users say whom to greet, and document how.\n")
    (task / "task.toml").write_text(f'title = "Greet by name"\n\n[review]\nchecklist = {json.dumps(CHECKLIST)}\n')
    subs = task / "submissions"
    subs.mkdir()
    full = _diff("greet.py", BASE, WITH_NAME) + _diff("README.md", "", README)
    (subs / "full.diff").write_text(full)
    (subs / "half.diff").write_text(_diff("greet.py", BASE, WITH_NAME))
    (subs / "mute.diff").write_text(_diff("greet.py", BASE, WITH_NAME) + _diff("README.md", "", README + "\nMore.\n"))
    if llm_server is not None:
        base = f"http://127.0.0.1:{llm_server.server_address[1]}/v1"
        pytester.makepyprojecttoml(
            f'[tool.proofswe]\nmodel = "openai/proofswe-test-{name}"\n'
            f'[tool.proofswe.review]\napi_base = "{base}"\nnum_retries = 0\n'
        )
    return task


def test_the_checklist_decides_a_task_without_tests(pytester: pytest.Pytester, llm_server: LLMServer) -> None:
    task = _project(pytester, llm_server, "checklist-decides")
    garbage = reply(("maybe", "import argparse"), ("no", ""))
    llm_server.script = [
        ("ok", reply(("yes", 'parser.add_argument("--name"'), ("yes", "`python greet.py --name Ada`"))),  # full
        ("ok", reply(("yes", 'parser.add_argument("--name"'), ("yes", "--name is in the README"))),  # half: made up
        ("ok", garbage),  # mute: the model does not answer yes or no
    ]
    report, board = pytester.path / "r.json", pytester.path / "b.md"
    run = pytester.runpytest_subprocess(
        "--proofswe",
        str(task),
        "-k",
        "behaviour or review",
        f"--proofswe-report={report}",
        f"--proofswe-markdown={board}",
    )
    run.assert_outcomes(passed=3, failed=1, errors=2)
    got = {r["submission"]: r for r in json.loads(report.read_text())["results"]}
    assert len(llm_server.requests) == 3 and "checklist" in json.dumps(llm_server.requests[0]["response_format"])

    full, half, mute = got["full"], got["half"], got["mute"]
    assert (full["behaviour"]["status"], full["behaviour"]["oracle"]) == ("resolved", "checklist")
    assert [(c["item"], c["answer"], c["met"]) for c in full["review"]["checklist"]] == [
        (CHECKLIST[0], "yes", True),
        (CHECKLIST[1], "yes", True),
    ]
    assert full["review"]["checklist"][1]["evidence"][0] == {
        "quote": "`python greet.py --name Ada`",
        "path": "README.md",
        "line": 1,
        "verified": True,
    }
    assert full["proof"]["commands"] and full["proof"]["environment"] == {}  # the patch applied; no test run

    # A yes whose quote is not in the diff is not met: one of two items, so partial.
    assert half["behaviour"]["status"] == "partial"
    assert "checklist: 1 of 2 item(s) met" in half["behaviour"]["reason"]
    assert "not met: The README documents --name: yes (its quotes are not in the diff)" in half["behaviour"]["reason"]
    assert any(f["rule"] == "review-checklist-unverified" for f in half["review"]["findings"])
    assert half["review"]["passed"] is True  # without tests the checklist is the behaviour's, not the review's

    # Garbage from the model: a clear error, the reply kept, the other submissions graded.
    assert mute["behaviour"]["status"] == "error" and mute["review"]["status"] == "unscored"
    assert "its [review] checklist decides, and could not be answered: review unscored" in mute["behaviour"]["reason"]
    assert "checklist item_1: the answer 'maybe' is not yes or no" in mute["behaviour"]["reason"]
    assert mute["review"]["raw"] == [garbage]

    out = run.stdout.str()
    assert "greeting::half: partial\nchecklist: 1 of 2 item(s) met (the reviewer's yes/no, with evidence)" in out
    assert "  greeting::full 2/2 met" in out
    assert (
        "  greeting::half 1/2 met; not met: 'The README documents --name' (yes, its quotes are not in the diff)" in out
    )
    md = board.read_text()
    assert "### Checklists" in md and "**greeting / half**: 1 of 2 met" in md
    assert '- ✅ main() takes a --name option (`greet.py`: `parser.add_argument("--name"`)' in md
    assert "- ❌ The README documents --name (yes, but its quotes are not in the diff): item 2: yes" in md


def test_without_a_model_the_checklist_task_is_an_error_saying_how_to_fix_it(pytester: pytest.Pytester) -> None:
    task = _project(pytester, None, "no-model")
    report, kept = pytester.path / "r.json", pytester.mkdir("workspaces")
    run = pytester.runpytest_subprocess(
        "--proofswe",
        str(task),
        "-k",
        "full and behaviour",
        f"--proofswe-report={report}",
        "--proofswe-keep-workspaces",
        f"--proofswe-workspace-dir={kept}",
    )
    run.assert_outcomes(errors=1)
    (result,) = json.loads(report.read_text())["results"]
    assert result["behaviour"]["status"] == "error"
    assert (Path(result["workspace"]) / "README.md").read_text() == README  # the patched workspace, kept
    assert "no reviewer model is configured (fix: set --proofswe-model" in result["behaviour"]["reason"]
    assert "its [review] checklist decides" in run.stdout.str()


def test_with_hidden_tests_an_unmet_item_fails_the_review(pytester: pytest.Pytester, llm_server: LLMServer) -> None:
    task = pytester.path / "inventory-restock"
    shutil.copytree(FIXTURES / "tasks" / "inventory-restock", task)
    with (task / "task.toml").open("a") as fh:
        fh.write('\n[review]\nchecklist = ["The docstring of units_to_order mentions pending units"]\n')
    base = f"http://127.0.0.1:{llm_server.server_address[1]}/v1"
    pytester.makepyprojecttoml(
        f'[tool.proofswe]\nmodel = "openai/proofswe-test-tests-and-checklist"\n'
        f'[tool.proofswe.review]\napi_base = "{base}"\nnum_retries = 0\n'
    )
    body: dict[str, Any] = {
        cid: {
            "score": 5,
            "rationale": "ok",
            "evidence": [{"quote": "pending", "path": "inventory/restock.py", "line": 11}],
        }
        for cid in IDS
    }
    body["checklist"] = {"item_1": {"answer": "no", "rationale": "the docstring is unchanged", "evidence": []}}
    llm_server.script = [("ok", json.dumps(body))]
    report = pytester.path / "r.json"
    run = pytester.runpytest_subprocess(
        "--proofswe", str(task), "-k", "minimal and (behaviour or review)", f"--proofswe-report={report}"
    )
    run.assert_outcomes(passed=1, failed=1)  # the tests decide the behaviour; the unmet item fails the review
    (result,) = json.loads(report.read_text())["results"]
    assert (result["behaviour"]["status"], result["behaviour"]["oracle"]) == ("resolved", "tests")
    assert result["review"]["score"] == 5.0 and result["review"]["passed"] is False
    assert (
        "checklist: 1 of 1 item(s) not met: 'The docstring of units_to_order mentions pending units'"
        in (result["review"]["reason"])
    )
    assert "checklist item_1: NOT met (no) The docstring of units_to_order mentions pending units" in run.stdout.str()
