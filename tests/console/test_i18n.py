"""The console's catalogues: every message of the templates and the code is in console.pot and translated
into bokmål, Swedish and Finnish, with the same placeholders; the browser's language picks the catalogue,
and every page says which language it is in and offers the others in their own names."""

from __future__ import annotations

import html
import re

import httpx
import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

from server_api.console.i18n import FOLDER, LANGUAGES, pick, translations
from server_api.console.i18n.__main__ import extract
from server_api.console.managed import KEYS
from server_api.console.pages.config import LABELS
from tests.console.conftest import TROMSO, ConsoleSite

# What a translation must carry over unchanged: %(name)s (gettext's python-format, filled in by Jinja),
# {name} (str.format) and HTML entities.
PLACEHOLDER = re.compile(r"%\(\w+\)[sdr]|\{\w*\}|&#?\w+;")
TRANSLATED = ("nb", "sv", "fi")  # en.po is the messages themselves
# Entries that are the same word in English and in the language (checked, not forgotten).
# Words that are the same (or only placeholders) in the language.
_ONLY_PLACEHOLDERS = {"%(key)s: %(range)s", "%(range)s (%(why)s)"}
SAME_AS_ENGLISH = {
    "nb": {"Journal", "Send", *_ONLY_PLACEHOLDERS},
    "sv": {"Version", *_ONLY_PLACEHOLDERS},
    "fi": _ONLY_PLACEHOLDERS,
}
PAGES = ("/console/", "/console/tasks", "/console/statistics", "/console/accounts", "/console/audit")


def catalogue(language: str) -> Catalog:
    with (FOLDER / f"{language}.po").open("rb") as handle:
        return read_po(handle, locale=language)


def messages(language: str) -> dict[str, Message]:
    return {str(m.id): m for m in catalogue(language) if m.id}


def test_the_template_holds_every_message_the_templates_and_the_code_use() -> None:
    wanted = {m.id for m in extract() if m.id}
    with (FOLDER / "console.pot").open("rb") as handle:
        assert {m.id for m in read_po(handle) if m.id} == wanted, (
            "run: python -m server_api.console.i18n update"
        )


def test_every_catalogue_the_console_offers_exists_and_names_its_language_in_itself() -> None:
    assert LANGUAGES == {"nb": "Norsk bokmål", "sv": "Svenska", "fi": "Suomi", "en": "English"}
    for language in LANGUAGES:
        assert (FOLDER / f"{language}.po").is_file(), language
        assert str(catalogue(language).locale) == language


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_has_a_checked_translation_with_the_same_placeholders(language: str) -> None:
    with (FOLDER / "console.pot").open("rb") as handle:
        wanted = {str(m.id) for m in read_po(handle) if m.id}
    found = messages(language)
    assert sorted(wanted - set(found)) == [], f"untranslated in {language}.po"
    for message in sorted(wanted):
        entry = found[message]
        assert entry.string and not entry.fuzzy, f"{language}: {message!r} is empty or fuzzy"
        text = str(entry.string)
        assert sorted(PLACEHOLDER.findall(text)) == sorted(PLACEHOLDER.findall(message)), (
            f"{language}: {message!r} -> {text!r}"
        )
        # Jinja's newstyle gettext always applies `%`: a stray % would break the page, not just the words.
        names = {name: "x" for name in re.findall(r"%\((\w+)\)", message)}
        assert "%(" not in text % names, f"{language}: {text!r}"


@pytest.mark.parametrize("language", TRANSLATED)
def test_no_entry_is_the_english_left_in_place(language: str) -> None:
    same = {message for message, entry in messages(language).items() if entry.string == message}
    assert same == SAME_AS_ENGLISH[language]


@pytest.mark.parametrize("language", ("sv", "fi"))
def test_a_drafted_catalogue_says_in_its_header_that_no_native_speaker_has_reviewed_it(language: str) -> None:
    header = " ".join(catalogue(language).header_comment.replace("#", " ").split())
    assert "machine-drafted" in header
    assert "Native-speaker review: not reviewed by a native speaker." in header


def test_the_language_is_the_chosen_one_else_the_browsers_else_bokmaal() -> None:
    assert pick("en-GB,en;q=0.9", None) == "en"
    assert pick("nn-NO,nn", None) == "nb" and pick("de-DE", None) == "nb" and pick("", None) == "nb"
    assert pick("en", "nb") == "nb" and pick("en", "sv") == "sv" and pick("sv", "xx") == "sv"
    assert translations("nb").gettext("Sign in") == "Logg inn"
    assert translations("en").gettext("Sign in") == "Sign in"
    assert translations("sv").gettext("Sign in") == "Logga in"
    assert translations("fi").gettext("Sign in") == "Kirjaudu sisään"


def test_swedish_and_finnish_browsers_get_their_language_whatever_the_region() -> None:
    assert pick("sv-SE,sv;q=0.9,en-US;q=0.8,en;q=0.7", None) == "sv"
    assert pick("sv-FI", None) == "sv" and pick("sv_SE", None) == "sv"
    assert pick("fi-FI,fi;q=0.9,sv;q=0.8", None) == "fi"
    assert pick("de-DE,de;q=0.9,sv;q=0.5", None) == "sv"  # the first one we have


def test_the_browsers_weights_count_more_than_the_order() -> None:
    assert pick("en;q=0.5, sv", None) == "sv"
    assert pick("sv;q=0, en", None) == "en"  # q=0: not wanted at all
    assert pick("fi;q=0.8, sv;q=0.8", None) == "fi"  # a tie goes to the first
    assert pick("sv;q=oops, en;q=0.9", None) == "sv"  # a malformed weight counts as absent (1)
    assert pick("en;q=nan, fi;q=0.9", None) == "en"


def _text(page: str) -> str:
    """What a reader sees: the page without its tags, scripts and styles."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def _english_left(page: str, language: str) -> list[str]:
    """The English messages (of two words or more, translated differently) still on a page."""
    text = _text(page)
    return [
        message
        for message, entry in messages(language).items()
        if " " in message and "%" not in message and entry.string != message and message in text
    ]


def _switcher(page: str) -> dict[str, str]:
    """The language links at the top of the page: code -> name."""
    return dict(re.findall(r'<a href="/console/language/(\w+)\?back=[^"]*" lang="\w+">([^<]+)</a>', page))


@pytest.mark.parametrize("language", ("sv", "fi"))
def test_the_sign_in_page_comes_in_the_browsers_language(console_site: ConsoleSite, language: str) -> None:
    words = translations(language).gettext
    with httpx.Client(base_url=console_site.url, timeout=30) as http:
        page = http.get("/console/login", headers={"Accept-Language": f"{language}-XX,en;q=0.5"}).text
    assert f'<html lang="{language}">' in page
    assert words("Sign in") in page and words("User name") in page and words("Password") in page
    assert _english_left(page, language) == []
    assert _switcher(page) == {code: name for code, name in LANGUAGES.items() if code != language}


def test_an_english_or_bokmaal_page_offers_svenska_and_suomi(console_site: ConsoleSite) -> None:
    with httpx.Client(base_url=console_site.url, timeout=30) as http:
        for asked in ("en", "nb"):
            page = http.get("/console/login", headers={"Accept-Language": asked}).text
            assert f'<html lang="{asked}">' in page
            offered = _switcher(page)
            assert offered["sv"] == "Svenska" and offered["fi"] == "Suomi" and asked not in offered


def test_every_page_of_a_signed_in_person_comes_in_swedish(console_site: ConsoleSite) -> None:
    ada = console_site.staff("ada")  # the administrator sees every page
    sv = translations("sv").gettext
    for path in PAGES:
        answer = ada.http.get(
            path, headers={"Cookie": f"console_session={ada.session}", "Accept-Language": "sv-SE,sv"}
        )
        assert answer.status_code == 200, path
        page = answer.text
        assert '<html lang="sv">' in page, path
        assert sv("Sign out") in page and sv("Fleet") in page and f"({sv('admin')})" in page, path
        assert _english_left(page, "sv") == [], path
        assert "Svenska" not in _switcher(page) and _switcher(page)["en"] == "English", path


def test_the_chosen_language_is_remembered_over_the_browsers(console_site: ConsoleSite) -> None:
    ada = console_site.staff("ada")
    chosen = ada.get("/console/language/sv?back=/console/tasks")
    assert chosen.status_code == 303 and chosen.headers["location"] == "/console/tasks"
    cookie = next(c for c in chosen.headers.get_list("set-cookie") if c.startswith("console_lang="))
    assert cookie.startswith("console_lang=sv;")
    page = ada.http.get(
        "/console/tasks",
        headers={"Cookie": f"console_session={ada.session}; console_lang=sv", "Accept-Language": "en"},
    ).text
    assert '<html lang="sv">' in page and translations("sv").gettext("Open tasks, oldest first") in page


def test_every_managed_setting_has_a_label_for_staff() -> None:
    assert set(LABELS) == {key.name for key in KEYS}


@pytest.mark.parametrize(
    ("language", "out_of_range", "not_a_number"),
    [
        (
            "sv",
            "session.idle_timeout: 5000 ligger utanför det tillåtna: ange ett heltal från 10 till 1800",
            "session.idle_warning: 'mycket' är inte ett heltal; ange ett heltal från 0 till 600",
        ),
        (
            "nb",
            "session.idle_timeout: 5000 er utenfor det tillatte: bruk et heltall fra 10 til 1800",
            "session.idle_warning: 'mycket' er ikke et heltall; bruk et heltall fra 0 til 600",
        ),
        (
            "en",
            "session.idle_timeout: 5000 is out of range: use a whole number from 10 to 1800 seconds",
            "session.idle_warning: 'mycket' is not a whole number; use a whole number from 0 to 600 seconds",
        ),
    ],
)
def test_a_refused_setting_is_explained_in_the_pages_language_with_its_range_and_unit(
    console_site: ConsoleSite, language: str, out_of_range: str, not_a_number: str
) -> None:
    ada = console_site.staff("ada")
    unit = translations(language).gettext("seconds")
    for form, wanted in (
        ({"session.idle_timeout": "5000"}, out_of_range),
        ({"session.idle_warning": "mycket"}, not_a_number),
    ):
        answer = ada.http.post(
            f"/console/libraries/{TROMSO}/config",
            data={"csrf": ada.csrf, **form},
            headers={"Cookie": f"console_session={ada.session}; console_lang={language}"},
        )
        alert = _text(answer.text.split('role="alert"', 1)[1].split("</div>", 1)[0])
        assert wanted in alert and f" {unit}" in alert, alert  # the unit, a message of its own, too
        if language != "en":
            assert "out of range" not in alert and "is not a whole number" not in alert, alert
