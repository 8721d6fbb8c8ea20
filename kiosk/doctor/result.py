"""One finding of `kiosk doctor`: which check, how it went, what was seen, and what to do."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Verdict(StrEnum):
    OK = "ok"
    WARN = "warn"  # works, but someone should look (paper running low, little disk left)
    FAIL = "fail"  # patrons are affected now: `kiosk doctor` exits 1
    SKIP = "skip"  # not configured here (no [gateway]) or not checkable without another check


@dataclass(frozen=True)
class Finding:
    check: str  # reader, printer, network, gateway, library, clock, disk, journal, files
    verdict: Verdict
    said: str  # what was found, in plain words
    advice: str = ""  # what to do; empty when nothing is to be done

    def line(self) -> str:
        text = f"{self.verdict.value.upper():4} {self.check:8} {self.said}"
        return f"{text}: {self.advice}" if self.advice else text

    def as_record(self) -> dict[str, str]:
        return {"check": self.check, "verdict": self.verdict.value, "said": self.said, "advice": self.advice}


def ok(check: str, said: str) -> Finding:
    return Finding(check, Verdict.OK, said)


def warn(check: str, said: str, advice: str) -> Finding:
    return Finding(check, Verdict.WARN, said, advice)


def fail(check: str, said: str, advice: str) -> Finding:
    return Finding(check, Verdict.FAIL, said, advice)


__all__ = ["Finding", "Verdict", "fail", "ok", "warn"]
