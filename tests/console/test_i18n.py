"""The console's catalogue: every message of the templates and the code is in console.pot and translated
into bokmål, with the same placeholders."""

from __future__ import annotations

import re

from babel.messages.pofile import read_po

from server_api.console.i18n import FOLDER, pick, translations
from server_api.console.i18n.__main__ import extract
from server_api.console.managed import KEYS
from server_api.console.pages.config import LABELS

PLACEHOLDER = re.compile(r"%\(\w+\)s")


def test_the_template_holds_every_message_and_bokmaal_translates_each_with_its_placeholders() -> None:
    wanted = {m.id for m in extract() if m.id}
    with (FOLDER / "console.pot").open("rb") as handle:
        assert {m.id for m in read_po(handle) if m.id} == wanted, (
            "run: python -m server_api.console.i18n update"
        )
    with (FOLDER / "nb.po").open("rb") as handle:
        nb = {m.id: m for m in read_po(handle) if m.id}
    for message in wanted:
        entry = nb.get(message)
        assert entry is not None and entry.string and not entry.fuzzy, message
        assert sorted(PLACEHOLDER.findall(str(entry.string))) == sorted(PLACEHOLDER.findall(str(message))), (
            message
        )


def test_the_language_is_the_chosen_one_else_the_browsers_else_bokmaal() -> None:
    assert pick("en-GB,en;q=0.9", None) == "en"
    assert pick("nn-NO,nn", None) == "nb" and pick("de-DE", None) == "nb"
    assert pick("en", "nb") == "nb"
    assert translations("nb").gettext("Sign in") == "Logg inn"
    assert translations("en").gettext("Sign in") == "Sign in"


def test_every_managed_setting_has_a_label_for_staff() -> None:
    assert set(LABELS) == {key.name for key in KEYS}
