"""Parsing a submission's patch, the path policy, and applying it to a workspace.

Three steps, each testable alone:

* :func:`parse_patch` (pure): unidiff parses the text into :class:`FileChange` values;
  an empty or malformed patch raises :class:`PatchRejected`.
* :func:`check_policy`: every path named anywhere in the patch (``diff --git``,
  ``---``/``+++``, ``rename``/``copy`` lines) must be relative, free of ``..`` and
  ``.git``, and must not lead through a symlink of the workspace; a new symlink must
  point inside the workspace.
* :func:`apply_patch`: ``git apply``, then ``git apply --3way``, then ``patch --fuzz``
  (SWE-bench's fallbacks), resetting the tree between attempts; afterwards no changed
  path may be a symlink pointing outside.

A rejected patch is the agent's failure (status ``patch_failed``), not an exception of
:mod:`.errors`: :class:`PatchRejected` carries the file, the hunk and the reason.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import posixpath
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .. import git as gitmod
from .. import process
from ..change import FileChange, HunkInfo, HunkLine

__all__ = [
    "ApplyOutcome",
    "FileChange",
    "HunkInfo",
    "HunkLine",
    "ParsedPatch",
    "PatchRejected",
    "apply_patch",
    "changed_paths",
    "check_policy",
    "parse_patch",
]

# Header lines that name paths, and whether git writes those paths with its a/ b/ prefixes
# ("rename from", "rename to", "copy from" and "copy to" name them as they are).
_HEADER_PATH_RES = (
    (re.compile(r"^diff --git (\S+|\"(?:[^\"\\]|\\.)*\") (\S+|\"(?:[^\"\\]|\\.)*\")\s*$"), True),
    (re.compile(r"^(?:---|\+\+\+) (\"(?:[^\"\\]|\\.)*\"|[^\t\r\n]+)"), True),
    (re.compile(r"^(?:rename|copy) (?:from|to) (.+?)\s*$"), False),
    (re.compile(r"^Binary files (.+?) and (.+?) differ\s*$"), True),
)
_GIT_APPLY_FAILED = re.compile(r"^error: patch failed: (.+):(\d+)\s*$")
_GIT_APPLY_FILE_ERROR = re.compile(
    r"^error: (.+?): (patch does not apply|No such file or directory|does not exist in index|already exists in working directory|.+)\s*$"
)
_CORRUPT = re.compile(r"corrupt patch at line (\d+)")


class PatchRejected(Exception):
    """The patch cannot be applied; ``reason`` says why, ``path``/``hunk`` say where."""

    def __init__(
        self,
        reason: str,
        *,
        path: str | None = None,
        hunk: int | None = None,
        hunk_header: str | None = None,
        detail: str = "",
    ) -> None:
        self.reason = reason
        self.path = path
        self.hunk = hunk
        self.hunk_header = hunk_header
        self.detail = detail
        self.commands: tuple[process.CommandRecord, ...] = ()  # the attempts made, for the proof
        super().__init__(self.describe())

    def describe(self) -> str:
        where = ""
        if self.path:
            where = f"{self.path}"
            if self.hunk is not None:
                where += f", hunk #{self.hunk}"
                if self.hunk_header:
                    where += f" ({self.hunk_header})"
            where += ": "
        text = f"{where}{self.reason}"
        if self.detail:
            text += f"\n{self.detail}"
        return text


@dataclass(frozen=True)
class ParsedPatch:
    text: str
    files: tuple[FileChange, ...]

    @property
    def paths(self) -> tuple[str, ...]:
        out: dict[str, None] = {}  # a list here made a patch of many small files quadratic
        for f in self.files:
            for p in (f.source_path, f.target_path):
                if p:
                    out[p] = None
        return tuple(out)


@dataclass(frozen=True)
class ApplyOutcome:
    method: str  # "git apply", "git apply --3way" or "patch --fuzz=5"
    changed: tuple[tuple[str, str], ...]  # (status, path) after the patch, as changed_paths()
    attempts: tuple[tuple[str, str], ...]  # (method, first lines of its error) of the failed attempts
    commands: tuple[process.CommandRecord, ...]


_C_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


def _unquote(path: str) -> str:
    """Undo git's C-style quoting of a path ("a\\tb", octal bytes for UTF-8)."""
    if not (len(path) >= 2 and path[0] == '"' and path[-1] == '"'):
        return path
    body, out, i = path[1:-1], bytearray(), 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt in "01234567" and i + 3 < len(body) and all(c in "01234567" for c in body[i + 1 : i + 4]):
                out.append(int(body[i + 1 : i + 4], 8) & 0xFF)
                i += 4
                continue
            if nxt in _C_ESCAPES:
                out.append(_C_ESCAPES[nxt])
            else:  # an escape git never writes: keep the character itself
                out += nxt.encode("utf-8", "surrogateescape")
            i += 2
            continue
        out += ch.encode("utf-8", "surrogateescape")
        i += 1
    return out.decode("utf-8", "replace")


def _strip_prefix(path: str) -> str | None:
    """Apply ``-p1`` as git apply does; ``/dev/null`` is None."""
    path = _unquote(path.strip())
    if path == "/dev/null":
        return None
    if path.startswith("/"):
        return path  # absolute: kept as is, so that the policy rejects it
    parts = path.split("/", 1)
    return parts[1] if len(parts) == 2 else path


def parse_patch(text: str, *, max_mb: float | None = None) -> ParsedPatch:
    """Parse ``text`` as a unified diff; raise PatchRejected if empty, malformed or over ``max_mb``.

    ``max_mb`` counts millions of characters, checked before anything else is done.
    """
    from unidiff.errors import UnidiffParseError
    from unidiff.patch import PatchSet

    if max_mb is not None and len(text) > max_mb * 1_000_000:
        raise PatchRejected(
            f"the patch is {len(text) / 1e6:.1f} MB, over the limit of {max_mb:g} MB: not parsed",
            detail="the limit is [tests] max_patch_mb in task.toml",
        )
    if not text.strip():
        raise PatchRejected("the patch is empty", detail="the submission changed nothing")
    if not text.endswith("\n"):
        text += "\n"  # a patch file cut without its final newline: git apply calls that corrupt
    try:
        # One file at a time: unidiff makes several objects per line, and they are dropped
        # as soon as the file's change is made from them.
        files = [change for chunk in _file_chunks(text) for change in _chunk_changes(chunk, PatchSet)]
    except UnidiffParseError as exc:
        located = _locate_bad_hunk(text)
        if located is not None:
            path, index, header, problem = located
            raise PatchRejected(
                f"the patch is malformed: {problem}", path=path, hunk=index, hunk_header=header
            ) from None
        raise PatchRejected(f"the patch is malformed: {exc}") from None
    except (ValueError, IndexError, TypeError) as exc:  # unidiff on some garbage
        raise PatchRejected(f"the patch is malformed: {type(exc).__name__}: {exc}") from None
    if not files:
        first = text.strip().splitlines()[0][:80]
        raise PatchRejected(
            "the patch is malformed: no file changes found (no '---'/'+++' or 'diff --git' headers)",
            detail=f"it starts with: {first!r}",
        )
    for match in _BINARY_NO_DATA.finditer(text):
        raise PatchRejected(
            "a binary change without its data (git diff printed 'Binary files ... differ')",
            path=_strip_prefix(match.group(2)) or _strip_prefix(match.group(1)),
            detail="regenerate the patch with git diff --binary",
        )
    return ParsedPatch(text=text, files=tuple(files))


def _chunk_changes(chunk: str, parser: Any) -> list[FileChange]:
    """The file changes of ``chunk``: unidiff reads its headers, the hunks are read here.

    unidiff keeps several objects per line (about 100 times the patch's size for short
    lines), so it is given the chunk with every hunk emptied; the hunks' text is cut from
    the chunk. A chunk this cannot read consistently goes to unidiff whole, as before.
    """
    skeleton = _skeleton(chunk)
    if skeleton is not None:
        try:
            return _file_changes(parser(skeleton[0]), skeleton[1])
        except Exception:
            pass
    return _file_changes(parser(chunk), None)


def _skeleton(chunk: str) -> tuple[str, list[tuple[HunkInfo, int, int]]] | None:
    """``chunk`` with each hunk's lines replaced by one blank line, and the hunks.

    Each hunk comes with its count of added and removed lines. None when a hunk's lines do
    not match its header: unidiff then reads the chunk and reports the error.
    """
    out: list[str] = []
    hunks: list[tuple[HunkInfo, int, int]] = []
    pos, end, in_file = 0, len(chunk), False
    while pos < end:
        nl = chunk.find("\n", pos)
        nl = end if nl < 0 else nl + 1
        line = chunk[pos:nl]
        pos = nl
        m = _HUNK_HEADER.match(line) if in_file else None
        if m is None:
            if line.startswith("+++ "):
                in_file = True
            elif line.startswith("diff --git ") or line.startswith("--- "):
                in_file = False
            out.append(line)
            continue
        want_old = 0 if m.group(2) == "0" else int(m.group(2) or 1)
        want_new = 0 if m.group(4) == "0" else int(m.group(4) or 1)
        old = new = added = removed = 0
        body_start = pos
        while pos < end:
            tag = chunk[pos]
            if tag != "\\" and old >= want_old and new >= want_new:
                break
            if tag == " " or tag == "\n":
                old += 1
                new += 1
            elif tag == "-":
                old += 1
                removed += 1
            elif tag == "+":
                new += 1
                added += 1
            elif tag != "\\":
                break
            nl = chunk.find("\n", pos)
            pos = end if nl < 0 else nl + 1
        if old != want_old or new != want_new:
            return None
        source_start, target_start = int(m.group(1)), int(m.group(3))
        header = f"@@ -{source_start},{want_old} +{target_start},{want_new} @@"
        hunks.append(
            (HunkInfo(header, source_start, want_old, target_start, want_new, chunk[body_start:pos]), added, removed)
        )
        out.append(f"@@ -{source_start},1 +{target_start},1 @@\n \n")  # unidiff reads no empty hunk
    return "".join(out), hunks


def _file_changes(patch_set: Any, read: list[tuple[HunkInfo, int, int]] | None) -> list[FileChange]:
    files = []
    if read is not None and [(h.source_start, h.target_start) for pf in patch_set for h in pf] != [
        (h.source_start, h.target_start) for h, _a, _r in read
    ]:
        raise ValueError("the hunks read do not match unidiff's")
    taken = iter(read or ())
    for pf in patch_set:
        source = _strip_prefix(pf.source_file) if pf.source_file else None
        target = _strip_prefix(pf.target_file) if pf.target_file else None
        # unidiff calls a change to an empty file "added" (its hunk starts at -0,0): trust
        # git's headers and /dev/null instead.
        info = "".join(str(x) for x in (pf.patch_info or []))
        if read is not None:
            mine = [next(taken) for _h in pf]
            hunks = tuple(h for h, _a, _r in mine)
            counts = (sum(a for _h, a, _r in mine), sum(r for _h, _a, r in mine))
        else:
            hunks = tuple(_hunk_info(h) for h in pf)
            counts = (pf.added, pf.removed)
        # unidiff's is_added_file, on the hunks read here
        empty_first = len(hunks) == 1 and hunks[0].source_start == 0 and hunks[0].source_length == 0
        added = (
            source is None
            or "\nnew file mode" in f"\n{info}"
            or ((pf.source_file == "/dev/null" or empty_first) and "\nindex " not in f"\n{info}")
        )
        removed = target is None or "\ndeleted file mode" in f"\n{info}"
        if added:
            source = None
        if removed:
            target = None
        if source is None and target is None:
            raise PatchRejected("the patch is malformed: a file change names no path")
        if added:
            kind: Literal["add", "delete", "modify", "rename"] = "add"
        elif removed:
            kind = "delete"
        elif pf.is_rename or (source and target and source != target):
            kind = "rename"
        else:
            kind = "modify"
        if not hunks and not pf.is_binary_file and kind == "modify" and not _mode_only(pf):
            raise PatchRejected("the file change has no hunks", path=target or source)
        files.append(
            FileChange(
                path=(target or source) or "",
                source_path=source,
                target_path=target,
                kind=kind,
                binary=bool(pf.is_binary_file),
                symlink=bool(pf.is_symlink),
                hunks=hunks,
                added=counts[0],
                removed=counts[1],
            )
        )
    return files


def _hunk_info(h: Any) -> HunkInfo:
    return HunkInfo(
        f"@@ -{h.source_start},{h.source_length} +{h.target_start},{h.target_length} @@",
        h.source_start,
        h.source_length,
        h.target_start,
        h.target_length,
        "".join(f"{line.line_type}{line.value.rstrip(chr(13) + chr(10))}\n" for line in h if line.line_type in "+- "),
    )


def _file_chunks(text: str) -> Iterator[str]:
    """``text`` cut before each ``diff --git`` line (what comes before the first stays with it)."""
    start = 0
    for index, match in enumerate(_DIFF_GIT.finditer(text)):
        if index:
            yield text[start : match.start()]
            start = match.start()
    yield text[start:]


_DIFF_GIT = re.compile(r"^diff --git ", re.MULTILINE)

_BINARY_NO_DATA = re.compile(r"^Binary files (.+?) and (.+?) differ\s*$", re.MULTILINE)
_HUNK_HEADER = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def _locate_bad_hunk(text: str) -> tuple[str | None, int, str, str] | None:
    """The first hunk whose body does not match the line counts of its header."""
    lines = text.splitlines()
    path: str | None = None
    index = 0
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("+++ "):
            path = _strip_prefix(line[4:].split("\t")[0])
            index = 0
        m = _HUNK_HEADER.match(line)
        if m:
            index += 1
            want_old = int(m.group(2) or 1 if m.group(2) != "0" else 0)
            want_new = int(m.group(4) or 1 if m.group(4) != "0" else 0)
            old = new = 0
            j = i + 1
            while j < len(lines) and (old < want_old or new < want_new):
                body = lines[j]
                if body.startswith("\\"):
                    j += 1
                    continue
                tag = body[:1]
                if tag == " " or body == "":
                    old += 1
                    new += 1
                elif tag == "-":
                    old += 1
                elif tag == "+":
                    new += 1
                else:
                    break
                j += 1
            if old != want_old or new != want_new:
                header = line.split(" @@")[0] + " @@"
                return (
                    path,
                    index,
                    header,
                    f"the hunk has {old} old and {new} new lines where its header promises {want_old} and {want_new}",
                )
            i = j
            continue
        i += 1
    return None


def _mode_only(pf: object) -> bool:
    return getattr(pf, "source_mode", None) != getattr(pf, "target_mode", None)


def _header_paths(text: str) -> list[tuple[str, bool]]:
    """Every path string a patch line names, whatever the parser made of it, and whether
    it carries git's a/ b/ prefix."""
    out: list[tuple[str, bool]] = []
    for line in text.splitlines():
        if not line or line[0] not in "d-+rcB":
            continue
        for regex, prefixed in _HEADER_PATH_RES:
            m = regex.match(line)
            if m:
                for raw in m.groups():
                    out.append((raw, prefixed))
                break
    return out


def _check_path(path: str) -> str | None:
    """The reason ``path`` (already -p1 stripped) breaks the policy, or None."""
    if "\x00" in path:
        return "the path contains a NUL byte"
    if path.startswith("/") or re.match(r"^[A-Za-z]:[\\/]", path) or path.startswith("\\"):
        return "the path is absolute"
    if "\\" in path:
        return "the path contains a backslash"
    parts = path.split("/")
    if any(p == ".." for p in parts):
        return "the path climbs out with '..'"
    if any(p.rstrip(" .").lower() == ".git" for p in parts if p):
        return "the path is inside .git/"
    if not path or path in (".",):
        return "the path is empty"
    return None


def check_policy(parsed: ParsedPatch, workspace: Path) -> None:
    """Raise PatchRejected if the patch would write outside ``workspace`` or into .git/."""
    workspace = workspace.resolve()
    for raw, prefixed in _header_paths(parsed.text):
        if raw.strip() == "/dev/null":
            continue
        unquoted = _unquote(raw.strip())
        if unquoted.startswith("/"):
            raise PatchRejected(
                "the path is absolute: a patch may only name paths inside the repository", path=unquoted
            )
        # A path without a prefix is checked as written (as git reads it) and as -p1 strips it.
        for path in (_strip_prefix(raw), *(() if prefixed else (unquoted,))):
            reason = _check_path(path) if path is not None else None
            if reason:
                raise PatchRejected(f"{reason}: a patch may only write inside the repository", path=path)
    for change in parsed.files:
        for rel in {change.source_path, change.target_path} - {None}:
            assert rel is not None
            reason = _check_path(rel) or _through_symlink(workspace, rel)
            if reason:
                raise PatchRejected(reason, path=rel)
        if change.symlink and change.target_path and change.kind != "delete":
            target = _added_text(change)
            if target is not None and _escapes(workspace, change.target_path, target):
                raise PatchRejected(
                    f"the patch makes a symlink pointing outside the workspace ({target!r})", path=change.target_path
                )


def _through_symlink(workspace: Path, rel: str) -> str | None:
    """A reason if any existing parent of ``rel`` in the workspace is a symlink."""
    current = workspace
    parts = rel.split("/")
    for part in parts[:-1]:
        current = current / part
        if current.is_symlink():
            return f"the path leads through the symlink {current.relative_to(workspace)}: nothing is written through a symlink"
        if not current.exists():
            return None
    return None


def _escapes(workspace: Path, link_rel: str, target: str) -> bool:
    """Whether the symlink ``link_rel`` -> ``target`` leads outside ``workspace``.

    Outside lexically (absolute, ``..`` past the root), or through a symlink already in the
    workspace (one of the base's, which may point anywhere): its target is then not what it reads.
    """
    if target.startswith("/") or "\x00" in target:
        return True
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(link_rel), target))
    if joined == ".." or joined.startswith("../"):
        return True
    # Followed as the kernel would: a chain through the workspace's own symlinks must stay inside.
    real = Path(os.path.realpath(workspace / joined))
    return not real.is_relative_to(Path(os.path.realpath(workspace)))


def _added_text(change: FileChange) -> str | None:
    """The lines ``change`` adds, as its hunks were parsed: for a symlink, its new target.

    Read from the parsed hunks, not by scanning the patch text: a target that starts with
    "++" is an added line "+++...", which a scan takes for a file header.
    """
    added = [line.text for hunk in change.hunks for line in hunk.lines if line.kind == "+"]
    return "\n".join(added) if added else None


def changed_paths(workspace: Path) -> list[tuple[str, str]]:
    """(status, path) of every path that differs from the base commit, untracked included."""
    out = gitmod.git(["status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames"], cwd=workspace).output
    entries = []
    for item in out.split("\x00"):
        if len(item) > 3:
            entries.append((item[:2].strip() or "?", item[3:]))
    return entries


def _reset(workspace: Path) -> None:
    # git apply --3way can die on an assertion with some malformed patches (seen with git
    # 2.39: "check_preimage: Assertion `patch->is_new <= 0' failed") and leave its index
    # lock behind. The workspace is ours alone, so a lock left now is stale.
    (workspace / ".git" / "index.lock").unlink(missing_ok=True)
    gitmod.git(["reset", "-q", "--hard", "HEAD"], cwd=workspace)
    gitmod.git(["clean", "-q", "-fdx"], cwd=workspace)


def _explain_git_failure(output: str, parsed: ParsedPatch) -> PatchRejected:
    lines = [ln for ln in output.splitlines() if ln.startswith("error:")]
    for line in lines:
        m = _GIT_APPLY_FAILED.match(line)
        if m:
            path, start = m.group(1), int(m.group(2))
            for change in parsed.files:
                if path in (change.source_path, change.target_path):
                    for index, hunk in enumerate(change.hunks, 1):
                        if hunk.source_start == start or (
                            start and hunk.source_start <= start < hunk.source_start + max(hunk.source_length, 1)
                        ):
                            return PatchRejected(
                                "the hunk does not match the base state",
                                path=path,
                                hunk=index,
                                hunk_header=hunk.header,
                                detail="\n".join(lines[:6]),
                            )
            return PatchRejected(f"the patch does not apply at line {start}", path=path, detail="\n".join(lines[:6]))
    for line in lines:
        m = _CORRUPT.search(line)
        if m:
            return PatchRejected(
                f"the patch is malformed: git reports a corrupt patch at line {m.group(1)}", detail="\n".join(lines[:6])
            )
    for line in lines:
        m = _GIT_APPLY_FILE_ERROR.match(line)
        if m:
            return PatchRejected(m.group(2), path=m.group(1), detail="\n".join(lines[:6]))
    return PatchRejected("the patch does not apply", detail="\n".join(output.strip().splitlines()[:6]))


def _check_symlinks_after(workspace: Path) -> list[tuple[str, str]]:
    """The changed paths; PatchRejected if the patch made a symlink pointing outside.

    Every symlink of the tree is looked at, not only those ``git status`` lists: a
    ``.gitignore`` of the patch would hide one, and a symlink sent as a git binary patch
    has no target in the diff for :func:`check_policy` to read.
    """
    changed = changed_paths(workspace)
    folders = [(workspace, "")]
    while folders:
        folder, prefix = folders.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                rel = prefix + entry.name
                if entry.is_symlink():
                    target = os.readlink(entry.path)
                    if _escapes(workspace, rel, target) and not _in_base(workspace, rel, target):
                        os.unlink(entry.path)  # never left behind, even in a workspace that is kept
                        raise PatchRejected(
                            f"the patch made a symlink pointing outside the workspace ({target!r})", path=rel
                        )
                elif entry.is_dir(follow_symlinks=False) and rel != ".git":
                    folders.append((Path(entry.path), rel + "/"))
    return changed


def _in_base(workspace: Path, rel: str, target: str) -> bool:
    """Whether the base commit has the symlink ``rel`` pointing at ``target``."""
    listed = gitmod.git(["ls-tree", "-z", "HEAD", "--", rel], cwd=workspace, check=False).output
    data = os.fsencode(target)
    blob = hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()
    return any(e.startswith(f"120000 blob {blob}\t") for e in listed.split("\x00"))


def apply_patch(parsed: ParsedPatch, workspace: Path, *, fuzz: int = 5) -> ApplyOutcome:
    """Apply ``parsed`` to the git workspace ``workspace`` (clean, at its base commit).

    Raises PatchRejected (with the tree reset to the base state) when no method works.
    """
    check_policy(parsed, workspace)
    commands: list[process.CommandRecord] = []
    attempts: list[tuple[str, str]] = []
    first_failure: PatchRejected | None = None
    texts = [parsed.text]
    if "\r\n" in parsed.text:
        texts.append(parsed.text.replace("\r\n", "\n"))
    with tempfile.TemporaryDirectory(prefix="proofswe-patch-") as tmp:
        for variant, text in enumerate(texts):
            patch_file = Path(tmp) / f"submission-{variant}.diff"
            patch_file.write_bytes(text.encode("utf-8", errors="surrogateescape"))
            suffix = " (CRLF normalised)" if variant else ""
            methods: list[tuple[str, list[str]]] = [
                ("git apply", ["git", "apply", "--whitespace=nowarn", "--binary", str(patch_file)]),
                ("git apply --3way", ["git", "apply", "--3way", "--whitespace=nowarn", "--binary", str(patch_file)]),
                (
                    f"patch --fuzz={fuzz}",
                    [
                        "patch",
                        "--batch",
                        "--forward",
                        "--unified",
                        f"--fuzz={fuzz}",
                        "-p1",
                        "--no-backup-if-mismatch",
                        "--reject-file=-",
                        "-i",
                        str(patch_file),
                    ],
                ),
            ]
            for name, argv in methods:
                if argv[0] == "git":
                    result = gitmod.git(argv[1:], cwd=workspace, check=False)
                else:
                    result = process.run(
                        argv, cwd=workspace, env={"PATH": os.environ.get("PATH", ""), "LC_ALL": "C"}, timeout=120
                    )
                commands.append(
                    dataclasses.replace(
                        result.record(cwd_label="<workspace>"),
                        argv=tuple("<submission.diff>" if a == str(patch_file) else a for a in result.argv),
                    )
                )
                if result.ok:
                    try:
                        changed = _check_symlinks_after(workspace)
                    except PatchRejected:
                        _reset(workspace)
                        raise
                    return ApplyOutcome(
                        method=name + suffix, changed=tuple(changed), attempts=tuple(attempts), commands=tuple(commands)
                    )
                attempts.append((name + suffix, result.tail(6)))
                if first_failure is None and name == "git apply":
                    first_failure = _explain_git_failure(result.output, parsed)
                _reset(workspace)
    assert first_failure is not None
    tried = ", ".join(name for name, _ in attempts)
    first_failure.detail = (first_failure.detail + "\n" if first_failure.detail else "") + f"tried: {tried}"
    first_failure.commands = tuple(commands)
    raise first_failure
