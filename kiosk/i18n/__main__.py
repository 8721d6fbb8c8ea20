"""`python -m kiosk.i18n update | compile | check`: the translators' and the installer's commands.

update   extract the message keys from the code into kiosk.pot and merge them into every .po
compile  build the .mo files of the complete catalogues (make does this when it installs)
check    say, per language, how many messages are translated, drafted (fuzzy) and missing
"""

from __future__ import annotations

import argparse
import sys

from kiosk.i18n.catalogues import compile_all, status
from kiosk.i18n.languages import COMPLETE_LANGUAGES, KNOWN
from kiosk.i18n.template import required_keys, update


def _check() -> int:
    problems = 0
    for code in KNOWN:
        found = status(code, required_keys(code))
        kind = "complete" if code in COMPLETE_LANGUAGES else "draft"
        print(
            f"{code:4} {kind:8} {found.translated:4} translated, {found.fuzzy:4} fuzzy, "
            f"{len(found.missing):4} missing of {found.total}"
        )
        if code in COMPLETE_LANGUAGES and (found.missing or found.fuzzy):
            problems += 1
            for key in found.missing:
                print(f"     missing: {key}")
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kiosk.i18n", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("update", "compile", "check"))
    args = parser.parse_args(argv)
    if args.command == "update":
        for path in update():
            print(f"wrote {path}")
        return 0
    if args.command == "compile":
        for path in compile_all():
            print(f"built {path}")
        return 0
    return _check()


if __name__ == "__main__":
    sys.exit(main())
