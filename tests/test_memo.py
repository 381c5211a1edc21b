"""The bounded memo behind ingest's per-event lookups."""

from __future__ import annotations

from exporter.ingest.memo import Memo


def test_a_memo_answers_what_it_was_given() -> None:
    memo: Memo[str, int] = Memo(size=4)
    memo.put("a", 1)
    assert memo.get("a") == 1 and memo.get("b") is None


def test_a_full_memo_starts_over_and_never_holds_more_than_its_size() -> None:
    memo: Memo[int, int] = Memo(size=3)
    for key in range(10):
        memo.put(key, key)
        assert len(memo) <= 3
    assert memo.get(9) == 9  # the newest entry is always there
    assert memo.get(0) is None  # forgotten when it started over
