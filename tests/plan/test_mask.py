"""Masking sensitive settings for display (SPEC §5): exact paths, nested, lists, fallback."""

from __future__ import annotations

from reconciler.plan.mask import mask_secret_like, mask_settings


def test_exact_paths_are_masked_and_the_input_is_untouched() -> None:
    settings = {"api_key": "k", "smtp": {"username": "u", "smtp_password": "p"}, "n": 1}
    masked = mask_settings(settings, [("api_key",), ("smtp", "smtp_password"), ("absent", "x")])
    assert masked == {
        "api_key": "(sensitive)",
        "smtp": {"username": "u", "smtp_password": "(sensitive)"},
        "n": 1,
    }
    assert settings["smtp"] == {"username": "u", "smtp_password": "p"}


def test_a_whole_object_can_be_sensitive_and_lists_are_walked() -> None:
    settings = {"creds": {"a": 1}, "hooks": [{"secret": "s", "url": "u"}, "plain"]}
    assert mask_settings(settings, [("creds",), ("hooks", "secret")]) == {
        "creds": "(sensitive)",
        "hooks": [{"secret": "(sensitive)", "url": "u"}, "plain"],
    }


def test_no_paths_means_no_change() -> None:
    assert mask_settings({"a": {"b": 1}}, []) == {"a": {"b": 1}}


def test_secret_like_keys_without_a_catalog() -> None:
    settings = {
        "api_key": "k",
        "apiKey": "k",
        "nested": {"smtp_password": "p", "user": "u"},
        "items": [{"token": "t"}, 3],
        "tokens_per_minute": 5,
    }
    assert mask_secret_like(settings) == {
        "api_key": "(sensitive)",
        "apiKey": "(sensitive)",
        "nested": {"smtp_password": "(sensitive)", "user": "u"},
        "items": [{"token": "(sensitive)"}, 3],
        "tokens_per_minute": "(sensitive)",
    }
