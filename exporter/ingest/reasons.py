"""Why a push failed, as one of a few fixed words. Pure and table-driven.

Okta puts the downstream app's own error text in `outcome.reason` (and sometimes in
`displayMessage`): free text that names groups and users, so it can never be a label. This
module maps it onto a bounded set that a dashboard can group by and a runbook can act on.

The rules are tried in order and the first match wins, so the more specific causes come
first: a "Bad Gateway. Errors reported by remote server: ... already exists" is a
duplicate, not a network problem, and a "403 ... rate limit exceeded" is rate limiting.

The rules are lower-case patterns matched against `str.casefold()` of the text, not
with re.IGNORECASE (nearly 3x slower on a typical text). The two differ only outside
ASCII: casefold turns "ß" into "ss" and a ligature such as "ﬁ" into "fi", while
IGNORECASE matches the dotted "İ" and the Kelvin sign to "i" and "k". Okta's and the
apps' error texts are English.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Final

CREDENTIALS: Final = "credentials"
PERMISSION: Final = "permission"
RATE_LIMITED: Final = "rate_limited"
NOT_FOUND: Final = "not_found"
DUPLICATE: Final = "duplicate"
VALIDATION: Final = "validation"
NETWORK: Final = "network"
OTHER: Final = "other"

# Every value the `reason` label can take.
REASONS: Final = (
    CREDENTIALS,
    PERMISSION,
    RATE_LIMITED,
    NOT_FOUND,
    DUPLICATE,
    VALIDATION,
    NETWORK,
    OTHER,
)

# Event types that say the reason themselves (Okta's catalog, research/okta.md section 1.1).
TYPE_REASONS: Final[dict[str, str]] = {
    "app.user_management.grouppush.mapping.created.from.rule.error.duplicate": DUPLICATE,
    "app.user_management.grouppush.mapping.created.from.rule.error.validation": VALIDATION,
    # "A new mapping from a rule was not created due to a duplicate group name" (and the
    # same for a mapping about to be created, or after an upsert of the group).
    **dict.fromkeys(
        (
            "application.provision.group_push.mapping.created.from.rule.warning.duplicate.name",
            "application.provision.group_push.mapping.created.from.rule.warning.duplicate.name"
            ".tobecreated",
            "application.provision.group_push.mapping.created.from.rule.warning.upsertGroup"
            ".duplicate.name",
        ),
        DUPLICATE,
    ),
}

# (reason, pattern) in priority order. Patterns are matched against the case-folded error
# text with the event's own group, app and mapping names blanked out first, so that a group
# called "Duplicate Admins" or "Team 404" does not decide the reason. (Folding once and
# matching without re.IGNORECASE is about 3x faster: these alternations are tried at every
# position of the text.)
RULES: Final[tuple[tuple[str, re.Pattern[str]], ...]] = tuple(
    (reason, re.compile(pattern))
    for reason, pattern in (
        (
            RATE_LIMITED,
            r"\b429\b|too many requests|rate[ _-]?limit|throttl|quota (exceeded|reached)"
            r"|ratelimited",
        ),
        (
            CREDENTIALS,
            r"\b401\b|unauthori[sz]ed|unauthenticated|authentication (failed|error|required)"
            r"|invalid[ _]?(api[ _]?)?(token|credential|client|key|password|auth)"
            r"|invalid[ _]?authentication[ _]?token|invalid_grant|not_authed|token_revoked"
            r"|(token|credentials?|password|secret|certificate)s? (is |are |has |have )?"
            r"(been )?(expired|revoked|invalid|incorrect)"
            r"|bad credentials|login failed|expired (token|credential|password)",
        ),
        (
            PERMISSION,
            r"\b403\b|forbidden|access (is )?denied|permission|not authori[sz]ed"
            r"|insufficient[ _]?(privilege|scope|right|access|permission)|missing_scope"
            r"|not allowed|request_?denied|privilege",
        ),
        (
            NOT_FOUND,
            r"\b404\b|\b410\b|not ?found|(does not|doesn't|no longer) exists?|is missing"
            r"|no such|(could not|cannot|can't|unable to) (find|locate)|unknown (group|user)"
            r"|resource_?not_?found",
        ),
        (
            DUPLICATE,
            r"\b409\b|already (exists?|in use|taken|linked|a member|been)|duplicate"
            r"|conflict|not unique|uniqueness|name_taken|name_already_exists",
        ),
        (
            VALIDATION,
            r"\b400\b|\b422\b|invalid|validation|bad request|malformed|too long|exceeds"
            r"|required (field|attribute|property)|not valid|unsupported|must (be|not)",
        ),
        (
            NETWORK,
            r"\b50[0234]\b|bad gateway|service unavailable|gateway time-?out|timed? ?out"
            r"|connection (refused|reset|closed|failed|error)|unreachable|could not connect"
            r"|unable to connect|network|socket|\bssl\b|\btls\b|\bdns\b|unknown host"
            r"|internal server error|temporarily unavailable|remote server",
        ),
    )
)

_MIN_NAME_LENGTH: Final = 3


def _scrub(text: str, names: Iterable[str]) -> str:
    for name in names:
        if len(name) >= _MIN_NAME_LENGTH:
            text = text.replace(name, " ")
    return text


# Downstream apps answer with a handful of error texts, repeated for every group and user
# they fail on, so the (names-blanked) text is remembered: matching the rules costs tens of
# microseconds per text, a lookup well under one. Bounded in entries and in the length of
# a text it keeps (a hook body can carry megabytes of it), so novel texts only cost time.
_CACHED_TEXTS: Final = 2048
_LONGEST_CACHED: Final = 1024


def classify_text(text: str) -> str:
    """The reason one error text gives, or `other`."""
    return _cached_reason(text) if len(text) <= _LONGEST_CACHED else _reason(text)


def _reason(text: str) -> str:
    folded = text.casefold()
    for reason, pattern in RULES:
        if pattern.search(folded):
            return reason
    return OTHER


_cached_reason: Final = lru_cache(maxsize=_CACHED_TEXTS)(_reason)


def classify_reason(event_type: str, *texts: str, names: Iterable[str] = ()) -> str:
    """The reason for a failure event: from its type, else from the first telling text.

    `texts` are tried in order (`outcome.reason` first: it carries the downstream app's
    answer); `names` (the event's group, app and mapping names) are blanked out of them.
    """
    by_type = TYPE_REASONS.get(event_type)
    if by_type is not None:
        return by_type
    blanked = tuple(names)
    for text in texts:
        if text:
            reason = classify_text(_scrub(text, blanked))
            if reason != OTHER:
                return reason
    return OTHER
