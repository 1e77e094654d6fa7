"""The report contract as a JSON Schema, and the checks the tests run against it.

``schema()`` derives the JSON Schema of ``forecast.json`` from the contract's types
(``forecast.outputs.contract.Report``, pydantic's TypeAdapter); ``docs/report-contract.schema.json`` holds it for
other tools and ``tests/test_contract.py`` keeps the two equal. Regenerate the file after changing the types:

    .venv/bin/python -m tests.contract
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_FILE = ROOT / "docs" / "report-contract.schema.json"
# the contract's types whose every field the current writer writes (the others, e.g. Update, vary by case)
WRITTEN_WHOLE = ("Report", "Response", "Composite", "Diagnostics", "FitDiagnostics", "Thresholds", "Claim",
                 "Precedent", "State", "History", "Checks", "WhatIf")


def schema() -> dict[str, Any]:
    from pydantic import TypeAdapter

    from forecast.outputs.contract import REPORT_SCHEMA_VERSION, Report

    out = TypeAdapter(Report).json_schema()
    out["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    out["$comment"] = (f"forecast.json, schema_version {REPORT_SCHEMA_VERSION}: generated from "
                       "forecast/outputs/contract.py by `python -m tests.contract`; documented in "
                       "docs/report-contract.md")
    return out


def schema_text() -> str:
    return json.dumps(schema(), indent=1, sort_keys=True) + "\n"


def written_schema(base: dict[str, Any]) -> dict[str, Any]:
    """The schema a report written by this version meets: no field the contract does not define, and every
    field of the types the writer always fills (``WRITTEN_WHOLE``) except the report's optional sections."""
    from forecast.outputs.contract import SECTIONS

    out = copy.deepcopy(base)

    def strict(node: dict[str, Any], name: str) -> None:
        if "properties" not in node:
            return
        node["additionalProperties"] = False
        if name in WRITTEN_WHOLE:
            node["required"] = sorted(k for k in node["properties"] if not (name == "Report" and k in SECTIONS))

    strict(out, out.get("title", "Report"))
    for name, node in out.get("$defs", {}).items():
        strict(node, name)
    return out


def errors(data: Any, against: dict[str, Any]) -> list[str]:
    """Every place ``data`` breaks ``against``: 'path: message' (empty when it holds)."""
    from jsonschema import Draft202012Validator

    return sorted(f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
                  for e in Draft202012Validator(against).iter_errors(data))


if __name__ == "__main__":  # pragma: no cover - regenerates the schema file
    SCHEMA_FILE.parent.mkdir(exist_ok=True)
    SCHEMA_FILE.write_text(schema_text(), encoding="utf-8")
    print(f"wrote {SCHEMA_FILE}")
