"""Which of Okta's `event_hook.delivery` events are about our event hook. Pure.

Okta's catalogue says only that `event_hook.delivery` is "Triggered when an event hook
delivery fails ... only when the delivery is unsuccessful" and documents no schema for its
targets (tests/payloads/okta-event-types_group-push-subset.json: `targets: null`); no
public sample of one was found. What follows is INFERRED from Okta's LogEvent shape, where
the object an event is about is a `target` with its `type` and `id`: the event hook is a
target of type `EventHook` whose `id` is the hook's id (`who...`, as the Event Hooks API
returns it). So, with `--okta.event-hook-id` set, an event counts unless it names another
event hook as a target; an event that names no hook at all still counts (a failed
delivery nobody can attribute is safer seen than hidden). Unset, every hook's count.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from exporter.ingest.classify import HOOK_DELIVERY_TYPE

EVENT_HOOK_TARGET: Final = "EventHook"


def names_other_hook(item: object, hook_id: str) -> bool:
    """True for an `event_hook.delivery` LogEvent whose targets name a hook other than ours."""
    if not isinstance(item, Mapping) or item.get("eventType") != HOOK_DELIVERY_TYPE:
        return False
    targets = item.get("target")
    if not isinstance(targets, list):
        return False
    hooks = [
        target.get("id")
        for target in targets
        if isinstance(target, Mapping) and target.get("type") == EVENT_HOOK_TARGET
    ]
    return bool(hooks) and hook_id not in hooks


def ours(items: Sequence[object], hook_id: str | None) -> Sequence[object]:
    """`items` without the delivery failures of other event hooks (all when `hook_id` is None)."""
    if hook_id is None:
        return items
    return [item for item in items if not names_other_hook(item, hook_id)]
