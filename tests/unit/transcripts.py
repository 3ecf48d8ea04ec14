"""Reading a folder of session transcripts in tests: the session's grade, the events a reader
yields, who typed what (shared by the tests on own-written shapes and on real excerpts)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pytest_proofswe.session import Event, SessionResult, grade_session
from pytest_proofswe.session.readers import detect_reader


@dataclass(frozen=True)
class Transcripts:
    folder: Path

    def grade(self, name: str) -> SessionResult:
        result = grade_session(self.folder / name)
        assert result.status == "scored", result.reason
        return result

    def events(self, name: str) -> list[Event]:
        reader = detect_reader(self.folder / name)
        assert reader is not None
        return list(reader.read(self.folder / name))

    def person(self, name: str) -> list[tuple[int | None, str]]:
        """What a person typed, by line."""
        return [
            (e.source.line, e.text or "")
            for e in self.events(name)
            if e.kind == "user_message" and e.origin == "person"
        ]

    def harness(self, name: str) -> dict[int | None, dict[str, object]]:
        """What the harness put in the person's place, by line."""
        return {e.source.line: e.extra for e in self.events(name) if e.kind == "user_message" and e.origin == "harness"}


def signals(result: SessionResult, metric: str) -> list[tuple[str, str]]:
    return [(s.where, s.text) for s in result.signals if s.metric == metric]


def seconds(first: str, last: str) -> float:
    return round((datetime.fromisoformat(last) - datetime.fromisoformat(first)).total_seconds(), 1)
