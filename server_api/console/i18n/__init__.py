"""The console's catalogues (Babel, gettext): `console.pot` and one `.po` per language in this folder.
Messages are the English text; `nb.po` holds the Norwegian bokmål, `en.po` the English (mostly empty:
gettext shows the message itself). The `.po` files are compiled in memory when first needed, so there is
no `.mo` file to build or forget. `python -m server_api.console.i18n update` re-extracts the messages from
the templates and the code and merges them into every `.po`.
"""

from __future__ import annotations

import functools
import io
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

FOLDER = Path(__file__).parent
LANGUAGES = {"nb": "Norsk bokmål", "en": "English"}
DEFAULT = "nb"


def N_(message: str) -> str:
    """Marks a message for the catalogue that is translated where it is shown (gettext's convention)."""
    return message


@functools.cache
def translations(language: str) -> Translations:
    if language not in LANGUAGES:
        language = DEFAULT
    with (FOLDER / f"{language}.po").open("rb") as handle:
        catalog = read_po(handle, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(fp=buffer, domain="console")


def pick(accept_language: str, cookie: str | None) -> str:
    """The cookie's language, else the first the browser asks for that we have, else bokmål."""
    if cookie in LANGUAGES:
        return str(cookie)
    for part in accept_language.split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in ("nb", "no", "nn"):
            return "nb"
        if code in LANGUAGES:
            return code
    return DEFAULT


__all__ = ["DEFAULT", "LANGUAGES", "N_", "pick", "translations"]
