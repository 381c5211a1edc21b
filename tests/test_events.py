"""Parsing: every real Okta payload and the synthetic group-push ones become Event records."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exporter.ingest import jsontext
from exporter.ingest.events import (
    Batch,
    Entity,
    Event,
    PayloadError,
    Skipped,
    parse_hook_envelope,
    parse_log_event,
    parse_log_events,
    parse_timestamp,
)
from exporter.ingest.hookbody import parse_hook_body
from exporter.ingest.jsontext import MAX_DEPTH, json_depth, loads
from exporter.ingest.workflows import parse_workflows_card, parse_workflows_payload
from tests.conftest import PAYLOADS, payload

TERMINAL = "application.provision.group_push.mapping.update.or.delete.failed.with.error"


def test_okta_docs_hook_sample_parses_with_targets_picked_by_type() -> None:
    batch = parse_hook_envelope(payload("okta-docs_event-hook-delivery_user-session-start.json"))
    assert batch.delivery_id == "85b60edb-4263-4e13-993b-818e26201052"
    assert batch.skipped == ()
    (event,) = batch.events
    assert event.uuid == "f1d0b993-cc19-11ed-a688-db22c99ef6c4"
    assert event.event_type == "user.session.start"
    assert event.actor.label() == "Admin Name"
    # The AppInstance is the second target; an AuthenticatorEnrollment comes first.
    assert event.application.display_name == "Okta Admin Console"
    assert event.group == Entity()
    assert event.published == pytest.approx(1679864732.159)


def test_workflows_templates_hook_sample_parses() -> None:
    batch = parse_hook_envelope(
        payload("okta-workflows-templates_event-hook-delivery_breached-credential.json")
    )
    assert len(batch.events) == 1
    assert batch.events[0].event_type == "security.breached_credential.detected"


@pytest.mark.parametrize(
    "name",
    [
        "okta-openapi_list-logs_response.json",
        "okta-openapi_list-logs_additional-security-context.json",
        "elastic-integrations_okta-system-events_excerpt.ndjson",
        "panther-analysis_okta-rule-test-events.ndjson",
    ],
)
def test_real_system_log_events_never_crash_the_parser(name: str) -> None:
    """Numeric versions, null targets, odd timestamps and unknown fields are all tolerated."""
    items = payload(name)
    batch = parse_log_events(items if isinstance(items, list) else [items])
    assert len(batch.events) + len(batch.skipped) == (len(items) if isinstance(items, list) else 1)
    for event in batch.events:
        assert event.uuid
        assert event.actor.label()


def test_null_target_gives_unknown_labels() -> None:
    events = payload("elastic-integrations_okta-system-events_excerpt.ndjson")
    assert events[0]["target"] is None
    parsed = parse_log_event(events[0])
    assert isinstance(parsed, Event)
    assert parsed.application.label() == "unknown"
    assert parsed.group.label() == "unknown"


def test_synthetic_hook_delivery_counts_good_events_and_skips_bad_items() -> None:
    batch = parse_hook_envelope(payload("synthetic_group-push-hook-delivery.json"))
    assert [e.event_type for e in batch.events] == [TERMINAL, TERMINAL]
    assert sorted(s.reason for s in batch.skipped) == ["missing_uuid", "not_object"]
    aws, slack = batch.events
    assert aws.application.label() == "AWS IAM Identity Center"
    assert aws.group.label() == "Engineering"
    assert aws.mapping.type == "GroupPushMapping"
    assert aws.actor.label() == "Okta System"
    assert aws.outcome == "FAILURE"
    assert aws.reason.startswith("Linked group is missing")
    # Targets in reverse order still land on the right labels.
    assert (slack.application.label(), slack.group.label()) == ("Slack", "Finance")


def test_label_falls_back_from_display_name_to_alternate_id_to_id() -> None:
    assert Entity(id="1", alternate_id="alt", display_name="Name").label() == "Name"
    assert Entity(id="1", alternate_id="alt").label() == "alt"
    assert Entity(id="1").label() == "1"
    assert Entity().label() == "unknown"


def test_targets_without_type_fall_back_to_okta_id_prefixes() -> None:
    parsed = parse_log_event(
        {"uuid": "u", "target": [{"id": "00gabc", "displayName": "G"}, {"id": "0oaxyz"}]}
    )
    assert isinstance(parsed, Event)
    assert parsed.group.label() == "G"
    assert parsed.application.label() == "0oaxyz"


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ("text", "not_object"),
        (42, "not_object"),
        (None, "not_object"),
        ({"eventType": TERMINAL}, "missing_uuid"),
        ({"uuid": "   "}, "missing_uuid"),
        ({"uuid": ["a"]}, "missing_uuid"),
    ],
)
def test_items_that_cannot_count_are_skipped_with_a_reason(item: object, reason: str) -> None:
    assert parse_log_event(item) == Skipped(reason)


@pytest.mark.parametrize(
    "field_values",
    [
        {"target": "nonsense"},
        {"target": [1, "x", None]},
        {"actor": "root"},
        {"outcome": None},
        {"published": {"nested": True}},
        {"version": 0},
        {"eventType": 5},
    ],
)
def test_wrong_field_types_become_empty_values_not_errors(field_values: dict[str, Any]) -> None:
    assert isinstance(parse_log_event({"uuid": "u1", **field_values}), Event)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-08-13T15:58:20.353Z", 1723564700.353),
        ("2020-11-25 21:27:03.496000000", 1606339623.496),
        ("2024-08-13T15:58:20+02:00", 1723557500.0),
        (1723564700353, 1723564700.353),
        (1723564700, 1723564700.0),
        ("yesterday", None),
        ("2024-13-45T99:99:99Z", None),
        (True, None),
        (None, None),
        (-5, None),
        # Beyond year 9999 (as seconds, or as milliseconds): no time a mapping state holds.
        (1e308, None),
        (253_402_300_800_000, None),
        (float("nan"), None),
        (10**400, None),  # past float's range: JSON integers decode exactly (see below)
    ],
)
def test_timestamps(text: object, expected: float | None) -> None:
    result = parse_timestamp(text)
    if expected is None:
        assert result is None
    else:
        assert result == pytest.approx(expected)


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ([], "not a JSON object"),
        ({"eventType": "user.session.start", "data": {"events": []}}, "eventType must be"),
        ({"eventType": "com.okta.event_hook"}, "'data' is missing"),
        ({"data": {"events": {}}}, "'data.events' is missing or not a list"),
    ],
)
def test_documents_that_are_not_hook_envelopes_are_rejected(document: object, reason: str) -> None:
    with pytest.raises(PayloadError, match=reason):
        parse_hook_envelope(document)


def test_invalid_json_is_a_payload_error_with_one_line() -> None:
    with pytest.raises(PayloadError, match=r"^invalid JSON") as info:
        loads(b'{"data": ')
    assert "\n" not in str(info.value)


def test_integers_past_64_bits_decode_exactly_and_cost_no_event() -> None:
    """msgspec keeps JSON integers exact (orjson, the decoder before it, made them floats
    and refused those past float's range): the event still counts, without a time."""
    assert loads(b'{"n": 123456789012345678901234567890}') == {"n": 123456789012345678901234567890}
    item = {"uuid": "u1", "eventType": TERMINAL, "published": 1}
    text = json.dumps(item).replace('"published": 1', '"published": 1' + "0" * 400)
    event = parse_log_event(loads(text))
    assert isinstance(event, Event) and event.uuid == "u1" and event.published is None


def test_event_details_nested_past_the_recursion_limit_are_no_details() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    event = parse_workflows_card({"Event ID": "u1", "Event Details": deep})
    assert isinstance(event, Event) and event.uuid == "u1"
    # A lone surrogate in the text is not JSON either.
    assert isinstance(parse_workflows_card({"Event ID": "u1", "Event Details": '"\ud800"'}), Event)
    assert isinstance(parse_workflows_card({"Event ID": "u1", "Event Details": "\ud800"}), Event)


def test_workflows_card_uses_event_details_uuid_and_fields() -> None:
    card = payload("synthetic_workflows-card_with-details.json")
    event = parse_workflows_card(card)
    assert isinstance(event, Event)
    assert event.uuid == "7f3c1d2e-0003-11f0-9a1b-000000000001"
    assert event.event_type == TERMINAL
    assert (event.application.label(), event.group.label()) == ("Slack", "Engineering")
    assert event.outcome == "FAILURE"


def test_workflows_card_keys_match_ignoring_case_spaces_and_underscores() -> None:
    event = parse_workflows_card(payload("synthetic_workflows-card_snake-case-no-details.json"))
    assert isinstance(event, Event)
    assert event.uuid == "7f3c1d2e-0003-11f0-9a1b-000000000002"
    assert event.event_type == TERMINAL  # the card's own type when it names none
    assert event.actor.label() == "Bob Builder"
    assert event.application.label() == "AWS IAM Identity Center"
    assert event.group.label() == "Finance"
    assert event.published == pytest.approx(1795251600.0)  # 2026-11-21T09:00:00Z


def test_workflows_event_details_as_object_is_accepted() -> None:
    card = payload("synthetic_workflows-card_with-details.json")
    card["Event Details"] = loads(card["Event Details"])
    card.pop("Event ID")
    event = parse_workflows_card(card)
    assert isinstance(event, Event)
    assert event.uuid == "7f3c1d2e-0003-11f0-9a1b-000000000001"


def test_workflows_card_without_any_id_is_skipped() -> None:
    assert parse_workflows_card({"Message": "hi", "Event Details": "{not json"}) == Skipped(
        "missing_uuid"
    )


def test_workflows_payload_accepts_a_list_and_rejects_scalars() -> None:
    card = payload("synthetic_workflows-card_with-details.json")
    assert len(parse_workflows_payload([card, "junk"]).skipped) == 1
    with pytest.raises(PayloadError):
        parse_workflows_payload("card")


# --- the typed fast path for hook bodies decides exactly as the lenient one -------------

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from([TERMINAL, "AppInstance", "UserGroup", "2026-11-20T09:15:00.123Z"])
)
_json = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)


def _sometimes(values: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.one_of(values, values, values, _json)


_entity = st.dictionaries(
    st.sampled_from(["id", "type", "alternateId", "displayName", "other"]), _sometimes(_scalars)
)
_log_event = st.dictionaries(
    st.sampled_from(
        ["uuid", "eventType", "published", "displayMessage", "outcome", "actor", "target", "client"]
    ),
    st.one_of(
        _scalars,
        _entity,
        st.lists(_sometimes(_entity), max_size=3),
        st.fixed_dictionaries({}, optional={"result": _scalars, "reason": _scalars}),
        _json,
    ),
)
_envelope = st.fixed_dictionaries(
    {},
    optional={
        "eventType": st.sampled_from(["com.okta.event_hook", "other", None, 1]),
        "eventId": _scalars,
        "data": _sometimes(st.fixed_dictionaries({"events": st.lists(_sometimes(_log_event))})),
    },
)


def _outcome(parse: Callable[[bytes], Batch], body: bytes) -> object:
    try:
        return parse(body)
    except PayloadError as exc:
        return ("400", str(exc))


@settings(max_examples=300, deadline=None)
@given(document=st.one_of(_envelope, _envelope, _json))
def test_fast_hook_decoding_decides_as_the_lenient_path(document: object) -> None:
    body = json.dumps(document).encode()  # stdlib: keeps integers past 64 bits as digits
    lenient = _outcome(lambda b: parse_hook_envelope(loads(b)), body)
    assert _outcome(parse_hook_body, body) == lenient


_published = st.builds(
    "".join,
    st.tuples(
        st.sampled_from(["2026-11-20", "1969-12-31", "0001-01-01", "2024-02-29", "2023-02-29"]),
        st.sampled_from(["T", "t", " ", "_"]),
        st.sampled_from(["09:15:00", "23:59:60", "24:00:00", "09:15", "9:15:00"]),
        st.sampled_from(["", ".1", ".123", ".123456", ".1234567", ".123456789", ".9999995", "."]),
        st.sampled_from(["Z", "z", "", "+00:00", "-07:30", "+0200", "+14:00", "+24:00", "+02"]),
    ),
)


@settings(max_examples=500, deadline=None)
@given(published=_published)
def test_fast_hook_decoding_reads_every_time_form_as_the_lenient_path(published: str) -> None:
    """The fast path reads `published` with msgspec; parse_timestamp must agree exactly."""
    body = json.dumps({"data": {"events": [{"uuid": "a", "published": published}]}}).encode()
    (fast,) = parse_hook_body(body).events
    (lenient,) = parse_hook_envelope(loads(body)).events
    assert fast.published == lenient.published


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b"",
        b"\xef\xbb\xbf{}",
        b'{"data": {"events": [{"uuid": "\\ud800"}]}}',
        b'{"data": {"events": [{"uuid": "a\xff"}]}}',
        b'{"data": {"events": ' + b"[" * 5000 + b"]" * 5000 + b"}}",
        b'{"data": {"events": [{"uuid": "a", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}]}}",
    ],
)
def test_fast_hook_decoding_refuses_what_the_lenient_path_refuses(body: bytes) -> None:
    with pytest.raises(PayloadError) as lenient:
        parse_hook_envelope(loads(body))
    with pytest.raises(PayloadError) as fast:
        parse_hook_body(body)
    assert str(fast.value) == str(lenient.value)


def test_fast_hook_decoding_skips_deep_fields_it_does_not_read() -> None:
    # Nested 40 deep inside a field the exporter ignores: never built into objects, so
    # nothing can recurse over it later; the lenient path refuses the whole body.
    body = (
        b'{"data": {"events": [{"uuid": "a", "eventType": "t", "client": '
        + b"[" * 40
        + b"]" * 40
        + b"}]}}"
    )
    batch = parse_hook_body(body)
    assert [e.uuid for e in batch.events] == ["a"]
    with pytest.raises(PayloadError, match="nested deeper"):
        parse_hook_envelope(loads(body))


@settings(max_examples=300, deadline=None)
@given(
    text=st.lists(st.sampled_from("0123456789 +-:.TZ\u0661a"), min_size=1, max_size=3).flatmap(
        lambda chars: st.tuples(
            st.just(chars), st.lists(st.integers(0, 23), min_size=len(chars), max_size=len(chars))
        )
    )
)
def test_okta_timestamp_shortcut_agrees_with_the_general_pattern(
    text: tuple[list[str], list[int]],
) -> None:
    """Canonical Okta times skip the general pattern; any near miss must read the same."""
    value = list("2026-11-28T10:00:00.123Z")
    for char, position in zip(*text, strict=True):
        value[position] = char
    mutated = "".join(value)
    padded = f" {mutated} "  # the same text past the shortcut's exact-shape test
    assert parse_timestamp(mutated) == parse_timestamp(padded)


def test_repeated_actor_and_target_texts_are_decoded_once_and_kept_bounded() -> None:
    from exporter.ingest.hookbody import _Texts  # noqa: PLC0415 - the memo behind the fast path

    decoded: list[bytes] = []

    def decode(text: bytes) -> str:
        decoded.append(text)
        return text.decode()

    texts = _Texts(decode, size=2, longest=8)
    first = texts(msgspec.Raw(b'"one"'))
    assert texts(msgspec.Raw(b'"one"')) is first  # the same object, decoded once
    texts(msgspec.Raw(b'"two"'))
    texts(msgspec.Raw(b'"three"'))  # full: starts over
    texts(msgspec.Raw(b'"one"'))
    long = b'"' + b"x" * 20 + b'"'
    texts(msgspec.Raw(long))
    texts(msgspec.Raw(long))  # too long to keep: decoded each time
    assert decoded == [b'"one"', b'"two"', b'"three"', b'"one"', long, long]
    assert len(texts._memo) <= 2


# --- the depth scan reads each byte once (issue 15, item 1) --------------------------------


class _ScanSpy:
    """Wraps one of the depth scan's compiled patterns and records the bytes each call reads.

    Both patterns are a character class or a possessive loop: the C matcher reads exactly
    the bytes from where it starts to where it stops, so these spans are its whole work.
    """

    def __init__(self, pattern: re.Pattern[bytes], spans: list[tuple[int, int]]) -> None:
        self._pattern = pattern
        self._spans = spans

    def search(self, body: bytes, position: int) -> re.Match[bytes] | None:
        found = self._pattern.search(body, position)
        self._spans.append((position, found.end() if found else len(body)))
        return found

    def match(self, body: bytes, position: int) -> re.Match[bytes] | None:
        found = self._pattern.match(body, position)
        self._spans.append((position, found.end() + 1 if found else position))
        return found


HOSTILE_BODIES = {
    "unterminated string of escaped quotes": b"[" * 33 + b'"' + b'\\"' * 20000,
    "many short strings": b"[" * 33 + b'"",' * 20000,
    "quotes and backslashes": b"[" * 33 + b'"\\\\"' * 20000 + b'"',
    "a body of --web.max-body-size": b"[" * 33 + b'"' + b'\\"' * (2 * 1024 * 1024 - 20),
}


@pytest.mark.parametrize("body", HOSTILE_BODIES.values(), ids=HOSTILE_BODIES.keys())
def test_json_depth_reads_each_byte_of_a_hostile_body_at_most_once(
    body: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scan's spans never overlap: work is linear in the body, not in body x quotes."""
    spans: list[tuple[int, int]] = []
    monkeypatch.setattr(jsontext, "_STRUCTURE", _ScanSpy(jsontext._STRUCTURE, spans))
    monkeypatch.setattr(jsontext, "_STRING_CONTENT", _ScanSpy(jsontext._STRING_CONTENT, spans))
    assert json_depth(body) == 33
    read = sum(end - start for start, end in spans)
    assert read <= len(body) + 1
    assert all(later[0] >= earlier[1] - 1 for earlier, later in itertools.pairwise(spans))
    with pytest.raises(PayloadError, match="nested deeper"):
        loads(body)


@pytest.mark.parametrize(
    ("body", "depth"),
    [
        (b'[{"a[": [1, "x\\"]"]}]', 3),
        (b'"[["', 0),
        (b'["\\\\", [[]]]', 3),
        (b'{"a": "\\u005b", "b": {}}', 2),
        (b'["unterminated [[[', 1),
        (b"", 0),
    ],
)
def test_json_depth_ignores_brackets_inside_strings(body: bytes, depth: int) -> None:
    assert json_depth(body) == depth


# --- the fast decoder, fuzzed and compared on deep and large bodies (issue 15, item 14) ------

# Fields of a LogEvent the fast decoder reads (and so types), and one it skips.
_READ_FIELDS = ("uuid", "eventType", "published", "displayMessage", "outcome", "actor", "target")
_ENVELOPE_DEPTH = 4  # {"data": {"events": [{field: ...}]}}: a field's value is at level 4


def _nested(leaf: object, shape: list[str | None]) -> object:
    """`leaf` wrapped in one list (None) or one-key object (the key) per entry of `shape`."""
    value = leaf
    for key in shape:
        value = [value] if key is None else {key: value}
    return value


_wrappers = st.sampled_from([None, "k", "id", "displayName", "result", "events"])


@settings(max_examples=400, deadline=None)
@given(
    field=st.sampled_from((*_READ_FIELDS, "client")),
    shape=st.integers(1, MAX_DEPTH + 3).flatmap(
        lambda n: st.lists(_wrappers, min_size=n, max_size=n)
    ),
    leaf=_scalars,
    inside_entity=st.booleans(),
)
def test_fast_and_lenient_decoders_agree_on_bodies_nested_up_to_max_depth(
    field: str, shape: list[str | None], leaf: object, inside_entity: bool
) -> None:
    """Nesting anywhere, in a field the fast decoder reads or not, up to MAX_DEPTH levels:
    the same batch or the same 400. Past it the lenient decoder refuses the body; the fast
    one refuses it alike, or accepts it when the nesting is only in what it skips."""
    value = _nested(leaf, shape)
    depth = _ENVELOPE_DEPTH + len(shape)
    if inside_entity and field in ("actor", "target"):
        entity = {"id": "0oa1", "type": "AppInstance", "displayName": value}
        value, depth = (entity, depth + 1) if field == "actor" else ([entity], depth + 2)
    event = {"uuid": "u1", "eventType": TERMINAL, field: value}
    body = json.dumps({"eventType": "com.okta.event_hook", "data": {"events": [event]}}).encode()
    fast, lenient = _outcome(parse_hook_body, body), _outcome(_lenient, body)
    if depth <= MAX_DEPTH:
        assert fast == lenient
    else:
        assert lenient == ("400", f"JSON nested deeper than {MAX_DEPTH} levels")
        assert fast == lenient or isinstance(fast, Batch)


def _lenient(body: bytes) -> Batch:
    return parse_hook_envelope(loads(body))


_SAMPLE_EVENTS: list[dict[str, Any]] = [
    event
    for name in (
        "synthetic_group-push-hook-delivery.json",
        "okta-docs_event-hook-delivery_user-session-start.json",
        "okta-workflows-templates_event-hook-delivery_breached-credential.json",
    )
    for event in payload(name)["data"]["events"]
    if isinstance(event, dict)
]


@settings(max_examples=25, deadline=None)
@given(
    copies=st.integers(min_value=100, max_value=3000),
    damage=st.lists(
        st.tuples(st.integers(min_value=0), st.sampled_from(_READ_FIELDS), _json), max_size=5
    ),
)
def test_fast_and_lenient_decoders_agree_on_large_bodies(
    copies: int, damage: list[tuple[int, str, object]]
) -> None:
    """Thousands of real LogEvents, a few with a field of another type: the same outcome."""
    events = [
        {**_SAMPLE_EVENTS[i % len(_SAMPLE_EVENTS)], "uuid": f"uuid-{i}"} for i in range(copies)
    ]
    for index, field, value in damage:
        events[index % copies] = {**events[index % copies], field: value}
    body = json.dumps({"eventType": "com.okta.event_hook", "data": {"events": events}}).encode()
    assert _outcome(parse_hook_body, body) == _outcome(_lenient, body)


def test_fast_and_lenient_decoders_agree_on_a_body_of_the_default_max_body_size() -> None:
    event = _SAMPLE_EVENTS[0]
    size = len(json.dumps(event))
    events = [{**event, "uuid": f"uuid-{i}"} for i in range(4 * 1024 * 1024 // size)]
    body = json.dumps({"data": {"events": events}}).encode()
    assert 3 * 1024 * 1024 < len(body) <= 4 * 1024 * 1024
    fast = parse_hook_body(body)
    assert fast == _lenient(body)
    assert len(fast.events) == len(events)


@settings(max_examples=500, deadline=None)
@given(data=st.binary(max_size=300))
def test_fast_decoder_on_any_bytes_gives_a_batch_or_a_payload_error(data: bytes) -> None:
    outcome = _outcome(parse_hook_body, data)
    assert isinstance(outcome, Batch | tuple)  # a batch or ("400", reason), never a crash
    if isinstance(_outcome(_lenient, data), Batch):
        assert outcome == _outcome(_lenient, data)


_HOOK_BODY = (PAYLOADS / "synthetic_group-push-hook-delivery.json").read_bytes()


@settings(max_examples=500, deadline=None)
@given(
    edits=st.lists(
        st.tuples(st.integers(min_value=0), st.integers(0, 2), st.binary(min_size=1, max_size=4)),
        min_size=1,
        max_size=6,
    )
)
def test_fast_decoder_on_mutated_real_bodies_agrees_with_the_lenient_one(
    edits: list[tuple[int, int, bytes]],
) -> None:
    """A real delivery with bytes replaced, inserted or deleted: never anything but a batch
    or a 400, and the lenient decoder's batch whenever it has one."""
    body = bytearray(_HOOK_BODY)
    for position, operation, data in edits:
        at = position % (len(body) + 1)
        if operation == 0:
            body[at : at + len(data)] = data
        elif operation == 1:
            body[at:at] = data
        else:
            del body[at : at + len(data)]
    fast = _outcome(parse_hook_body, bytes(body))
    assert isinstance(fast, Batch | tuple)  # a batch or ("400", reason), never a crash
    lenient = _outcome(_lenient, bytes(body))
    if isinstance(lenient, Batch):
        assert fast == lenient
