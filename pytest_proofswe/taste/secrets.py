"""Credentials added by the diff: API-key and token shapes (the value is never repeated).

An obvious dummy is not a credential: a value made mostly of one character
(``11111111-1111-4111-8111-111111111111``, ``xxxx``), an ascending run (``123456``,
``abcdef``), or a word saying what it is (``test``, ``dummy``, ``example``, ``your-key``...).
In a test file, a literal assigned to ``password``/``api_key``/... is a fixture; a value
shaped like a vendor's key still counts there.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Iterator

from ..change import is_test_path
from .model import Finding, TasteConfig, TasteInput

__all__ = ["SECRET_PATTERNS", "check", "find_secrets", "is_dummy"]

SECRET_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("Anthropic API key", re.compile(r"\bsk-ant-[A-Za-z0-9_-]{20,}")),
    ("OpenAI API key", re.compile(r"\bsk-(?!ant-)(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}")),
    ("AWS access key id", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})\b")),
    ("GitLab token", re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}\b")),
    ("Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b")),
    ("Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b")),
    ("Hugging Face token", re.compile(r"\bhf_[A-Za-z0-9]{30,}\b")),
    ("Stripe key", re.compile(r"\b(?:sk|rk)_live_[A-Za-z0-9]{20,}\b")),
    ("private key", re.compile(r"-----BEGIN (?:RSA |EC |OPENSSH |DSA |PGP )?PRIVATE KEY-----")),
    ("JSON web token", re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}")),
    (
        "password or token assignment",
        re.compile(
            r"""(?i)\b(?:password|passwd|secret|api_?key|access_?token|auth_?token)\b\s*[:=]\s*["'][^"'\s]{12,}["']"""
        ),
    ),
)


def find_secrets(text: str) -> list[tuple[str, int, int]]:
    """(kind, start, end) of every credential-shaped span in ``text``; the first pattern wins an overlap."""
    found: list[tuple[str, int, int]] = []
    for kind, pattern in SECRET_PATTERNS:
        for m in pattern.finditer(text):
            if not any(m.start() < end and start < m.end() for _k, start, end in found):
                found.append((kind, m.start(), m.end()))
    return sorted(found, key=lambda f: f[1])


_ASSIGNMENT = "password or token assignment"
# The vendor's prefix of a key is not the secret: a dummy is judged on what follows it.
_PREFIX = re.compile(
    r"^(?:sk-(?:ant-|proj-|svcacct-|admin-)?|AKIA|ASIA|gh[pousr]_|github_pat_|glpat-|xox[abposr]-|AIza|hf_|[sr]k_live_)"
)
_DUMMY_WORDS = re.compile(
    r"(?i)test|dummy|example|fake|sample|placeholder|change_?me|your|xxx|mock|redacted|not_?a_?real|invalid|[<>]|\$\{|\{\{|\*\*\*"
)
_QUOTED = re.compile(r"""["']([^"']*)["']\s*$""")


def _ascending_run(text: str) -> int:
    """Length of the longest run of consecutive characters (``1234``, ``abcd``)."""
    best = run = 1
    for a, b in itertools.pairwise(text):
        run = run + 1 if ord(b) == ord(a) + 1 else 1
        best = max(best, run)
    return best if text else 0


def is_dummy(value: str) -> bool:
    """Whether a credential-shaped ``value`` is an obvious placeholder rather than a secret."""
    body = _PREFIX.sub("", value.strip())
    if _DUMMY_WORDS.search(body.replace("-", "_")):
        return True
    chars = [c for c in body.lower() if c.isalnum()]
    if len(chars) < 8:
        return True
    most = Counter(chars).most_common(1)[0][1]
    return most / len(chars) >= 0.5 or len(set(chars)) <= 4 or _ascending_run("".join(chars)) >= 5


def _value(kind: str, span: str) -> str:
    """The secret part of a matched span (the quoted literal of an assignment)."""
    if kind == _ASSIGNMENT:
        m = _QUOTED.search(span)
        return m.group(1) if m else span
    return span


def check(data: TasteInput, config: TasteConfig) -> Iterator[Finding]:
    for f in data.files:
        fixtures = is_test_path(f.path) or f.path in data.test_files_edited
        for line, text in f.added():
            kinds = sorted(
                {
                    kind
                    for kind, start, end in find_secrets(text)
                    if not (fixtures and kind == _ASSIGNMENT) and not is_dummy(_value(kind, text[start:end]))
                }
            )
            for kind in kinds:
                yield Finding(
                    "secrets-credential",
                    f.path,
                    line,
                    f"{kind} added (value not shown)",
                    config.weight("secrets-credential"),
                )
