"""Looking messages up: plural forms, fallbacks, dates and money in the patron's locale, drafts hidden."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

import kiosk.i18n as i18n
from kiosk.core import Text
from kiosk.i18n import catalogues


@pytest.fixture(autouse=True)
def no_drafts_enabled() -> Iterator[None]:
    i18n.enable_languages(())
    yield
    i18n.enable_languages(())


def test_wrong_pin_counts_tries_in_words_not_parentheses() -> None:
    assert i18n.translate(Text.of("pin.wrong", left=1), "en") == "Wrong PIN. You have 1 more try."
    assert i18n.translate(Text.of("pin.wrong", left=2), "en") == "Wrong PIN. You have 2 more tries."


@pytest.mark.parametrize(
    ("count", "expected"),
    [(1, "1 заказ,"), (3, "3 заказа,"), (5, "5 заказов,"), (21, "21 заказ,"), (12, "12 заказов,")],
)
def test_russian_has_three_plural_forms(count: int, expected: str) -> None:
    assert expected in i18n.translate(Text.of("menu.holds_ready", count=count), "ru")


def test_bokmal_holds_in_singular_and_plural() -> None:
    assert i18n.translate(Text.of("menu.holds_ready", count=1), "nb").startswith("Du har 1 reservasjon klar")
    assert "2 reservasjoner klare" in i18n.translate(Text.of("menu.holds_ready", count=2), "nb")


@pytest.mark.parametrize(
    ("language", "shown"), [("nb", "250,00\xa0kr"), ("nn", "250,00\xa0kr"), ("en", "250,00\xa0kr")]
)
def test_fees_in_norwegian_conventions_kept_on_one_line(language: str, shown: str) -> None:
    assert shown in i18n.translate(Text.of("account.fees", amount="250.00", currency="NOK"), language)
    assert i18n.format_money("250.00", language, "NOK") == shown


def test_fees_in_finnish_follow_finnish_conventions() -> None:
    assert i18n.format_money(1250.5, "fi", "NOK") == "1\xa0250,50\xa0NOK"


def test_a_fee_that_is_not_a_number_is_shown_as_the_library_wrote_it() -> None:
    assert i18n.format_money("see the desk", "nb") == "see the desk"


@pytest.mark.parametrize(
    ("language", "shown"),
    [
        ("nb", "13. desember 2026"),
        ("en", "13 December 2026"),
        ("fi", "13. joulukuuta 2026"),
        ("smj", "13.12.2026"),
    ],
)
def test_due_dates_in_the_patrons_language(language: str, shown: str) -> None:
    assert i18n.format_date("2026-12-13", language) == shown
    assert i18n.format_date(date(2026, 12, 13), language) == shown


def test_the_library_systems_words_are_kept_apart_from_ours() -> None:
    refusal = Text.of("refusal.on_hold_for_another", ils="Eksemplaret er reservert")
    assert i18n.translate(refusal, "en") == "Not borrowed: someone else has reserved this item."
    assert i18n.library_words(refusal) == "Eksemplaret er reservert"
    assert i18n.library_words(Text("row.working")) == ""


def test_drafts_are_hidden_until_a_library_enables_them() -> None:
    assert i18n.offered_languages() == ("nb", "nn", "fi", "sv", "ru", "en")
    # Not enabled: a draft's fuzzy entries are not used, the patron reads the fallback (bokmål).
    assert i18n.translate(Text("welcome.heading"), "se") == "Velkommen til biblioteket"


def test_an_enabled_complete_draft_is_offered_with_its_fuzzy_entries() -> None:
    offered = i18n.enable_languages(["se"])
    assert "se" in offered
    assert i18n.translate(Text("welcome.heading"), "se") == "Bures boahtin girjerádjosii"


def test_an_enabled_draft_with_gaps_is_not_offered(monkeypatch: pytest.MonkeyPatch) -> None:
    # every draft has every message today: a message the code would add tomorrow is the gap
    keys = {*i18n._patron_keys(), "welcome.new_message"}
    monkeypatch.setattr(i18n, "_patron_keys", lambda: keys)
    offered = i18n.enable_languages(["smj"])
    assert "smj" not in offered  # a button that would show bokmål is never offered
    assert i18n.status("smj", keys).missing == ("welcome.new_message",)
    assert "nb" in offered  # complete languages are offered whatever their catalogue (tests fail on gaps)


def test_enabling_a_complete_language_as_a_draft_is_an_error() -> None:
    with pytest.raises(i18n.UnknownLanguage, match="draft languages"):
        i18n.enable_languages(["nb"])
    with pytest.raises(i18n.UnknownLanguage, match="unknown language 'xx'"):
        i18n.enable_languages(["xx"])


def test_a_missing_key_falls_back_to_a_readable_key_not_a_crash() -> None:
    assert i18n.lookup("no.such.key", "nb") is None
    assert i18n.translate(Text("no.such.key"), "nb") == "no.such.key"


def test_catalogues_are_compiled_to_mo_files_babel_loads(tmp_path: Path) -> None:
    built = catalogues.compile_all(tmp_path)
    assert {p.parent.parent.name for p in built} == set(i18n.COMPLETE_LANGUAGES)
    from babel.support import Translations

    loaded = Translations.load(str(tmp_path), ["nn"], catalogues.DOMAIN)
    assert loaded.gettext("welcome.heading") == "Velkomen til biblioteket"


def test_a_draft_compiled_without_fuzzy_entries_has_none(tmp_path: Path) -> None:
    from babel.support import Translations

    catalogues.compile_catalogue("se", use_fuzzy=False, root=tmp_path)
    plain = Translations.load(str(tmp_path), ["se"], catalogues.DOMAIN)
    assert plain.gettext("welcome.heading") == "welcome.heading"
    catalogues.compile_catalogue("se", use_fuzzy=True, root=tmp_path)
    drafted = Translations.load(str(tmp_path), ["se"], catalogues.DOMAIN)
    assert drafted.gettext("welcome.heading") == "Bures boahtin girjerádjosii"
