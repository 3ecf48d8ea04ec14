"""Credentials added by the diff: API-key and token shapes (the value is never repeated)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from .model import Finding, TasteConfig, TasteInput

__all__ = ["SECRET_PATTERNS", "check", "find_secrets"]

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


def check(data: TasteInput, config: TasteConfig) -> Iterator[Finding]:
    for f in data.files:
        for line, text in f.added():
            kinds = sorted({kind for kind, _s, _e in find_secrets(text)})
            for kind in kinds:
                yield Finding(
                    "secrets-credential",
                    f.path,
                    line,
                    f"{kind} added (value not shown)",
                    config.weight("secrets-credential"),
                )
