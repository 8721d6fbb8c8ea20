"""The SIP2 codec: published vector, leniency, strictness, round trips, and pysip2 as an independent peer."""

from __future__ import annotations

from datetime import UTC, datetime

import pysip2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from server_api.sip2.codec import (
    Framer,
    Sip2ChecksumError,
    Sip2DateError,
    Sip2DecodeError,
    Sip2EncodeError,
    Sip2FrameTooLarge,
    checksum,
    decode,
    decode_frame,
    encode,
    format_date,
    parse_date,
    parse_free_date,
)
from server_api.sip2.messages import (
    AcsStatus,
    CheckinResponse,
    CheckoutRequest,
    CheckoutResponse,
    LoginRequest,
    PatronInformationResponse,
    RequestAcsResend,
    ScStatus,
    layout,
)
from server_api.sip2.redaction import redact_bytes

T = datetime(2024, 3, 5, 14, 7, 9)


def test_checksum_vector_from_reference() -> None:
    assert checksum(b"9900302.00AY1AZ") == "FCA5"
    frame = encode(ScStatus(status_code="0", max_print_width=30, protocol_version="2.00"), seq=1)
    assert frame == b"9900302.00AY1AZFCA5\r"
    decoded = decode_frame(frame, strict=True)
    assert decoded.seq == 1 and decoded.checksum == "FCA5"
    assert decoded.message == ScStatus(max_print_width=30)


def test_resend_requests_carry_az_only() -> None:
    assert encode(RequestAcsResend(), seq=4) == b"97AZFEF5\r"
    assert checksum(b"97AZ") == "FEF5"


def test_checksum_sums_encoded_bytes_not_characters() -> None:
    msg = CheckoutResponse(ok=True, title_identifier="Beaivi, áhčážan", item_identifier="1")
    for charset in ("utf-8", "iso-8859-10"):
        frame = encode(msg, seq=2, charset=charset)
        through_az = frame[: frame.index(b"AZ") + 2]
        assert frame[-5:-1].decode() == f"{(-sum(through_az)) & 0xFFFF:04X}"
        assert decode(frame, charset=charset, strict=True) == msg
    assert encode(msg, seq=2, charset="utf-8") != encode(msg, seq=2, charset="iso-8859-10")


@pytest.mark.parametrize(
    "frame",
    [
        b"9900302.00AY1AZfca5\r",  # lowercase hex
        b"9900302.00AY1AZFCA5\r\n",  # CRLF
        b"9900302.00AY1AZFCA5\n",  # LF only
        b"9900302.00AY1AZFCA5\r\x00\x00",  # trailing NULs
    ],
)
def test_lenient_decoding_accepts_what_real_servers_send(frame: bytes) -> None:
    assert decode(frame) == ScStatus(max_print_width=30)
    with pytest.raises(Sip2DecodeError):
        decode(frame, strict=True)


def test_lenient_decoding_space_padded_checksum_and_missing_ay() -> None:
    body = b"941AZ"
    check = f"{(-sum(body)) & 0xFFFF:4X}".encode()
    assert decode(body + check + b"\r").ok is True  # type: ignore[attr-defined]
    frame = b"10" + b"1YNN" + format_date(T).encode() + b"AO2190000|AB123|AQ2190000"  # no final '|'
    msg = decode(frame + b"\r")
    assert isinstance(msg, CheckinResponse) and msg.permanent_location == "2190000"
    with pytest.raises(Sip2DecodeError):
        decode(frame + b"\r", strict=True)


def test_bad_checksum_is_a_checksum_error() -> None:
    with pytest.raises(Sip2ChecksumError):
        decode(b"9900302.00AY1AZFCA6\r")


@pytest.mark.parametrize(
    "frame",
    [b"\r", b"9\r", b"12\r", b"121NNY2024\r", b"XX123|\r", b"1210NY20240305    140709AO", b"64\xff\xfe\r"],
)
def test_garbled_or_truncated_frames_raise_decode_error(frame: bytes) -> None:
    with pytest.raises(Sip2DecodeError):
        decode(frame)


def test_routing_extensions_survive_a_round_trip() -> None:
    msg = CheckinResponse(
        ok=True,
        alert=True,
        transaction_date=T,
        institution_id="2190000",
        item_identifier="21900000000018",
        permanent_location="2190000",
        destination_location="2201200",
        alert_type="04",
        hold_patron_id="219000000002",
        hold_patron_name="Niillas Somby",
        collection_code="book",
        call_number="839.8 Hal",
        sort_bin="T",
    )
    frame = encode(msg, seq=7)
    for field in (
        b"CT2201200|",
        b"CV04|",
        b"CY219000000002|",
        b"DANiillas Somby|",
        b"CRbook|",
        b"CS839.8 Hal|",
    ):
        assert field in frame
    assert decode(frame, strict=True) == msg


def test_unknown_fields_are_kept_and_reencoded() -> None:
    body = b"121YNY" + format_date(T).encode() + b"AO1|AA2|AB3|AJTitle|AH|ZZvendor|AFhei|XYmore|"
    msg = decode(body + b"\r")
    assert msg.extra == (("ZZ", "vendor"), ("XY", "more"))
    assert msg.get_extra("XY") == "more"
    again = encode(msg, seq=None, error_detection=False)
    assert b"ZZvendor|" in again and b"XYmore|" in again
    assert decode(again) == msg


def test_repeatable_fields_are_tuples() -> None:
    msg = PatronInformationResponse(
        transaction_date=T,
        charged_items_count=2,
        patron_identifier="1",
        personal_name="Ásllat Gaup",
        charged_items=("A", "B"),
        hold_items=("H",),
        screen_message=("one", "two"),
        print_line=("p",),
    )
    frame = encode(msg, seq=0)
    assert frame.count(b"AU") == 2 and b"AFone|AFtwo|" in frame
    back = decode(frame, strict=True)
    assert isinstance(back, PatronInformationResponse)
    assert back.charged_items == ("A", "B") and back.hold_items == ("H",)


def test_unencodable_character_names_field_and_character() -> None:
    msg = CheckoutRequest(
        transaction_date=T, patron_identifier="1", item_identifier="2", patron_password=None
    )
    bad = CheckoutResponse(title_identifier="Guhtoset dearvvuođat", item_identifier="2")
    encode(msg, seq=1, charset="cp850")
    with pytest.raises(Sip2EncodeError, match=r"AJ.*'đ'"):
        encode(bad, seq=1, charset="cp850")
    with pytest.raises(Sip2EncodeError, match="AB"):
        encode(CheckoutResponse(item_identifier="a|b"), seq=1)
    with pytest.raises(Sip2EncodeError):
        encode(ScStatus(), seq=10)


def test_dates() -> None:
    assert format_date(T) == "20240305    140709"
    assert parse_date("20240305    140709") == T
    utc = datetime(2024, 3, 5, 14, 7, 9, tzinfo=UTC)
    assert format_date(utc) == "20240305   Z140709"
    assert parse_date(format_date(utc)) == utc
    assert parse_date(" " * 18) is None
    assert parse_free_date("2024-03-05") == datetime(2024, 3, 5)
    assert parse_free_date("20240305    235900") == datetime(2024, 3, 5, 23, 59)
    with pytest.raises(Sip2DateError):
        parse_date("2024-03-05 14:07:0")


@given(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)))
def test_every_date_is_eighteen_characters_and_reads_back_also_before_the_year_1000(value: datetime) -> None:
    value = value.replace(microsecond=0)
    text = format_date(value)
    assert len(text) == 18
    assert parse_date(text) == value


def test_framer_splits_joins_and_limits() -> None:
    framer = Framer(max_size=64)
    assert framer.feed(b"941\r9900") == [b"941\r"]
    assert framer.feed(b"302.00\r\n\x00941\r") == [b"9900302.00\r", b"941\r"]
    assert framer.pending == 0
    with pytest.raises(Sip2FrameTooLarge):
        framer.feed(b"x" * 65)
    with pytest.raises(Sip2FrameTooLarge):
        Framer(max_size=8).feed(b"123456789\r")


def test_redaction_masks_pin_terminal_and_login_passwords() -> None:
    login = encode(LoginRequest(login_user_id="kiosk", login_password="s3cret", location_code="x"), seq=0)
    co = redact_bytes(login)
    assert "s3cret" not in co and "CO***" in co and "CNkiosk" in co
    checkout = encode(
        CheckoutRequest(
            transaction_date=T,
            patron_identifier="1",
            item_identifier="2",
            terminal_password="tp",
            patron_password="9876",
        ),
        seq=3,
    )
    text = redact_bytes(checkout)
    assert "9876" not in text and "tp|" not in text and "AD***" in text
    garbled = redact_bytes(checkout.replace(b"AY3AZ", b"AY3AZ0"))  # no longer decodes
    assert "9876" not in garbled and "tp|" not in garbled


def test_redaction_keeps_who_the_patron_is_out_of_logs_and_what_staff_diagnose_with_in() -> None:
    reply = encode(
        PatronInformationResponse(
            institution_id="2190000",
            patron_identifier="N0001234",
            personal_name="Máret Ánne",
            email_address="maret@example.org",
            home_phone_number="+47 999",
            screen_message=("Lånet er sperret",),
        ),
        seq=1,
    )
    for text in (redact_bytes(reply), redact_bytes(reply.replace(b"AY1AZ", b"AY1AZ0"))):  # and garbled
        for personal in ("N0001234", "Máret", "maret@", "+47 999"):
            assert personal not in text
        assert "AE<patron>" in text and "AFLånet er sperret" in text and "AO2190000" in text
    assert "Máret" not in repr(PatronInformationResponse(personal_name="Máret Ánne"))


# --- property-based round trips -------------------------------------------------------------------

sip_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="|\r\n\x00"), max_size=30
)
sip_dates = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(9999, 12, 31)).map(
    lambda d: d.replace(microsecond=0)
)
KNOWN_ON_10 = {v.code for v in layout(CheckinResponse)[1]}
codes = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2, max_size=2).filter(
    lambda c: c not in KNOWN_ON_10
)


@given(
    ok=st.booleans(),
    alert=st.booleans(),
    date=st.none() | sip_dates,
    item=sip_text,
    ct=st.none() | sip_text,
    cv=st.none() | st.sampled_from(["00", "01", "02", "03", "04", "99"]),
    dan=st.none() | sip_text,
    af=st.lists(sip_text, max_size=3).map(tuple),
    extra=st.lists(st.tuples(codes, sip_text), max_size=3).map(tuple),
    seq=st.none() | st.integers(0, 9),
    detect=st.booleans(),
)
def test_checkin_response_round_trip(
    ok: bool,
    alert: bool,
    date: datetime | None,
    item: str,
    ct: str | None,
    cv: str | None,
    dan: str | None,
    af: tuple[str, ...],
    extra: tuple[tuple[str, str], ...],
    seq: int | None,
    detect: bool,
) -> None:
    msg = CheckinResponse(
        ok=ok,
        alert=alert,
        transaction_date=date,
        item_identifier=item,
        permanent_location="x",
        destination_location=ct,
        alert_type=cv,
        hold_patron_name=dan,
        screen_message=af,
        extra=extra,
    )
    frame = encode(msg, seq=seq, error_detection=detect)
    decoded = decode_frame(frame, strict=True)
    assert decoded.message == msg
    assert decoded.seq == (seq if detect else None)


@given(
    renew=st.booleans(),
    no_block=st.booleans(),
    at=sip_dates,
    due=st.none() | sip_dates,
    patron=sip_text,
    item=sip_text,
    pin=st.none() | sip_text,
)
def test_checkout_request_round_trip(
    renew: bool, no_block: bool, at: datetime, due: datetime | None, patron: str, item: str, pin: str | None
) -> None:
    msg = CheckoutRequest(
        sc_renewal_policy=renew,
        no_block=no_block,
        transaction_date=at,
        nb_due_date=due,
        institution_id="2190000",
        patron_identifier=patron,
        item_identifier=item,
        patron_password=pin,
    )
    assert decode(encode(msg, seq=5), strict=True) == msg


# --- pysip2 as an independent implementation ------------------------------------------------------


def test_ours_to_pysip2_checkin_response() -> None:
    msg = CheckinResponse(
        ok=True,
        resensitize="Y",
        magnetic_media="N",
        alert=True,
        transaction_date=T,
        institution_id="2190000",
        item_identifier="21900000000018",
        permanent_location="2190000",
        title_identifier="Brødrene Løvehjerte",
        screen_message=("Legg på hentehylla",),
        destination_location="2190000",
        alert_type="01",
    )
    got = pysip2.decode_message(encode(msg, seq=3), encoding="utf-8")
    assert got.sequence_number == 3
    m = got.message
    assert isinstance(m, pysip2.CheckinResponse)
    assert (m.ok, m.resensitize, m.alert, m.transaction_date) == ("1", "Y", "Y", "20240305    140709")
    assert m.title_identifier == "Brødrene Løvehjerte" and m.screen_message == ("Legg på hentehylla",)


def test_pysip2_to_ours_acs_status_and_patron_information() -> None:
    theirs = pysip2.ACSStatusResponse(
        online_status="Y",
        checkin_ok="Y",
        checkout_ok="Y",
        acs_renewal_policy="N",
        status_update_ok="N",
        offline_ok="Y",
        timeout_period="050",
        retries_allowed="003",
        date_time_sync="20240305    140709",
        protocol_version="2.00",
        institution_id="2190000",
        library_name="Tromsø bibliotek",
        supported_messages="YYYNYYYYYNYNNNYN",
    )
    frame = pysip2.encode_message(theirs, sequence_number=8, checksum=True, encoding="utf-8")
    decoded = decode_frame(frame, strict=True)
    assert decoded.seq == 8
    assert decoded.message == AcsStatus(
        acs_renewal_policy=False,
        offline_ok=True,
        timeout_period=50,
        retries_allowed=3,
        date_time_sync=T,
        institution_id="2190000",
        library_name="Tromsø bibliotek",
        supported_messages="YYYNYYYYYNYNNNYN",
    )
    info = pysip2.PatronInformationResponse(
        patron_status="Y" + " " * 13,
        language="033",
        transaction_date="20240305    140709",
        hold_items_count="0001",
        overdue_items_count="0000",
        charged_items_count="0002",
        fine_items_count="0000",
        recall_items_count="0000",
        unavailable_holds_count="0000",
        institution_id="2190000",
        patron_identifier="219000000005",
        personal_name="Ольга Смирнова",
        valid_patron="Y",
        charged_items=("A1", "A2"),
        hold_items=("H1",),
    )
    ours = decode(
        pysip2.encode_message(info, sequence_number=1, checksum=True, encoding="utf-8"), strict=True
    )
    assert isinstance(ours, PatronInformationResponse)
    assert ours.personal_name == "Ольга Смирнова" and ours.charged_items == ("A1", "A2")
    assert ours.charged_items_count == 2 and ours.hold_items == ("H1",) and ours.patron_status[0] == "Y"


@given(
    no_block=st.booleans(),
    at=sip_dates,
    patron=sip_text.filter(lambda s: len(s.encode()) < 200),
    item=sip_text.filter(lambda s: len(s.encode()) < 200),
    pin=st.none() | sip_text,
    seq=st.integers(0, 9),
)
def test_checkout_request_agrees_with_pysip2_both_ways(
    no_block: bool, at: datetime, patron: str, item: str, pin: str | None, seq: int
) -> None:
    ours = CheckoutRequest(
        sc_renewal_policy=True,
        no_block=no_block,
        transaction_date=at,
        nb_due_date=at,
        institution_id="2190000",
        patron_identifier=patron,
        item_identifier=item,
        terminal_password="",
        patron_password=pin,
    )
    theirs = pysip2.CheckoutRequest(
        sc_renewal_policy="Y",
        no_block="Y" if no_block else "N",
        transaction_date=format_date(at),
        nb_due_date=format_date(at),
        institution_id="2190000",
        patron_identifier=patron,
        item_identifier=item,
        terminal_password="",
        patron_password=pin,
    )
    our_frame = encode(ours, seq=seq)
    their_frame = pysip2.encode_message(theirs, sequence_number=seq, checksum=True, encoding="utf-8")
    assert our_frame == their_frame  # same field order, same checksum
    assert pysip2.decode_message(our_frame, encoding="utf-8").message == theirs
    assert decode(their_frame, strict=True) == ours
