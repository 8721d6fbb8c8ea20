"""The `.po` catalogues (the sources, in this folder) and their compiled `.mo` files, with Babel.

The `.mo` files are built, never committed: `make` builds them when it installs (`python -m kiosk.i18n
compile`), and the first look-up builds whatever is missing or older than its `.po` (into this folder
when it is writable, else into the user's cache), so a wheel install works too. The station then reads
them with `babel.support.Translations` (gettext).

Complete catalogues are compiled without their fuzzy entries (a fuzzy entry in one is a defect the tests
catch). Draft catalogues are compiled *with* their fuzzy entries, and only once a library has enabled the
language: until then a patron never sees a draft.
"""

from __future__ import annotations

import functools
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from kiosk.i18n.languages import COMPLETE_LANGUAGES, KNOWN, chain

DOMAIN = "kiosk"
SOURCE_DIR = Path(__file__).parent
TEMPLATE = SOURCE_DIR / f"{DOMAIN}.pot"
PACKAGE_LOCALE_DIR = SOURCE_DIR / "locale"
CACHE_ENV = "KIOSK_LOCALE_CACHE"  # where to build `.mo` files when the package folder is read-only

# Messages with a plural form, and the parameter that counts (gettext's n).
PLURALS: dict[str, str] = {
    "menu.holds_ready": "count",
    "pin.wrong": "left",
    "account.loans": "count",
    "idle.countdown": "seconds",
    "summary.done": "count",
    "summary.attention": "count",
}


class CatalogueError(RuntimeError):
    """A catalogue cannot be read or compiled; the message names the file."""


def source(language: str) -> Path:
    return SOURCE_DIR / f"{language}.po"


def read_catalogue(path: Path) -> Catalog:
    try:
        with path.open("rb") as handle:
            return read_po(handle, abort_invalid=True)
    except (OSError, ValueError) as error:
        raise CatalogueError(f"{path}: cannot read the catalogue: {error}") from error


@dataclass(frozen=True)
class CatalogueStatus:
    language: str
    total: int  # messages in the template
    translated: int  # reviewed translations (not fuzzy)
    fuzzy: int  # drafts waiting for review
    missing: tuple[str, ...]  # template keys without any translation

    @property
    def complete(self) -> bool:
        """Every message has a translation (fuzzy counts: a draft language is offered as a draft)."""
        return not self.missing


def _keys(catalog: Catalog) -> set[str]:
    return {str(m.id[0] if isinstance(m.id, tuple) else m.id) for m in catalog if m.id}


def _has_text(message: object) -> bool:
    text = getattr(message, "string", "")
    return all(text) if isinstance(text, tuple | list) else bool(text)


def status(language: str, required: set[str] | None = None) -> CatalogueStatus:
    """How much of the template `language`'s catalogue has; `required` narrows the keys looked at."""
    wanted = required if required is not None else _keys(read_catalogue(TEMPLATE))
    path = source(language)
    catalog = read_catalogue(path) if path.exists() else Catalog(locale=None)
    translated = fuzzy = 0
    present: set[str] = set()
    for message in catalog:
        key = str(message.id[0] if isinstance(message.id, tuple) else message.id)
        if not message.id or key not in wanted or not _has_text(message):
            continue
        present.add(key)
        if message.fuzzy:
            fuzzy += 1
        else:
            translated += 1
    return CatalogueStatus(language, len(wanted), translated, fuzzy, tuple(sorted(wanted - present)))


def _writable(directory: Path) -> bool:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(directory, os.W_OK)


@functools.cache
def locale_dir() -> Path:
    """Where the compiled catalogues live: this package's `locale/`, else a private cache folder."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured)
    if _writable(PACKAGE_LOCALE_DIR):
        return PACKAGE_LOCALE_DIR
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "library-kiosk" / "locale"
    return cache if _writable(cache) else Path(tempfile.mkdtemp(prefix="kiosk-locale-"))


def compiled_path(language: str, root: Path | None = None) -> Path:
    return (root or locale_dir()) / language / "LC_MESSAGES" / f"{DOMAIN}.mo"


def compile_catalogue(language: str, use_fuzzy: bool, root: Path | None = None) -> Path:
    """Build `<root>/<language>/LC_MESSAGES/kiosk.mo` from `<language>.po` (written atomically)."""
    catalog = read_catalogue(source(language))
    for message in list(catalog):
        if message.id and not _has_text(message):
            del catalog[message.id]  # untranslated: leave it to the fallback language, not ""
    target = compiled_path(language, root)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".mo.partial")
    with partial.open("wb") as handle:
        write_mo(handle, catalog, use_fuzzy=use_fuzzy)
    partial.replace(target)
    return target


def _fresh(language: str, use_fuzzy: bool) -> Path | None:
    """The compiled catalogue, (re)built first if it is missing, older than its source, or was built
    without the fuzzy entries now wanted (a `.fuzzy` marker beside it says it has them)."""
    po = source(language)
    if not po.exists():
        return None
    mo = compiled_path(language)
    marker = mo.with_suffix(".fuzzy")
    stale = not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime or marker.exists() != use_fuzzy
    if stale:
        compile_catalogue(language, use_fuzzy)
        if use_fuzzy:
            marker.touch()
        else:
            marker.unlink(missing_ok=True)
    return mo


@functools.cache
def translations(language: str, drafts: frozenset[str] = frozenset()) -> NullTranslations:
    """gettext translations for `language`, falling back along its chain; draft languages in `drafts`
    are read with their fuzzy entries, other drafts without (so they fall back)."""
    found: NullTranslations | None = None
    for code in chain(language):
        fuzzy = code in drafts
        mo = _fresh(code, use_fuzzy=fuzzy) if code in KNOWN else None
        if mo is None:
            continue
        loaded = Translations.load(str(locale_dir()), [code], DOMAIN)
        if found is None:
            found = loaded
        else:
            found.add_fallback(loaded)
    return found if found is not None else NullTranslations()


def compile_all(root: Path | None = None) -> list[Path]:
    """Build every complete catalogue (make's install step); drafts are built when enabled."""
    return [compile_catalogue(code, use_fuzzy=False, root=root) for code in COMPLETE_LANGUAGES]
