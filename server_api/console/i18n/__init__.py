"""The console's catalogues (Babel, gettext): `console.pot` and one `.po` per language in this folder.
Messages are the English text; `nb.po` holds the Norwegian bokmål, `sv.po` the Swedish (HelGe's staff),
`fi.po` the Finnish, `en.po` the English (mostly empty: gettext shows the message itself). Every catalogue
says in its header who wrote it and whether a native speaker has reviewed it (docs/TRANSLATING.md). The
`.po` files are compiled in memory when first needed, so there is no `.mo` file to build or forget.
`python -m server_api.console.i18n update` re-extracts the messages from the templates and the code and
merges them into every `.po`.
"""

from __future__ import annotations

import functools
import io
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

FOLDER = Path(__file__).parent
# Each language in its own name, in the order of the switcher at the top of every page.
LANGUAGES = {"nb": "Norsk bokmål", "sv": "Svenska", "fi": "Suomi", "en": "English"}
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
    """The cookie's language, else the one the browser prefers most (by its q-values) that we have, else
    bokmål. Nynorsk and "no" readers get bokmål; a region (sv-FI, fi-FI) counts as its language."""
    if cookie in LANGUAGES:
        return str(cookie)
    wanted: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")):
        code, _, params = part.partition(";")
        language = code.strip().lower().replace("_", "-").split("-")[0]
        language = "nb" if language in ("nb", "no", "nn") else language
        weight = _quality(params)
        if language in LANGUAGES and weight > 0:
            wanted.append((-weight, index, language))
    return min(wanted)[2] if wanted else DEFAULT


def _quality(params: str) -> float:
    """A language range's q-value (RFC 9110: 0 to 1, 1 when absent); a malformed one counts as absent."""
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                weight = float(value.strip())
            except ValueError:
                return 1.0
            return min(max(weight, 0.0), 1.0) if weight == weight else 1.0
    return 1.0


__all__ = ["DEFAULT", "LANGUAGES", "N_", "pick", "translations"]
