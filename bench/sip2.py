"""SIP2 benchmarks, printed as JSON (not a timed test).

(a) codec: encode+decode of the same realistic messages (checkout request, checkout response, checkin
    response, patron information response) with our codec and with pysip2; messages per second and ratio.
(b) checkout round trips per second through `Sip2Client` against a local server, compared with a raw
    socket exchanging exactly the same bytes with the same server: our client's overhead ratio.
(c) fairness of the demo ILS: how long one item-information request of a fifth client takes while four
    clients have each pipelined 2,000 requests, against the same request on the idle server (the
    reference), in interleaved rounds; and how many flood requests were served in between.

Run: .venv/bin/python bench/sip2.py [--seconds 1.0]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pysip2

from server_api.sip2.client import Sip2Client, Sip2Settings
from server_api.sip2.codec import Framer, decode, encode, format_date
from server_api.sip2.messages import (
    AcsStatus,
    CheckinResponse,
    CheckoutRequest,
    CheckoutResponse,
    LoginRequest,
    LoginResponse,
    Message,
    PatronInformationResponse,
    ScStatus,
)

T = datetime(2024, 3, 5, 14, 7, 9)
D = format_date(T)


def our_messages() -> list[Message]:
    return [
        CheckoutRequest(
            transaction_date=T,
            nb_due_date=T,
            institution_id="2190000",
            patron_identifier="219000000001",
            item_identifier="21900000000018",
            terminal_password="",
            patron_password="1234",
        ),
        CheckoutResponse(
            ok=True,
            desensitize="Y",
            transaction_date=T,
            institution_id="2190000",
            patron_identifier="219000000001",
            item_identifier="21900000000018",
            title_identifier="Beaivi, áhčážan",
            due_date="20240402    235900",
            media_type="001",
            screen_message=("Lånt til 02.04.2024.",),
        ),
        CheckinResponse(
            ok=True,
            alert=True,
            transaction_date=T,
            institution_id="2190000",
            item_identifier="21900000000018",
            permanent_location="2190000",
            title_identifier="Brødrene Løvehjerte",
            alert_type="01",
            destination_location="2190000",
            screen_message=("Legg på hentehylla",),
        ),
        PatronInformationResponse(
            patron_status=" " * 14,
            transaction_date=T,
            charged_items_count=3,
            institution_id="2190000",
            patron_identifier="219000000001",
            personal_name="Máret Ánne Sara",
            valid_patron="Y",
            valid_patron_password="Y",
            charged_items=("A1", "A2", "A3"),
        ),
    ]


def their_messages() -> list[object]:
    return [
        pysip2.CheckoutRequest(
            sc_renewal_policy="Y",
            no_block="N",
            transaction_date=D,
            nb_due_date=D,
            institution_id="2190000",
            patron_identifier="219000000001",
            item_identifier="21900000000018",
            terminal_password="",
            patron_password="1234",
        ),
        pysip2.CheckoutResponse(
            ok="1",
            renewal_ok="N",
            magnetic_media="U",
            desensitize="Y",
            transaction_date=D,
            institution_id="2190000",
            patron_identifier="219000000001",
            item_identifier="21900000000018",
            title_identifier="Beaivi, áhčážan",
            due_date="20240402    235900",
            media_type="001",
            screen_message=("Lånt til 02.04.2024.",),
        ),
        pysip2.CheckinResponse(
            ok="1",
            resensitize="Y",
            magnetic_media="U",
            alert="Y",
            transaction_date=D,
            institution_id="2190000",
            item_identifier="21900000000018",
            permanent_location="2190000",
            title_identifier="Brødrene Løvehjerte",
            screen_message=("Legg på hentehylla",),
        ),
        pysip2.PatronInformationResponse(
            patron_status=" " * 14,
            language="000",
            transaction_date=D,
            hold_items_count="0000",
            overdue_items_count="0000",
            charged_items_count="0003",
            fine_items_count="0000",
            recall_items_count="0000",
            unavailable_holds_count="0000",
            institution_id="2190000",
            patron_identifier="219000000001",
            personal_name="Máret Ánne Sara",
            valid_patron="Y",
            valid_patron_password="Y",
            charged_items=("A1", "A2", "A3"),
        ),
    ]


def rate(fn: object, seconds: float) -> float:
    """Calls per second of fn() over about `seconds`."""
    assert callable(fn)
    n, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(50):
            fn()
        n += 50
    return n / elapsed


def bench_codec(seconds: float) -> dict[str, object]:
    ours, theirs = our_messages(), their_messages()

    def ours_once() -> None:
        for m in ours:
            decode(encode(m, seq=1))

    def theirs_once() -> None:
        for m in theirs:
            pysip2.decode_message(
                pysip2.encode_message(m, sequence_number=1, checksum=True, encoding="utf-8"), encoding="utf-8"
            )

    # Same messages on both sides: pysip2 reads our frames as its own messages.
    for mine, yours in zip(ours, theirs, strict=True):
        assert pysip2.decode_message(encode(mine, seq=1), encoding="utf-8").message == yours, mine.CODE
    ours_rate = rate(ours_once, seconds) * len(ours)
    theirs_rate = rate(theirs_once, seconds) * len(theirs)
    return {
        "messages": [m.CODE for m in ours],
        "ours_msgs_per_s": round(ours_rate),
        "pysip2_msgs_per_s": round(theirs_rate),
        "ours_vs_pysip2": round(ours_rate / theirs_rate, 2),
    }


CHECKOUT = CheckoutRequest(
    transaction_date=T,
    institution_id="2190000",
    patron_identifier="219000000001",
    item_identifier="21900000000018",
    terminal_password="",
)


async def canned_server() -> asyncio.Server:
    """A minimal ACS that answers login, status and checkout with pre-encoded bytes (so the server costs
    the same for every client)."""
    answers = {
        b"93": lambda seq: encode(LoginResponse(ok=True), seq=seq),
        b"99": lambda seq: encode(
            AcsStatus(institution_id="2190000", supported_messages="Y" * 16, retries_allowed=999), seq=seq
        ),
        b"11": lambda seq: encode(our_messages()[1], seq=seq),
    }
    canned = {(code, seq): answers[code](seq) for code in answers for seq in range(10)}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        framer = Framer()
        try:
            while chunk := await reader.read(65536):
                for frame in framer.feed(chunk):
                    seq = int(frame[frame.index(b"AY") + 2 : frame.index(b"AY") + 3])
                    writer.write(canned[(frame[:2], seq)])
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


async def bench_round_trips(seconds: float) -> dict[str, object]:
    """Our client vs a raw socket sending the client's exact bytes to the canned server."""
    checkout = CHECKOUT
    server = await canned_server()
    port = server.sockets[0].getsockname()[1]
    loop = asyncio.get_running_loop()

    client = Sip2Client(Sip2Settings("127.0.0.1", port, "u", "p", timeout=5.0))
    await client.connect()
    n, start = 0, loop.time()
    while loop.time() - start < seconds:
        await client.request(checkout)
        n += 1
    ours = n / (loop.time() - start)
    await client.close()

    # The raw socket: the same request bytes (sequence numbers 0..9), read until CR, nothing else.
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    requests = [encode(checkout, seq=s) for s in range(10)]
    for login in (
        encode(LoginRequest(login_user_id="u", login_password="p"), seq=0),
        encode(ScStatus(), seq=1),
    ):
        writer.write(login)
        await reader.readuntil(b"\r")
    n, start = 0, loop.time()
    while loop.time() - start < seconds:
        writer.write(requests[n % 10])
        await reader.readuntil(b"\r")
        n += 1
    raw = n / (loop.time() - start)
    writer.close()
    server.close()
    await server.wait_closed()
    return {
        "client_round_trips_per_s": round(ours),
        "raw_socket_round_trips_per_s": round(raw),
        "client_overhead_ratio": round(raw / ours, 2),
    }


async def bench_fairness(rounds: int) -> dict[str, object]:
    """One request of a fifth client: on the idle demo ILS (reference) and behind four floods of 2,000."""
    from server_api.demo_ils import DEMO_BORROW_ITEMS, KIOSK_LOGIN, DemoIls
    from server_api.sip2.messages import ItemInformationRequest

    login = LoginRequest(login_user_id=KIOSK_LOGIN[0], login_password=KIOSK_LOGIN[1])
    request = encode(
        ItemInformationRequest(item_identifier=DEMO_BORROW_ITEMS[0]), seq=None, error_detection=False
    )
    flood = encode(login, seq=None, error_detection=False) + request * 2000
    idle_ms: list[float] = []
    loaded_ms: list[float] = []
    served: list[int] = []
    async with DemoIls() as ils:
        for _ in range(rounds):
            for loaded in (False, True):  # interleaved: reference, then under load
                floods = [
                    await asyncio.open_connection("127.0.0.1", ils.port) for _ in range(4 if loaded else 0)
                ]
                readers = [asyncio.create_task(_drain(r)) for r, _ in floods]
                for _, w in floods:
                    w.write(flood)
                await asyncio.sleep(0.05)
                reader, writer = await asyncio.open_connection("127.0.0.1", ils.port)
                writer.write(encode(login, seq=None, error_detection=False))
                await reader.readuntil(b"\r")
                before, started = ils.requests_handled, time.perf_counter()
                writer.write(request)
                await reader.readuntil(b"\r")
                (loaded_ms if loaded else idle_ms).append((time.perf_counter() - started) * 1000)
                if loaded:
                    served.append(ils.requests_handled - before - 1)
                for _, w in [*floods, (reader, writer)]:
                    w.close()
                for task in readers:
                    task.cancel()
                await asyncio.gather(*readers, return_exceptions=True)
    median = statistics.median
    return {
        "rounds": rounds,
        "idle_request_ms_median": round(median(idle_ms), 2),
        "request_behind_4x2000_ms_median": round(median(loaded_ms), 2),
        "request_behind_4x2000_ms_max": round(max(loaded_ms), 2),
        "flood_requests_served_meanwhile_median": median(served),
    }


async def _drain(reader: asyncio.StreamReader) -> None:
    while await reader.read(65536):
        pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=1.0, help="per measurement")
    parser.add_argument("--rounds", type=int, default=7, help="fairness rounds (each: idle, then loaded)")
    args = parser.parse_args()
    result = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "codec": bench_codec(args.seconds),
        "checkout_round_trips": asyncio.run(bench_round_trips(args.seconds)),
        "demo_ils_fairness": asyncio.run(bench_fairness(args.rounds)),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
