"""The cached exposition renders exactly what prometheus_client renders for the same series."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om
from prometheus_client.parser import text_string_to_metric_families

from exporter import catalogue
from exporter.counting import mapping
from exporter.counting.state import MetricState, Update
from exporter.ingest.classify import Kind
from exporter.ingest.labels import clean
from exporter.metrics.exposition import (
    SLICE_LINES,
    Exposition,
    GovernanceCollector,
    StateCollector,
    negotiate,
    sample_name,
)
from tests.builders import okta_id

FAILURES = catalogue.FAILURES.name
BY_KIND = catalogue.FAILURES_BY_KIND.name
REASONS = catalogue.FAILURE_REASONS.name
TERMINAL = "application.provision.group_push.mapping.update.or.delete.failed.with.error"
NASTY = 'q"uote\\ back\\slash ünï 🚀 {x}=, event_type="y" \\"'

# Every Accept header prometheus_client's choose_encoder tells apart.
ACCEPTS = [
    "",
    "text/plain; version=0.0.4",
    "text/plain; version=1.0.0; escaping=underscores",
    "text/plain; version=1.0.0; escaping=dots",
    "text/plain; version=1.0.0; escaping=values",
    "text/plain; version=1.0.0; escaping=allow-utf-8",
    "application/openmetrics-text",
    "application/openmetrics-text; version=1.0.0",
    "application/openmetrics-text; version=1.0.0; escaping=dots",
    "application/openmetrics-text; version=1.0.0; escaping=allow-utf-8",
    "application/openmetrics-text; version=2.0.0; escaping=underscores",
    # What Prometheus 3 sends by default.
    "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,"
    "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
]


def ids(app: str, group: str) -> tuple[str, str]:
    return okta_id("0oa", app), okta_id("00g", group)


def failure(
    app: str,
    group: str,
    actor: str,
    published: float = 1795000000.125,
    keys: tuple[str, str] | None = None,
) -> Update:
    pair = keys or ids(app, group)
    return Update(
        uuid="u",
        kind=Kind.TERMINAL_FAILURE,
        increments=(
            (FAILURES, (app, group, actor)),
            (BY_KIND, (app, TERMINAL, "terminal")),
            (REASONS, (app, "permission")),
        ),
        maxima=(
            (mapping.NAMES_SERIES, (*pair, app, group), published),
            (mapping.LAST_FAILURE_SERIES, pair, published),
            (mapping.STATE_SERIES, pair, mapping.encode(published, True)),
        ),
    )


def success(app: str, group: str, published: float, keys: tuple[str, str] | None = None) -> Update:
    pair = keys or ids(app, group)
    names = (mapping.NAMES_SERIES, (*pair, app, group), published)
    state = (mapping.STATE_SERIES, pair, mapping.encode(published, False))
    return Update(uuid="s", kind=Kind.SUCCESS, maxima=(names, state))


def reference(state: MetricState) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(StateCollector(state))
    return registry


def filled(count: int = 5) -> MetricState:
    state = MetricState()
    for i in range(count):
        for _ in range(i + 1):
            state.apply(failure(f"app {i % 3}", NASTY if i % 2 else f"group {i}", f"actor {i}"))
    return state


@pytest.mark.parametrize("accept", ACCEPTS)
def test_same_bytes_as_prometheus_client_for_every_format(accept: str) -> None:
    state = filled()
    exposition = Exposition(state, CollectorRegistry())
    fmt = negotiate(accept)
    assert exposition.render(fmt) == fmt.encoder(reference(state))
    # Changes after the first scrape are picked up, in place.
    state.apply(failure("app 0", "group 0", "actor 0", published=1795000999.0))
    state.apply(failure("app new", "group new", "actor new"))
    assert exposition.render(fmt) == fmt.encoder(reference(state))
    # The mapping state is decoded from its stored form into mapping_failing, also when
    # a later success flips it.
    state.apply(success("app 0", "group 0", published=1795001000.0))
    body = exposition.render(fmt)
    assert body == fmt.encoder(reference(state))
    name = sample_name(catalogue.MAPPING_FAILING, fmt).encode()
    assert name + b'{application="app 0",group="group 0"} 0.0' in body
    assert name + b'{application="app new",group="group new"} 1.0' in body


def test_openmetrics_with_values_escaping_keeps_families_whole() -> None:
    # prometheus_client 0.26's OpenMetrics encoder writes U__-escaped sample names under
    # unescaped TYPE lines there, so its own parser splits them into untyped families.
    # Ours names samples as its text encoder does for the same scheme.
    state = filled()
    fmt = negotiate("application/openmetrics-text; version=1.0.0; escaping=values")
    text = Exposition(state, CollectorRegistry()).render(fmt).decode()
    families = {f.name: f for f in parse_om(text)}  # type: ignore[no-untyped-call]
    assert families["okta_group_push_failures"].type == "counter"
    assert len(families["okta_group_push_failures"].samples) == 5


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(
        st.tuples(st.text(max_size=40), st.text(max_size=40), st.text(max_size=40)),
        min_size=1,
        max_size=8,
    ),
    openmetrics=st.booleans(),
)
def test_any_cleaned_labels_render_parseably_and_as_the_reference(
    values: list[tuple[str, str, str]], openmetrics: bool
) -> None:
    state = MetricState()
    expected: dict[tuple[str, str, str], float] = {}
    for app, group, actor in values:
        labels = (clean(app), clean(group), clean(actor))
        state.apply(failure(*labels))
        expected[labels] = expected.get(labels, 0.0) + 1
    fmt = negotiate("application/openmetrics-text" if openmetrics else "")
    body = Exposition(state, CollectorRegistry()).render(fmt)
    assert body == fmt.encoder(reference(state))
    parse = parse_om if openmetrics else text_string_to_metric_families
    families = {f.name: f for f in parse(body.decode())}
    samples = families["okta_group_push_failures"].samples
    got = {
        (s.labels["application"], s.labels["group"], s.labels["actor"]): s.value for s in samples
    }
    assert got == expected


def test_the_rest_of_the_registry_follows_without_the_event_families_twice() -> None:
    state = filled()
    registry = CollectorRegistry()
    registry.register(StateCollector(state))  # a reference view: must not be rendered again
    registry.register(GovernanceCollector(state))
    text = Exposition(state, registry).render(negotiate("")).decode()
    assert text.count("# TYPE okta_group_push_failures_total counter") == 1
    families = {f.name: f for f in text_string_to_metric_families(text)}
    (series,) = families["okta_group_push_exporter_series"].samples
    # failures, by kind, reasons; each mapping's names, last failure and state
    assert series.value == 5 + 3 + 3 + 5 + 5 + 5
    assert len(families["okta_group_push_mapping_failing"].samples) == 5


def test_slices_are_bounded_and_the_snapshot_is_consistent() -> None:
    state = MetricState()
    count = 3 * SLICE_LINES + 17
    for i in range(count):
        state.apply(failure(f"a{i}", "g", "x"))
    exposition = Exposition(state, CollectorRegistry())
    fmt = negotiate("")
    slices = exposition.slices(fmt)
    pieces: list[bytes] = []
    for piece in slices:
        # Events arriving mid-scrape go to the next scrape, never half into this one.
        state.apply(failure("late", "g", "x"))
        pieces.append(piece)
        assert piece.count(b"\n") <= SLICE_LINES + 2  # two for HELP and TYPE
    text = b"".join(pieces).decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    totals = {
        name: sum(s.value for s in families[name].samples)
        for name in ("okta_group_push_failures", "okta_group_push_failures_by_kind")
    }
    assert totals["okta_group_push_failures"] == totals["okta_group_push_failures_by_kind"]
    late = exposition.render(fmt).decode()
    assert 'application="late"' in late


def test_dropped_series_leave_the_exposition() -> None:
    state = filled()
    exposition = Exposition(state, CollectorRegistry())
    fmt = negotiate("")
    assert b'actor="actor 0"' in exposition.render(fmt)
    state.drop([(FAILURES, ("app 0", "group 0", "actor 0"), 1.0)])
    body = exposition.render(fmt)
    assert b'actor="actor 0"' not in body
    assert body == fmt.encoder(reference(state))


def samples(body: bytes, family: str) -> dict[tuple[str, ...], float]:
    families = {f.name: f for f in text_string_to_metric_families(body.decode())}
    if family not in families:
        return {}
    (spec,) = (m for m in catalogue.ALL_METRICS if m.name == family)
    return {
        tuple(s.labels.get(name, "") for name in spec.labels): s.value
        for s in families[family].samples
    }


def test_a_rename_moves_the_one_failing_series_to_the_new_names() -> None:
    """Mapping state is kept by Okta ids: a renamed app instance or group keeps one
    "failing now" series, shown under the names of the newest event."""
    state = MetricState()
    exposition = Exposition(state, CollectorRegistry())
    fmt = negotiate("")
    keys = ("0oa1", "00g1")
    state.apply(failure("Slack Finance", "Eng", "Ada", published=100.0, keys=keys))
    body = exposition.render(fmt)
    assert samples(body, "okta_group_push_mapping_failing") == {("Slack Finance", "Eng"): 1.0}
    # Both renamed; the success that follows clears the one series under the new names.
    state.apply(failure("Slack Treasury", "Engineering", "Ada", published=200.0, keys=keys))
    body = exposition.render(fmt)
    assert body == fmt.encoder(reference(state))
    assert samples(body, "okta_group_push_mapping_failing") == {
        ("Slack Treasury", "Engineering"): 1.0
    }
    assert samples(body, "okta_group_push_last_failure_timestamp_seconds") == {
        ("Slack Treasury", "Engineering"): 200.0
    }
    # An older event under the old names, read late, does not rename it back.
    state.apply(success("Slack Finance", "Eng", published=150.0, keys=keys))
    assert samples(exposition.render(fmt), "okta_group_push_mapping_failing") == {
        ("Slack Treasury", "Engineering"): 1.0
    }
    state.apply(success("Slack Treasury", "Engineering", published=300.0, keys=keys))
    body = exposition.render(fmt)
    assert body == fmt.encoder(reference(state))
    assert samples(body, "okta_group_push_mapping_failing") == {
        ("Slack Treasury", "Engineering"): 0.0
    }
    assert samples(body, "okta_group_push_mapping_info") == {
        ("Slack Treasury", "Engineering", "0oa1", "00g1", "", ""): 1.0
    }


def test_two_instances_of_one_app_are_two_mappings() -> None:
    """Two Slack workspaces: same catalogue name, their own ids and instance labels."""
    state = MetricState()
    state.apply(failure("Slack Finance", "Eng", "Ada", keys=("0oaA", "00g1")))
    state.apply(success("Slack Sales", "Eng", 1795000001.0, keys=("0oaB", "00g1")))
    body = Exposition(state, CollectorRegistry()).render(negotiate(""))
    assert samples(body, "okta_group_push_mapping_failing") == {
        ("Slack Finance", "Eng"): 1.0,
        ("Slack Sales", "Eng"): 0.0,
    }
    assert samples(body, "okta_group_push_mapping_info") == {
        ("Slack Finance", "Eng", "0oaA", "00g1", "", ""): 1.0,
        ("Slack Sales", "Eng", "0oaB", "00g1", "", ""): 1.0,
    }


def test_mappings_under_the_same_names_make_one_series_failing_if_either_is() -> None:
    """A cap (or a label policy) may show two id pairs alike: never a duplicate series."""
    state = MetricState()
    state.apply(failure("__other__", "Eng", "Ada", published=100.0, keys=("0oaA", "00g1")))
    state.apply(success("__other__", "Eng", 200.0, keys=("0oaB", "00g1")))
    exposition = Exposition(state, CollectorRegistry())
    fmt = negotiate("")
    body = exposition.render(fmt)
    assert body == fmt.encoder(reference(state))
    assert samples(body, "okta_group_push_mapping_failing") == {("__other__", "Eng"): 1.0}
    assert len(samples(body, "okta_group_push_mapping_info")) == 2


def test_mapping_info_lists_mappings_only_the_api_knows_and_events_without_ids() -> None:
    state = MetricState()
    state.apply(failure("Box", "Ops", "Ada", keys=("label:Box", "label:Ops")))  # a card
    api = {("0oa1", "00g1"): ("Slack Finance", "Eng")}
    exposition = Exposition(state, CollectorRegistry())
    exposition.follow_api(lambda: api)
    fmt = negotiate("")
    body = exposition.render(fmt)
    registry = CollectorRegistry()
    registry.register(StateCollector(state, lambda: api))
    assert body == fmt.encoder(registry)
    assert samples(body, "okta_group_push_mapping_info") == {
        ("Box", "Ops", "", "", "", ""): 1.0,  # no ids to show
        ("Slack Finance", "Eng", "0oa1", "00g1", "", ""): 1.0,
    }
    api = {}  # a new reading (or standby): the API's mapping is gone
    assert len(samples(exposition.render(fmt), "okta_group_push_mapping_info")) == 1


def parsed(body: bytes) -> dict[str, set[tuple[tuple[tuple[str, str], ...], float]]]:
    """Every family's samples, order aside."""
    return {
        family.name: {(tuple(sorted(s.labels.items())), s.value) for s in family.samples}
        for family in text_string_to_metric_families(body.decode())
    }


steps = st.lists(
    st.tuples(
        st.sampled_from(["fail", "succeed", "drop", "api"]),
        st.sampled_from([("0oaA", "00g1"), ("0oaB", "00g1"), ("label:Box", "label:Ops")]),
        st.sampled_from([("Slack", "Eng"), ("Slack Sales", "Eng"), ("__other__", "Eng")]),
        st.integers(1, 9),  # published: repeats, so ties and older events happen
    ),
    max_size=25,
)


@settings(max_examples=80, deadline=None)
@given(steps=steps)
def test_the_mapping_rows_kept_by_changes_equal_the_rows_derived_whole(
    steps: list[tuple[str, tuple[str, str], tuple[str, str], int]],
) -> None:
    """Renames, shared names, drops (series TTL) and readings, in any order: after each
    scrape the cached mapping families hold what `mapping.families` derives from scratch."""
    state = MetricState()
    api: dict[tuple[str, str], tuple[str, str]] = {}

    def reading() -> dict[tuple[str, str], tuple[str, str]]:
        return api  # a new object after each reading, as ReconcileMetrics has it

    exposition = Exposition(state, CollectorRegistry())
    exposition.follow_api(reading)
    fmt = negotiate("")
    for action, keys, names, published in steps:
        if action == "fail":
            state.apply(failure(*names, "Ada", published=float(published), keys=keys))
        elif action == "succeed":
            state.apply(success(*names, float(published), keys=keys))
        elif action == "drop":
            state.drop(
                [
                    (name, labels, value)
                    for name in mapping_families_sources(published)
                    for labels, value in state.series(name).items()
                    if labels[:2] == keys
                ]
            )
        else:
            api = {**api, keys: names} if published % 2 else {}
        expected = CollectorRegistry()
        expected.register(StateCollector(state, reading))
        assert parsed(exposition.render(fmt)) == parsed(fmt.encoder(expected))


def mapping_families_sources(seed: int) -> tuple[str, ...]:
    """Which stored mapping series a drop takes: all, or some (each expires on its own)."""
    every = (mapping.NAMES_SERIES, mapping.STATE_SERIES, mapping.LAST_FAILURE_SERIES)
    return every[seed % 3 :] if seed % 2 else every
