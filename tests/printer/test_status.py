"""Real-time status (DLE EOT n) decoding, from the bytes printer makers document.

Sources for each vector: Epson ESC/POS Command Reference, DLE EOT (n = 1 printer, 2 offline cause,
3 error cause, 4 roll paper sensor); Epson TM-L60II Technical Reference ESC/POS Ver. 4.0 p. 1217 (offline
cause: 04 cover open, 08 feed button, 20 paper-end stop, 40 error); Citizen iDP-3221 user's manual
(n = 1: 08 offline, 04 drawer pin high; n = 3: 08 autocutter, 20 unrecoverable, 40 auto-recoverable);
Epson TM-U220 ASB (error byte: 04 mechanical error); python-escpos constants RT_MASK_PAPER 0x12,
RT_MASK_LOWPAPER 0x1E, RT_MASK_NOPAPER 0x72 (n = 4).
"""

from __future__ import annotations

import doctest

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.printer import status
from drivers.printer.base import PrinterStatus
from drivers.printer.status import (
    IllegalPollStep,
    PollState,
    PrinterState,
    Query,
    StatusPoll,
    StatusProtocolError,
    decode_status,
    encode_query,
    encode_status,
)

IDLE = 0x12  # only the fixed bits (1 and 4)


def test_the_module_docstring_vectors_hold() -> None:
    assert doctest.testmod(status).failed == 0


def test_queries_are_dle_eot_n() -> None:
    assert [encode_query(q) for q in Query] == [
        b"\x10\x04\x01",
        b"\x10\x04\x02",
        b"\x10\x04\x03",
        b"\x10\x04\x04",
    ]


@pytest.mark.parametrize(
    ("answers", "expected", "flag"),
    [
        ({1: 0x12, 4: 0x12}, PrinterStatus.OK, None),
        ({1: 0x16, 4: 0x12}, PrinterStatus.OK, None),  # drawer kick-out pin 3 high is not a fault
        ({1: 0x12, 4: 0x1E}, PrinterStatus.PAPER_NEAR_END, "paper_near_end"),
        ({1: 0x1A, 2: 0x32, 3: IDLE, 4: 0x72}, PrinterStatus.PAPER_OUT, "paper_out"),
        ({1: 0x1A, 2: 0x32, 3: IDLE, 4: 0x7E}, PrinterStatus.PAPER_OUT, "paper_end_stop"),
        ({1: 0x1A, 2: 0x16, 3: IDLE, 4: IDLE}, PrinterStatus.COVER_OPEN, "cover_open"),
        ({1: 0x1A, 2: 0x52, 3: 0x1A, 4: IDLE}, PrinterStatus.ERROR, "autocutter_error"),
        ({1: 0x1A, 2: 0x52, 3: 0x16, 4: IDLE}, PrinterStatus.ERROR, "mechanical_error"),
        ({1: 0x1A, 2: 0x52, 3: 0x32, 4: IDLE}, PrinterStatus.ERROR, "unrecoverable_error"),
        ({1: 0x1A, 2: 0x52, 3: 0x52, 4: IDLE}, PrinterStatus.ERROR, "auto_recoverable_error"),
        ({1: 0x1A, 2: 0x1A, 3: IDLE, 4: IDLE}, PrinterStatus.OFFLINE, None),  # feeding by the button
        ({1: 0x3A, 2: IDLE, 3: IDLE, 4: IDLE}, PrinterStatus.OFFLINE, "waiting_for_recovery"),
    ],
)
def test_documented_status_bytes_decode_to_the_state_staff_act_on(
    answers: dict[int, int], expected: PrinterStatus, flag: str | None
) -> None:
    state = decode_status(answers)
    assert state.summary is expected
    if flag:
        assert getattr(state, flag) is True
    assert state.can_print is expected.can_print


def test_an_open_cover_with_no_paper_is_reported_as_the_cover_first() -> None:
    # Closing the cover is the first thing staff do anyway; paper out still shows in the details.
    state = decode_status({1: 0x1A, 2: 0x36, 3: IDLE, 4: 0x7E})
    assert state.summary is PrinterStatus.COVER_OPEN
    assert "paper out" in state.describe() and "cover open" in state.describe()


@pytest.mark.parametrize("value", [0x00, 0xFF, 0x13, 0x02, 0x92])
def test_a_byte_without_the_fixed_bits_is_not_status(value: int) -> None:
    with pytest.raises(StatusProtocolError, match="not a status byte"):
        decode_status({1: value, 4: IDLE})


def test_decoding_needs_printer_and_paper_status() -> None:
    with pytest.raises(ValueError, match="DLE EOT 4"):
        decode_status({1: IDLE})


def test_a_healthy_printer_costs_two_round_trips() -> None:
    poll = StatusPoll()
    asked = []
    while poll.state is not PollState.DONE:
        query = poll.next_query()
        asked.append(query)
        poll.receive(encode_status(query, PrinterState()))
    assert asked == [Query.PRINTER, Query.PAPER_SENSOR]
    assert poll.result.summary is PrinterStatus.OK


def test_an_offline_printer_is_asked_why() -> None:
    poll = StatusPoll()
    replies = {
        Query.PRINTER: b"\x1a",
        Query.OFFLINE_CAUSE: b"\x16",
        Query.ERROR_CAUSE: b"\x12",
        Query.PAPER_SENSOR: b"\x12",
    }
    asked = []
    while poll.state is not PollState.DONE:
        query = poll.next_query()
        asked.append(query)
        poll.receive(replies[query])
    assert asked == [Query.PRINTER, Query.OFFLINE_CAUSE, Query.ERROR_CAUSE, Query.PAPER_SENSOR]
    assert poll.result.cover_open


def test_illegal_poll_steps_raise() -> None:
    poll = StatusPoll()
    with pytest.raises(IllegalPollStep):
        poll.receive(b"\x12")  # nothing asked yet
    poll.next_query()
    with pytest.raises(IllegalPollStep):
        poll.next_query()  # the answer is still due
    with pytest.raises(StatusProtocolError, match="2 bytes"):
        poll.receive(b"\x12\x12")
    with pytest.raises(IllegalPollStep):
        _ = StatusPoll().result


@given(
    st.builds(
        PrinterState,
        online=st.booleans(),
        waiting_for_recovery=st.booleans(),
        feed_button_pressed=st.booleans(),
        cover_open=st.booleans(),
        paper_end_stop=st.booleans(),
        error=st.booleans(),
        mechanical_error=st.booleans(),
        autocutter_error=st.booleans(),
        unrecoverable_error=st.booleans(),
        auto_recoverable_error=st.booleans(),
        paper_near_end=st.booleans(),
        paper_out=st.booleans(),
    )
)
def test_what_the_simulator_encodes_decodes_to_the_same_state(state: PrinterState) -> None:
    answers = {int(q): encode_status(q, state)[0] for q in Query}
    assert decode_status(answers) == state
