"""Session metrics from normalised events (pure), each signal with the place it came from.

The metrics are the contract's (docs/sessions.md says what each means and which format
supplies what). Unknown is None, never 0: a format that records no exit codes has
``failed_commands`` None, not 0.
"""

from __future__ import annotations

import hashlib
import re
import shlex
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, NamedTuple

from .events import Event, TextChange, Usage

__all__ = [
    "Action",
    "CallTokens",
    "Price",
    "SessionMetrics",
    "Signal",
    "compute_metrics",
    "is_correction",
    "is_test_command",
    "typed_text",
]

_CORRECTION = re.compile(
    r"(^\s*(no|nope)\b(?!\s+(such|module|matches|match|tests?|space|route|output|changes|errors?|data|files?)\b)"
    r"|^\s*(wrong|stop|undo|revert|again)\b|\bthat'?s (not|wrong)|\bnot what i\b|\bi (said|asked|told you)\b"
    r"|\b(doesn'?t|didn'?t|does not|did not|still (doesn'?t|does not|not))( seem to)? work|\bwrong\b"
    r"|\bstill (an? )?(issues?|problems?|errors?|the same|broken|failing|fails|wrong|shows?|showing|happening|there"
    r"|no|not|nothing|empty|0)\b|\bstill\b[^.?\n]{0,40}!"
    r"|\b(do not|don'?t|dont)\b[^.!?\n]{0,60}\bever\b|\bnever (do|use|add|touch|change|commit|run|write|create)\b"
    r"|\b(you|that|this|it) (just )?(broke|broken)\b|\bbroke (everything|it|the)\b|\b(not acceptable|unacceptable)\b"
    r"|\bbad idea\b|\bnothing (changed|happened)\b|\b(i|still) (have|get|got|see) (this |an |the |a )?error\b"
    r"|\bfailed to compile\b|\bwhy did you\b|\bplease don'?t\b|\bdon'?t do that\b|\btry again\b"
    r"|\bwtf\b|\bf+u+c+k|\bshit\b|\bdamn\b|\bstupid\b|\buseless\b|!!+)",
    re.IGNORECASE,
)
# Words a person shouts to correct the agent ("do NOT touch the tests"): only in capitals.
_SHOUTED = re.compile(r"\b(NOT|NEVER|DON'?T|STOP|WRONG)\b")
# Lines of a message that were pasted rather than typed: quoted, indented, fenced, or log-shaped
# (a traceback, a compiler or test runner's output, key: value data, a table, a shell prompt).
_PASTED_LINE = re.compile(
    r"^(\s+\S|>|\$ |Traceback |E\s{2,}|\S+:\d+(:\d+)?[: ]|-\s*\w[\w-]*: |[a-z]\w*_\w*: |[|+]|[-=_*#]{3,}"
    r"|\d{1,2}:\d{2}(:\d{2})?\b|\[\d|\w+(Error|Exception|Warning)\b|(ERROR|FAILED|PASSED|WARN(ING)?|INFO|DEBUG)\b"
    r"|npm (ERR|WARN)|at \S+ \(|Uncaught |warning:|error(\[\w+\])?:)"
)
_FENCE = re.compile(r"^\s*```.*?(^\s*```[^\n]*$|\Z)", re.DOTALL | re.MULTILINE)


def typed_text(text: str) -> str:
    """The part of a person's message they typed: without fenced code, quoted or indented
    lines, or lines shaped like pasted output (tracebacks, compiler and test output, logs,
    ``key: value`` data); curly apostrophes read as straight ones."""
    text = _FENCE.sub("\n", text.replace("\u2019", "'").replace("\u2018", "'"))
    return "\n".join(line for line in text.splitlines() if not _PASTED_LINE.match(line)).strip()


def is_correction(text: str) -> bool:
    """Whether a message a person typed corrects the agent or expresses frustration (see docs/sessions.md)."""
    typed = typed_text(text)
    return bool(typed) and bool(_CORRECTION.search(typed) or _SHOUTED.search(typed))


_REVERT_COMMAND = re.compile(r"\bgit\s+(checkout\s+(--\s+)?\S|restore\b|reset\s+--hard|stash\b|revert\b)")


class CallTokens(NamedTuple):
    """The tokens of one model call, each kind apart: ``input`` is the *uncached* input;
    ``cache_write_1h`` counts those of ``cache_write`` that were cached for an hour."""

    input: int
    output: int
    cache_read: int
    cache_write: int
    cache_write_1h: int = 0


#: Dollars for some calls of one model; raises LookupError saying why when it cannot price them
#: (:func:`pytest_proofswe.session.pricing.litellm_price` is the default).
Price = Callable[[str, Sequence[CallTokens]], float]


# Test runners named by the command's first word (its base name, so ``./node_modules/.bin/jest`` too).
_TEST_RUNNERS = frozenset(
    {
        "pytest",
        "py.test",
        "tox",
        "nox",
        "nosetests",
        "trial",
        "jest",
        "vitest",
        "mocha",
        "ava",
        "karma",
        "rspec",
        "phpunit",
        "pest",
        "ctest",
        "busted",
        "bats",
        "prove",
        "behave",
        "cucumber",
        "cucumber-js",
        "gotestsum",
        "test.sh",
        "run-tests.sh",
        "run_tests.sh",
        "runtests.py",
        "run_tests.py",
    }
)
# Tools whose subcommand runs the tests: the first word that is not an option must be one of these.
_TEST_SUBCOMMANDS: dict[str, frozenset[str]] = {
    "go": frozenset({"test"}),
    "cargo": frozenset({"test", "nextest", "tarpaulin"}),
    "mix": frozenset({"test"}),
    "dotnet": frozenset({"test"}),
    "swift": frozenset({"test"}),
    "bun": frozenset({"test"}),
    "deno": frozenset({"test"}),
    "flutter": frozenset({"test"}),
    "dart": frozenset({"test"}),
    "cabal": frozenset({"test"}),
    "stack": frozenset({"test"}),
    "lein": frozenset({"test"}),
    "sbt": frozenset({"test", "testonly"}),
    "gradle": frozenset({"test", "check"}),
    "gradlew": frozenset({"test", "check"}),
    "mvn": frozenset({"test", "verify"}),
    "mvnw": frozenset({"test", "verify"}),
    "make": frozenset({"test", "tests", "check"}),
    "gmake": frozenset({"test", "tests", "check"}),
    "just": frozenset({"test", "tests"}),
    "rake": frozenset({"test", "spec"}),
    "rails": frozenset({"test"}),
    "meson": frozenset({"test"}),
    "ninja": frozenset({"test", "check"}),
    "zig": frozenset({"build test"}),
    "hatch": frozenset({"test"}),
    "playwright": frozenset({"test"}),
    "npm": frozenset({"test", "t", "tst"}),
    "yarn": frozenset({"test"}),
    "pnpm": frozenset({"test", "t"}),
}
# ``npm run test:unit``, ``yarn run test``, ``pnpm run test-e2e``, ``bun run test``, ``hatch run test``: a script named test*.
_SCRIPT_RUNNERS = frozenset({"npm", "yarn", "pnpm", "bun", "hatch", "composer", "deno"})
_SCRIPT_RUN = frozenset({"run", "run-script", "task"})
# Words that run the command after them: ``uv run pytest``, ``npx jest``, ``bundle exec rspec``, ``timeout 600 go test``.
_WRAPPERS = frozenset({"sudo", "time", "env", "nice", "nohup", "exec", "command", "xvfb-run", "stdbuf", "unbuffer"})
_WRAPPER_PAIRS = {
    "uv": "run",
    "poetry": "run",
    "pipenv": "run",
    "pdm": "run",
    "rye": "run",
    "hatch": "run",
    "conda": "run",
    "bundle": "exec",
    "pnpm": "exec",
    "npm": "exec",
    "docker": "exec",
}
_RUNNER_WRAPPERS = frozenset({"npx", "bunx", "pnpx", "yarn", "dotenv"})
_PYTHON = re.compile(r"^(python|python3|python3\.\d+|py|pypy3?)$")
_PYTHON_TEST_MODULES = frozenset({"pytest", "unittest", "nose", "nose2", "tox", "nox", "trial", "twisted.trial"})
_SEGMENT_SPLIT = re.compile(r"&&|\|\||[;|\n()]")


def is_test_command(command: str | None) -> bool:
    """Whether a shell command line runs tests, in any of the ecosystems real sessions use.

    The line is split into its commands (on ``&&``, ``||``, ``;``, ``|``, newlines and
    parentheses); a command runs tests when, after ``VAR=value`` words and wrappers
    (``uv run``, ``npx``, ``bundle exec``, ``timeout 60``, ``sudo``, ...), it is a test runner
    (pytest, jest, rspec, ...), a tool's test subcommand (``go test``, ``cargo test``,
    ``mix test``, ``dotnet test``, ``bun test``, ``swift test``, ``npm test``, ``make test``,
    ``mvn -q verify``, ...), a package script named ``test*`` (``npm run test:unit``), or
    ``python -m pytest``/``unittest``, ``manage.py test``, ``setup.py test``. A command that
    only names a runner (``pip install pytest``, ``cat pytest.ini``, ``grep jest``) does not.
    """
    if not command:
        return False
    return any(_runs_tests(_words(segment)) for segment in _SEGMENT_SPLIT.split(command))


def _words(segment: str) -> list[str]:
    try:
        return shlex.split(segment)
    except ValueError:  # an unbalanced quote (the split above ignores quoting)
        return segment.split()


def _runs_tests(words: list[str]) -> bool:
    words = [w for w in words if w]
    while words:
        first = words[0]
        name = first.rsplit("/", 1)[-1]
        rest = words[1:]
        if re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", first) or name in _WRAPPERS:
            words = rest
        elif name == "timeout":  # timeout [options] DURATION command
            while rest and rest[0].startswith("-"):
                rest = rest[1:]
            words = rest[1:]
        elif name in _WRAPPER_PAIRS and rest and rest[0] == _WRAPPER_PAIRS[name] and not _script_named_test(name, rest):
            words = rest[1:]
            if name == "docker":  # docker exec [options] CONTAINER command
                while words and words[0].startswith("-"):
                    words = words[1:]
                words = words[1:]
        elif name in _RUNNER_WRAPPERS and rest and not rest[0].startswith("-") and rest[0] not in _SCRIPT_RUN:
            if name == "yarn" and rest[0] in _TEST_SUBCOMMANDS["yarn"]:
                return True
            words = rest
        else:
            break
    if not words:
        return False
    name = words[0].rsplit("/", 1)[-1]
    args = [w for w in words[1:] if not w.startswith("-")]
    if name in _TEST_RUNNERS or (name == "test" and "/" in words[0]):  # not the shell's ``test -f x``
        return True
    if name == "php" and len(words) > 2 and words[1].endswith("artisan") and words[2] == "test":
        return True
    if _PYTHON.match(name) and len(words) > 1:
        if words[1] == "-m" and len(words) > 2:
            return words[2] in _PYTHON_TEST_MODULES
        script = words[1].rsplit("/", 1)[-1]
        return (script in ("manage.py", "setup.py") and "test" in words[2:3]) or script in _TEST_RUNNERS
    if name == "manage.py" and args[:1] == ["test"]:
        return True
    if name in _SCRIPT_RUNNERS and _script_named_test(name, words[1:]):
        return True
    subcommands = _TEST_SUBCOMMANDS.get(name)
    if subcommands is None:
        return False
    if name in ("make", "gmake"):  # make [-C dir] [-j N] ... test
        return any(a in subcommands for a in args)
    if name in ("mvn", "mvnw", "gradle", "gradlew", "sbt"):  # the goals may follow other goals: mvn clean test
        return any(a in subcommands for a in args)
    if name == "zig":
        return args[:2] == ["build", "test"]
    return bool(args) and args[0] in subcommands


def _script_named_test(tool: str, rest: list[str]) -> bool:
    """``npm run test:unit``, ``yarn run test``, ``bun run test-e2e``: a package script whose name starts with test."""
    args = [w for w in rest if not w.startswith("-")]
    return tool in _SCRIPT_RUNNERS and len(args) >= 2 and args[0] in _SCRIPT_RUN and args[1].startswith("test")


@dataclass(frozen=True)
class Signal:
    metric: str
    where: str  # "line 12", "entry 4"
    text: str

    def to_json(self) -> dict[str, str]:
        return {"metric": self.metric, "where": self.where, "text": self.text}


@dataclass(frozen=True)
class Action:
    """One command the agent ran, or one file it edited, where the transcript shows it (the session's timeline)."""

    kind: str  # "command" or "edit"
    where: str  # "line 12", "entry 4"
    text: str  # the command (first 120 characters), or the path edited

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "where": self.where, "text": self.text}


@dataclass(frozen=True)
class SessionMetrics:
    values: dict[str, Any]
    signals: tuple[Signal, ...] = field(default=())
    # The commands and edits in transcript order: the first and last _Actions.KEEP of them, and how many between.
    actions: tuple[Action, ...] = field(default=())
    actions_omitted: int = 0

    def to_json(self) -> dict[str, Any]:
        return dict(self.values)


def _parse_time(ts: str | None) -> datetime | None:
    if not ts:
        return None
    try:
        parsed = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=timezone.utc)


def _action_key(e: Event) -> str:
    return f"{e.tool}|{e.command or e.arguments or ''}"


def compute_metrics(
    events: Iterable[Event],
    *,
    format_name: str,
    final_patch_paths: Sequence[str] | None = None,
    price: Price | None = None,
) -> SessionMetrics:
    """The contract's session metrics, and the signals behind them."""
    signals = _Signals()
    actions = _Actions()
    loop_detector = _LoopDetector(signals)
    reverts = _RevertDetector()
    pending_edits: dict[str, list[Event]] = {}  # applied when their call's result comes, and is not an error
    meter = _CostMeter()
    models: list[str] = []
    side_models: list[str] = []  # models named only by sub-agents' events (a sub-agent's own file)
    user_turns = tool_calls = commands = edits = interruptions = rejections = corrections = test_runs = 0
    failed: int | None = None
    exit_codes_known = False
    per_call_usage: dict[str, int] = {"input": 0, "output": 0, "cache_read": 0, "cache_write": 0}
    usage_seen = {"input": False, "output": False, "cache_read": False, "cache_write": False}
    cumulative: dict[str, Any] | None = None
    harness_cost: float | None = None
    spans: list[list[datetime]] = [[]]  # the timestamps seen in each separate launch (min and max kept)
    launches = 0
    current_launch: int | None = None
    run_seconds: list[float] = []  # the recorded durations of the actions (SWE-agent 1.x's execution_time)
    last_edit_index: int | None = None
    last_test_index: int | None = None
    last_hidden_index: int | None = None
    edited_paths: dict[str, str] = {}
    reverted = 0
    calls: dict[str, Event] = {}  # calls waiting for their result
    for index, e in enumerate(events, 1):
        launch = e.extra.get("launch")
        if isinstance(launch, int) and launch != current_launch:  # a new launch appended to the same file (aider)
            current_launch, launches = launch, max(launches, launch)
            if spans[-1]:
                spans.append([])
        for stamp in (e.timestamp, e.extra.get("started")):  # "started": when a model call spanning lines began
            t = _parse_time(stamp) if isinstance(stamp, str) else None
            if t is not None:
                span = spans[-1]
                spans[-1] = [min(span[0], t), max(span[1], t)] if span else [t, t]
        if e.model and e.model not in models and not e.extra.get("sidechain"):  # a sub-agent is not a switch
            if models:
                signals.append(Signal("model_switch", str(e.source), f"{models[-1]} -> {e.model}"))
            models.append(e.model)
        elif e.model and e.extra.get("sidechain") and e.model not in side_models:
            side_models.append(e.model)
        if e.kind == "user_message" and e.origin == "person":
            user_turns += 1
            text = (e.text or "").strip()
            if e.extra.get("slash_command"):  # a command to the harness; /ask X and the like carry a message X
                message = e.extra.get("message")
                text = message if isinstance(message, str) else ""
            if is_correction(text):
                corrections += 1
                signals.append(Signal("corrections", str(e.source), typed_text(text)[:120]))
        elif e.kind == "tool_call":
            tool_calls += 1
            if e.call_id:
                calls[e.call_id] = e
            if e.command is not None:
                commands += 1
                actions.add(Action("command", str(e.source), e.command[:120]))
            elif e.extra.get("shell") is True:  # a command the transcript hides counts all the same
                commands += 1
                last_hidden_index = index  # it may have run the tests
                signals.append(Signal("commands", str(e.source), _hidden(e, "command")))
            if e.command is not None:
                if is_test_command(e.command):
                    test_runs += 1
                    last_test_index = index
                    signals.append(Signal("test_runs", str(e.source), e.command[:120]))
                if _REVERT_COMMAND.search(e.command):
                    reverted += 1
                    signals.append(Signal("reverted_edits", str(e.source), e.command[:120]))
            if e.call_id is None:
                loop_detector.add(_action_key(e), "", str(e.source))
        elif e.kind == "tool_result":
            seconds = e.extra.get("execution_time")
            if isinstance(seconds, (int, float)) and not isinstance(seconds, bool):
                run_seconds.append(float(seconds))
            if e.extra.get("running"):  # the command goes on: its outcome comes with a later result
                continue
            call = calls.pop(e.call_id or "", None)
            for edit in pending_edits.pop(e.call_id or "", []):
                if e.status != "error":  # a refused or failed edit changed nothing
                    reverted += _apply_edit(reverts, edit, signals)
            outcome = _command_outcome(e, call)
            if outcome is not None:
                exit_codes_known = True
                failed = (failed or 0) + (1 if outcome else 0)
                if outcome:
                    what = f"exit {e.exit_code}" if e.exit_code is not None else "error"
                    command = (call.command if call else e.command) or (call.tool if call else e.tool) or ""
                    signals.append(Signal("failed_commands", str(e.source), f"{what}: {command}"[:120]))
            if call is not None:
                loop_detector.add(_action_key(call), e.text or "", str(call.source))
        elif e.kind == "file_edit":
            edits += 1
            last_edit_index = index
            if e.path:
                actions.add(Action("edit", str(e.source), e.path))
            if e.extra.get("unreadable"):
                signals.append(Signal("edits", str(e.source), _hidden(e, "edit")))
            if e.path:
                edited_paths.setdefault(e.path, str(e.source))
                if e.call_id:
                    pending_edits.setdefault(e.call_id, []).append(e)
                else:
                    reverted += _apply_edit(reverts, e, signals)
        elif e.kind == "control":
            if e.control == "interrupt":
                interruptions += 1
                signals.append(Signal("interruptions", str(e.source), e.text or "interrupted"))
            elif e.control == "rejection":
                rejections += 1
                signals.append(Signal("rejections", str(e.source), e.text or "tool use rejected"))
            elif e.control in ("undo", "rewind"):
                reverted += 1
                signals.append(Signal("reverted_edits", str(e.source), e.control))
        elif e.kind == "vcs" and e.command and _REVERT_COMMAND.search(e.command):
            reverted += 1
            signals.append(Signal("reverted_edits", str(e.source), e.command[:120]))
        if e.usage is not None:
            u = e.usage
            meter.add(u, e.model or (models[-1] if models else None))
            if u.cumulative:
                cumulative = {
                    "input": u.input,
                    "output": u.output,
                    "cache_read": u.cache_read,
                    "cache_write": u.cache_write,
                    "cost_usd": u.cost_usd,
                }
            else:
                for key, value in (
                    ("input", u.input),
                    ("output", u.output),
                    ("cache_read", u.cache_read),
                    ("cache_write", u.cache_write),
                ):
                    if value is not None:
                        per_call_usage[key] += value
                        usage_seen[key] = True
                if u.cost_usd is not None:
                    harness_cost = (harness_cost or 0.0) + u.cost_usd

    loops = loop_detector.loops
    models = models or side_models  # a sub-agent's own file: every event is the sub-agent's
    if cumulative is not None:
        tokens = {k: cumulative.get(k) for k in ("input", "output", "cache_read", "cache_write")}
        if cumulative.get("cost_usd") is not None:
            harness_cost = cumulative["cost_usd"]
    else:
        tokens = {k: (per_call_usage[k] if usage_seen[k] else None) for k in per_call_usage}
    known = [v for k, v in tokens.items() if k in ("input", "output") and v is not None]
    tokens["total"] = sum(known) if known else None
    cost = harness_cost
    cost_source = "harness" if cost is not None else None
    cost_reason: str | None = None
    if cost is None:
        cost, cost_reason = meter.cost(price, models[-1] if models else None)
        cost_source = "price" if cost is not None else None
    outside: int | None = None
    if final_patch_paths is not None:
        final = set(final_patch_paths)
        outside_paths = [(p, w) for p, w in edited_paths.items() if not _in_patch(p, final)]
        outside = len(outside_paths)
        for p, w in outside_paths:
            signals.append(Signal("edits_outside_patch", w, p))
    tests_after: bool | None = None
    if edits and last_edit_index is not None:
        tests_after = last_test_index is not None and last_test_index > last_edit_index
        if not tests_after and last_hidden_index is not None and last_hidden_index > last_edit_index:
            tests_after = None  # a command after the last edit is hidden: whether it ran the tests is unknown
    wall = _wall_seconds([span for span in spans if span], run_seconds)
    values: dict[str, Any] = {
        "format": format_name,
        "models": models,
        "user_turns": user_turns,
        "tool_calls": tool_calls,
        "commands": commands,
        "failed_commands": failed if exit_codes_known else None,
        "test_runs": test_runs,
        "tests_after_last_edit": tests_after,
        "edits": edits,
        "edits_outside_patch": outside,
        "interruptions": interruptions,
        "rejections": rejections,
        "corrections": corrections,
        "loops": loops,
        "reverted_edits": reverted,
        "tokens": tokens,
        "cost_usd": None if cost is None else round(cost, 6),
        "cost_source": cost_source,
        "cost_reason": cost_reason,
        "wall_s": None if wall is None else round(wall, 1),
        "sessions": max(launches, 1),
    }
    return SessionMetrics(values, tuple(signals.kept), actions.kept(), actions.omitted)


def _wall_seconds(spans: Sequence[list[datetime]], run_seconds: Sequence[float]) -> float | None:
    """The session's length: the span of its timestamps (the earliest to the latest, since some
    harnesses write events out of order), summed over the launches a file appends; None when a
    launch has a single timestamp (aider writes only its start). Without timestamps, the sum of
    the actions' recorded durations (SWE-agent 1.x), else None."""
    if spans:
        if any(span[0] == span[1] for span in spans):
            return None
        return sum((span[1] - span[0]).total_seconds() for span in spans)
    return sum(run_seconds) if run_seconds else None


def _command_outcome(result: Event, call: Event | None) -> bool | None:
    """Whether the command a result answers failed (True), succeeded (False), or is unknown (None).

    A known exit code decides. Without one, a command whose result the harness marks an error
    failed (a commit a pre-commit hook refused) and one it marks ok succeeded; a result of a
    command that never ran (refused by the person, cancelled with a failing sibling) or has not
    finished (running in the background, timed out) says nothing. Only shell commands count:
    a failed file read is not a failed command.
    """
    if result.extra.get("not_run") or result.extra.get("did_not_finish"):
        return None
    is_command = call is not None and (call.command is not None or call.extra.get("shell") is True)
    if result.exit_code is not None:
        return result.exit_code != 0 if call is None or is_command else None
    if is_command and result.status in ("ok", "error"):
        return result.status == "error"
    return None


def _hidden(e: Event, what: str) -> str:
    return f"{e.tool}: {e.extra.get('unreadable') or 'hidden'}, counted as one {what} by the tool's name"


def _in_patch(path: str, final: set[str]) -> bool:
    return path in final or any(path.endswith("/" + p) for p in final)


class _CostMeter:
    """Each model call's tokens, by model, kept to be priced at the end (when the harness gave no cost).

    A running total (``Usage.cumulative``) is turned into calls by its differences, so that
    a model switch or a price that depends on a call's size is priced right.
    """

    def __init__(self) -> None:
        self.calls: dict[str | None, list[CallTokens]] = {}
        self.last_total: CallTokens | None = None

    def add(self, usage: Usage, model: str | None) -> None:
        counts = (usage.input, usage.output, usage.cache_read, usage.cache_write)
        if all(v is None for v in counts):
            return
        uncached = usage.input or 0
        if usage.input_includes_cache_read:  # OpenAI's input counts the cache reads: not twice
            uncached -= usage.cache_read or 0
        if usage.input_includes_cache_write:  # litellm's prompt_tokens for Anthropic counts the writes too
            uncached -= usage.cache_write or 0
        call = CallTokens(
            max(uncached, 0),
            usage.output or 0,
            usage.cache_read or 0,
            usage.cache_write or 0,
            usage.cache_write_1h or 0,
        )
        if usage.cumulative:
            total, last = call, self.last_total
            self.last_total = total
            if last is not None and all(t >= p for t, p in zip(total, last, strict=True)):
                call = CallTokens(*(t - p for t, p in zip(total, last, strict=True)))
            # else: the first total, or a running total that started again
        self.calls.setdefault(model, []).append(call)

    def cost(self, price: Price | None, last_model: str | None) -> tuple[float | None, str | None]:
        """The cost of the calls, or None and the reason it is unknown."""
        if not self.calls:
            return None, "the transcript records no cost and no token counts"
        by_model: dict[str, list[CallTokens]] = {}
        for model, calls in self.calls.items():
            name = model or last_model
            if name is None:
                return None, "the transcript names no model to price its tokens with"
            by_model.setdefault(name, []).extend(calls)
        if price is None:
            return None, "the transcript records no cost and no price map was given"
        total = 0.0
        for model, calls in by_model.items():
            try:
                total += price(model, calls)
            except LookupError as exc:
                return None, str(exc)
        return total, None


def _apply_edit(reverts: _RevertDetector, edit: Event, signals: _Signals) -> int:
    """1 (and a signal citing the edit) when ``edit`` puts back text an earlier edit replaced."""
    if not edit.changes:  # it changed the file in a way the transcript does not show
        reverts.forget(edit.path or "")
        return 0
    undone = reverts.add(edit.path or "", edit.changes, str(edit.source))
    if undone is None:
        return 0
    signals.append(Signal("reverted_edits", str(edit.source), f"{edit.path}: undoes the edit at {undone}"))
    return 1


class _RevertDetector:
    """Edits that put a file's text back as it was, from the text each edit replaced (streamed).

    Two views of a file, either of which can see an edit undone:

    * the *fragments* an edit replaced: each replaced text starts a chain of the values it
      took (``a -> b -> c``); an edit whose new text is one of its chain's earlier values
      (``c -> a``, or simply ``b -> a``) undoes the edits since. An edit that only adds
      text (its old text empty) starts a chain: removing that text again undoes it.
    * the whole *file*, when it is known (written whole, then edited where the replaced text
      is unique): a file whose text becomes one it had before was put back.

    Values are kept as hashes and chains are bounded, so memory stays small.
    """

    MAX_CHAINS = 256  # per file
    MAX_VALUES = 32  # per chain

    def __init__(self) -> None:
        self.chains: dict[str, list[list[tuple[str, str]]]] = {}  # path -> chains of (value hash, where)
        self.texts: dict[str, str | None] = {}  # path -> its whole text, when known
        self.states: dict[str, list[tuple[str, str]]] = {}  # path -> (whole-text hash, where) in order

    def forget(self, path: str) -> None:
        """The file changed in a way not shown: its whole text is no longer known."""
        self.texts.pop(path, None)
        self.states.pop(path, None)

    def add(self, path: str, changes: Sequence[TextChange], where: str) -> str | None:
        """Where the undone edit was, if this edit (at ``where``) undoes one; else None."""
        undone: str | None = None
        for change in changes:
            found = self._fragment(path, change, where) if change.old is not None else None
            undone = undone or found
            found = self._whole_text(path, change, where)
            undone = undone or found
        return undone

    def _fragment(self, path: str, change: TextChange, where: str) -> str | None:
        old, new = _digest(change.old or ""), _digest(change.new)
        if old == new:
            return None
        chains = self.chains.setdefault(path, [])
        chain = next((c for c in reversed(chains) if c[-1][0] == old), None) if change.old else None
        if chain is None:
            chains.append([(old, where), (new, where)])
            del chains[: -self.MAX_CHAINS]
            return None
        for i, (value, _where) in enumerate(chain[:-1]):
            if value == new:  # back to an earlier value: the steps after it are undone
                undone = chain[i + 1][1]
                del chain[i + 1 :]
                return undone
        chain.append((new, where))
        del chain[1 : -self.MAX_VALUES]
        return None

    def _whole_text(self, path: str, change: TextChange, where: str) -> str | None:
        text = self.texts.get(path)
        if change.old is None:
            text = change.new
        elif text is not None and change.old and text.count(change.old) == 1:
            text = text.replace(change.old, change.new)
        else:
            text = None  # the file's text is no longer known
        self.texts[path] = text
        states = self.states.setdefault(path, [])
        if text is None:
            states.clear()
            return None
        digest = _digest(text)
        if states and states[-1][0] == digest:
            return None
        for i, (value, _where) in enumerate(states[:-1]):
            if value == digest:
                undone = states[i + 1][1]
                del states[i + 1 :]
                return undone
        states.append((digest, where))
        del states[: -self.MAX_VALUES]
        return None


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8", "replace")).hexdigest()


class _LoopDetector:
    """Repeated identical actions with the same result (OpenHands' StuckDetector, simplified), streamed.

    A loop is the same action with the same result 3 times in a row, or an A/B/A/B
    alternation over 6 steps. Each loop counts once, however long it runs. Only the last
    six actions are kept, so memory does not grow with the session.
    """

    def __init__(self, signals: _Signals) -> None:
        self.window: list[tuple[str, str]] = []  # (action, hash of its result)
        self.where: list[str] = []
        self.loops = 0
        self.signals = signals
        self.in_run = False

    def add(self, action: str, result: str, where: str) -> None:
        key = (action, hashlib.sha1(result.encode("utf-8", "replace")).hexdigest())
        self.window = [*self.window[-5:], key]
        self.where = [*self.where[-5:], where]
        w = self.window
        repeated = len(w) >= 3 and w[-1] == w[-2] == w[-3]
        alternating = len(w) == 6 and w[0] != w[1] and all(w[k] == w[k % 2] for k in range(6))
        if (repeated or alternating) and not self.in_run:
            self.loops += 1
            what = "the same action 3 times with the same result" if repeated else "an A/B/A/B alternation"
            self.signals.add(Signal("loops", self.where[-3] if repeated else self.where[0], f"{what}: {action[:80]}"))
            self.in_run = True
        elif not (repeated or alternating):
            self.in_run = False


class _Actions:
    """The first KEEP actions and the last KEEP (memory stays bounded; how many fell between is counted)."""

    KEEP = 250

    def __init__(self) -> None:
        self.head: list[Action] = []
        self.tail: deque[Action] = deque(maxlen=self.KEEP)
        self.seen = 0

    def add(self, action: Action) -> None:
        self.seen += 1
        if len(self.head) < self.KEEP:
            self.head.append(action)
        else:
            self.tail.append(action)

    def kept(self) -> tuple[Action, ...]:
        return (*self.head, *self.tail)

    @property
    def omitted(self) -> int:
        return self.seen - len(self.head) - len(self.tail)


class _Signals:
    """Signals, at most PER_METRIC of each metric kept (the count goes on): memory stays bounded."""

    PER_METRIC = 50

    def __init__(self) -> None:
        self.kept: list[Signal] = []
        self.counts: dict[str, int] = {}

    def add(self, signal: Signal) -> None:
        n = self.counts.get(signal.metric, 0)
        self.counts[signal.metric] = n + 1
        if n < self.PER_METRIC:
            self.kept.append(signal)

    def append(self, signal: Signal) -> None:
        self.add(signal)
