"""Dates, numbers and money in the patron's language, with Babel (CLDR), one function each, so the same
amount never appears as "250.00 NOK" in one place and "250,00 kr" in another."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from babel.dates import format_date as _babel_date
from babel.numbers import format_currency, format_decimal

from kiosk.i18n.languages import KNOWN

DEFAULT_LOCALE = "nb_NO"
DEFAULT_CURRENCY = "NOK"


def _locale(language: str) -> str:
    found = KNOWN.get(language)
    return found.locale if found is not None else DEFAULT_LOCALE


def format_date(value: str | date, language: str) -> str:
    """13. desember 2026 (nb), 13 December 2026 (en), 13.12.2026 where CLDR has no month names."""
    when = value if isinstance(value, date) else datetime.fromisoformat(value)
    if isinstance(when, datetime):
        when = when.date()
    found = KNOWN.get(language)
    pattern = found.date_format if found is not None else "long"
    return str(_babel_date(when, pattern, locale=_locale(language)))


def format_money(amount: str | float | Decimal, language: str, currency: str = "") -> str:
    """250,00 kr (nb, nn, se, en), 250,00 NOK (fi, ru), in the patron's locale; text that is not a number
    (a library system's own wording) is returned as it is."""
    try:
        value = Decimal(str(amount).replace(",", ".").strip())
    except InvalidOperation:
        return str(amount)
    return str(format_currency(value, currency or DEFAULT_CURRENCY, locale=_locale(language)))


def format_number(value: int | float | Decimal, language: str) -> str:
    return str(format_decimal(value, locale=_locale(language)))
