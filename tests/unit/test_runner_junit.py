"""Per-test outcomes come from JUnit XML, matched to node ids as pytest mangles them."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_proofswe.runner import build_command, junit_key, outcomes_for, parse_junit
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
    from pytest_proofswe.runner import selection_ids

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
    from pytest_proofswe.runner import _not_found, selection_ids

    output = f"ERROR: file or directory not found: {tmp_path}/tests/test_gone.py\n\n"
    assert _not_found(output, tmp_path) == ["tests/test_gone.py"]
    ids = ["tests/test_a.py::t", "tests/test_gone.py::t2"]
    assert selection_ids(ids, skip=_not_found(output, tmp_path)) == ["tests/test_a.py"]
