"""Export the contracts as JSON Schema files for producers in other languages.

``python -m schemas.export`` writes ``schemas/json/*.schema.json``; ``--check`` writes nothing and exits
1 listing the files that differ from what the models generate (CI runs it). Event schemas describe what
producers may *send* (validation mode: epoch numbers allowed, ``created_at`` alias); alert and dead-letter
schemas describe what spikewatch *emits* (serialization mode: every field present, times as ``Z`` strings).

Examples
--------
>>> schemas = build_schemas()
>>> sorted(schemas)[:3]
['account.schema.json', 'alert.schema.json', 'deadletter.schema.json']
>>> schemas["ticket.schema.json"]["$id"]
'urn:spikewatch:schema:v1:ticket'
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from schemas.alerts import Alert
from schemas.deadletter import DeadLetter
from schemas.events import (
    EVENT_ADAPTER,
    SCHEMA_VERSION,
    AccountEvent,
    ReleaseEvent,
    TicketEvent,
    UsageEvent,
)
from schemas.feedback import FEEDBACK_ADAPTER

__all__ = ["DEFAULT_DIR", "build_schemas", "main", "render", "stale_files", "write_schemas"]

DEFAULT_DIR = Path(__file__).parent / "json"
_DIALECT = "https://json-schema.org/draft/2020-12/schema"

_MODELS: dict[str, tuple[type[BaseModel], str, str]] = {
    "ticket": (TicketEvent, "validation", "ticket event"),
    "usage": (UsageEvent, "validation", "usage event"),
    "release": (ReleaseEvent, "validation", "release event"),
    "account": (AccountEvent, "validation", "account event"),
    "alert": (Alert, "serialization", "alert"),
    "deadletter": (DeadLetter, "serialization", "dead letter"),
}


def _decorate(name: str, what: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "$schema": _DIALECT,
        "$id": f"urn:spikewatch:schema:v{SCHEMA_VERSION}:{name}",
        **schema,
        "title": f"spikewatch {what}, schema version {SCHEMA_VERSION}",
    }


def build_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schema documents by file name."""
    documents = {
        f"{name}.schema.json": _decorate(name, what, model.model_json_schema(mode=mode))  # type: ignore[arg-type]
        for name, (model, mode, what) in _MODELS.items()
    }
    union = EVENT_ADAPTER.json_schema(mode="validation")
    documents["event.schema.json"] = _decorate("event", "event (any type)", union)
    feedback = FEEDBACK_ADAPTER.json_schema(mode="validation")
    documents["feedback.schema.json"] = _decorate("feedback", "feedback (label, silence or action)", feedback)
    return dict(sorted(documents.items()))


def render(schema: dict[str, Any]) -> str:
    """Deterministic text of a schema: sorted keys, two-space indent, trailing newline."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_schemas(directory: Path = DEFAULT_DIR) -> list[Path]:
    """Write every schema file into ``directory``; return the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in build_schemas().items():
        path = directory / name
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written


def stale_files(directory: Path = DEFAULT_DIR) -> list[str]:
    """Names of schema files in ``directory`` that are missing, differ, or no longer generated."""
    expected = {name: render(schema) for name, schema in build_schemas().items()}
    stale = [
        name
        for name, text in expected.items()
        if not (directory / name).is_file() or (directory / name).read_text(encoding="utf-8") != text
    ]
    stale += sorted(path.name for path in directory.glob("*.schema.json") if path.name not in expected)
    return stale


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m schemas.export", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 listing stale files, write nothing")
    parser.add_argument("--out", type=Path, default=DEFAULT_DIR, help="directory (default: schemas/json)")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files(args.out)
        for name in stale:
            print(f"stale: {args.out / name}", file=sys.stderr)
        if stale:
            print("regenerate with: python -m schemas.export", file=sys.stderr)
        return 1 if stale else 0
    for path in write_schemas(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
