"""webhook.py: retries only what may pass on another try; URLs shown without secrets."""

from __future__ import annotations

import pytest

from reconciler.webhook import DeliveryFailed, Retry, new_client, post_json, redact_url
from tests.webhook_receiver import receiving

FAST = Retry(attempts=3, wait_initial=0.01, wait_max=0.02, timeout=5)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://hooks.example.com/drift", "https://hooks.example.com/drift"),
        ("https://u:pw@hooks.example.com:8443/x", "https://***@hooks.example.com:8443/x"),
        (
            "https://hooks.example.com/x?token=abc&x=1",
            "https://hooks.example.com/x?token=***&x=***",
        ),
        (
            "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXX1234567890ab",
            "https://hooks.slack.com/services/T000/B000/***",
        ),
        ("http://[::1]:9/a", "http://[::1]:9/a"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_a_refusal_is_not_retried() -> None:
    with receiving(fail_first=10, fail_status=404) as receiver, new_client() as client:
        with pytest.raises(DeliveryFailed, match=r"^HTTP 404 Not Found \(after 1 try\)$"):
            post_json(client, receiver.url, {"a": 1}, retry=FAST, headers={})
        assert len(receiver.requests) == 1


def test_429_is_retried_then_accepted() -> None:
    with receiving(fail_first=1, fail_status=429) as receiver, new_client() as client:
        post_json(client, receiver.url, {"a": 1}, retry=FAST, headers={})
        assert [r.json() for r in receiver.accepted] == [{"a": 1}]
        assert len(receiver.requests) == 2
