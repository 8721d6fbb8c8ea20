"""Every SIP2 message type: hypothesis round trips through our codec, and agreement with pysip2 (an
independent implementation) in both directions on the standard fields, for all messages both know."""

from __future__ import annotations

import types
import typing
from datetime import datetime
from typing import Any

import pysip2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pysip2 import models as pysip2_models

from server_api.sip2.codec import decode, decode_frame, encode, format_date, parse_date
from server_api.sip2.messages import (
    MESSAGE_TYPES,
    RESPONSE_FOR,
    HoldRequest,
    HoldResponse,
    Message,
    RenewAllRequest,
    RenewAllResponse,
    layout,
    patron_blocks,
    patron_status_string,
    supported_messages,
)

sip_text = st.text(st.characters(blacklist_characters="|\r\n\x00", blacklist_categories=("Cs",)), max_size=24)
sip_dates = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2099, 12, 31)).map(
    lambda d: d.replace(microsecond=0)
)
fixed_text_chars = st.sampled_from("0123456789 YNU+-*")
unknown_codes = st.from_regex(r"[A-Z][A-Z0-9]", fullmatch=True)


def _fixed(kind: str, width: int) -> st.SearchStrategy[Any]:
    if kind in ("flag", "ok"):
        return st.booleans()
    if kind == "int":
        return st.integers(0, 10**width - 1)
    if kind == "date":
        return st.none() | sip_dates
    return st.text(fixed_text_chars, min_size=width, max_size=width)


@st.composite
def any_message(draw: st.DrawFn, cls: type[Message]) -> Message:
    fixed, variable = layout(cls)
    values: dict[str, Any] = {f.name: draw(_fixed(f.kind, f.width)) for f in fixed}
    for v in variable:
        if v.kind == "req":
            values[v.name] = draw(sip_text)
        elif v.kind == "opt":
            values[v.name] = draw(st.none() | sip_text)
        else:
            values[v.name] = tuple(draw(st.lists(sip_text, max_size=3)))
    known = {v.code for v in variable}
    extra = draw(st.lists(st.tuples(unknown_codes.filter(lambda c: c not in known), sip_text), max_size=3))
    return cls(**values, extra=tuple(extra))


ALL_CODES = sorted(MESSAGE_TYPES)


def test_every_message_the_station_uses_is_registered_with_its_response() -> None:
    for request, response in (
        ("93", "94"),
        ("99", "98"),
        ("23", "24"),
        ("63", "64"),
        ("11", "12"),
        ("09", "10"),
        ("29", "30"),
        ("65", "66"),
        ("15", "16"),
        ("17", "18"),
        ("35", "36"),
    ):
        assert RESPONSE_FOR[MESSAGE_TYPES[request]] is MESSAGE_TYPES[response]
    assert {"96", "97"} <= set(MESSAGE_TYPES)


@pytest.mark.parametrize("code", ALL_CODES)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), seq=st.integers(0, 9), detect=st.booleans())
def test_round_trip_every_message_type(code: str, data: st.DataObject, seq: int, detect: bool) -> None:
    message = data.draw(any_message(MESSAGE_TYPES[code]))
    frame = encode(message, seq=seq, error_detection=detect)
    decoded = decode_frame(frame, strict=True)
    assert decoded.message == message  # unknown fields included, in order
    if detect and code not in ("96", "97"):
        assert decoded.seq == seq
    # Lenient decoding of the same frame with CRLF and trailing NULs agrees.
    assert decode(frame[:-1] + b"\r\n\x00\x00") == message


def test_65_and_15_wire_layout() -> None:
    at = datetime(2024, 3, 5, 14, 7, 9)
    frame = encode(
        RenewAllRequest(
            transaction_date=at, institution_id="2190000", patron_identifier="P1", patron_password="1"
        ),
        seq=2,
    )
    assert frame.startswith(b"6520240305    140709AO2190000|AAP1|AD1|AY2AZ")
    hold = encode(
        HoldRequest(
            hold_mode="-",
            transaction_date=at,
            pickup_location="2190100",
            hold_type="3",
            institution_id="2190000",
            patron_identifier="P1",
            item_identifier="I1",
        ),
        seq=None,
        error_detection=False,
    )
    assert hold == b"15-20240305    140709BS2190100|BY3|AO2190000|AAP1|ABI1|\r"
    reply = decode(
        b"161N20240305    140709BR2|BS2190000|AO2190000|AAP1|ABI1|AJSult|AFReservert|XXx|\r", strict=True
    )
    assert isinstance(reply, HoldResponse)
    assert reply.ok and not reply.available and reply.queue_position == "2" and reply.extra == (("XX", "x"),)
    renewed = decode(b"6610002000120240305    140709AO2190000|BMa|BMb|BNc|\r", strict=True)
    assert isinstance(renewed, RenewAllResponse)
    assert (renewed.renewed_count, renewed.unrenewed_count) == (2, 1)
    assert renewed.renewed_items == ("a", "b") and renewed.unrenewed_items == ("c",)


def test_patron_status_flags_become_readable_blocks() -> None:
    assert patron_blocks(" " * 14) == ()
    assert patron_blocks(patron_status_string({0, 4, 10})) == (
        "charge privileges denied",
        "card reported lost",
        "excessive outstanding fines",
    )
    every = patron_blocks("Y" * 14)
    assert len(every) == 14 and every[-1] == "too many items billed"
    assert patron_blocks("YN") == ("charge privileges denied",)  # short or N-filled status: no invention


def test_bx_in_words() -> None:
    words = supported_messages("YYYNYYYYYNYNNYYY")
    assert words["block patron (01)"] is False and words["renew all (65)"] is True
    assert supported_messages("YY")["checkin (09)"] is False  # a short BX claims nothing


# --- pysip2 in both directions, for every message it knows --------------------------------------

_TRANS_DATE = pysip2.types.TRANS_DATE.__metadata__[0].pattern  # type: ignore[attr-defined]


def _meta_pattern(hint: Any) -> tuple[str | None, bool]:
    """(regex pattern or None, optional?) of a pysip2 field annotation."""
    optional = False
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        optional = len(args) < len(typing.get_args(hint))
        hint = args[0]
    for meta in getattr(hint, "__metadata__", ()):
        if getattr(meta, "pattern", None):
            return meta.pattern, optional
        if getattr(meta, "max_length", None) == 1:
            return r"^[A-Za-z0-9]$", optional
    return None, optional


@st.composite
def pysip2_values(draw: st.DrawFn, code: str) -> dict[str, Any]:
    spec = pysip2_models.MESSAGE_SPECS_BY_ID[code]
    hints = typing.get_type_hints(spec.struct_type, include_extras=True)
    values: dict[str, Any] = {}
    for f in spec.fields:
        pattern, optional = _meta_pattern(hints[f.name])
        strategy: st.SearchStrategy[Any]
        if f.repeatable:
            strategy = st.lists(sip_text, max_size=3).map(tuple)
        elif pattern == _TRANS_DATE:
            strategy = sip_dates.map(format_date)
        elif pattern:
            pattern = pattern.replace("(?:[0-9]{4}| {4})", "[0-9]{4}")  # our strict decoder wants digits
            strategy = st.from_regex(pattern, fullmatch=True)
        else:
            strategy = sip_text
        if optional and not f.repeatable:
            strategy = st.none() | strategy
        values[f.name] = draw(strategy)
    return values


def _ours_from(code: str, values: dict[str, Any]) -> Message:
    cls = MESSAGE_TYPES[code]
    fixed, variable = layout(cls)
    kwargs: dict[str, Any] = {}
    for f in fixed:
        raw = values[f.name]
        kwargs[f.name] = {
            "flag": lambda r: r == "Y",
            "ok": lambda r: r == "1",
            "int": int,
            "date": parse_date,
        }.get(f.kind, lambda r: r)(raw)
    for v in variable:
        if values.get(v.name) is not None:
            kwargs[v.name] = values[v.name]
    return cls(**kwargs)


SHARED_CODES = sorted(set(MESSAGE_TYPES) & set(pysip2_models.MESSAGE_SPECS_BY_ID))


def test_we_share_every_message_with_pysip2() -> None:
    assert set(MESSAGE_TYPES) <= set(pysip2_models.MESSAGE_SPECS_BY_ID)


@pytest.mark.parametrize("code", SHARED_CODES)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), seq=st.integers(0, 9))
def test_agrees_with_pysip2_both_ways(code: str, data: st.DataObject, seq: int) -> None:
    values = data.draw(pysip2_values(code))
    spec = pysip2_models.MESSAGE_SPECS_BY_ID[code]
    theirs = spec.struct_type(**values)
    ours = _ours_from(code, values)
    # pysip2 -> ours
    their_frame = pysip2.encode_message(theirs, sequence_number=seq, checksum=True, encoding="utf-8")
    decoded = decode_frame(their_frame, strict=True)
    assert decoded.message == ours
    # ours -> pysip2
    our_frame = encode(ours, seq=seq)
    back = pysip2.decode_message(our_frame, encoding="utf-8")
    assert back.message == theirs
    if code not in ("96", "97"):
        assert back.sequence_number == seq == decoded.seq
