"""The simulator's ESC/POS parser: the same events however the bytes are split, no command it does not
know in what the driver sends, and a DLE EOT inside raster data is image data, not a status request."""

from __future__ import annotations

import doctest

from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.printer import escpos_stream
from drivers.printer.escpos_stream import Event, Raster, StatusRequest, StreamParser, Text, Unknown
from tests.printer.samples import GOLDEN, RECEIPTS

LOAN = (GOLDEN / "loan.bin").read_bytes()


def test_the_docstring_example_holds() -> None:
    assert doctest.testmod(escpos_stream).failed == 0


def test_every_golden_file_parses_without_unknown_commands() -> None:
    for kind in RECEIPTS:
        parser = StreamParser()
        events = parser.feed((GOLDEN / f"{kind}.bin").read_bytes())
        assert not [e for e in events if isinstance(e, Unknown)], kind
        assert parser.feed(b"") == []  # nothing left half-read


def merged(events: list[Event]) -> list[Event]:
    """Adjacent text runs as one (a run split across two reads is the same text on paper)."""
    out: list[Event] = []
    for event in events:
        if isinstance(event, Text) and out and isinstance(out[-1], Text):
            out[-1] = Text(out[-1].data + event.data)
        else:
            out.append(event)
    return out


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=len(LOAN) - 1), max_size=30))
def test_events_do_not_depend_on_how_the_bytes_arrive(cuts: list[int]) -> None:
    whole = StreamParser().feed(LOAN)
    parser, start = StreamParser(), 0
    events: list[Event] = []
    for end in [*sorted(set(cuts)), len(LOAN)]:
        events.extend(parser.feed(LOAN[start:end]))
        start = end
    assert merged(events) == merged(whole)


def test_status_bytes_inside_an_image_are_image_data() -> None:
    image = b"\x1dv0\x00\x02\x00\x02\x00" + b"\x10\x04\x01\x00"  # 16 x 2 dots whose data is DLE EOT 1
    events = StreamParser().feed(image + b"\x10\x04\x04")
    assert events == [Raster(0, 2, 2, b"\x10\x04\x01\x00"), StatusRequest(4)]
