"""Reading the generated dashboard as Grafana would: its queries, variables and datasources."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grafana.mixin import DASHBOARD, IMPORT_DASHBOARD

ROOT = Path(__file__).resolve().parents[1]

# Grafana's own variables; everything else after a `$` must be a dashboard variable.
BUILTINS = frozenset(
    {
        "__rate_interval",
        "__range",
        "__interval",
        "__url_time_range",
        "__field",
        "__data",
        "__value",
    }
)
VARIABLE = re.compile(r"\$\{([a-zA-Z_][a-zA-Z0-9_]*)|\$([a-zA-Z_][a-zA-Z0-9_]*)")


def load(path: str = DASHBOARD) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((ROOT / path).read_text())
    return document


def load_import() -> dict[str, Any]:
    return load(IMPORT_DASHBOARD)


@dataclass(frozen=True)
class Query:
    """One panel target."""

    panel: str
    ref: str
    expr: str
    instant: bool
    legend: str


def panels(board: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, rows' nested panels included."""
    for panel in board["panels"]:
        yield panel
        yield from panel.get("panels", [])


def queries(board: dict[str, Any]) -> list[Query]:
    return [
        Query(panel["title"], t["refId"], t["expr"], t["instant"], t.get("legendFormat", ""))
        for panel in panels(board)
        for t in panel.get("targets", [])
    ]


def variables(board: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {v["name"]: v for v in board["templating"]["list"]}


def referenced_variables(text: str) -> set[str]:
    """Names after `$` or `${` in `text`, nested fields (`${__field.labels.x}`) by their root."""
    return {braced or bare for braced, bare in VARIABLE.findall(text)}


def substitute(expr: str, values: dict[str, str], *, rate: str, range_: str) -> str:
    """`expr` as Grafana sends it: windows filled in, each variable replaced by its regex."""
    out = expr.replace("$__rate_interval", rate).replace("$__range", range_)
    for name, value in values.items():
        # A function as replacement: the value is inserted as it is, backslashes included.
        out = re.sub(rf"\$\{{{name}\}}|\${name}\b", _literal(value), out)
    assert "$" not in out, f"unsubstituted variable in {out}"
    return out


def _literal(value: str) -> Callable[[re.Match[str]], str]:
    return lambda _match: value


def walk(node: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, value) pair of a JSON document, depth first."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)
