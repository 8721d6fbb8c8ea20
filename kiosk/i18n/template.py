"""The message template (`kiosk.pot`) and the catalogue update, with Babel.

Keys are found three ways. Babel's Python extractor finds the literal ones wherever the code writes
`Text("key")`, `Text.of("key", ...)`, `tr("key")` or `tr_optional("key")`. Keys kept in tables or
chosen by a condition (`Text.of("row.renewed" if ... else "row.borrowed")`, which Babel's extractor
reads as one joined string) are found as string literals of a known family. Keys built from an enum
(`action.<Action>`, `row.state.<RowState>`, `refusal.<RefusalReason>` ...) cannot be extracted, so
`dynamic_keys()` lists them from the enums themselves: a new enum member is a new message at once.
`update()` merges the template into every catalogue (Babel's `Catalog.update`), so a new key appears in
each `.po` as untranslated and the tests fail until it is translated.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import write_po

from kiosk.core import Action, Operation, RowState, ScreenName
from kiosk.i18n.catalogues import PLURALS, TEMPLATE, read_catalogue, source
from kiosk.i18n.languages import KNOWN, STAFF_LANGUAGES
from server_api.circulation import RefusalReason, RouteKind

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("kiosk", "ui")
KEYWORDS: dict[str, tuple[int, ...] | None] = {"Text": (1,), "of": (1,), "tr": (1,), "tr_optional": (1,)}
STAFF_PREFIXES = ("staff.",)

# Keys the UI needs for chrome that no code names literally (built in ui/ from data).
UI_KEYS = (
    "help.heading",
    "help.text",
    "language.draft",
    "library.says",
    "speech.unavailable",
    "speech.offer",
    "ui.help",
    "ui.large_text",
    "ui.normal_text",
    "ui.speak",
    "ui.speak_receipt",
    "ui.close",
)


def dynamic_keys() -> set[str]:
    keys = {f"action.{a.value}" for a in Action}
    keys |= {f"row.state.{s.value}" for s in RowState}
    # the starting screen says the busy screen's "One moment" (kiosk.core.starting_screen)
    own = [n for n in ScreenName if n not in (ScreenName.BUSY, ScreenName.STARTING)]
    keys |= {f"{n.value}.heading" for n in own} | {"busy.heading"}
    keys |= {f"refusal.{r.value}" for r in RefusalReason}
    keys |= {f"route.{k.value}" for k in RouteKind}
    keys |= {f"slip.{k.value}" for k in (RouteKind.HOLD_SHELF, RouteKind.TRANSIT)}
    keys |= {f"staff.reason.{r.value}" for r in RefusalReason if r.value not in ("other", "pin_invalid")}
    keys |= {f"staff.operation.{o.value}" for o in Operation if o is not Operation.PATRON}
    return keys | set(UI_KEYS) | set(PLURALS)


_KEY = re.compile(r"^[a-z_]+(\.[a-z_]+)+$")


def _literals(families: set[str]) -> Iterator[tuple[str, str, int]]:
    """String constants shaped like a key of a family the extractor found ("receipt.borrowed")."""
    for folder in SCANNED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Constant) or not isinstance(node.value, str):
                    continue
                if _KEY.match(node.value) and node.value.split(".")[0] in families:
                    yield node.value, str(path.relative_to(ROOT)), node.lineno


def _extracted() -> Iterator[tuple[str, str, int]]:
    for folder in SCANNED:
        for filename, line, message, _comments, _context in extract_from_dir(
            ROOT / folder, keywords=KEYWORDS, comment_tags=()
        ):
            key = message[0] if isinstance(message, tuple) else message
            if key and "." in key and " " not in key:
                yield key, f"{folder}/{filename}", line


def build_template() -> Catalog:
    template = Catalog(project="library-kiosk", domain="kiosk", fuzzy=False)
    places: dict[str, list[tuple[str, int]]] = {}
    extracted = list(_extracted())
    families = {key.split(".")[0] for key, _f, _l in extracted} | {k.split(".")[0] for k in dynamic_keys()}
    literals = list(_literals(families - {"kiosk", "ui", "server_api", "drivers"}))
    known = {key for key, _f, _l in literals}
    for key, filename, line in [*extracted, *literals]:
        if any(key.startswith(a) and key[len(a) :] in known for a in known):
            continue  # two keys of a conditional, joined by Babel's extractor
        places.setdefault(key, []).append((filename, line))
    for key in sorted(set(places) | dynamic_keys()):
        message_id: str | tuple[str, str] = (key, key) if key in PLURALS else key
        template.add(message_id, locations=places.get(key, ()))
    return template


@functools.cache
def all_keys() -> frozenset[str]:
    catalog = read_catalogue(TEMPLATE)
    return frozenset(str(m.id[0] if isinstance(m.id, tuple) else m.id) for m in catalog if m.id)


@functools.cache
def patron_keys() -> set[str]:
    """What a patron can be shown (the staff screen's keys are needed only in STAFF_LANGUAGES)."""
    return {key for key in all_keys() if not key.startswith(STAFF_PREFIXES)}


def required_keys(language: str) -> set[str]:
    return set(all_keys()) if language in STAFF_LANGUAGES else patron_keys()


def write_catalogue(catalog: Catalog, path: Path) -> None:
    with path.open("wb") as handle:
        write_po(handle, catalog, width=0, sort_output=True, ignore_obsolete=False, include_previous=False)


def update() -> list[Path]:
    """Write `kiosk.pot` from the code, then merge it into every language's `.po`."""
    template = build_template()
    write_catalogue(template, TEMPLATE)
    written = [TEMPLATE]
    for code in KNOWN:
        path = source(code)
        catalog = read_catalogue(path) if path.exists() else Catalog(locale=code, domain="kiosk")
        catalog.update(template, no_fuzzy_matching=True, update_header_comment=False)
        write_catalogue(catalog, path)
        written.append(path)
    return written
