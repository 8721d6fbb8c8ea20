"""The sans-IO conversation rules, both sides, without sockets; and the same rules over a real socket for
the replies that cannot be trusted (truncated, duplicated)."""

from __future__ import annotations

import pytest

from server_api.circulation import CirculationNoReply, Transaction
from server_api.sip2.circulation import Sip2Circulation
from server_api.sip2.client import Sip2Settings
from server_api.sip2.codec import Decoded, encode
from server_api.sip2.conversation import (
    NEED_DATA,
    AcsConversation,
    Answer,
    BadFrame,
    ConversationError,
    Reply,
    Request,
    ScConversation,
    SendAgain,
    State,
)
from server_api.sip2.errors import (
    Sip2ChecksumFailed,
    Sip2GarbledReply,
    Sip2MismatchedReply,
    Sip2SequenceMismatch,
)
from server_api.sip2.messages import (
    AcsStatus,
    CheckoutRequest,
    CheckoutResponse,
    ItemInformationRequest,
    ItemInformationResponse,
    LoginRequest,
    LoginResponse,
)
from tests.sip2.peers import TIMEOUT, Acs, Action, T, misbehaving_acs


def checkout(item: str, patron: str = "P1") -> CheckoutRequest:
    return CheckoutRequest(
        transaction_date=T, institution_id="X", patron_identifier=patron, item_identifier=item
    )


def checked_out(item: str, patron: str = "P1", title: str = "Sult") -> CheckoutResponse:
    return CheckoutResponse(
        ok=True, transaction_date=T, patron_identifier=patron, item_identifier=item, title_identifier=title
    )


def sc_after(*requests: object) -> ScConversation:
    """A client conversation that has had `requests` answered correctly (to move the sequence on)."""
    sc = ScConversation()
    for _ in requests:
        sc.send(LoginRequest(login_user_id="u", login_password="p"))
        sc.receive_data(encode(LoginResponse(ok=True), seq=sc._seq))
        assert isinstance(sc.next_event(), Reply)
    return sc


# --- SC side ------------------------------------------------------------------------------------------


def test_illegal_transitions_raise() -> None:
    sc = ScConversation()
    sc.send(checkout("1"))
    with pytest.raises(ConversationError, match="cannot send 11 while awaiting reply"):
        sc.send(checkout("2"))
    sc.receive_data(b"\xff garbage AZ0000\r")
    with pytest.raises(Sip2ChecksumFailed):
        for _ in range(5):
            assert isinstance(sc.next_event(), SendAgain)
            sc.receive_data(b"\xff garbage AZ0000\r")
    assert sc.state is State.CLOSED
    with pytest.raises(ConversationError, match="closed"):
        sc.next_event()
    with pytest.raises(ConversationError, match="closed"):
        sc.receive_data(b"12")
    sc.reset()
    assert sc.state is State.IDLE and b"AY0" in sc.send(checkout("1"))  # numbers start again


def test_a_frame_without_its_checksum_is_asked_for_again_when_error_detection_is_on() -> None:
    sc = sc_after(1)
    good = encode(checked_out("1"), seq=1)
    rejected = 0
    for cut in range(3, len(good) - 1):  # every truncation that keeps a terminator
        sc.reset()
        sc.send(LoginRequest(login_user_id="u", login_password="p"))
        sc.receive_data(encode(LoginResponse(ok=True), seq=0))
        sc.next_event()
        sc.send(checkout("1"))
        sc.receive_data(good[:cut] + b"\r")
        try:
            event = sc.next_event()
        except Sip2GarbledReply:
            rejected += 1  # a cut in the middle of "AZ" whose 4 characters still parse as hex is caught here
            continue
        assert isinstance(event, SendAgain) and event.data == b"97AZFEF5\r", cut
        rejected += 1
    assert rejected == len(good) - 4  # none accepted as the reply


def test_after_a_97_a_reply_numbered_0_is_the_reply_when_it_names_the_requested_item() -> None:
    sc = sc_after(1, 2, 3)
    sc.send(checkout("item-7"))  # sequence number 3
    sc.receive_data(encode(checked_out("item-7"), seq=3)[:-2] + b"0\r")  # checksum damaged
    assert isinstance(sc.next_event(), SendAgain)
    sc.receive_data(encode(checked_out("item-7"), seq=0))  # Koha numbers its resend 0
    reply = sc.next_event()
    assert isinstance(reply, Reply) and reply.after_resend and reply.message.item_identifier == "item-7"  # type: ignore[attr-defined]


def test_after_a_97_a_reply_numbered_0_about_another_item_is_in_doubt() -> None:
    sc = sc_after(1, 2, 3)
    sc.send(checkout("item-7"))
    sc.receive_data(encode(checked_out("item-7"), seq=3)[:-2] + b"0\r")
    assert isinstance(sc.next_event(), SendAgain)
    sc.receive_data(encode(checked_out("item-6"), seq=0))  # the previous item's reply
    with pytest.raises(Sip2MismatchedReply, match="another item 'item-6', not 'item-7'"):
        sc.next_event()


def test_after_a_97_a_reply_without_item_or_patron_and_another_number_is_in_doubt() -> None:
    sc = sc_after(1, 2, 3)
    sc.send(checkout("item-7"))
    sc.receive_data(encode(checked_out("item-7"), seq=3)[:-2] + b"0\r")
    sc.next_event()
    sc.receive_data(encode(CheckoutResponse(ok=True, transaction_date=T), seq=0))
    with pytest.raises(Sip2SequenceMismatch, match="in doubt"):
        sc.next_event()


def test_without_a_97_a_wrong_number_is_a_stale_reply() -> None:
    sc = sc_after(1, 2)
    sc.send(checkout("item-7"))
    sc.receive_data(encode(checked_out("item-7"), seq=0))
    with pytest.raises(Sip2SequenceMismatch, match="expected 2"):
        sc.next_event()


def test_without_error_detection_a_duplicated_reply_fails_the_matching_of_the_next_request() -> None:
    sc = ScConversation(error_detection=False)
    sc.send(checkout("item-1"))
    duplicate = encode(checked_out("item-1"), seq=None, error_detection=False)
    sc.receive_data(duplicate + duplicate)
    assert isinstance(sc.next_event(), Reply)
    assert sc.next_event() is NEED_DATA  # the duplicate waits: idle
    sc.send(checkout("item-2"))
    with pytest.raises(Sip2MismatchedReply, match="another item 'item-1'"):
        sc.next_event()


def test_a_reply_about_another_patron_does_not_quote_the_card_number() -> None:
    sc = ScConversation(error_detection=False)
    sc.send(checkout("item-1", patron="2190001"))
    sc.receive_data(encode(checked_out("item-1", patron="2190002"), seq=None, error_detection=False))
    with pytest.raises(Sip2MismatchedReply) as caught:
        sc.next_event()
    assert "another patron" in str(caught.value) and "219000" not in str(caught.value)


def test_ids_match_ignoring_case_and_padding_and_an_empty_echo_is_not_a_mismatch() -> None:
    sc = ScConversation(error_detection=False)
    sc.send(checkout("abc-1"))
    sc.receive_data(encode(checked_out(" ABC-1 "), seq=None, error_detection=False))
    assert isinstance(sc.next_event(), Reply)
    sc.send(checkout("abc-2"))
    sc.receive_data(encode(checked_out(""), seq=None, error_detection=False))
    assert isinstance(sc.next_event(), Reply)


# --- ACS side -----------------------------------------------------------------------------------------


def test_acs_side_answers_in_kind_resends_on_97_and_raises_on_illegal_transitions() -> None:
    acs = AcsConversation()
    with pytest.raises(ConversationError, match="no request to answer"):
        acs.respond(LoginResponse(ok=True))
    acs.receive_data(b"97AZFEF5\r")
    first = acs.next_event()
    assert isinstance(first, Answer) and first.data == b"96AZFEF6\r"  # nothing to repeat yet
    request = encode(ItemInformationRequest(institution_id="X", item_identifier="1"), seq=4)
    acs.receive_data(request + b"97AZFEF5\r")
    event = acs.next_event()
    assert isinstance(event, Request) and event.seq == 4 and event.error_detection
    with pytest.raises(ConversationError, match="respond"):
        acs.next_event()
    reply = acs.respond(ItemInformationResponse(item_identifier="1", title_identifier="Sult"))
    assert b"AY4AZ" in reply
    again = acs.next_event()
    assert isinstance(again, Answer) and again.data == reply
    acs.receive_data(request[:-3] + b"00\r")  # bad checksum
    bad = acs.next_event()
    assert isinstance(bad, Answer) and bad.data.startswith(b"96")
    acs.receive_data(b"\xff\xfe\r")
    assert isinstance(acs.next_event(), BadFrame) and acs.state is State.CLOSED


def test_acs_side_can_number_its_resend_0_like_koha() -> None:
    acs = AcsConversation(resend_sequence_zero=True)
    acs.receive_data(encode(ItemInformationRequest(institution_id="X", item_identifier="1"), seq=4))
    acs.next_event()
    acs.respond(ItemInformationResponse(item_identifier="1", title_identifier="Sult"))
    acs.receive_data(b"97AZFEF5\r")
    again = acs.next_event()
    assert isinstance(again, Answer) and b"AY0AZ" in again.data


def test_acs_side_asks_for_a_resend_of_text_it_cannot_decode_and_writes_what_it_lacks_as_question_marks() -> (
    None
):
    acs = AcsConversation(charset="ascii")
    acs.receive_data(encode(ItemInformationRequest(institution_id="X", item_identifier="blå"), seq=1))
    event = acs.next_event()
    assert isinstance(event, Answer) and event.data.startswith(b"96")
    acs.receive_data(encode(ItemInformationRequest(institution_id="X", item_identifier="1"), seq=2))
    assert isinstance(acs.next_event(), Request)
    assert b"AJBl?b?r|" in acs.respond(
        ItemInformationResponse(item_identifier="1", title_identifier="Blåbær")
    )


# --- over a socket ------------------------------------------------------------------------------------


async def test_without_error_detection_a_duplicated_checkout_reply_is_unknown_not_the_next_items_title() -> (
    None
):
    def fault(decoded: Decoded, good: bytes, acs: Acs) -> Action:
        return [good, good]  # every reply twice

    async with misbehaving_acs(fault) as acs:
        acs.status = AcsStatus(date_time_sync=T, institution_id="X", supported_messages="Y" * 16)
        circulation = Sip2Circulation(
            Sip2Settings(
                "127.0.0.1", acs.port, "u", "pw", timeout=TIMEOUT, error_detection=False, pool_size=1
            )
        )
        first = await circulation.checkout("P1", "item-1", Transaction.new(T))
        assert first.ok and first.item_id == "item-1"
        with pytest.raises(CirculationNoReply, match="another item 'item-1'"):
            await circulation.checkout("P1", "item-2", Transaction.new(T))
        await circulation.close()


def test_a_koha_patron_information_may_name_the_card_for_a_user_name() -> None:
    from server_api.sip2.messages import PatronInformationRequest, PatronInformationResponse

    for echoed, expected in ((False, Reply), (True, Sip2MismatchedReply)):
        sc = ScConversation(error_detection=False, patron_echoed_in_info=echoed)
        sc.send(PatronInformationRequest(institution_id="X", patron_identifier="maret"))
        sc.receive_data(
            encode(PatronInformationResponse(patron_identifier="2190001"), seq=None, error_detection=False)
        )
        if expected is Reply:
            assert isinstance(sc.next_event(), Reply)
        else:
            with pytest.raises(Sip2MismatchedReply):
                sc.next_event()
