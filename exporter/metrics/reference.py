"""The README's configuration and metrics references, generated from the code itself.

`python -m exporter.metrics.reference` rewrites the marked sections of README.md; a test fails
when they drift from `config.OPTIONS` or the metric catalogue.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from exporter import catalogue
from exporter.config import HOOK_SECRET_ENV, OPTIONS, Config
from exporter.ingest.classify import CATALOGUE, Kind


def config_table() -> str:
    defaults = Config()
    rows = [
        "| Flag | Environment variable | Default | Meaning |",
        "|---|---|---|---|",
    ]
    for option in OPTIONS:
        default = defaults.show(option)
        shown = f"`{default}`" if default else ""
        text = option.help.replace("%%", "%").replace("|", "\\|")  # argparse escapes %
        rows.append(f"| `{option.flag}` | `{option.env}` | {shown} | {text} |")
    rows.append(
        f"| | `{HOOK_SECRET_ENV}` | | The hook secret itself; several comma-separated during "
        "a rotation. |"
    )
    return "\n".join(rows)


def metrics_table() -> str:
    rows = ["| Metric | Type | Labels | Meaning |", "|---|---|---|---|"]
    for spec in catalogue.ALL_METRICS:
        labels = ", ".join(spec.labels)
        rows.append(f"| `{spec.name}` | {spec.type.value} | {labels} | {spec.help} |")
    return "\n".join(rows)


RULES = Path(__file__).resolve().parents[2] / "grafana" / "alerts" / "okta-group-push.rules.yml"


def alerts_table() -> str:
    """From the rule file in a source checkout (the README is only generated there)."""
    import yaml  # noqa: PLC0415 - a dependency of the web config; needed here only

    rows = ["| Alert | Severity | For | Summary |", "|---|---|---|---|"]
    for group in yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]:
        for rule in group["rules"]:
            if "alert" in rule:
                name = rule["alert"]
                anchor = f"docs/runbooks.md#{name.lower()}"
                rows.append(
                    f"| [`{name}`]({anchor}) | {rule['labels']['severity']} | "
                    f"{rule.get('for', '')} | {rule['annotations']['summary']} |"
                )
    return "\n".join(rows)


# What each Kind does, in the words of the classification table's readers.
KIND_EFFECT = {
    Kind.TERMINAL_FAILURE: "terminal failure: counted, mapping failing now",
    Kind.RETRIED_FAILURE: "retried failure: counted, mapping failing now",
    Kind.SUCCESS: "success: mapping not failing now",
    Kind.MAPPING_ENDED: "mapping ended: not failing now",
    Kind.USERS_IGNORED: "`okta_group_push_users_ignored_total`",
    Kind.HOOK_DELIVERY_FAILED: "`okta_group_push_exporter_okta_hook_delivery_failures_total`",
    Kind.IGNORED: "ignored",
}


def classification_table() -> str:
    """Okta's group push event types, one row each, as exporter/ingest/classify.py reads them."""
    rows = [
        "| Okta event type | `kind` | With outcome FAILURE | Otherwise |",
        "|---|---|---|---|",
    ]
    for event_type, row in sorted(CATALOGUE.items()):
        kinds = {row.on_failure, row.otherwise} - {Kind.IGNORED}
        kind = ", ".join(sorted(k.value for k in kinds)) or "ignored"
        failure, otherwise = KIND_EFFECT[row.on_failure], KIND_EFFECT[row.otherwise]
        rows.append(f"| `{event_type}` | {kind} | {failure} | {otherwise} |")
    return "\n".join(rows)


SECTIONS = {
    "config": config_table,
    "metrics": metrics_table,
    "alerts": alerts_table,
    "classification": classification_table,
}


def render(readme: str) -> str:
    """`readme` with every `<!-- BEGIN name -->...<!-- END name -->` section regenerated."""
    for name, make in SECTIONS.items():
        pattern = re.compile(
            rf"(<!-- BEGIN {name} \(generated.*?-->\n)(?:.*?\n)?(<!-- END {name} -->)", re.DOTALL
        )
        match = pattern.search(readme)
        if match is None:
            raise ValueError(f"README.md has no generated {name} section")
        readme = readme[: match.end(1)] + make() + "\n" + readme[match.start(2) :]
    return readme


def main() -> int:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("README.md")
    path.write_text(render(path.read_text(encoding="utf-8")), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
