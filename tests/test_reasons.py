"""Failure reasons: real downstream error texts land in the right one of a few fixed words."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exporter.ingest import reasons
from exporter.ingest.reasons import REASONS, classify_reason, classify_text

FAILED = "application.provision.group_push.mapping.update.or.delete.failed.with.error"

# (text, reason). Real messages, from Okta's admin console and support articles, and the
# downstream APIs' own error strings that Okta passes through.
REAL_MESSAGES = [
    # AWS IAM Identity Center, Group Push to a linked group deleted on the AWS side.
    ("Linked group is missing in AWS IAM Identity Center. Change the linked group to resume "
     "pushing group memberships.", "not_found"),
    # Okta's wrapper around a downstream 502 with nothing more said.
    ("Bad Gateway. Errors reported by remote server: 502", "network"),
    ("Bad Gateway. Errors reported by remote server: null", "network"),
    # The same wrapper around a SCIM app's uniqueness error (Atlassian).
    ("Bad Gateway. Errors reported by remote server: Resource [GROUP]: with displayName "
     "already exists.", "duplicate"),
    ("Errors reported by remote server: Resource [GROUP]: with displayName already exists.",
     "duplicate"),
    # Okta Org2Org provisioning token without group permissions (support article).
    ("Unable to update Group Push mapping target App group Sales: Error while creating user "
     "group Sales: HTTP 403 Forbidden", "permission"),
    # AWS IAM Identity Center with an expired SCIM access token (support article).
    ("Automatic provisioning of user ada@example.com to app AWS IAM Identity Center failed: "
     "Error while verifying if user ada@example.com exists: Unauthorized", "credentials"),
    ("Error authenticating: Invalid API token provided", "credentials"),
    ("The access token is invalid or has expired", "credentials"),
    ("invalid_auth", "credentials"),  # Slack Web API
    ("InvalidAuthenticationToken: Access token has expired or is not yet valid.", "credentials"),
    # Google Workspace Directory API.
    ("Not Authorized to access this resource/api", "permission"),
    ("Authorization_RequestDenied: Insufficient privileges to complete the operation.",
     "permission"),  # Microsoft Graph
    ("missing_scope", "permission"),  # Slack Web API
    # Downstream rate limits (support article "Rate Limit Exceeded"; HTTP 429).
    ("Rate Limit Exceeded", "rate_limited"),
    ("HTTP 429 Too Many Requests", "rate_limited"),
    ("403 Forbidden: User Rate Limit Exceeded", "rate_limited"),
    ("Request_ResourceNotFound: Resource 'abc' does not exist or one of its queried reference-"
     "property objects are not present.", "not_found"),
    ("HTTP 404 Not Found", "not_found"),
    ("name_taken", "duplicate"),  # Slack user groups
    ("The object already exists.", "duplicate"),  # Active Directory
    ("HTTP 409 Conflict", "duplicate"),
    ("Invalid value for attribute 'displayName': too long", "validation"),
    ("HTTP 400 Bad Request", "validation"),
    ("Read timed out", "network"),
    ("Connection refused", "network"),
    ("HTTP 503 Service Unavailable", "network"),
    ("Something unexpected happened", "other"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "reason"), REAL_MESSAGES)
def test_real_messages(text: str, reason: str) -> None:
    assert classify_reason(FAILED, text) == reason


def test_the_event_type_can_say_the_reason_itself() -> None:
    duplicate = "app.user_management.grouppush.mapping.created.from.rule.error.duplicate"
    validation = "app.user_management.grouppush.mapping.created.from.rule.error.validation"
    assert classify_reason(duplicate, "HTTP 403 Forbidden") == "duplicate"
    assert classify_reason(validation) == "validation"


def test_outcome_reason_wins_over_the_display_message() -> None:
    assert classify_reason(FAILED, "HTTP 403 Forbidden", "Read timed out") == "permission"
    # An uninformative first text falls through to the next one.
    assert classify_reason(FAILED, "", "Read timed out") == "network"
    assert classify_reason(FAILED, "Push failed", "Connection reset") == "network"


def test_names_in_the_text_do_not_decide_the_reason() -> None:
    text = "Unable to push group Duplicate Admins 404: Read timed out"
    assert classify_text(text) == "not_found"  # what blanking the names prevents
    assert classify_reason(FAILED, text, names=["Duplicate Admins 404"]) == "network"


def test_no_text_is_other() -> None:
    assert classify_reason(FAILED) == "other"
    assert classify_reason(FAILED, "", "") == "other"


@given(st.text(max_size=300), st.text(max_size=300))
def test_the_reason_is_always_one_of_the_fixed_set(reason: str, message: str) -> None:
    assert classify_reason(FAILED, reason, message, names=[message[:5]]) in REASONS


def test_long_texts_are_classified_but_never_remembered() -> None:
    before = reasons._cached_reason.cache_info().currsize
    long = "x" * 5000 + " 429 Too Many Requests"
    assert classify_text(long) == "rate_limited"
    assert reasons._cached_reason.cache_info().currsize == before
    assert classify_text("429 Too Many Requests") == "rate_limited"
    assert reasons._cached_reason.cache_info().currsize <= before + 1
