"""The centrally managed settings follow the kiosk's own rules (`kiosk config check`): the same ranges, the
same choices, the same rules between keys."""

from __future__ import annotations

import pytest

from kiosk.config.checks import CHOICES, RANGES
from kiosk.config.sections import StationConfig
from kiosk.i18n import LANGUAGES, STAFF_LANGUAGES
from server_api.console import managed


def test_every_managed_number_has_the_kiosks_range_and_every_choice_the_kiosks_choices() -> None:
    for key in managed.KEYS:
        section, name = key.name.split(".")
        if (section, name) in RANGES:
            kiosk = RANGES[(section, name)]
            assert (key.low, key.high, key.zero_means != "") == (
                kiosk.low,
                kiosk.high,
                kiosk.zero_means != "",
            ), key
        elif key.kind in (int, float):
            pytest.fail(f"{key.name}: a number the kiosk gives no range")
        if (section, name) in CHOICES:
            assert set(key.choices) <= set(CHOICES[(section, name)]), key
    assert set(managed.LANGUAGES) == set(LANGUAGES)
    assert set(managed.STAFF_LANGUAGES) == set(STAFF_LANGUAGES)  # every staff language a kiosk has


def test_every_managed_key_is_a_key_of_the_kiosks_file_with_the_same_type() -> None:
    defaults = StationConfig()
    for key in managed.KEYS:
        section, name = key.name.split(".")
        value = getattr(getattr(defaults, section), name)
        assert isinstance(value, key.kind), key.name
        assert managed.check_value(key, value) is None, key.name  # the kiosk's default is accepted
    for name, value in managed.DEFAULTS.items():
        section, attribute = name.split(".")
        assert getattr(getattr(defaults, section), attribute) == value


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"session.idle_timeout": 5}, "use a whole number from 10 to 1800 seconds"),
        ({"session.idle_timeout": 60.5}, "not a whole number"),
        ({"session.idle_timeout": True}, "from 10 to 1800"),
        ({"network.probe_interval": float("nan")}, "is not a number"),
        ({"station.language": "xx"}, "is not one of"),
        ({"session.idle_warning": 70}, "idle_warning must be shorter than session.idle_timeout"),
        ({"session.pin_cooldown": 7200, "session.pin_cooldown_max": 3600}, "longer than"),
        ({"sip2.password_file": "/etc/x"}, "not a setting the console manages"),
    ],
)
def test_what_the_kiosk_would_refuse_is_refused_with_what_to_write(
    settings: dict[str, object], words: str
) -> None:
    with pytest.raises(managed.SettingsError) as refused:
        managed.validate(settings)
    assert words in str(refused.value)


def test_zero_switches_the_pin_rest_off_as_on_the_kiosk() -> None:
    assert managed.validate({"session.pin_cooldown": 0}) == {"session.pin_cooldown": 0}
