"""Which event_hook.delivery events are about our hook (the shape is inferred, see the module)."""

from __future__ import annotations

from exporter.okta.hookdelivery import names_other_hook, ours
from tests.conftest import NOW
from tests.okta_emulator import hook_delivery_event, log_event

OURS, THEIRS = "who0urs0000000000001", "whoTheirs00000000001"


def test_only_a_delivery_failure_naming_another_hook_is_dropped() -> None:
    mine = hook_delivery_event("a", NOW, hook_id=OURS)
    other = hook_delivery_event("b", NOW, hook_id=THEIRS)
    unnamed = {**hook_delivery_event("c", NOW), "target": [{"id": "x", "type": "User"}]}
    failure = log_event("d", "application.provision.group_push.pushed", NOW)
    assert not names_other_hook(mine, OURS)
    assert names_other_hook(other, OURS)
    assert not names_other_hook(unnamed, OURS)  # cannot tell: counted rather than hidden
    assert not names_other_hook(failure, OURS)  # other types pass untouched
    assert ours([mine, other, unnamed, failure], OURS) == [mine, unnamed, failure]


def test_without_a_hook_id_every_hook_counts_and_odd_items_pass() -> None:
    items = [hook_delivery_event("a", NOW, hook_id=THEIRS), "junk", {"target": None}]
    assert ours(items, None) == items
    assert ours(items, OURS) == items[1:]
