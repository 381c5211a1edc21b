"""Label policy: sources, sanitising, allow and deny lists, and the actor's privacy modes."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import orjson
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from exporter.config import add_flags, build, label_policy
from exporter.ingest.events import Entity, Event, parse_log_event
from exporter.ingest.labels import HASH_LENGTH, OTHER, Filter, LabelPolicy, actor_hash, clean
from exporter.metrics.exposition import escape_value

TERMINAL = "application.provision.group_push.mapping.update.or.delete.failed.with.error"
KEY = b"k" * 32
PAYLOADS = Path(__file__).parent / "payloads"
# Any Unicode text, lone surrogates and control characters included (JSON can carry both).
ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=300)


def entity(display: str = "", alternate: str = "", id_: str = "") -> Entity:
    return Entity(id=id_, type="", alternate_id=alternate, display_name=display)


def event(
    application: Entity | None = None,
    group: Entity | None = None,
    actor: Entity | None = None,
    event_type: str = TERMINAL,
) -> Event:
    return Event(
        uuid="u",
        event_type=event_type,
        published=None,
        outcome="FAILURE",
        reason="",
        message="",
        actor=actor or entity("Ada Admin", "ada@example.com", "00u1"),
        # Real-shaped: the instance label is the alternateId, the catalogue name displayName.
        application=application or entity("Slack", "Slack Finance Workspace", "0oa1"),
        group=group or entity("Engineering", "eng", "00g1"),
    )


def configured(*argv: str) -> LabelPolicy:
    parser = argparse.ArgumentParser()
    add_flags(parser)
    return label_policy(build(parser.parse_args(list(argv)), {}))


def test_defaults_are_the_instance_label_and_display_names() -> None:
    labels = tuple(LabelPolicy().labels(event()))
    assert labels == ("Slack Finance Workspace", "Engineering", "Ada Admin", TERMINAL)


def test_default_application_is_the_alternate_id_of_a_real_app_instance() -> None:
    """The public Panther fixture: alternateId "AWS Production" is the instance label."""
    line = next(
        item
        for item in (PAYLOADS / "panther-analysis_okta-rule-test-events.ndjson")
        .read_text()
        .splitlines()
        if "AWS Production" in item
    )
    parsed = parse_log_event(orjson.loads(line))
    assert isinstance(parsed, Event)
    assert parsed.application.display_name == "AWS IAM Identity Center"
    assert LabelPolicy().mapping(parsed)[0] == "AWS Production"
    assert configured().mapping(parsed)[0] == "AWS Production"  # the flag's default too
    assert LabelPolicy(application="display_name").mapping(parsed)[0] == "AWS IAM Identity Center"


def test_okta_placeholder_unknown_is_no_value_in_any_case() -> None:
    """Okta writes `unknown` where it has nothing: the chain goes on to a real field."""
    # The public Panther actor {"id":"unknown","alternateId":"admin","displayName":"unknown"}.
    panther_actor = entity("unknown", "admin", "unknown")
    assert LabelPolicy().labels(event(actor=panther_actor)).actor == "admin"
    assert panther_actor.label() == "admin"
    group = entity("Finance", "UNKNOWN", "00g1")
    assert LabelPolicy(group="alternate_id").labels(event(group=group)).group == "Finance"
    app = entity("Slack", "Unknown", "0oa1")
    assert LabelPolicy().labels(event(application=app)).application == "Slack"
    assert app.label() == "Slack"
    # Only placeholders: the id, then `unknown` itself.
    assert LabelPolicy().labels(event(group=entity("unknown", "UNKNOWN", "00g7"))).group == "00g7"
    assert LabelPolicy().labels(event(group=entity("unknown", "unknown"))).group == "unknown"
    assert entity("UNKNOWN", "unknown", "unknown").label() == "unknown"
    # A name that merely contains the word is a name.
    assert LabelPolicy().labels(event(group=entity("unknown users"))).group == "unknown users"


def test_sources_are_chosen_per_label() -> None:
    policy = configured("--labels.application", "id", "--labels.group", "alternate_id")
    labels = policy.labels(event())
    assert (labels.application, labels.group) == ("0oa1", "eng")
    policy = configured("--labels.application", "display_name")
    assert policy.labels(event()).application == "Slack"


def test_an_empty_source_falls_back_to_the_other_fields_then_unknown() -> None:
    policy = LabelPolicy(application="id")
    assert policy.labels(event(application=entity("Slack"))).application == "Slack"
    assert policy.labels(event(application=entity(alternate="slack"))).application == "slack"
    assert policy.labels(event(application=entity())).application == "unknown"
    # A value that sanitising empties counts as empty.
    assert LabelPolicy().labels(event(group=entity("\x00\x1f ", "eng"))).group == "eng"


def test_values_failing_allow_or_deny_become_other() -> None:
    policy = configured(
        "--labels.application.allow",
        "Slack|AWS.*",
        "--labels.group.deny",
        "tmp-.*",
        "--labels.actor.deny",
        r".*\(service\)",
    )
    assert policy.labels(event(application=entity("AWS IAM"))).application == "AWS IAM"
    assert policy.labels(event(application=entity("Zoom"))).application == OTHER
    # The patterns match whole values: "Slack Beta" is not "Slack".
    assert policy.labels(event(application=entity("Slack Beta"))).application == OTHER
    assert policy.labels(event(group=entity("tmp-42"))).group == OTHER
    assert policy.labels(event(group=entity("prod-tmp-42"))).group == "prod-tmp-42"
    assert policy.labels(event(actor=entity("sync (service)"))).actor == OTHER


def test_actor_none_removes_the_actor_from_the_series() -> None:
    assert LabelPolicy(actor="none").labels(event()).actor == ""


def test_actor_hash_is_a_keyed_hash_of_the_okta_id() -> None:
    policy = LabelPolicy(actor="hash", hash_key=KEY)
    value = policy.labels(event()).actor
    assert value == actor_hash(KEY, "00u1")
    assert re.fullmatch(f"[0-9a-f]{{{HASH_LENGTH}}}", value)
    # The same person under a new login or name keeps the series.
    renamed = entity("Ada Lovelace", "ada.l@example.com", "00u1")
    assert policy.labels(event(actor=renamed)).actor == value
    assert LabelPolicy(actor="hash", hash_key=b"other key").labels(event()).actor != value
    assert LabelPolicy(actor="hash").needs_hash_key
    assert not policy.needs_hash_key


def test_actor_hash_filters_match_the_hashed_identity() -> None:
    policy = LabelPolicy(
        actor="hash", hash_key=KEY, filters={"actor": Filter(deny=re.compile("00u9.*"))}
    )
    assert policy.labels(event(actor=entity("Bot", id_="00u9bot"))).actor == OTHER
    assert policy.labels(event(actor=entity())).actor == "unknown"  # nothing personal to hide


@given(identity=st.text(min_size=1, max_size=50), key=st.binary(min_size=1, max_size=64))
def test_hash_mode_is_stable(identity: str, key: bytes) -> None:
    actor = Entity(id=identity)
    first = LabelPolicy(actor="hash", hash_key=key).labels(event(actor=actor)).actor
    again = LabelPolicy(actor="hash").with_hash_key(key).labels(event(actor=actor)).actor
    assert first == again
    cleaned = clean(identity)
    if cleaned and cleaned != "unknown":
        assert first == actor_hash(key, cleaned)
        assert len(first) == HASH_LENGTH
        assert cleaned not in first or len(cleaned) <= 2  # short ids can occur by chance


@given(value=ANY_TEXT, max_length=st.integers(1, 200))
def test_clean_gives_valid_utf8_without_controls_within_the_length(
    value: str, max_length: int
) -> None:
    cleaned = clean(value, max_length)
    cleaned.encode("utf-8")  # raises on a lone surrogate
    assert len(cleaned) <= max_length
    assert not re.search(r"[\x00-\x1f\x7f-\x9f]", cleaned)
    assert clean(cleaned, max_length) == cleaned  # idempotent


@given(value=ANY_TEXT)
def test_any_label_input_renders_to_a_parseable_exposition_line(value: str) -> None:
    labels = LabelPolicy().labels(event(application=entity(value), group=entity(value)))
    line = f'm{{application="{escape_value(labels.application)}",group="x"}} 1.0\n'
    (family,) = text_string_to_metric_families(line)
    (sample,) = family.samples
    assert sample.labels == {"application": labels.application, "group": "x"}
