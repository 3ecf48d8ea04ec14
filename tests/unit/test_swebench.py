"""SWE-bench data in: predictions files and the instance importer (on the real sample)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_proofswe.__main__ import main
from pytest_proofswe.modes.swebench import load_prediction_files, load_predictions, parse_id_list
from pytest_proofswe.task import find_submissions, load_task
from tests.conftest import ROOT, make_git_repo

SAMPLE = ROOT.parent / "shared" / "external" / "swebench_sample.jsonl"


def test_load_predictions_jsonl_and_list(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text(
        json.dumps({"instance_id": "a__b-1", "model_name_or_path": "org/model v2", "model_patch": "x"})
        + "\n\n"
        + json.dumps({"instance_id": "a__b-1", "model_name_or_path": "m", "model_patch": None})
        + "\n"
    )
    got = load_predictions(path)
    assert [s.name for s in got["a__b-1"]] == ["org__model_v2", "m"]
    assert got["a__b-1"][1].read_patch() == ""
    listed = tmp_path / "p.json"
    listed.write_text(json.dumps([{"instance_id": "x", "model_name_or_path": "m", "model_patch": "d"}]))
    assert load_predictions(listed)["x"][0].read_patch() == "d"


@pytest.mark.parametrize(
    ("lines", "words"),
    [
        (['{"instance_id": "x"}'], "p.jsonl:1: missing or non-string field(s) model_name_or_path"),
        (['{"instance_id": "x", "model_name_or_path": "m"}', "{oops"], "p.jsonl:2: not a JSON object"),
        (['["x"]'], "p.jsonl:1: expected a JSON object"),
        (['{"instance_id": "x", "model_name_or_path": "m", "model_patch": ""}'] * 2, "p.jsonl:2: a second prediction"),
    ],
)
def test_bad_predictions(tmp_path: Path, lines: list[str], words: str) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)")):
        load_predictions(path)


def _write(path: Path, *records: dict[str, object]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_trials_from_a_trial_field_or_from_several_files(tmp_path: Path) -> None:
    """Issue 13: trial k of a model is the submission <model>@<k>; its agent is the model."""
    pred = {"instance_id": "x", "model_name_or_path": "org/m", "model_patch": "d"}
    one = _write(
        tmp_path / "one.jsonl", {**pred, "trial": 1}, {**pred, "trial": 2}, {**pred, "model_name_or_path": "n"}
    )
    assert [s.name for s in load_predictions(one)["x"]] == ["org__m@1", "org__m@2", "n"]
    first = _write(tmp_path / "run1.jsonl", pred)
    second = _write(tmp_path / "run2.jsonl", pred, {**pred, "instance_id": "y"})
    got = load_prediction_files([first, second])
    assert [s.name for s in got["x"]] == ["org__m@1", "org__m@2"] and [s.name for s in got["y"]] == ["org__m@2"]
    assert got["x"][1].meta == {"model_name_or_path": "org/m", "source": f"{second}:1"}
    assert [s.name for s in load_prediction_files([first])["x"]] == ["org__m"]  # one file: names as they were
    clash = _write(tmp_path / "run3.jsonl", {**pred, "trial": 1})
    with pytest.raises(ValueError, match=r"run3.jsonl:1: prediction 'org__m@1' for x is also in .*run1.jsonl:1"):
        load_prediction_files([first, clash])


@pytest.mark.parametrize("trial", ["2", -1, True, 1.5])
def test_a_trial_must_be_a_whole_number(tmp_path: Path, trial: object) -> None:
    path = _write(tmp_path / "p.jsonl", {"instance_id": "x", "model_name_or_path": "m", "trial": trial})
    with pytest.raises(ValueError, match=r"p.jsonl:1: trial must be a whole number, got"):
        load_predictions(path)


def test_parse_id_list_accepts_json_and_python_literals() -> None:
    assert parse_id_list('["a::b"]') == ["a::b"]
    assert parse_id_list("['a::b', 'c::d']") == ["a::b", "c::d"]
    assert parse_id_list(["x"]) == ["x"]
    with pytest.raises(ValueError):
        parse_id_list("not a list")


@pytest.mark.skipif(not SAMPLE.is_file(), reason="needs ../shared/external/swebench_sample.jsonl")
def test_import_the_real_sample(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    instances = [json.loads(line) for line in SAMPLE.read_text().splitlines()]
    # Stand-in mirrors holding each base commit's id are not needed to write the folders,
    # but the task must load: give it a repository and check the commit error is clear.
    mirror = tmp_path / "mirror.git"
    make_git_repo(mirror, {"README": "x\n"})
    recipes = tmp_path / "recipes.json"
    recipes.write_text(
        json.dumps(
            {
                "psf/requests": {
                    "python": "python3.9",
                    "setup": ["python -m pip install -e ."],
                    "exclude": ["tests/test_requests.py::TestTimeout::test_connect_timeout"],
                },
                "pytest-dev__pytest-5227": {"env": {"SETUPTOOLS_SCM_PRETEND_VERSION": "4.4"}},
            }
        )
    )
    args = [
        "import-swebench",
        str(SAMPLE),
        "--out",
        str(tmp_path / "tasks"),
        "--recipes",
        str(recipes),
        "--with-predictions",
    ]
    for repo in ("psf/requests", "pallets/flask", "pytest-dev/pytest"):
        args += ["--mirror", f"{repo}={mirror}"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert f"imported {len(instances)} task(s)" in out
    folder = tmp_path / "tasks" / "pytest-dev__pytest-5227"
    toml = (folder / "task.toml").read_text()
    assert 'SETUPTOOLS_SCM_PRETEND_VERSION = "4.4"' in toml
    assert '"[100%]"' not in toml.split("# left out")[0] and "#   [100%]" in toml  # non-test ids left out
    assert (folder / "hidden_tests.diff").read_text() == instances[3]["test_patch"]
    assert (folder / "gold.diff").read_text() == instances[3]["patch"]
    requests_toml = (tmp_path / "tasks" / "psf__requests-3362" / "task.toml").read_text()
    assert 'python = "python3.9"' in requests_toml
    assert "TestTimeout::test_connect_timeout" in requests_toml.split("# left out")[1]
    # The mirror here lacks the real base commit: loading names the key and the fix.
    with pytest.raises(Exception, match=r"repo.commit"):
        load_task(folder)


def test_import_then_load_and_grade_layout(tmp_path: Path) -> None:
    commit = make_git_repo(tmp_path / "mirror", {"pkg.py": "x = 1\n", "test_pkg.py": "def test_a():\n    pass\n"})
    inst = {
        "instance_id": "o__r-1",
        "repo": "o/r",
        "base_commit": commit,
        "patch": "p",
        "test_patch": "t",
        "problem_statement": "Fix it\nplease",
        "FAIL_TO_PASS": '["test_pkg.py::test_a"]',
        "PASS_TO_PASS": "[]",
        "predictions": [{"agent": "Agent X (run 1)", "model": "m", "model_patch": "diff", "resolved": True}],
    }
    src = tmp_path / "inst.jsonl"
    src.write_text(json.dumps(inst) + "\n")
    assert (
        main(
            [
                "import-swebench",
                str(src),
                "--out",
                str(tmp_path / "t"),
                "--mirror",
                f"o/r={tmp_path / 'mirror'}",
                "--with-predictions",
            ]
        )
        == 0
    )
    task = load_task(tmp_path / "t" / "o__r-1")
    assert task.repo.commit == commit and task.title == "Fix it"
    assert task.environment.setup == ("python -m pip install -e .",)
    (sub,) = find_submissions(task)
    assert sub.name == "Agent_X_run_1" and sub.meta["recorded_resolved"] is True
    # A second import into the same folder is refused, unless --force (which replaces it).
    again = ["import-swebench", str(src), "--out", str(tmp_path / "t"), "--mirror", f"o/r={tmp_path / 'mirror'}"]
    assert main(again) == 2
    assert main([*again, "--force"]) == 0
    assert find_submissions(load_task(tmp_path / "t" / "o__r-1")) == []


def test_import_keeps_agents_whose_names_clean_up_alike(tmp_path: Path) -> None:
    commit = make_git_repo(tmp_path / "mirror", {"pkg.py": "x = 1\n"})
    inst = {
        "instance_id": "o__r-2",
        "repo": "o/r",
        "base_commit": commit,
        "patch": "",
        "test_patch": "t",
        "FAIL_TO_PASS": ["t.py::a"],
        "PASS_TO_PASS": ["t.py::net", "t.py::b"],
        "predictions": [
            {"agent": "Agent (v1)", "model_patch": "one", "resolved": True},
            {"agent": "Agent v1", "model_patch": "two", "resolved": False},
        ],
    }
    from pytest_proofswe.modes.swebench import import_instances

    (done,) = import_instances(
        [inst],
        mirrors={"o/r": tmp_path / "mirror"},
        out_dir=tmp_path / "t",
        with_predictions=True,
        recipes={"o/r": {"exclude": ["t.py::net"]}},
    )
    task = load_task(done.folder)
    subs = {s.name: s.read_patch() for s in find_submissions(task)}
    assert subs == {"Agent_v1": "one", "Agent_v1-2": "two"}
    assert task.tests.deselect == ("t.py::net",) and task.tests.pass_to_pass == ("t.py::b",)
    with pytest.raises(ValueError, match="excludes FAIL_TO_PASS tests"):
        import_instances(
            [inst],
            mirrors={"o/r": tmp_path / "mirror"},
            out_dir=tmp_path / "u",
            recipes={"o/r": {"exclude": ["t.py::a"]}},
        )


def test_import_without_mirror_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "inst.jsonl"
    src.write_text(json.dumps({"instance_id": "o__r-1", "repo": "o/r", "base_commit": "abc"}) + "\n")
    assert main(["import-swebench", str(src), "--out", str(tmp_path / "t")]) == 2
    assert "o__r-1: no local mirror for o/r (fix: pass --mirror o/r=PATH/TO/REPO)" in capsys.readouterr().err
