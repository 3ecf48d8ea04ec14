"""Durability of agent code: what share of an agent's non-trivial added lines still stand later.

The agent's lines are the non-trivial lines (:func:`non_trivial`) its commits added to
code and test files, the commits being chosen by an :class:`AgentSelector` (an author, a
trailer such as ``Co-Authored-By: Claude``, explicit ids), or the lines a captured
session's patch added, found in the first commit after the session's base that added
them (``session:``). Each line is followed from its commit to an observation point (the
end of the range, or N commits later) with git's own line tracking:

* ``git blame --reverse C..R -w`` gives, for every line of each file the commit C
  touched, the last commit in which it still existed, following renames of the file;
  a line that exists at R is *standing*;
* otherwise the commit after that one removed it; ``git blame -w -M -C R`` on the files
  that commit touched tells whether the line was *moved* there (still standing, in
  another place); if not, the commit's message tells whether it *reverted* the agent's
  commit, and its diff whether the line was *rewritten* (its hunk adds lines in its
  place) or *deleted* (it adds none); its author is who did it.

``-w``: a line re-indented by a later commit still stands. docs/decay.md has the rest.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from .. import git as gitmod
from ..errors import HarnessError, UsageError
from ..taste.scope import file_kind

__all__ = [
    "AgentSelector",
    "CommitDurability",
    "Durability",
    "LineFate",
    "added_lines",
    "measure_durability",
    "non_trivial",
    "session_base",
]

Fate = Literal["standing", "moved", "rewritten", "deleted", "reverted"]
_FATES: tuple[Fate, ...] = ("standing", "moved", "rewritten", "deleted", "reverted")
_SEP, _END = "\x1f", "\x1e"
_FORMAT = _SEP.join(["%H", "%P", "%an", "%ae", "%aI", "%s", "%B"]) + _END

#: Lines that carry no logic of their own: a keyword alone, a docstring's quotes.
_BARE = frozenset(
    {"pass", "else:", "try:", "finally:", "return", "break", "continue", "...", '"""', "'''", "end", "fi", "done"}
)
_HASH_COMMENTS = frozenset({".py", ".pyi", ".sh", ".bash", ".toml", ".yaml", ".yml", ".cfg", ".ini", ".rb", ".pl"})
_SLASH_COMMENTS = frozenset(
    {".js", ".jsx", ".ts", ".tsx", ".go", ".rs", ".c", ".h", ".cc", ".cpp", ".hpp", ".java", ".kt", ".swift", ".cs"}
)
_IMPORT = re.compile(r"^(import\s|from\s+\S+\s+import\b|#include\b|using\s|use\s|require\(|package\s)")


def non_trivial(path: str, line: str) -> bool:
    """Whether an added ``line`` of ``path`` counts as the agent's code.

    Not blank; has a letter or a digit (a closing bracket alone does not); not an import
    (``import``, ``from ... import``, ``#include``, ``use``, ...); not a comment alone; not
    a bare keyword (``pass``, ``else:``, ``return``, ``break``, ...) or a docstring's quotes.
    """
    text = line.strip()
    if not text or not any(c.isalnum() for c in text) or text in _BARE:
        return False
    if _IMPORT.match(text):
        return False
    suffix = PurePosixPath(path).suffix.lower()
    if suffix in _HASH_COMMENTS and text.startswith("#"):
        return False
    return not (suffix in _SLASH_COMMENTS and text.startswith(("//", "/*", "*")))


@dataclass(frozen=True)
class _Commit:
    id: str
    parents: tuple[str, ...]
    author: str
    email: str
    date: str
    subject: str
    message: str

    @property
    def who(self) -> str:
        return f"{self.author} <{self.email}>"


@dataclass(frozen=True)
class AgentSelector:
    """Which commits (or which session) hold the agent's lines.

    ``author:TEXT`` (in the author's name or e-mail, any case), ``trailer:KEY: TEXT`` (a
    trailer line of the message, e.g. ``trailer:Co-Authored-By: Claude``), ``commits:ID,ID``,
    or ``session:FOLDER`` (a task folder written by ``python -m pytest_proofswe capture``,
    or one of its ``submissions/<name>`` folders).
    """

    kind: Literal["author", "trailer", "commits", "session"]
    value: str

    @classmethod
    def parse(cls, text: str, *, where: str = "--proofswe-durability") -> AgentSelector:
        kind, sep, value = text.partition(":")
        kind, value = kind.strip().lower(), value.strip()
        if not sep or kind not in ("author", "trailer", "commits", "session") or not value:
            raise UsageError(
                f"{where}={text!r}: not an agent selector (fix: author:NAME, 'trailer:Co-Authored-By: Claude', "
                "commits:ID,ID, or session:TASK_FOLDER)"
            )
        if kind == "trailer" and ":" not in value:
            raise UsageError(
                f"{where}={text!r}: a trailer selector is KEY: TEXT (fix: e.g. 'trailer:Co-Authored-By: Claude')"
            )
        return cls(kind, value)  # type: ignore[arg-type]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"

    def matches(self, commit: _Commit) -> bool:
        if self.kind == "author":
            return self.value.lower() in commit.who.lower()
        if self.kind == "commits":
            return any(commit.id.startswith(c.strip().lower()) for c in self.value.split(",") if c.strip())
        if self.kind == "trailer":
            key, _sep, text = self.value.partition(":")
            pattern = re.compile(rf"^\s*{re.escape(key.strip())}\s*:.*{re.escape(text.strip())}", re.I | re.M)
            return bool(pattern.search(commit.message))
        return False


@dataclass(frozen=True)
class LineFate:
    """One of the agent's lines, and what became of it."""

    path: str  # where the agent's commit put it
    line: int
    text: str
    fate: Fate
    where: str = ""  # path:line at the observation point (standing, moved)
    by: str = ""  # the commit that removed it (rewritten, deleted, reverted)
    by_author: str = ""
    by_agent: bool = False  # that commit is one of the agent's own

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "line": self.line,
            "text": self.text,
            "fate": self.fate,
            "where": self.where,
            "by": self.by,
            "by_author": self.by_author,
            "by_agent": self.by_agent,
        }


@dataclass(frozen=True)
class CommitDurability:
    """The agent's lines of one commit, observed ``later`` commits after it (at ``observed_at``)."""

    id: str
    subject: str
    author: str
    observed_at: str | None  # None: fewer commits after it than asked for (its lines are pending)
    later: int
    lines: tuple[LineFate, ...] = ()
    pending: int = 0  # lines not observed

    def counts(self) -> dict[str, int]:
        found = Counter(f.fate for f in self.lines)
        return {fate: found.get(fate, 0) for fate in _FATES}

    def to_json(self) -> dict[str, Any]:
        counts = self.counts()
        observed = len(self.lines)
        return {
            "id": self.id,
            "subject": self.subject,
            "author": self.author,
            "observed_at": self.observed_at,
            "later": self.later,
            "lines": observed,
            "pending": self.pending,
            **counts,
            "share_standing": round((counts["standing"] + counts["moved"]) / observed, 4) if observed else None,
            "fates": [f.to_json() for f in self.lines if f.fate != "standing"],
        }


@dataclass(frozen=True)
class Durability:
    """Every agent commit of a range, and the share of its lines that still stand."""

    selector: str
    base: str
    head: str
    after: int | None  # N commits later; None: at the end of the range
    commits: tuple[CommitDurability, ...]
    uncommitted: tuple[tuple[str, str], ...] = ()  # session lines no commit of the range added: (path, text)
    notes: tuple[str, ...] = field(default_factory=tuple)
    duration_s: float = 0.0

    @property
    def lines(self) -> int:
        return sum(len(c.lines) for c in self.commits)

    @property
    def pending(self) -> int:
        return sum(c.pending for c in self.commits)

    def counts(self) -> dict[str, int]:
        total: Counter[str] = Counter()
        for c in self.commits:
            total.update(c.counts())
        return {fate: total.get(fate, 0) for fate in _FATES}

    @property
    def share_standing(self) -> float | None:
        counts = self.counts()
        return round((counts["standing"] + counts["moved"]) / self.lines, 4) if self.lines else None

    def by_author(self) -> dict[str, dict[str, int]]:
        """Who removed the agent's lines: author -> fate -> lines."""
        out: dict[str, Counter[str]] = {}
        for c in self.commits:
            for f in c.lines:
                if f.fate in ("rewritten", "deleted", "reverted"):
                    out.setdefault(f.by_author + (" (the agent)" if f.by_agent else ""), Counter())[f.fate] += 1
        return {who: dict(sorted(n.items())) for who, n in sorted(out.items(), key=lambda kv: -sum(kv[1].values()))}

    def summary(self) -> str:
        share = self.share_standing
        when = f"{self.after} commit(s) later" if self.after is not None else f"at {self.head[:12]}"
        if share is None:
            return f"durability ({self.selector}): no agent line could be observed {when} ({self.pending} pending)"
        c = self.counts()
        return (
            f"durability ({self.selector}): {share:.0%} of {self.lines} agent line(s) still stand {when} "
            f"({c['standing']} in place, {c['moved']} moved; {c['rewritten']} rewritten, {c['deleted']} deleted, "
            f"{c['reverted']} reverted; {self.pending} pending) over {len(self.commits)} commit(s)"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "selector": self.selector,
            "base": self.base,
            "head": self.head,
            "after": self.after,
            "lines": self.lines,
            "pending": self.pending,
            **self.counts(),
            "share_standing": self.share_standing,
            "by_author": self.by_author(),
            "commits": [c.to_json() for c in self.commits],
            "uncommitted": [{"path": p, "text": t} for p, t in self.uncommitted],
            "notes": list(self.notes),
            "duration_s": round(self.duration_s, 3),
        }


# --- git -------------------------------------------------------------------------------------


def _git(top: Path, *args: str) -> str:
    return gitmod.output(list(args), top)


def _commits(top: Path, revs: Sequence[str]) -> list[_Commit]:
    out = []
    for record in _git(top, "log", f"--format={_FORMAT}", *revs).split(_END):
        record = record.strip("\n")
        if record:
            cid, parents, author, email, date, subject, message = record.split(_SEP, 6)
            out.append(_Commit(cid, tuple(parents.split()), author, email, date, subject, message.strip()))
    return out


def _unquote(path: str) -> str:
    if path.startswith('"') and path.endswith('"'):
        return path[1:-1].encode("latin-1", "backslashreplace").decode("unicode_escape").encode("latin-1").decode()
    return path


_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def _diff_files(text: str) -> Iterable[tuple[str | None, str | None, list[tuple[int, int, int, int]], list[str]]]:
    """(old path, new path, hunks (old start, old count, new start, new count), lines) per file of a -U0 diff."""
    old = new = None
    hunks: list[tuple[int, int, int, int]] = []
    lines: list[str] = []
    started = False
    for line in text.split("\n"):
        if line.startswith("diff --git "):
            if started:
                yield old, new, hunks, lines
            old = new = None
            hunks, lines, started = [], [], True
        elif line.startswith("--- ") and not hunks:
            name = _unquote(line[4:])
            old = None if name == "/dev/null" else name.removeprefix("a/")
        elif line.startswith("+++ ") and not hunks:
            name = _unquote(line[4:])
            new = None if name == "/dev/null" else name.removeprefix("b/")
        elif line.startswith("rename from ") and not hunks:
            old = _unquote(line[len("rename from ") :])
        elif line.startswith("rename to ") and not hunks:
            new = _unquote(line[len("rename to ") :])
        elif line.startswith("@@"):
            m = _HUNK.match(line)
            if m:
                a, b, c, d = m.groups()
                hunks.append((int(a), int(b or 1), int(c), int(d or 1)))
                lines.append(line)
        elif hunks:
            lines.append(line)
    if started:
        yield old, new, hunks, lines


def added_lines(diff_text: str) -> dict[str, list[tuple[int, str]]]:
    """new path -> (line number, text) of every line a -U0 diff adds."""
    out: dict[str, list[tuple[int, str]]] = {}
    for _old, new, _hunks, lines in _diff_files(diff_text):
        if new is None:
            continue
        number = 0
        for line in lines:
            if line.startswith("@@"):
                m = _HUNK.match(line)
                number = int(m.group(3)) if m else 0
            elif line.startswith("+"):
                out.setdefault(new, []).append((number, line[1:]))
                number += 1
    return out


def _diff(top: Path, old: str, new: str, *paths: str) -> str:
    args = ["diff", "-U0", "-M", "--no-color", "--no-ext-diff", "--no-textconv", old, new]
    return _git(top, *args, *(["--", *paths] if paths else []))


def _counted(path: str) -> bool:
    return file_kind(path) in ("code", "tests")


def _porcelain(text: str) -> list[tuple[str, int, int, str]]:
    """(commit, line in that commit, line in the annotated file, that commit's path) of ``--line-porcelain``."""
    out = []
    commit, orig, final, filename = "", 0, 0, ""
    for line in text.split("\n"):
        if line.startswith("\t"):
            out.append((commit, orig, final, filename))
            continue
        parts = line.split(" ")
        if len(parts) >= 3 and len(parts[0]) in (40, 64) and all(c in "0123456789abcdef" for c in parts[0]):
            commit, orig, final = parts[0], int(parts[1]), int(parts[2])
        elif line.startswith("filename "):
            filename = _unquote(line[len("filename ") :])
    return out


class _Repo:
    """git's answers for one repository, each asked once."""

    def __init__(self, top: Path, agent: set[str]) -> None:
        self.top = top
        self.agent = agent
        self._commits: dict[str, _Commit] = {}
        self._child: dict[tuple[str, str], str | None] = {}
        self._forward: dict[tuple[str, str], list[tuple[str, int, int, str]]] = {}
        self._diffs: dict[tuple[str, str], str] = {}
        self._texts: dict[tuple[str, str], str] = {}
        self._reverse: dict[tuple[str, str, str], dict[int, tuple[str, int, str]]] = {}

    def commit(self, cid: str) -> _Commit:
        if cid not in self._commits:
            self._commits[cid] = _commits(self.top, ["--no-walk", cid])[0]
        return self._commits[cid]

    def child_towards(self, last: str, target: str) -> str | None:
        """The commit after ``last`` on the way to ``target``: the one that no longer had the line."""
        key = (last, target)
        if key not in self._child:
            found = None
            for line in _git(self.top, "rev-list", "--parents", "--ancestry-path", "--topo-order", "--reverse",
                             f"{last}..{target}").splitlines():  # fmt: skip
                ids = line.split()
                if last in ids[1:]:
                    found = ids[0]
                    break
            self._child[key] = found
        return self._child[key]

    def holds(self, rev: str, path: str, text: str) -> bool:
        """Whether the file ``path`` of ``rev`` has a line reading ``text`` (whitespace aside): worth a blame."""
        key = (rev, path)
        if key not in self._texts:
            try:
                content = _git(self.top, "show", f"{rev}:{path}")
            except gitmod.GitError:
                content = ""
            self._texts[key] = "\n".join(" ".join(line.split()) for line in content.splitlines())
        return " ".join(text.split()) in self._texts[key]

    def reverse(self, start: str, target: str, path: str) -> dict[int, tuple[str, int, str]]:
        """line of ``path`` at ``start`` -> (the last commit up to ``target`` it existed in, its line, its path there)."""
        key = (start, target, path)
        if key not in self._reverse:
            text = _git(self.top, "blame", "--reverse", "-w", "--line-porcelain", f"{start}..{target}", "--", path)
            self._reverse[key] = {final: (last, line, name) for last, line, final, name in _porcelain(text)}
        return self._reverse[key]

    def forward(self, rev: str, path: str) -> list[tuple[str, int, int, str]]:
        key = (rev, path)
        if key not in self._forward:
            try:
                text = _git(self.top, "blame", "-w", "-M", "-C", "--line-porcelain", rev, "--", path)
            except gitmod.GitError:  # not a file of rev (moved on since), or binary
                text = ""
            self._forward[key] = _porcelain(text)
        return self._forward[key]

    def diff(self, old: str, new: str) -> str:
        key = (old, new)
        if key not in self._diffs:
            self._diffs[key] = _diff(self.top, old, new)
        return self._diffs[key]


def _fate_of_removal(
    repo: _Repo, agent_commit: _Commit, killer: _Commit, last: str, path_in_last: str, line_in_last: int
) -> Fate:
    reverts = f"this reverts commit {agent_commit.id}" in killer.message.lower() or (
        killer.subject.startswith('Revert "') and killer.subject[len('Revert "') :].rstrip('"') == agent_commit.subject
    )
    if reverts:
        return "reverted"
    for old, _new, hunks, _lines in _diff_files(repo.diff(last, killer.id)):
        if old != path_in_last:
            continue
        for a, b, _c, d in hunks:
            if b and a <= line_in_last < a + b:
                return "rewritten" if d else "deleted"
        return "rewritten"  # pragma: no cover - a removal outside every hunk: git blame and diff disagree
    return "deleted"  # the file went away with the line


def _observe(
    repo: _Repo, commit: _Commit, lines: Mapping[str, Sequence[tuple[int, str]]], target: str
) -> list[LineFate]:
    """The fate at ``target`` of ``lines`` (path -> (line, text)) that ``commit`` added.

    A line is followed from revision to revision: the reverse blame from where it is now
    says the last commit it existed in; when the next commit moved it (the forward blame
    of a file that commit touched still gives the agent's commit as the line's origin),
    it is followed on from there; otherwise that commit removed it.
    """
    fates: list[LineFate] = []
    # (revision, path there, line there, the agent's path, the agent's line, text, moved on the way)
    work = [(commit.id, path, n, path, n, text, False) for path, wanted in lines.items() for n, text in wanted]
    while work:
        start, path, line, orig_path, orig_line, text, moved = work.pop()
        if start == target:  # moved by the observation point itself: it is there
            fates.append(LineFate(orig_path, orig_line, text, "moved" if moved else "standing", f"{path}:{line}"))
            continue
        found = repo.reverse(start, target, path).get(line)
        if found is None:  # pragma: no cover - git blame annotates every line of the file
            raise HarnessError(f"git blame --reverse {start[:12]}..{target[:12]} gave no line {line} of {path}")
        last, line_in_last, path_in_last = found
        fate: Fate = "moved" if moved else "standing"
        if last == target:
            fates.append(LineFate(orig_path, orig_line, text, fate, f"{path_in_last}:{line_in_last}"))
            continue
        killer_id = repo.child_towards(last, target)
        if killer_id is None:  # pragma: no cover - last is an ancestor of target, so it has a child on the way
            raise HarnessError(f"no commit after {last[:12]} on the way to {target[:12]}")
        killer = repo.commit(killer_id)
        moved_to = None
        for _old, new, _h, _l in _diff_files(repo.diff(last, killer_id)):
            if new is None or not repo.holds(killer_id, new, text):
                continue
            for origin, origin_line, final, origin_path in repo.forward(killer_id, new):
                if origin == commit.id and origin_line == orig_line and origin_path == orig_path:
                    moved_to = (new, final)
                    break
            if moved_to:
                break
        if moved_to is not None:
            work.append((killer_id, moved_to[0], moved_to[1], orig_path, orig_line, text, True))
            continue
        fate = _fate_of_removal(repo, commit, killer, last, path_in_last, line_in_last)
        by_agent = killer_id in repo.agent
        fates.append(LineFate(orig_path, orig_line, text, fate, "", killer_id, killer.who, by_agent))
    fates.sort(key=lambda f: (f.path, f.line))
    return fates


def session_base(folder: Path) -> str:
    """The base commit of a captured session's task (or submission) folder."""
    return _session_lines(folder)[0]


def _session_lines(folder: Path) -> tuple[str, dict[str, list[str]]]:
    """(base commit, path -> non-trivial added lines) of a captured session's task or submission folder."""
    from ..harness.patch import PatchRejected, parse_patch
    from ..task import read_toml

    if (folder / "patch.diff").is_file():
        submission, task_folder = folder, folder.parent.parent
    else:
        task_folder = folder
        found = sorted(p.parent for p in (folder / "submissions").glob("*/patch.diff"))
        if len(found) != 1:
            names = ", ".join(p.name for p in found) or "none"
            raise UsageError(
                f"session:{folder}: expected one submission folder with a patch.diff, found {names} "
                f"(fix: name it, session:{folder}/submissions/<name>)"
            )
        submission = found[0]
    toml = task_folder / "task.toml"
    if not toml.is_file():
        raise UsageError(f"session:{folder}: no task.toml in {task_folder} (fix: give a folder written by capture)")
    base = read_toml(toml).get("repo", {}).get("commit")
    if not isinstance(base, str):
        raise UsageError(f"session:{folder}: {toml} has no [repo] commit (fix: give a folder written by capture)")
    try:
        parsed = parse_patch((submission / "patch.diff").read_text(encoding="utf-8", errors="surrogateescape"))
    except PatchRejected as exc:
        raise UsageError(f"session:{folder}: {submission / 'patch.diff'}: {exc.describe()}") from None
    out: dict[str, list[str]] = {}
    for f in parsed.files:
        if f.target_path is None or f.binary or not _counted(f.target_path):
            continue
        for hunk in f.hunks:
            for ln in hunk.lines:
                if ln.kind == "+" and non_trivial(f.target_path, ln.text):
                    out.setdefault(f.target_path, []).append(ln.text)
    return base, out


def measure_durability(
    top: Path,
    base: str | None,
    head: str,
    selector: AgentSelector,
    *,
    after: int | None = None,
    agent_commits: Iterable[str] = (),
) -> Durability:
    """The durability of the agent's lines added in ``base..head`` (observed N commits later, or at ``head``).

    ``base`` None: every ancestor of ``head``.
    """
    started = time.monotonic()
    if after is not None and after < 1:
        raise UsageError(f"--proofswe-durability-after must be at least 1, got {after}")
    notes: list[str] = []
    try:
        head = gitmod.output(["rev-parse", "--verify", f"{head}^{{commit}}"], top).strip()
        if base is not None:
            base = gitmod.output(["rev-parse", "--verify", f"{base}^{{commit}}"], top).strip()
    except gitmod.GitError as exc:
        raise UsageError(f"durability: {base}..{head}: {exc} (fix: name commits of this repository)") from None
    span = head if base is None else f"{base}..{head}"
    commits = _commits(top, ["--reverse", "--topo-order", "--no-merges", span])
    per_commit: dict[str, dict[str, list[tuple[int, str]]]] = {}
    uncommitted: list[tuple[str, str]] = []
    if selector.kind == "session":
        session_base, wanted = _session_lines(Path(selector.value))
        try:
            gitmod.output(["merge-base", "--is-ancestor", session_base, head], top)
        except gitmod.GitError:
            raise UsageError(
                f"session:{selector.value}: its base commit {session_base[:12]} is not an ancestor of {head[:12]} "
                "(fix: run in the repository the session was captured in)"
            ) from None
        pending = {p: Counter(" ".join(t.split()) for t in texts) for p, texts in wanted.items()}
        for c in _commits(
            top, ["--reverse", "--topo-order", "--no-merges", "--ancestry-path", f"{session_base}..{head}"]
        ):
            parent = c.parents[0] if c.parents else gitmod.EMPTY_TREE
            for path, found in added_lines(_diff(top, parent, c.id)).items():
                left = pending.get(path)
                if not left:
                    continue
                for number, text in found:
                    key = " ".join(text.split())
                    if left[key] > 0:
                        left[key] -= 1
                        per_commit.setdefault(c.id, {}).setdefault(path, []).append((number, text))
        uncommitted = [(p, t) for p, left in sorted(pending.items()) for t, n in sorted(left.items()) for _ in range(n)]
        chosen = [c for c in commits if c.id in per_commit]
        if not set(per_commit) <= {c.id for c in commits}:
            notes.append("some of the session's lines landed before the range's base: they are not followed")
            per_commit = {k: v for k, v in per_commit.items() if k in {c.id for c in commits}}
    else:
        chosen = [c for c in commits if selector.matches(c)]
        for c in chosen:
            parent = c.parents[0] if c.parents else gitmod.EMPTY_TREE
            per_commit[c.id] = {
                path: [(n, t) for n, t in found if non_trivial(path, t)]
                for path, found in added_lines(_diff(top, parent, c.id)).items()
                if _counted(path)
            }
    repo = _Repo(top, {c.id for c in chosen} | set(agent_commits))
    results = []
    for c in chosen:
        lines = {p: v for p, v in per_commit.get(c.id, {}).items() if v}
        count = sum(len(v) for v in lines.values())
        later_ids = _git(top, "rev-list", "--reverse", "--topo-order", "--ancestry-path", f"{c.id}..{head}").split()
        if after is None:
            target: str | None = head if later_ids else None
            later = len(later_ids)
        elif len(later_ids) >= after:
            target, later = later_ids[after - 1], after
        else:
            target, later = None, len(later_ids)
        if target is None or not count:
            results.append(CommitDurability(c.id, c.subject, c.who, None, later, (), count))
            continue
        fates = _observe(repo, c, lines, target)
        results.append(CommitDurability(c.id, c.subject, c.who, target, later, tuple(fates), count - len(fates)))
    return Durability(
        selector=str(selector),
        base=base or "",
        head=head,
        after=after,
        commits=tuple(results),
        uncommitted=tuple(uncommitted),
        notes=tuple(notes),
        duration_s=time.monotonic() - started,
    )
