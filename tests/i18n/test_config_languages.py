"""`[station] extra_languages`: which drafts a library offers, checked when the configuration is read."""

from __future__ import annotations

import pytest

from kiosk.config import ConfigError, from_mapping


def test_extra_languages_lists_the_drafts_to_offer() -> None:
    config = from_mapping({"station": {"extra_languages": "se, smj"}}, "kiosk.toml")
    assert config.station.extra_language_codes() == ("se", "smj")


def test_a_draft_starting_language_is_enabled_with_it() -> None:
    config = from_mapping({"station": {"language": "se"}}, "kiosk.toml")
    assert config.station.extra_language_codes() == ("se",)


def test_a_complete_language_in_extra_languages_is_an_error_that_says_why() -> None:
    with pytest.raises(ConfigError, match=r"kiosk.toml: \[station\] extra_languages: 'nb' is not a draft"):
        from_mapping({"station": {"extra_languages": "nb"}}, "kiosk.toml")
