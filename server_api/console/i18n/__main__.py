"""`python -m server_api.console.i18n update`: extract the messages into console.pot, merge into each .po."""

from __future__ import annotations

import sys

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from . import FOLDER, LANGUAGES

METHODS = [("**/templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")]


def extract() -> Catalog:
    catalog = Catalog(project="kiosk-console", charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
        FOLDER.parent, METHODS, options_map={"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def update() -> None:
    template = extract()
    with (FOLDER / "console.pot").open("wb") as handle:
        write_po(handle, template, omit_header=False, sort_output=True)
    for language in LANGUAGES:
        path = FOLDER / f"{language}.po"
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=language)
        catalog.update(template, no_fuzzy_matching=True)
        with path.open("wb") as handle:
            write_po(handle, catalog, sort_output=True, ignore_obsolete=True)
        print(f"wrote {path}")


if __name__ == "__main__":
    if sys.argv[1:] != ["update"]:
        sys.exit("usage: python -m server_api.console.i18n update")
    update()
