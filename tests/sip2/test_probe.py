"""`probe()` reports, as data, what `kiosk sip2 probe` prints: the server's charset (with a test patron),
the pool size that works, hints for the settings and refusal texts no rule maps."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from pathlib import Path

from server_api.demo_ils import (
    DEMO_PATRON_ID,
    KIOSK_INSTITUTION,
    KIOSK_LOCATION,
    KIOSK_LOGIN,
    DemoIls,
    ServerQuirks,
)
from server_api.sip2.client import Sip2Settings
from server_api.sip2.codec import Decoded, encode
from server_api.sip2.messages import (
    CheckoutRequest,
    CheckoutResponse,
    LoginResponse,
    PatronInformationRequest,
    PatronInformationResponse,
    RequestAcsResend,
)
from server_api.sip2.probe import probe, report_probe
from tests.sip2.peers import TIMEOUT, Acs, Action, T, misbehaving_acs


def demo_settings(port: int, **kw: object) -> Sip2Settings:
    options: dict[str, object] = {
        "location": KIOSK_LOCATION,
        "institution": KIOSK_INSTITUTION,
        "timeout": 0.5,
        **kw,
    }
    return Sip2Settings("127.0.0.1", port, *KIOSK_LOGIN, **options)  # type: ignore[arg-type]


async def test_probe_finds_a_latin1_server_and_a_one_worker_pool_and_says_what_to_set(tmp_path: Path) -> None:
    quirks = ServerQuirks(workers=1)
    async with DemoIls(tmp_path / "ils.sqlite", charset="iso-8859-1", quirks=quirks) as ils:
        report = await probe(
            demo_settings(ils.port, charset="utf-8", pool_size=2), test_patron=DEMO_PATRON_ID
        )
    assert report.ok and report.charset is not None
    assert (report.charset.configured, report.charset.found) == ("utf-8", "iso-8859-1")
    assert not report.charset.matches and "Máret Ánne Sara" in report.charset.evidence
    assert "AE" in report.charset.repaired_fields  # read with the fallback meanwhile
    assert report.pool is not None and (report.pool.working, report.pool.max_size) == (1, 2)
    assert "charset = iso-8859-1" in report.hints and "pool_size = 1" in report.hints
    assert report.unmapped_refusals == []  # "Ukjent eksemplar" maps to item not found
    text = "\n".join(report.lines)
    assert "Charset of the server: iso-8859-1" in text and "Connections served: 1 of 2" in text
    assert "WARNING: the server writes iso-8859-1, the connection is set to utf-8" in text


async def test_probe_with_a_matching_charset_and_enough_workers_warns_about_nothing(tmp_path: Path) -> None:
    async with DemoIls(tmp_path / "ils.sqlite") as ils:
        out, err = io.StringIO(), io.StringIO()
        settings = demo_settings(ils.port, pool_size=3)
        code = await _in_thread(lambda: report_probe(settings, test_patron=DEMO_PATRON_ID, out=out, err=err))
    assert code == 0, err.getvalue()
    assert "Charset of the server: utf-8" in out.getvalue() and "Connections served: 3 of 3" in out.getvalue()
    assert "WARNING" not in out.getvalue()


async def test_probe_without_a_test_patron_cannot_tell_the_charset_but_reports_the_pool(
    tmp_path: Path,
) -> None:
    async with DemoIls(tmp_path / "ils.sqlite") as ils:
        report = await probe(demo_settings(ils.port))
    assert report.ok and report.charset is None and report.pool is not None and report.pool.working == 2


async def test_probe_lists_refusal_texts_no_rule_maps() -> None:
    def fault(decoded: Decoded, good: bytes, acs: Acs) -> Action:
        message = decoded.message
        if isinstance(message, PatronInformationRequest):
            reply = PatronInformationResponse(
                transaction_date=T, patron_identifier=message.patron_identifier, personal_name="Sult"
            )
            return [encode(reply, seq=decoded.seq)]
        if isinstance(message, CheckoutRequest):
            refusal = CheckoutResponse(
                ok=False,
                transaction_date=T,
                item_identifier=message.item_identifier,
                screen_message=("Feil 17",),
            )
            return [encode(refusal, seq=decoded.seq)]
        return [good]

    async with misbehaving_acs(fault) as acs:
        settings = Sip2Settings("127.0.0.1", acs.port, "u", "pw", timeout=TIMEOUT, pool_size=1)
        report = await probe(settings, test_patron="P1")
    assert report.unmapped_refusals == [("Feil #", 1)]
    assert report.charset is not None and report.charset.found is None  # plain ASCII cannot tell
    assert "Refusal text no rule maps to a reason: 'Feil #' (1x)" in report.lines


async def _in_thread(work: Callable[[], int]) -> int:
    return await asyncio.to_thread(work)  # report_probe runs its own event loop


async def test_probe_of_a_server_without_checksums_says_to_turn_error_detection_off() -> None:
    def no_checksums(decoded: Decoded, good: bytes, acs: Acs) -> Action:
        if isinstance(decoded.message, RequestAcsResend):  # the login reply again, still without checksum
            return [encode(LoginResponse(ok=True), seq=None, error_detection=False)]
        return [good]

    async with misbehaving_acs(no_checksums) as acs:
        acs.error_detection = False
        settings = Sip2Settings("127.0.0.1", acs.port, "u", "pw", timeout=TIMEOUT, pool_size=1)
        report = await probe(settings)
    assert not report.ok and "set error_detection = false" in report.reason
