"""The catalogues: complete where they claim to be, drafts marked as drafts, the template up to date."""

from __future__ import annotations

import re
import string

import pytest

from kiosk.i18n import COMPLETE_LANGUAGES, DRAFT_LANGUAGES, PLURALS
from kiosk.i18n.catalogues import TEMPLATE, read_catalogue, source, status
from kiosk.i18n.template import all_keys, build_template, required_keys

FIELDS = string.Formatter()


def _placeholders(text: str) -> set[str]:
    return {name for _lit, name, _spec, _conv in FIELDS.parse(text) if name}


def _entries(language: str) -> dict[str, tuple[str, ...]]:
    found: dict[str, tuple[str, ...]] = {}
    for message in read_catalogue(source(language)):
        if message.id:
            key = message.id[0] if isinstance(message.id, tuple) else message.id
            forms = message.string if isinstance(message.string, tuple) else (message.string,)
            found[str(key)] = tuple(str(f) for f in forms)
    return found


def test_the_template_has_every_key_the_code_uses() -> None:
    built = {m.id[0] if isinstance(m.id, tuple) else m.id for m in build_template() if m.id}
    assert built == set(all_keys()), "kiosk.pot is stale: run `python -m kiosk.i18n update`"


@pytest.mark.parametrize("language", COMPLETE_LANGUAGES)
def test_a_complete_catalogue_has_every_key_and_no_drafts(language: str) -> None:
    found = status(language, required_keys(language))
    assert found.missing == (), f"{language}: missing {found.missing}"
    assert found.fuzzy == 0, f"{language}: {found.fuzzy} fuzzy entries in a complete catalogue"


@pytest.mark.parametrize("language", (*COMPLETE_LANGUAGES, *DRAFT_LANGUAGES))
def test_translations_use_the_placeholders_of_the_english_message(language: str) -> None:
    english = _entries("en")
    for key, forms in _entries(language).items():
        wanted = _placeholders(english[key][-1])
        for form in forms:
            if form:
                assert _placeholders(form) <= wanted, f"{language} {key}: {form!r} uses unknown fields"
                assert "{ils}" not in form, f"{language} {key}: the library's words are shown apart"


@pytest.mark.parametrize("language", (*COMPLETE_LANGUAGES, *DRAFT_LANGUAGES))
def test_plural_messages_have_every_form_of_the_language(language: str) -> None:
    catalog = read_catalogue(source(language))
    for key in PLURALS:
        message = catalog.get((key, key)) or catalog.get(key)
        assert message is not None and message.pluralizable, f"{language} {key}: not a plural entry"
        assert len(message.string) == catalog.num_plurals, f"{language} {key}"


def test_no_catalogue_counts_with_parentheses() -> None:
    for language in (*COMPLETE_LANGUAGES, *DRAFT_LANGUAGES):
        for key, forms in _entries(language).items():
            for form in forms:
                assert not re.search(r"\w\((er|e|s|ar|a|ja|ä)\)", form), f"{language} {key}: {form!r}"


@pytest.mark.parametrize("language", (*COMPLETE_LANGUAGES, *DRAFT_LANGUAGES))
def test_every_header_says_whether_a_native_speaker_reviewed_it(language: str) -> None:
    header = read_catalogue(source(language)).header_comment
    assert "reviewed by a native speaker" in header, header


@pytest.mark.parametrize("language", DRAFT_LANGUAGES)
def test_a_draft_is_marked_fuzzy_entry_by_entry(language: str) -> None:
    catalog = read_catalogue(source(language))
    assert "DRAFT" in catalog.header_comment
    translated = [m for m in catalog if m.id and m.string and any(m.string if m.pluralizable else [m.string])]
    assert translated, f"{language}: an empty draft"
    assert all(m.fuzzy for m in translated), f"{language}: a draft entry not marked fuzzy"


def test_the_template_file_is_readable() -> None:
    assert len(read_catalogue(TEMPLATE)) > 100
