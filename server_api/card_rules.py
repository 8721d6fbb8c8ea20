"""A library's card-number patterns, made safe to test on a kiosk: what the gateway publishes
(`[library.cards] patterns`, `GET /v1/offline-data` `card_rules`) and the kiosk applies offline.

A pattern is a Python regular expression that must match the *whole* card number (`fullmatch`), so
`\\d{8,14}` and `^\\d{8,14}$` mean the same. Python's engine backtracks: a pattern like `(\\d+)+x` takes
time exponential in the length of the number it is shown, and a kiosk that tests a card with it hangs
offline. A timeout cannot stop `re` in the middle of a match, so a pattern is checked before it is used:

- at most `MAX_PATTERNS` patterns of at most `MAX_PATTERN_LENGTH` characters each;
- it compiles, and uses nothing a card number needs none of (back-references, look-arounds,
  conditionals);
- the ways the engine can try to match it against a number of at most `MAX_CARD_LENGTH` characters,
  counted from its parse tree (a sequence multiplies, an alternation adds, a repetition of something
  with k ways is up to k^n), stay under `MAX_TRIES`. A repeated group that can match in several ways
  (`(\\d+)+`, `(\\d|\\d)*`) is refused; `(?:\\d{4} ?){3}` is fine.

Numbers longer than `MAX_CARD_LENGTH` match no pattern (they are not tried). Why not RE2 (google-re2),
which has no backtracking at all: it would be the kiosk image's only compiled dependency for a check
this small, and the rules a library writes (prefixes, digits, lengths) fit in the bound.

Vectors: `compile_card_patterns(["2190\\d{6}"])` matches "2190123456" and not "21901234567";
`compile_card_patterns(["(\\d+)+$"])` raises `CardRuleError`.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable, Sequence
from typing import Any

MAX_PATTERNS = 16
MAX_PATTERN_LENGTH = 200
MAX_CARD_LENGTH = 32  # longer than any library card number (the kiosk's keypad takes 20)
MAX_TRIES = 10_000  # ways to try one pattern on one number: well under a millisecond each

# The parser of the standard library's `re` (not public, but the one `re.compile` itself uses; its
# tree is what the engine runs).
_parser: Any = importlib.import_module("re._parser")
_UNBOUNDED = int(_parser.MAXREPEAT)
_ONE_WAY = {"LITERAL", "NOT_LITERAL", "ANY", "IN", "AT", "CATEGORY"}
_REPEATS = {"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"}
_UNNEEDED = {
    "GROUPREF": "a back-reference",
    "GROUPREF_EXISTS": "a conditional group",
    "ASSERT": "a look-around",
    "ASSERT_NOT": "a look-around",
}


class CardRuleError(ValueError):
    """A card-number pattern that cannot be used; the message says which and why."""


def _tries(tree: Iterable[tuple[Any, Any]], source: str) -> int:
    """An upper bound on the ways the engine can try `tree` against a number of `MAX_CARD_LENGTH`."""
    total = 1
    for op, value in tree:
        name = str(op)
        if name in _ONE_WAY:
            ways = 1
        elif name == "SUBPATTERN":
            ways = _tries(value[3], source)
        elif name == "ATOMIC_GROUP":
            ways = _tries(value, source)
        elif name == "BRANCH":
            ways = sum(_tries(branch, source) for branch in value[1])
        elif name in _REPEATS:
            low, high, body = value
            high = MAX_CARD_LENGTH if high == _UNBOUNDED else min(high, MAX_CARD_LENGTH)
            inner = _tries(body, source)
            if inner == 1:
                ways = max(1, high - low + 1)
            else:
                ways = sum(inner**count for count in range(min(low, high), high + 1))
        else:
            raise CardRuleError(
                f"card pattern {source!r} uses {_UNNEEDED.get(name, name.lower())}; card rules need only "
                "characters, classes, "
                "groups, alternatives and repetitions"
            )
        total *= ways
        if total > MAX_TRIES:
            break
    return total


def compile_card_pattern(source: str) -> re.Pattern[str]:
    """`source` compiled, or `CardRuleError` saying what is wrong with it."""
    if len(source) > MAX_PATTERN_LENGTH:
        raise CardRuleError(
            f"a card pattern is at most {MAX_PATTERN_LENGTH} characters ({len(source)} given)"
        )
    try:
        compiled = re.compile(source)
    except re.error as error:
        raise CardRuleError(f"card pattern {source!r} is not a regular expression: {error}") from None
    if _tries(_parser.parse(source), source) > MAX_TRIES:
        raise CardRuleError(
            f"card pattern {source!r} could take too long to test a card (a repeated group that can match "
            "in several ways, or too many open-ended repetitions): write it with one repetition per part, "
            "e.g. '2190\\d{6,10}'"
        )
    return compiled


def compile_card_patterns(sources: Sequence[str]) -> tuple[re.Pattern[str], ...]:
    """All of `sources` compiled (`compile_card_pattern`), or `CardRuleError` for the first bad one."""
    if len(sources) > MAX_PATTERNS:
        raise CardRuleError(f"at most {MAX_PATTERNS} card patterns ({len(sources)} given)")
    return tuple(compile_card_pattern(source) for source in sources)


def matches_card_patterns(patterns: Sequence[re.Pattern[str]], card: str) -> bool:
    """True when `card` is a whole match of one of `patterns` (no patterns: any card)."""
    if not patterns:
        return True
    if len(card) > MAX_CARD_LENGTH:
        return False
    return any(pattern.fullmatch(card) for pattern in patterns)


__all__ = [
    "MAX_CARD_LENGTH",
    "MAX_PATTERNS",
    "MAX_PATTERN_LENGTH",
    "MAX_TRIES",
    "CardRuleError",
    "compile_card_pattern",
    "compile_card_patterns",
    "matches_card_patterns",
]
