"""pytest-proofswe: grade coding-agent submissions the way a maintainer would."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
