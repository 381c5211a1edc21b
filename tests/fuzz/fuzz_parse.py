"""atheris fuzz target for the parse paths: bytes in, an Event batch or a PayloadError out.

Both hook decoders are driven: `parse_hook_body`, the fast one that serves every real
`POST /hooks/okta`, and the lenient one it falls back to. Whenever the lenient decoder
accepts a body, the fast one must give the same batch; where the lenient one refuses, the
fast one refuses too or (fields it does not read, nested past 32 levels or holding 1e999)
accepts the body.

Run it for a while (new inputs go to the first folder, the seeds stay as they are):
    mkdir -p /tmp/corpus
    .venv/bin/python tests/fuzz/fuzz_parse.py -max_total_time=300 /tmp/corpus tests/fuzz/seeds
Anything but PayloadError escaping the parsers is a bug (a 500 on Okta's retry path).
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from exporter.ingest.events import Batch, PayloadError, parse_hook_envelope, parse_log_events
    from exporter.ingest.hookbody import parse_hook_body
    from exporter.ingest.jsontext import loads
    from exporter.ingest.labels import clean
    from exporter.ingest.workflows import parse_workflows_payload


def hook_body(data: bytes) -> None:
    """The fast hook decoder agrees with the lenient one on every body the latter accepts."""
    try:
        fast: Batch | None = parse_hook_body(data)
    except PayloadError:
        fast = None
    try:
        lenient = parse_hook_envelope(loads(data))
    except PayloadError:
        return
    assert fast == lenient, (fast, lenient)


def one_input(data: bytes) -> None:
    hook_body(data)
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
