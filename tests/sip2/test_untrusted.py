"""Replies that cannot be trusted as they are, and refusal texts in the library systems' languages: what
reaches the patron is validated, deduplicated, capped and clean; the raw reply goes to the staff log."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import pytest

from kiosk.config import ConfigError, load
from server_api.circulation import RefusalReason, Transaction
from server_api.sip2.circulation import SHOWN_LOANS, Sip2Circulation
from server_api.sip2.client import Sip2ConfigError, Sip2Settings
from server_api.sip2.codec import Decoded, encode
from server_api.sip2.messages import (
    CheckoutRequest,
    CheckoutResponse,
    PatronInformationRequest,
    PatronInformationResponse,
    RenewAllRequest,
    RenewAllResponse,
)
from server_api.sip2.refusals import RefusalReader
from server_api.sip2.shown import SCREEN_LIMIT
from tests.sip2.peers import TIMEOUT, Acs, Action, T, misbehaving_acs


def settings(port: int, **kw: object) -> Sip2Settings:
    options: dict[str, object] = {"timeout": TIMEOUT * 3, **kw}
    return Sip2Settings("127.0.0.1", port, "u", "pw", **options)  # type: ignore[arg-type]


def answering(make: dict[type, object]) -> object:
    """A fault function answering the given request types with the given replies (others: the good one)."""

    def fault(decoded: Decoded, good: bytes, acs: Acs) -> Action:
        reply = make.get(type(decoded.message))
        if reply is None:
            return [good]
        return [encode(reply(decoded.message) if callable(reply) else reply, seq=decoded.seq)]  # type: ignore[arg-type]

    return fault


def patron_info(request: PatronInformationRequest, **kw: object) -> PatronInformationResponse:
    fields: dict[str, object] = {
        "transaction_date": T,
        "patron_identifier": request.patron_identifier,
        "personal_name": "Máret",
        "valid_patron": "Y",
        **kw,
    }
    return PatronInformationResponse(**fields)  # type: ignore[arg-type]


async def test_lists_are_deduplicated_junk_dropped_and_text_cleaned_capped_with_the_raw_reply_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, "server_api.sip2")
    reply = {
        PatronInformationRequest: lambda r: patron_info(
            r,
            personal_name="Máret\x1b[2J Ánne\u202e",
            charged_items_count=0,
            charged_items=("i1", "ARRAY(0x55d0c8a3b2f0)", "i1", "i2", ""),
            screen_message=("Velkommen\x07!", "x" * 60_000, "Velkommen\x07!"),
            extra=(("AD", "pin-SECRET"),),  # a server that echoes the PIN
        )
    }
    async with misbehaving_acs(answering(reply)) as acs:  # type: ignore[arg-type]
        circulation = Sip2Circulation(settings(acs.port))
        account = await circulation.patron("P1", "pin-SECRET", Transaction.new(T))
        await circulation.close()
    assert [loan.item_id for loan in account.loans] == ["i1", "i2"]
    assert account.name == "Máret Ánne"
    assert (
        account.screen_message.startswith("Velkommen ! xxx") and len(account.screen_message) <= SCREEN_LIMIT
    )
    assert not any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in account.screen_message + account.name)
    warning = caplog.text
    assert "AU: 2 entries that are not ids dropped" in warning and "AU: 1 duplicates dropped" in warning
    assert "AF: 60000 characters cut to 200" in warning and "60191 bytes" in warning  # the log is capped too
    assert "raw reply" in warning and "ARRAY(0x55d0c8a3b2f0)" in warning  # for staff, as it came
    assert "pin-SECRET" not in warning


async def test_a_renew_all_whose_lists_are_perl_references_gives_no_fake_item_ids(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, "server_api.sip2")
    reply = {
        RenewAllRequest: RenewAllResponse(
            ok=True,
            renewed_count=0,
            unrenewed_count=0,
            transaction_date=T,
            renewed_items=("ARRAY(0x5581e2c3d4a8)",),
            unrenewed_items=("ARRAY(0x5581e2c3d4b0)",),
            extra=(("AD", "pin-SECRET"),),  # a server that echoes the PIN
        )
    }
    async with misbehaving_acs(answering(reply)) as acs:  # type: ignore[arg-type]
        circulation = Sip2Circulation(settings(acs.port))
        outcome = await circulation.renew_all("P1", Transaction.new(T))
        await circulation.close()
    assert outcome.renewed == () and outcome.not_renewed == ()
    assert "BM: 1 entries that are not ids dropped" in caplog.text and "ARRAY(0x5581e2c3d4a8)" in caplog.text
    assert "AD***" in caplog.text and "pin-SECRET" not in caplog.text


async def test_a_patron_with_5000_loans_costs_item_requests_only_for_the_loans_shown() -> None:
    ids = tuple(f"0301{n:010d}" for n in range(5000))
    reply = {PatronInformationRequest: lambda r: patron_info(r, charged_items_count=5000, charged_items=ids)}
    async with misbehaving_acs(answering(reply)) as acs:  # type: ignore[arg-type]
        circulation = Sip2Circulation(settings(acs.port, pool_size=2))
        account = await circulation.patron("P1", None, Transaction.new(T))
        await circulation.close()
    assert len(account.loans) == 5000 and account.loans[-1].item_id == ids[-1]  # every loan, by id
    assert acs.count(b"17") == SHOWN_LOANS  # details only for what is shown
    assert all(loan.title == "Sult" for loan in account.loans[:SHOWN_LOANS])
    assert all(loan.title == "" for loan in account.loans[SHOWN_LOANS:])


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan, 0.0])
def test_non_finite_or_non_positive_timeouts_are_refused(value: float) -> None:
    with pytest.raises(Sip2ConfigError, match="timeout must be a positive number of seconds"):
        Sip2Settings("h", 1, "u", "p", timeout=value)
    with pytest.raises(Sip2ConfigError, match="keepalive_interval"):
        Sip2Settings("h", 1, "u", "p", keepalive_interval=value)


@pytest.mark.parametrize("value", ["inf", "nan", "-inf"])
def test_a_station_file_with_an_infinite_timeout_is_refused_naming_the_key(
    tmp_path: Path, value: str
) -> None:
    secret = tmp_path / "pw"
    secret.write_text("pw\n", encoding="utf-8")
    secret.chmod(0o600)
    secret.chmod(0o600)
    path = tmp_path / "kiosk.toml"
    path.write_text(
        f'[sip2]\nuser = "u"\npassword_file = "{secret}"\ntimeout = {value}\n'
        f'[journal]\npath = "{tmp_path / "j.sqlite3"}"\n[printer]\ndirectory = "{tmp_path}"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"\[sip2\]( SIP2)? timeout"):
        load(path).sip2_settings()


# --- refusal reasons ----------------------------------------------------------------------------------

SAMPLES = [
    ("Invalid Item", RefusalReason.ITEM_NOT_FOUND),
    ("Item checked out to another patron", RefusalReason.ALREADY_ON_LOAN),
    ("Item not checked out", RefusalReason.NOT_ON_LOAN),
    ("Patron has fines", RefusalReason.PATRON_BLOCKED),
    ("Eksemplaret er allerede utlånt til en annen låner.", RefusalReason.ALREADY_ON_LOAN),
    ("Ukjent eksemplar.", RefusalReason.ITEM_NOT_FOUND),
    ("Du har nådd maks antall lån (5).", RefusalReason.LIMIT_REACHED),
    ("Okänd låntagare", RefusalReason.PATRON_NOT_FOUND),
    ("Exemplaret är reserverat för en annan låntagare", RefusalReason.ON_HOLD_FOR_ANOTHER),
    ("Lånekortet är spärrat", RefusalReason.PATRON_BLOCKED),
    ("För många lån", RefusalReason.LIMIT_REACHED),
    ("Okänt exemplar", RefusalReason.ITEM_NOT_FOUND),
    ("Väärä tunnusluku", RefusalReason.PIN_INVALID),
    ("Nide on varattu toiselle asiakkaalle", RefusalReason.ON_HOLD_FOR_ANOTHER),
    ("Lainauskielto: maksamattomia maksuja", RefusalReason.PATRON_BLOCKED),
    ("Tuntematon nide", RefusalReason.ITEM_NOT_FOUND),
    ("Nide ei ole lainassa", RefusalReason.NOT_ON_LOAN),
]


@pytest.mark.parametrize(("text", "reason"), SAMPLES, ids=[t for t, _ in SAMPLES])
def test_refusal_texts_map_in_norwegian_swedish_finnish_and_english(text: str, reason: RefusalReason) -> None:
    reader = RefusalReader()
    assert reader.reason(CheckoutResponse(), text, RefusalReason.OTHER) is reason
    assert reader.unmapped() == []


def test_structured_fields_come_before_the_words_and_a_profile_pattern_before_the_languages() -> None:
    reader = RefusalReader(extra=(("item_lost", r"^Status 7$"),))
    no_patron = CheckoutResponse(extra=(("BL", "N"),))
    assert (
        reader.reason(no_patron, "Item not for loan", RefusalReason.OTHER) is RefusalReason.PATRON_NOT_FOUND
    )
    assert (
        reader.reason(CheckoutResponse(extra=(("CQ", "N"),)), "", RefusalReason.OTHER)
        is RefusalReason.PIN_INVALID
    )
    assert reader.reason(CheckoutResponse(), "Status 7", RefusalReason.OTHER) is RefusalReason.ITEM_LOST
    with pytest.raises(ValueError, match="no refusal phrases for language"):
        RefusalReader(languages=("de",))


async def test_unmapped_refusal_texts_are_counted_with_digits_folded() -> None:
    def refuse(request: CheckoutRequest) -> CheckoutResponse:
        return CheckoutResponse(
            ok=False,
            transaction_date=T,
            patron_identifier=request.patron_identifier,
            item_identifier=request.item_identifier,
            screen_message=(f"Systemfeil {request.item_identifier[-1]}",),
        )

    async with misbehaving_acs(answering({CheckoutRequest: refuse})) as acs:  # type: ignore[arg-type]
        circulation = Sip2Circulation(settings(acs.port))
        outcomes = [await circulation.checkout("P1", f"item-{n}", Transaction.new(T)) for n in range(3)]
        await circulation.close()
    assert all(
        o.reason is RefusalReason.OTHER and o.screen_message.startswith("Systemfeil") for o in outcomes
    )
    assert circulation.unmapped_refusals() == [("Systemfeil #", 3)]


async def test_a_loan_whose_reply_has_an_unreadable_date_or_count_is_still_a_loan() -> None:
    def fault(decoded: Decoded, good: bytes, acs: Acs) -> Action:
        if isinstance(decoded.message, CheckoutRequest):
            body = good[: good.index(b"AY")]
            body = body[:6] + b"00000000    000000" + body[24:]  # year 0000: not a date
            return [encode_raw(body + b"AY" + str(decoded.seq).encode())]
        return [good]

    async with misbehaving_acs(fault) as acs:
        circulation = Sip2Circulation(settings(acs.port))
        outcome = await circulation.checkout("P1", "item-1", Transaction.new(T))
        await circulation.close()
    assert outcome.ok and outcome.title == "Sult"  # fixed fields read, the date taken as none


def test_the_codec_names_the_fixed_fields_it_could_not_read_and_never_guesses_ok() -> None:
    from server_api.sip2.codec import Sip2DecodeError, decode_frame

    frame = b"121NUY00000000    000000AOX|AAP|ABi|AJSult|AH|\r"
    decoded = decode_frame(frame, fallback="")
    assert decoded.message.ok and decoded.repaired == ("12.transaction_date",)  # type: ignore[attr-defined]
    counts = b"64" + b" " * 14 + b"000" + b"20240305    140709" + b"00ab" + b"0000" * 5 + b"AOX|AAP|AE|\r"
    assert decode_frame(counts, fallback="").message.hold_items_count == 0  # type: ignore[attr-defined]
    with pytest.raises(Sip2DecodeError):
        decode_frame(b"12X1NUY20240305    140709AOX|AAP|ABi|AJSult|AH|\r", fallback="")  # ok unreadable
    with pytest.raises(Sip2DecodeError):
        decode_frame(frame)  # no fallback asked for (the ACS side): still an error


def encode_raw(body: bytes) -> bytes:
    from server_api.sip2.codec import checksum

    through = body + b"AZ"
    return through + checksum(through).encode() + b"\r"


async def test_routing_fields_that_reach_the_staff_slip_are_cleaned_too() -> None:
    from server_api.circulation import RouteKind
    from server_api.sip2.messages import CheckinRequest, CheckinResponse

    def returned(request: CheckinRequest) -> CheckinResponse:
        return CheckinResponse(
            ok=True,
            alert=True,
            transaction_date=T,
            item_identifier=request.item_identifier,
            alert_type="02",
            destination_location="2190100\x1b[5m\x7f",
            hold_patron_name="Niillas\x0b\tSomby" + "!" * 500,
        )

    async with misbehaving_acs(answering({CheckinRequest: returned})) as acs:  # type: ignore[arg-type]
        circulation = Sip2Circulation(settings(acs.port))
        outcome = await circulation.checkin("item-1", Transaction.new(T))
        await circulation.close()
    route = outcome.route
    assert route.kind is RouteKind.TRANSIT and route.destination_id == "2190100"
    assert route.hold_patron_name.startswith("Niillas Somby!") and len(route.hold_patron_name) <= 200
