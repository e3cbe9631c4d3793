"""The Grafana dashboard's PromQL, read out of deploy/grafana for the offline and integration tests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from tests.deploy.tools import DEPLOY

DASHBOARD = DEPLOY / "grafana" / "dashboards" / "spikewatch.json"
#: What Grafana puts in place of the template variables when every value is selected.
VARIABLES = {"$feature": ".+", "${feature}": ".+"}


def load() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])


def queries(dashboard: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(panel title, PromQL with variables substituted) of every target and annotation."""
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            yield panel["title"], substitute(target["expr"])
    for annotation in dashboard["annotations"]["list"]:
        yield f"annotation {annotation['name']}", substitute(annotation["expr"])


def substitute(expr: str) -> str:
    for variable, value in VARIABLES.items():
        expr = expr.replace(variable, value)
    return expr
