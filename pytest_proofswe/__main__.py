"""Command line: ``python -m pytest_proofswe <command>``.

Commands:
  import-swebench  turn SWE-bench instances (JSONL) into task folders
  check-rubric     validate a rubric file
  capture          turn a real agent session into a task folder
  durability       how much of an agent's code still stands in a repository's history
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _import_swebench(args: argparse.Namespace) -> int:
    from .modes.swebench import import_instances

    mirrors = {}
    for item in args.mirror:
        repo, sep, path = item.partition("=")
        if not sep or not path:
            print(f"error: --mirror {item!r}: expected OWNER/NAME=PATH", file=sys.stderr)
            return 2
        if not Path(path).exists():
            print(f"error: --mirror {item!r}: {path} does not exist", file=sys.stderr)
            return 2
        mirrors[repo] = Path(path)
    recipes = {}
    if args.recipes:
        recipes = json.loads(Path(args.recipes).read_text(encoding="utf-8"))
    instances = []
    with open(args.instances, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                inst = json.loads(line)
            except json.JSONDecodeError as exc:
                print(f"error: {args.instances}:{lineno}: not JSON: {exc.msg}", file=sys.stderr)
                return 2
            if args.only and inst.get("instance_id") not in args.only:
                continue
            instances.append(inst)
    try:
        done = import_instances(
            instances,
            mirrors=mirrors,
            out_dir=Path(args.out),
            recipes=recipes,
            with_predictions=args.with_predictions,
            timeout=args.timeout,
            force=args.force,
        )
    except (KeyError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for t in done:
        extra = f", {len(t.dropped_ids)} PASS_TO_PASS ids left out" if t.dropped_ids else ""
        subs = f", {t.submissions} submissions" if t.submissions else ""
        print(f"{t.folder}{subs}{extra}")
    print(f"imported {len(done)} task(s) into {args.out}")
    return 0


def _check_rubric(args: argparse.Namespace) -> int:
    from .review.rubric import RubricError, load_rubric

    try:
        rubric = load_rubric(args.rubric)
    except RubricError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"{rubric.name} {rubric.version}: {len(rubric.criteria)} criteria, pass threshold "
        f"{rubric.pass_threshold:g} (of 5) [{rubric.source}]"
    )
    for c in rubric.criteria:
        print(f"  {c.id} (weight {c.weight:g}): {c.title}")
    return 0


def _capture(args: argparse.Namespace) -> int:
    from .errors import UsageError
    from .session.capture import capture

    try:
        done = capture(
            Path(args.repo),
            Path(args.transcript),
            Path(args.out),
            agent=args.agent,
            task_id=args.id,
            base=args.base,
            diff=Path(args.diff) if args.diff else None,
        )
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{done.folder}: base {done.base[:12]} ({done.how}); submission {done.agent}")
    print("next: add the hidden tests and their ids to task.toml, then check with pytest --proofswe-validate")
    return 0


def _durability(args: argparse.Namespace) -> int:
    from . import git as gitmod
    from .errors import UsageError
    from .modes.durability import AgentSelector, measure_durability

    repo = Path(args.repo)
    try:
        selector = AgentSelector.parse(args.agent, where="--agent")
        top = Path(gitmod.output(["rev-parse", "--show-toplevel"], repo).strip())
        if args.range:
            base, sep, head = args.range.partition("..")
            if not sep or not base:
                raise UsageError(f"--range {args.range!r}: expected BASE..HEAD (fix: e.g. --range v1.0..HEAD)")
            head = head or "HEAD"
        elif selector.kind == "session":
            from .modes.durability import session_base

            base, head = session_base(Path(selector.value)), "HEAD"
        else:
            raise UsageError("--range is needed unless --agent is session:FOLDER (fix: e.g. --range v1.0..HEAD)")
        found = measure_durability(top, base, head, selector, after=args.after)
    except (UsageError, gitmod.GitError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(found.to_json(), indent=2))
        return 0
    print(found.summary())
    for who, fates in found.by_author().items():
        print(f"  {who}: " + ", ".join(f"{n} {fate}" for fate, n in fates.items()))
    for c in found.commits:
        counts = c.counts()
        observed = len(c.lines)
        share = f"{(counts['standing'] + counts['moved']) / observed:.0%}" if observed else "-"
        print(f"{c.id[:12]} {share:>4} of {observed:>3} line(s) ({c.pending} pending) {c.subject[:60]}")
    if found.uncommitted:
        print(f"{len(found.uncommitted)} line(s) of the session were never committed in the range")
    for note in found.notes:
        print(f"note: {note}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pytest_proofswe", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    imp = sub.add_parser("import-swebench", help="turn SWE-bench instances (JSONL) into task folders")
    imp.add_argument("instances", help="JSONL file of SWE-bench instances (the dataset's fields)")
    imp.add_argument(
        "--mirror",
        action="append",
        default=[],
        metavar="OWNER/NAME=PATH",
        help="a local git repository with the history of OWNER/NAME (repeat per repository)",
    )
    imp.add_argument("--out", required=True, help="folder to write the task folders into")
    imp.add_argument(
        "--recipes",
        metavar="JSON",
        help="environment recipes: {instance_id | repo@version | repo: {python, setup, env, exclude}}",
    )
    imp.add_argument("--only", action="append", metavar="INSTANCE_ID", help="import only these instances")
    imp.add_argument(
        "--with-predictions",
        action="store_true",
        help="also write the instances' 'predictions' field (if any) as submissions",
    )
    imp.add_argument("--force", action="store_true", help="replace task folders that already exist")
    imp.add_argument("--timeout", type=float, default=1800, help="[tests] timeout in seconds (default 1800)")
    imp.set_defaults(func=_import_swebench)
    chk = sub.add_parser("check-rubric", help="validate a rubric file (or a built-in rubric's name)")
    chk.add_argument("rubric", help="a rubric TOML file, or taste / review-quality")
    chk.set_defaults(func=_check_rubric)
    cap = sub.add_parser("capture", help="turn a real agent session into a task folder")
    cap.add_argument("--repo", required=True, help="the repository the agent worked in")
    cap.add_argument("--transcript", required=True, help="the session's transcript (Claude Code, Codex, ...)")
    cap.add_argument("--out", required=True, help="the folder to write the task folder into")
    cap.add_argument("--agent", default="agent", help="the submission's name (default: agent)")
    cap.add_argument("--id", default=None, help="the task id (default: <repo name>-<base commit>)")
    cap.add_argument("--base", default=None, help="the commit the session started from (default: from the transcript)")
    cap.add_argument("--diff", default=None, help="the agent's final diff (default: the working tree's change)")
    cap.set_defaults(func=_capture)
    dur = sub.add_parser("durability", help="how much of an agent's code still stands in a repository's history")
    dur.add_argument("--repo", default=".", help="the repository (default: the current folder)")
    dur.add_argument(
        "--agent",
        required=True,
        help="whose lines: author:NAME, 'trailer:Co-Authored-By: Claude', commits:ID,ID, or session:TASK_FOLDER "
        "(a folder written by capture)",
    )
    dur.add_argument("--range", default=None, help="BASE..HEAD (default with session:, its base commit..HEAD)")
    dur.add_argument("--after", type=int, default=None, help="observe each line N commits later (default: at HEAD)")
    dur.add_argument("--json", action="store_true", help="print the JSON (as in the report's history.durability)")
    dur.set_defaults(func=_durability)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
