"""How each source is reached."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SourceConfig:
    """One source of records, as read from the ``[sources.<name>]`` table."""

    name: str
    url: str
    # Attempts after the first failure before the source is reported as down.
    retries: int = 3

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for the HTTP client that reads this source."""
        return {"retries": self.retries}


def read_sources(table: dict[str, dict[str, Any]]) -> list[SourceConfig]:
    """The ``[sources]`` table of the settings file, one :class:`SourceConfig` per entry."""
    return [SourceConfig(name=name, **values) for name, values in sorted(table.items())]
