"""atheris fuzz target for the parse path: bytes in, an Event batch or a PayloadError out.

Run it for a while (new inputs go to the first folder, the seeds stay as they are):
    mkdir -p /tmp/corpus
    .venv/bin/python tests/fuzz/fuzz_parse.py -max_total_time=300 /tmp/corpus tests/fuzz/seeds
Anything but PayloadError escaping the parsers is a bug (a 500 on Okta's retry path).
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from exporter.events import (
        PayloadError,
        loads,
        parse_hook_envelope,
        parse_log_events,
        parse_workflows_payload,
    )
    from exporter.labels import clean


def one_input(data: bytes) -> None:
    try:
        document = loads(data)
    except PayloadError:
        return
    for parse in (parse_hook_envelope, parse_workflows_payload):
        try:
            batch = parse(document)
        except PayloadError:
            continue
        for event in batch.events:
            for value in (event.application.label(), event.group.label(), event.actor.label()):
                cleaned = clean(value)
                cleaned.encode("utf-8")  # always valid UTF-8
                assert len(cleaned) <= 128
    if isinstance(document, list):
        parse_log_events(document)


def main() -> None:
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
