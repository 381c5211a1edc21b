"""Where an HTTP delivery's time goes: the exporter with parts of its ingest left out.

The same load as bench/http_ingest.py (16 connections, closed loop, 50 unique ~2 KB events
per body, memory store, info logging) against the bare aiohttp handler and five builds of
the exporter, each a fresh process started by `bench.http_breakdown --serve MODE`:

- full: the exporter as deployed;
- no-ledger: parsing as deployed, then no dedup or counting (the ledger answers at once);
- dedup-only: parsing as deployed, then only the store's dedup of every uuid, nothing
  counted: the least work any ledger that counts each event exactly once must do;
- orjson-only: `orjson.loads` of the body in place of parsing and ledger, so that the rest
  of the request (secret check, limits, log line, self-metrics, middlewares) is all that
  separates it from the bare handler;
- floor: neither parsing nor ledger: the request path alone.

The parts are replaced inside the benchmark's own process, never by a flag of the product.
Rounds alternate; medians of req/s and the ratio to the bare handler are reported.

Usage: python -m bench.http_breakdown [--seconds 5] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from bench.common import (
    SECRET,
    Running,
    UniqueBodies,
    cpu_seconds,
    free_port,
    listening,
    machine,
    post_load,
)
from bench.http_ingest import bare_server

MODES = ("full", "dedup-only", "no-ledger", "orjson-only", "floor")


def serve(mode: str, argv: Sequence[str]) -> int:
    """Run `okta-group-push-exporter serve` with the parts `mode` leaves out."""
    import orjson  # noqa: PLC0415 - only the served process needs these

    from exporter import cli  # noqa: PLC0415
    from exporter.counting import ledger  # noqa: PLC0415
    from exporter.ingest.events import Batch, Event  # noqa: PLC0415
    from exporter.records import Kind, Update  # noqa: PLC0415
    from exporter.web import hooks  # noqa: PLC0415

    async def answer_at_once(self: ledger.Ledger, events: Sequence[Event], source: str) -> object:
        return ledger.Recorded(counted=len(events), duplicates=0, ignored=0)

    async def only_dedup(self: ledger.Ledger, events: Sequence[Event], source: str) -> object:
        # An update that writes no series: the memory store records its uuid, nothing more.
        updates = [Update(event.uuid, Kind.IGNORED) for event in events]
        new = sum(await self._store.commit(updates, self._clock()))
        return ledger.Recorded(counted=new, duplicates=len(events) - new, ignored=0)

    def only_orjson(body: bytes) -> Batch:
        orjson.loads(body)
        return Batch(())

    if mode == "dedup-only":
        ledger.Ledger.record = only_dedup  # type: ignore[assignment,method-assign]
    if mode in ("no-ledger", "orjson-only", "floor"):
        ledger.Ledger.record = answer_at_once  # type: ignore[assignment,method-assign]
    if mode in ("orjson-only", "floor"):
        parse = only_orjson if mode == "orjson-only" else (lambda body: Batch(()))
        hooks.parse_hook_body = parse  # type: ignore[attr-defined]
    return cli.main(list(argv))


@contextmanager
def exporter_mode(mode: str, workdir: Path) -> Iterator[Running]:
    port = free_port()
    argv = [sys.executable, "-m", "bench.http_breakdown", "--serve", mode, "--", "serve",
            f"--web.listen-address=127.0.0.1:{port}", f"--storage.path={workdir}",
            "--storage.backend=memory", "--log.level=info",
            "--web.max-body-size=16MiB"]  # fmt: skip
    with listening(argv, port, {**os.environ, "OKTA_HOOK_SECRET": SECRET}) as running:
        yield running


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--serve", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("rest", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        sys.exit(serve(args.serve, args.rest))
    bodies = UniqueBodies(50)
    rates: dict[str, list[float]] = {name: [] for name in ("bare", *MODES)}
    cpu: dict[str, list[float]] = {name: [] for name in rates}  # server CPU s per request
    with tempfile.TemporaryDirectory() as tmp:
        for round_no in range(args.rounds):
            for name, results in rates.items():
                workdir = Path(tmp) / f"{name}-{round_no}"
                server = bare_server() if name == "bare" else exporter_mode(name, workdir)
                with server as running:
                    before = cpu_seconds(running.pid)
                    result = asyncio.run(
                        post_load(f"{running.url}/hooks/okta", bodies, concurrency=16,
                                  seconds=args.seconds)
                    )  # fmt: skip
                    cpu[name].append((cpu_seconds(running.pid) - before) / result.requests)
                results.append(result.rps)
                used = cpu[name][-1] * 1e6
                print(f"round {round_no} {name:12}: {result.rps:6.0f} req/s "
                      f"(errors {result.errors}, server CPU {used:5.0f} us/request)")  # fmt: skip
    bare = statistics.median(rates["bare"])
    bare_cpu = statistics.median(cpu["bare"])
    print(f"machine: {machine()}")
    for name, values in rates.items():
        rps = statistics.median(values)
        used = statistics.median(cpu[name])
        print(f"{name:12} median {rps:6.0f} req/s, {1e6 / rps:5.0f} us/request, "
              f"{rps / bare:.2f} of the bare handler; server CPU {used * 1e6:5.0f} us/request, "
              f"bare/this {bare_cpu / used:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
