"""The HTML report end to end (issue 13, item 5): a real run of the example fixtures, read back, then in Chromium.

One graded run (module scope) of fixtures/trials (agents with trials and costs),
fixtures/stepped (decay, with a gate that fails) and inventory-restock's ``minimal`` and
``smelly`` (with a transcript, and a scripted reviewer whose quotes are in the diff), plus
a ``hostile`` submission whose agent name, diff and transcript carry HTML and script. The
page is checked as text (html.parser), then as a person sees it: rendered by headless
Chromium, with no console message, nothing run, nothing loaded.

With ``PROOFSWE_HTML_SCREENSHOTS=DIR`` the Chromium test also writes the screenshots that
docs/report.md shows (``report-html.png``, ``report-html-submission.png``) into DIR.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_proofswe.outputs.html import render
from tests.chromium import chromium, load
from tests.conftest import FIXTURES, Handler, LLMServer, run_grader
from tests.htmlpage import Node, parse, rows

pytestmark = pytest.mark.slow

needs_chromium = pytest.mark.skipif(
    chromium() is None,
    reason="no headless Chromium here (Debian: apt-get install chromium; .ci/run installs it)",
)

PAYLOAD = "<script>document.title='pwned';console.log('pwned')</script>"
ATTRIBUTE = "\"><img src=x onerror=\"document.title='pwned';console.log('pwned')\">"
STYLE = "</style><svg onload=\"console.log('pwned')\"></svg>"
HOSTILE_PATCH = f'''diff --git a/inventory/notes.py b/inventory/notes.py
new file mode 100644
--- /dev/null
+++ b/inventory/notes.py
@@ -0,0 +1,3 @@
+"""{PAYLOAD}"""
+# {ATTRIBUTE}
+BANNER = "{STYLE}"
'''

SMELLY_QUOTES = {
    "minimal": ("breakpoint()", "inventory/restock.py"),
    "codebase_patterns": ("except:\n            amount = 0", "inventory/restock.py"),
    "no_needless_abstraction": ("def _safe_units(on_hand: int, target: int) -> int:", "inventory/restock.py"),
    "readability": ("elif pending == 0:", "inventory/restock.py"),
    "tests_appropriate": ('@pytest.mark.skip(reason="flaky")', "tests/test_restock.py"),
}


def reviewer_reply() -> str:
    """The scripted reviewer: the same reply for every submission; its quotes are in smelly's diff only."""
    return json.dumps(
        {
            cid: {
                "score": 2,
                "rationale": f"{cid}: see the quote",
                "evidence": [{"quote": quote, "path": path, "line": 1}],
            }
            for cid, (quote, path) in SMELLY_QUOTES.items()
        }
    )


def transcript(correction: str) -> str:
    """A short Claude Code session: a failing test run, an edit, a correction typed by the person, a passing run."""
    cwd = "/home/dev/inventory"

    def user(n: int, content: Any) -> dict[str, Any]:
        return {
            "type": "user",
            "cwd": cwd,
            "uuid": f"u{n}",
            "timestamp": f"2026-01-05T10:0{n}:00Z",
            "message": {"role": "user", "content": content},
        }

    def tool(n: int, name: str, args: dict[str, Any]) -> dict[str, Any]:
        usage = {
            "input_tokens": 1200,
            "output_tokens": 80,
            "cache_read_input_tokens": 0,
            "cache_creation_input_tokens": 0,
        }
        message = {"model": "claude-sonnet-4-5", "id": f"m{n}", "type": "message", "role": "assistant", "usage": usage}
        message["content"] = [{"type": "tool_use", "id": f"t{n}", "name": name, "input": args}]
        return {
            "type": "assistant",
            "cwd": cwd,
            "uuid": f"a{n}",
            "timestamp": f"2026-01-05T10:0{n}:30Z",
            "message": message,
        }

    def result(n: int, text: str, error: bool = False) -> dict[str, Any]:
        return user(n, [{"type": "tool_result", "tool_use_id": f"t{n - 1}", "is_error": error, "content": text}])

    edit = {"file_path": f"{cwd}/inventory/restock.py", "old_string": "- on_hand", "new_string": "- on_hand - pending"}
    lines = [
        user(1, "The restock plan ignores pending orders: fix it, and run the tests."),
        tool(2, "Bash", {"command": "python -m pytest -q"}),
        result(3, "1 failed, 3 passed", error=True),
        tool(4, "Edit", edit),
        result(5, "The file was edited."),
        user(6, correction),
        tool(7, "Bash", {"command": "python -m pytest -q"}),
        result(8, "4 passed"),
    ]
    return "".join(json.dumps(line) + "\n" for line in lines)


@pytest.fixture(scope="module")
def llm() -> Iterator[LLMServer]:
    import threading

    server = LLMServer(("127.0.0.1", 0), Handler)
    server.script, server.requests, server.headers_seen = [("ok", reviewer_reply())], [], []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory, cache_dir: Path, llm: LLMServer) -> Path:
    """The run's folder: page.html (named by [tool.proofswe] html) and report.json."""
    pytest.importorskip("litellm")
    root = tmp_path_factory.mktemp("html-run")
    shutil.copytree(FIXTURES / "trials", root / "trials", ignore=shutil.ignore_patterns("make_trials.py"))
    shutil.copytree(FIXTURES / "stepped" / "pricing-steps", root / "pricing-steps")
    task = root / "inventory-restock"
    shutil.copytree(FIXTURES / "tasks" / "inventory-restock", task)
    for sub in (task / "submissions").iterdir():
        if sub.stem not in ("minimal", "smelly"):
            shutil.rmtree(sub) if sub.is_dir() else sub.unlink()
    (task / "submissions" / "smelly" / "session.jsonl").write_text(
        transcript("No, that's not what I asked: keep units_to_order's signature.")
    )
    hostile = task / "submissions" / "hostile"
    hostile.mkdir()
    (hostile / "patch.diff").write_text(HOSTILE_PATCH)
    (hostile / "meta.toml").write_text(f"agent = {json.dumps(PAYLOAD)}\n")
    (hostile / "session.jsonl").write_text(transcript(f"No, that's wrong!! {ATTRIBUTE}"))
    base = f"http://127.0.0.1:{llm.server_address[1]}/v1"
    (root / "pyproject.toml").write_text(
        f'[tool.proofswe]\nhtml = "page.html"\nmodel = "openai/proofswe-html-test"\n'
        f'[tool.proofswe.review]\napi_base = "{base}"\nnum_retries = 0\n'
    )
    run = run_grader(
        root,
        cache_dir,
        "--proofswe",
        "trials",
        "pricing-steps",
        "inventory-restock",
        "--proofswe-max-decay=5",
        env={"OPENAI_API_KEY": "sk-local-test-key-000111"},
    )
    assert run.returncode == 1, run.output[-3000:]  # the decay gate, the smelly taste, the reviews fail
    assert (root / "page.html").is_file(), run.output[-3000:]
    return root


def page(graded: Path) -> Node:
    return parse((graded / "page.html").read_text(encoding="utf-8"))[0]


def submission(root: Node, task: str, name: str) -> Node:
    for details in root.by_id("submissions").all("details", "sub"):
        summary = details.all("summary")[0]
        if summary.all("strong")[0].text == task and f" / {name} " in summary.text:
            return details
    raise KeyError(name)


def test_the_page_is_written_from_the_json_report(graded: Path) -> None:
    report = json.loads((graded / "report.json").read_text())
    assert (graded / "page.html").read_text(encoding="utf-8") == render(report)
    by_sub = {(r["task"], r["submission"]): r for r in report["results"]}
    assert by_sub[("inventory-restock", "minimal")]["patch"]["text"].startswith("diff --git a/inventory/restock.py")
    smelly = by_sub[("inventory-restock", "smelly")]
    assert "[REDACTED OpenAI API key]" in smelly["patch"]["text"] and "sk-proj-" not in smelly["patch"]["text"]
    assert [a["kind"] for a in smelly["session"]["timeline"]] == ["command", "edit", "command"]


def test_agents_with_intervals_costs_and_the_charts(graded: Path) -> None:
    root = page(graded)
    table = root.by_id("agents").all("table")[0]
    head = [" ".join(th.text.split()) for th in table.all("th")]
    by_agent = {r[2].split(" tied with ")[0]: dict(zip(head, r, strict=True)) for r in rows(table)}
    assert by_agent["steady"]["resolved (95% CI)"] == "0.92 [0.67, 1.00]"
    assert by_agent["steady"]["$/trial"] == "$0.4000" and by_agent["close"]["$/trial"] == "-"
    assert by_agent["weak"]["resolved (95% CI)"] == "0.08 [0.00, 0.33]"
    assert by_agent[PAYLOAD]["tasks"] == "1"  # the hostile agent's name, as text
    captions = [" ".join(f.text.split()) for f in root.by_id("charts").all("figcaption")]
    assert any(c.startswith("resolved rate against $ per trial") for c in captions)
    assert any(c.startswith("resolved rate against tokens per trial") for c in captions)


def test_the_decay_of_the_stepped_task_and_its_gate(graded: Path) -> None:
    decay = page(graded).by_id("decay")
    text = " ".join(decay.text.split())
    assert "pricing-steps :: bloat" in text and "+29.75 decay points over 3 step(s)" in text
    assert "gate failed max_decay=5" in text and "pricing-steps :: tidy" in text and "gate passed" in text
    assert len(decay.all("path", "trend")) == 2


def test_a_submission_with_its_findings_evidence_and_session(graded: Path) -> None:
    smelly = submission(page(graded), "inventory-restock", "smelly")
    diff = smelly.all("table", "diff")[0]
    lines = diff.all("tr")
    texts = [" ".join(tr.text.split()) for tr in lines]
    at = next(i for i, t in enumerate(texts) if t.endswith("+ breakpoint()[1]"))
    assert "debug-breakpoint breakpoint() added -8" in texts[at + 1]
    marks = [m.text for m in diff.all("mark", "ev")]
    assert "breakpoint()" in marks and "elif pending == 0:" in marks and 'mark.skip(reason="flaky")' not in marks
    assert '@pytest.mark.skip(reason="flaky")' in marks
    assert "[REDACTED OpenAI API key]" in diff.text
    timeline = [" ".join(li.text.split()) for li in smelly.all("ol", "timeline")[0].all("li")]
    assert timeline[0] == "line 2 test run command python -m pytest -q"
    assert timeline[1] == "line 3 failed command error: python -m pytest -q"
    assert timeline[3].startswith("line 6 correction No, that's not what I asked")


def test_an_item_error_still_writes_the_page(pytester: pytest.Pytester) -> None:
    shutil.copytree(FIXTURES / "tasks" / "inventory-restock", pytester.path / "inventory-restock")
    broken = pytester.path / "broken"
    broken.mkdir()
    (broken / "task.toml").write_text("title = 'no tests table'\n")
    pytester.makeini("[pytest]\nproofswe_html = out/page.html\n")
    run = pytester.runpytest_subprocess("--proofswe", "broken", "inventory-restock", "-k", "broken or minimal")
    run.assert_outcomes(passed=2, skipped=2, errors=1)  # minimal's behaviour and taste (no review, no session)
    root = parse((pytester.path / "out" / "page.html").read_text(encoding="utf-8"))[0]
    cells = rows(root.by_id("submissions").all("table")[0])
    assert [(r[0], r[1], r[3]) for r in cells] == [
        ("broken", "-", "error"),
        ("inventory-restock", "minimal", "resolved"),
    ]
    assert "task.toml" in submission(root, "broken", "-").text

    # The option wins over the ini key; a run that -x stopped says so.
    args = [
        "--proofswe",
        "broken",
        "inventory-restock",
        "-k",
        "broken or minimal",
        "-x",
        "--proofswe-html=stopped.html",
    ]
    pytester.runpytest_subprocess(*args)
    root = parse((pytester.path / "stopped.html").read_text(encoding="utf-8"))[0]
    assert "The run stopped early: stopping after 1 failures" in " ".join(root.text.split())


def png_pixels(png: bytes) -> tuple[int, int, bytes]:
    """Width, height and the raw (filtered) scanlines of a PNG."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    at, width, height, data = 8, 0, 0, b""
    while at < len(png):
        (length,) = struct.unpack(">I", png[at : at + 4])
        kind, body = png[at + 4 : at + 8], png[at + 8 : at + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            data += body
        at += 12 + length
    return width, height, zlib.decompress(data)


@needs_chromium
def test_the_page_renders_in_chromium_as_a_person_sees_it(graded: Path) -> None:
    shown = load(graded / "page.html", clip_height=2000)
    assert shown.console == []  # no error, no warning, no CSP violation, nothing logged
    assert shown.title == "pytest-proofswe report"  # no payload set it
    assert shown.counts == {"script": 0, "img": 0, "iframe": 0, "object": 0, "link": 0, "handlers": 0, "open": 0}
    assert shown.width <= 1280 and shown.height > 3000
    text = shown.text
    assert "Agents" in text and "steady" in text and "0.92 [0.67, 1.00]" in text and "$0.4000" in text
    assert "+29.75 decay points over 3 step(s)" in text
    assert PAYLOAD in text  # the hostile agent's name, shown as written
    assert "breakpoint()" not in text  # a submission's diff is inside its closed <details>
    width, height, pixels = png_pixels(shown.png)
    assert (width, height) == (1280, 2000) and len(set(pixels)) > 50  # drawn, not a blank page

    smelly = load(graded / "page.html", fragment=_anchor(graded, "smelly"))
    assert smelly.console == []
    folder = os.environ.get("PROOFSWE_HTML_SCREENSHOTS")
    if folder:
        _screenshots(graded, Path(folder))


@needs_chromium
def test_escaping_alone_runs_nothing_in_chromium(graded: Path, tmp_path: Path) -> None:
    """Without its Content-Security-Policy, the page still runs no payload: the escaping holds by itself."""
    text = (graded / "page.html").read_text(encoding="utf-8")
    bare = tmp_path / "bare.html"
    bare.write_text("\n".join(line for line in text.split("\n") if "Content-Security-Policy" not in line))
    assert "Content-Security-Policy" not in bare.read_text()
    opened = bare.read_text().replace('class="sub">', 'class="sub" open>')  # every submission's diff rendered too
    bare.write_text(opened)
    shown = load(bare)
    assert shown.console == [] and shown.title == "pytest-proofswe report"
    assert shown.counts["script"] == shown.counts["img"] == shown.counts["handlers"] == 0
    assert shown.counts["open"] == shown.details
    assert PAYLOAD in shown.text and ATTRIBUTE in shown.text and STYLE in shown.text


@needs_chromium
def test_the_pages_policy_blocks_what_escaping_might_miss(graded: Path, tmp_path: Path) -> None:
    """Were a script or an image ever to slip through, the page's own policy would refuse both (and say so)."""
    text = (graded / "page.html").read_text(encoding="utf-8")
    slipped = '<img src="http://127.0.0.1:9/x.png"><script>document.title="ran";console.log("ran")</script>'
    leaky = tmp_path / "leaky.html"
    leaky.write_text(text.replace("</body>", slipped + "</body>"))
    shown = load(leaky)
    assert shown.title == "pytest-proofswe report"
    assert not [m for m in shown.console if m.startswith("console.")]  # the script never ran
    blocked = [m for m in shown.console if "Content Security Policy" in m]
    assert len(blocked) == 2, shown.console  # the image and the inline script


def _anchor(graded: Path, name: str) -> str:
    report = json.loads((graded / "report.json").read_text())
    return f"r{next(i for i, r in enumerate(report['results']) if r['submission'] == name)}"


def _screenshots(graded: Path, folder: Path) -> None:
    """The two screenshots of docs/report.md: the top of the page, and smelly's submission opened."""
    folder.mkdir(parents=True, exist_ok=True)
    top = load(graded / "page.html", width=1200, clip_height=2000)
    (folder / "report-html.png").write_bytes(top.png)
    anchor = _anchor(graded, "smelly")
    text = (graded / "page.html").read_text(encoding="utf-8")
    opened = graded / "opened.html"
    opened.write_text(text.replace(f'<details id="{anchor}" class="sub">', f'<details id="{anchor}" class="sub" open>'))
    sub = load(opened, width=1100, height=1500, fragment=anchor)
    (folder / "report-html-submission.png").write_bytes(sub.png)
