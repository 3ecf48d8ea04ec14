"""Per-test outcomes come from JUnit XML, matched to node ids as pytest mangles them."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_proofswe.harness.runner import build_command, junit_key, outcomes_for, parse_junit
from pytest_proofswe.task import TestsSpec

XML = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="1" failures="1" skipped="2" tests="7">
<testcase classname="tests.test_a" name="test_ok" file="tests/test_a.py" line="1" time="0.001"/>
<testcase classname="tests.test_a.TestK" name="test_param[a-b c]" file="tests/base.py" line="3" time="0.001">
  <failure message="assert 1 == 2">long traceback
more</failure></testcase>
<testcase classname="tests.test_a" name="test_skip" file="tests/test_a.py" line="5" time="0">
  <skipped type="pytest.skip" message="no network">skip</skipped></testcase>
<testcase classname="tests.test_a" name="test_xf" file="tests/test_a.py" line="7" time="0">
  <skipped type="pytest.xfail" message="known"/></testcase>
<testcase classname="tests.test_a" name="test_teardown" file="tests/test_a.py" line="9" time="0"/>
<testcase classname="tests.test_a" name="test_teardown" file="tests/test_a.py" line="9" time="0">
  <error message="failed on teardown with &quot;RuntimeError&quot;">boom</error></testcase>
<testcase classname="" name="tests.test_broken" time="0">
  <error message="collection failure">SyntaxError: invalid syntax</error></testcase>
</testsuite></testsuites>
"""


@pytest.mark.parametrize(
    ("node_id", "key"),
    [
        ("tests/test_a.py::test_ok", ("tests.test_a", "test_ok")),
        ("tests/test_a.py::TestK::test_param[a-b c]", ("tests.test_a.TestK", "test_param[a-b c]")),
        ("test_x.py::test_y[a/b::c]", ("test_x", "test_y[a/b::c]")),
        (
            "testing/logging/test_reporting.py::test_log_cli_enabled_disabled[True]",
            ("testing.logging.test_reporting", "test_log_cli_enabled_disabled[True]"),
        ),
    ],
)
def test_junit_key_mangles_like_pytest(node_id: str, key: tuple[str, str]) -> None:
    assert junit_key(node_id) == key


def test_parse_junit(tmp_path: Path) -> None:
    path = tmp_path / "j.xml"
    path.write_text(XML)
    report = parse_junit(path)
    ids = [
        "tests/test_a.py::test_ok",
        "tests/test_a.py::TestK::test_param[a-b c]",
        "tests/test_a.py::test_skip",
        "tests/test_a.py::test_xf",
        "tests/test_a.py::test_teardown",
        "tests/test_a.py::test_missing",
    ]
    got = outcomes_for(ids, report)
    assert {k: v.outcome for k, v in got.items()} == {
        "tests/test_a.py::test_ok": "passed",
        "tests/test_a.py::TestK::test_param[a-b c]": "failed",  # inherited: file is the base's
        "tests/test_a.py::test_skip": "skipped",
        "tests/test_a.py::test_xf": "xfailed",
        "tests/test_a.py::test_teardown": "error",  # the worse of its two entries
    }
    assert got["tests/test_a.py::TestK::test_param[a-b c]"].message == "assert 1 == 2"
    assert report.collection_errors == (("tests.test_broken", "collection failure"),)


def test_default_command_selects_the_files_of_f2p_and_p2p_and_writes_junit_outside(tmp_path: Path) -> None:
    spec = TestsSpec(fail_to_pass=("b.py::t1", "a.py::t2"), pass_to_pass=("a.py::t1", "b.py::C::t3", "c.py::t4"))
    argv = build_command(spec, Path("/venv/bin/python"), tmp_path / "out" / "j.xml", tmp_path / "ws")
    assert argv[:3] == ["/venv/bin/python", "-m", "pytest"]
    # Whole files, as SWE-bench runs them: each file's tests run in its own order, not F2P first.
    assert argv[argv.index("--") + 1 :] == ["b.py", "a.py", "c.py"]  # deduplicated, in order of first mention
    assert f"--junitxml={tmp_path / 'out' / 'j.xml'}" in argv
    assert "no:cacheprovider" in argv and "junit_family=xunit1" in argv


def test_custom_command_with_tests_placeholder(tmp_path: Path) -> None:
    spec = TestsSpec(fail_to_pass=("a.py::t1",), command="python -m pytest -x {tests}")
    argv = build_command(spec, Path("/venv/bin/python"), tmp_path / "j.xml", tmp_path)
    assert argv[:5] == ["/venv/bin/python", "-m", "pytest", "-x", "a.py"]
    assert any(a.startswith("--junitxml=") for a in argv)


def test_truncated_and_non_test_ids(tmp_path: Path) -> None:
    ids = ["t.py::test_m[xyz", "t.py::test_m[abc]", "[100%]", "[", "t.py::test_m[xyz", "t.py::other"]
    from pytest_proofswe.harness.runner import selection_ids

    assert selection_ids(ids) == ["t.py"]
    assert selection_ids([*ids, "u.py::x", "docs/x.txt::x.txt", "tests"], skip=["t.py"]) == ["u.py", "docs/x.txt"]
    path = tmp_path / "j.xml"
    path.write_text("""<testsuites><testsuite>
<testcase classname="t" name="test_m[xyz or xyz2]"/>
<testcase classname="t" name="test_m[xyz and not xyz2]"><failure message="no"/></testcase>
<testcase classname="t" name="test_m[abc]"/>
</testsuite></testsuites>""")
    got = outcomes_for(["t.py::test_m[xyz", "t.py::test_m[abc]", "[100%]"], parse_junit(path))
    assert {k: v.outcome for k, v in got.items()} == {"t.py::test_m[xyz": "failed", "t.py::test_m[abc]": "passed"}


def test_deselected_tests_never_run(tmp_path: Path) -> None:
    spec = TestsSpec(fail_to_pass=("a.py::t1",), pass_to_pass=("a.py::t2",), deselect=("a.py::net[x",))
    argv = build_command(spec, Path("/venv/bin/python"), tmp_path / "j.xml", tmp_path)
    assert "--deselect=a.py::net[x" in argv


def test_a_large_junit_file_is_read_without_holding_it_whole(tmp_path: Path) -> None:
    import tracemalloc

    path = tmp_path / "big.xml"
    body = "".join(
        f'<testcase classname="t" name="test_{i}"><failure message="m{i}">{"x" * 20_000}</failure></testcase>'
        for i in range(500)
    )
    path.write_text(f"<testsuites><testsuite>{body}</testsuite></testsuites>")
    tracemalloc.start()
    try:
        report = parse_junit(path)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    size = path.stat().st_size  # 10 MB; the whole tree cost more than that
    assert peak < size / 2, f"peak {peak / 1e6:.1f} MB for a {size / 1e6:.1f} MB file"
    assert len(report.cases) == 500 and report.cases[("t", "test_499")].outcome == "failed"
    assert report.cases[("t", "test_7")].message == "m7"


def test_a_test_file_pytest_cannot_find_is_dropped_on_the_retry(tmp_path: Path) -> None:
    from pytest_proofswe.harness.runner import _not_found, selection_ids

    output = f"ERROR: file or directory not found: {tmp_path}/tests/test_gone.py\n\n"
    assert _not_found(output, tmp_path) == ["tests/test_gone.py"]
    ids = ["tests/test_a.py::t", "tests/test_gone.py::t2"]
    assert selection_ids(ids, skip=_not_found(output, tmp_path)) == ["tests/test_a.py"]


def junit(tmp_path: Path, cases: str, *, root: str = "testsuites") -> Path:
    path = tmp_path / "j.xml"
    body = f"<testsuite>{cases}</testsuite>"
    path.write_text(f"<testsuites>{body}</testsuites>" if root == "testsuites" else body)
    return path


RANKED = ["passed", "xfailed", "skipped", "failed", "error"]  # from best to worst
ELEMENT = {
    "passed": "",
    "xfailed": '<skipped type="pytest.xfail" message="x"/>',
    "skipped": '<skipped type="pytest.skip" message="s">t.py:1: s</skipped>',
    "failed": '<failure message="f"/>',
    "error": '<error message="e"/>',
}


@pytest.mark.parametrize("better", RANKED[:-1])
@pytest.mark.parametrize("first", ["better", "worse"])
def test_a_test_reported_twice_counts_as_its_worse_outcome(tmp_path: Path, better: str, first: str) -> None:
    """A teardown error (or a plugin's second report) comes after the call's, or before it: the worse wins."""
    worse = RANKED[RANKED.index(better) + 1]
    pair = [better, worse] if first == "better" else [worse, better]
    path = junit(tmp_path, "".join(f'<testcase classname="t" name="test_x">{ELEMENT[o]}</testcase>' for o in pair))
    assert outcomes_for(["t.py::test_x"], parse_junit(path))["t.py::test_x"].outcome == worse


def test_of_two_reports_as_bad_the_first_counts(tmp_path: Path) -> None:
    path = junit(
        tmp_path,
        '<testcase classname="t" name="test_x"><failure message="in the call"/></testcase>'
        '<testcase classname="t" name="test_x"><failure message="later"/></testcase>',
    )
    assert parse_junit(path).cases[("t", "test_x")].message == "in the call"


def test_tests_after_a_collection_error_are_read(tmp_path: Path) -> None:
    """pytest --continue-on-collection-errors (a task's command may use it) reports the error first."""
    path = junit(
        tmp_path,
        '<testcase classname="" name="tests.test_broken"><error message="collection failure"/></testcase>'
        '<testcase classname="tests.test_a" name="test_a"/>'
        '<testcase classname="tests.test_a" name="test_b"><failure message="no"/></testcase>',
    )
    report = parse_junit(path)
    got = outcomes_for(["tests/test_a.py::test_a", "tests/test_a.py::test_b"], report)
    assert {k: v.outcome for k, v in got.items()} == {
        "tests/test_a.py::test_a": "passed",
        "tests/test_a.py::test_b": "failed",
    }
    assert report.collection_errors == (("tests.test_broken", "collection failure"),)


def test_messages(tmp_path: Path) -> None:
    """The first lines of the message attribute, else of the text; three for a collection error."""
    long = "&#10;".join(f"line {i}" for i in range(1, 10))  # a newline in an attribute, as pytest writes it
    path = junit(
        tmp_path,
        '<testcase classname="t" name="test_ok"/>'
        '<testcase classname="t" name="test_text"><failure>assert x\n\n  where x = 0</failure></testcase>'
        '<testcase classname="t" name="test_err_text"><error>fixture down</error></testcase>'
        f'<testcase classname="t" name="test_long"><failure message="{long}"/></testcase>'
        '<testcase classname="t" name="test_empty"><failure/></testcase>'
        '<testcase classname="t" name="test_skip"><skipped type="pytest.skip" message="no network">'
        "/ws/t.py:3: no network</skipped></testcase>"
        '<testcase classname="t" name="test_skip_nowhere"><skipped message="old pytest">no location</skipped>'
        "</testcase>"
        '<testcase classname="t" name="test_xf"><skipped type="pytest.xfail" message="known">/ws/t.py:9: known'
        "</skipped></testcase>"
        f'<testcase classname="" name="tests.test_broken"><error message="{long}"/></testcase>'
        '<testcase classname="" name="tests.test_silent"><error/></testcase>',
    )
    report = parse_junit(path)
    case = {name: c for (_cls, name), c in report.cases.items()}
    assert (case["test_ok"].outcome, case["test_ok"].message, case["test_ok"].skip_path) == ("passed", "", "")
    assert case["test_text"].message == "assert x\n  where x = 0"  # blank lines dropped
    assert (case["test_err_text"].outcome, case["test_err_text"].message) == ("error", "fixture down")
    assert case["test_long"].message == "\n".join(f"line {i}" for i in range(1, 7))
    assert (case["test_empty"].outcome, case["test_empty"].message) == ("failed", "")
    assert (case["test_skip"].message, case["test_skip"].skip_path) == ("no network", "/ws/t.py")
    assert (case["test_skip_nowhere"].outcome, case["test_skip_nowhere"].skip_path) == ("skipped", "")
    assert (case["test_xf"].outcome, case["test_xf"].skip_path) == ("xfailed", "")  # only a skip has a source
    assert case["test_ok"].test_id == "t::test_ok"  # until outcomes_for names it by its node id
    assert report.collection_errors == (("tests.test_broken", "line 1\nline 2\nline 3"), ("tests.test_silent", ""))


def test_missing_attributes_and_a_testsuite_root(tmp_path: Path) -> None:
    """A hand-written or older file: no classname (a collection error, or a test of no module), no name."""
    path = junit(
        tmp_path,
        '<testcase name="test_top"/><testcase name="tests.test_broken"><error message="boom"/></testcase>'
        '<testcase classname=""><error message="nameless"/></testcase>',
        root="testsuite",
    )
    report = parse_junit(path)
    assert {k: v.outcome for k, v in outcomes_for(["test_top"], report).items()} == {"test_top": "passed"}
    assert report.collection_errors == (("tests.test_broken", "boom"), ("", "nameless"))


def test_truncated_ids_match_within_their_class_and_exact_names_first(tmp_path: Path) -> None:
    path = junit(
        tmp_path,
        '<testcase classname="t" name="test_m[x y]"/>'
        '<testcase classname="u" name="test_m[x z]"><failure message="other module"/></testcase>'
        '<testcase classname="t" name="test_p[a[]"/>'  # a parameter "a[": its id has an unbalanced bracket
        '<testcase classname="t" name="test_p[a[] b]"><failure message="another parameter"/></testcase>',
    )
    got = outcomes_for(["t.py::test_m[x", "t.py::test_p[a[]"], parse_junit(path))
    assert {k: (v.test_id, v.outcome) for k, v in got.items()} == {
        "t.py::test_m[x": ("t.py::test_m[x", "passed"),
        "t.py::test_p[a[]": ("t.py::test_p[a[]", "passed"),
    }


def test_a_file_id_selects_its_file() -> None:
    from pytest_proofswe.harness.runner import selection_ids

    assert selection_ids(["tests/test_x.py", "tests/test_y.py::test_a", "test_z"]) == [
        "tests/test_x.py",
        "tests/test_y.py",
    ]


def test_python3_in_a_custom_command_is_the_environments(tmp_path: Path) -> None:
    spec = TestsSpec(fail_to_pass=("a.py::t1",), command="python3 -m pytest {tests} -p python3")
    argv = build_command(spec, Path("/venv/bin/python"), tmp_path / "j.xml", tmp_path, skip=["b.py"])
    assert argv[:5] == ["/venv/bin/python", "-m", "pytest", "a.py", "-p"] and argv[5] == "/venv/bin/python"


def test_a_file_not_found_is_named_relative_to_the_workspace(tmp_path: Path) -> None:
    from pytest_proofswe.harness.runner import _not_found

    output = (
        "ERROR: file or directory not found: tests/test_gone.py\n"
        f"ERROR: file not found: {tmp_path}/tests/test_gone2.py\n"
        "ERROR: not found: /elsewhere/test_x.py\n"
        "  ERROR: file not found: indented.py\n"
    )
    assert _not_found(output, tmp_path) == ["tests/test_gone.py", "tests/test_gone2.py", "/elsewhere/test_x.py"]


def test_a_truncated_id_is_cut_at_any_whitespace_as_swebench_cuts_it(tmp_path: Path) -> None:
    """SWE-bench's log parser splits each line on whitespace (``str.split()``): an id whose parameter holds
    a tab or an em space (a task that turns pytest's id escaping off) is cut there too."""
    path = junit(
        tmp_path, '<testcase classname="t" name="test_m[a\u2003b]"/><testcase classname="t" name="test_n[c&#9;d]"/>'
    )
    got = outcomes_for(["t.py::test_m[a", "t.py::test_n[c"], parse_junit(path))
    assert {k: v.outcome for k, v in got.items()} == {"t.py::test_m[a": "passed", "t.py::test_n[c": "passed"}
