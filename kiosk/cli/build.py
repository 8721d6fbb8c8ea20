"""The one way a `Station` is put together from a configuration file.

`kiosk run` builds everything from the file: the SIP2 connection, the reader, the printer, the journal.
The demo builds its station here too, handing in only what it simulates (the simulated pad, the demo
library system behind its faulty link, its printer and journal) and a compressed timing; everything else
comes from the configuration the same way as on a real kiosk.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from drivers.printer import FontNotFound, Printer, open_printer
from drivers.rfid.base import Reader
from kiosk.clock import clock_check
from kiosk.config import ConfigError, StationConfig
from kiosk.core import SessionPolicy
from kiosk.hardware import open_reader
from kiosk.i18n import enable_languages
from kiosk.journal import QUIET_SPELL, Journal
from kiosk.station import GatewayLink, Station, StationSettings, StationTiming, local_now
from server_api.sip2.circulation import Sip2Circulation

if TYPE_CHECKING:
    from server_api.circulation import Circulation


def station_settings(config: StationConfig, timing: StationTiming | None = None) -> StationSettings:
    """`[station]`, `[rfid]`, `[network]`, `[journal]` and `[receipts]` as the station's settings."""
    return StationSettings(
        library_name=config.station.library_name,
        staff_language=config.station.staff_language,
        security_attempts=config.rfid.security_attempts,
        failure_budget=config.network.failure_budget,
        pad_leave_after=config.rfid.leave_after,
        purge_after_days=config.journal.purge_after_days,
        receipt_layout=config.receipts.layout(config.station.library_name, config.source),
        staff_credential=config.staff.credential,
        staff_kind=config.staff.kind,
        timing=timing
        or StationTiming(
            poll_interval=config.rfid.poll_interval,
            probe_interval=config.network.probe_interval,
            idle_probe=config.sip2.keepalive,  # [sip2] keepalive: the idle probe (0 = off)
            journal_quiet=QUIET_SPELL,
        ),
    )


def open_circulation(config: StationConfig) -> Circulation:
    """`[gateway]` set: HTTPS to the consortium's gateway (`HttpCirculation` behind the station's
    `GatewayLink`: stacks in one request, "what happened to UUID X?"; no SIP2 password here);
    otherwise SIP2 straight to the library system (`Sip2Circulation`). Raises `ConfigError`."""
    if config.gateway.enabled:
        # Imported here: httpx, pydantic and the gateway's wire models cost a SIP2-direct station's
        # start-up ~0.5 s for nothing (issue 15; tests/test_lazy_imports.py holds it to that).
        from server_api.client import HttpCirculation

        client = HttpCirculation(config.gateway_settings())
        return GatewayLink(client, heartbeat_interval=config.gateway.heartbeat_interval)
    return Sip2Circulation(config.sip2_settings())


def open_configured_printer(config: StationConfig) -> Printer:
    """`[printer]` as a printer (a file printer, or ESC/POS over USB, serial, network or a device); the
    printer itself is reached at its first status poll. Raises `ConfigError`, also for a missing font."""
    try:
        return open_printer(config.printer.settings(config.source))
    except FontNotFound as error:
        raise ConfigError(f"{config.source}: [printer]: {error}") from None


def build_station(
    config: StationConfig,
    *,
    reader: Reader | None = None,
    circulation: Circulation | None = None,
    printer: Printer | None = None,
    journal: Journal | None = None,
    policy: SessionPolicy | None = None,
    timing: StationTiming | None = None,
    clock: Callable[[], datetime] = local_now,
) -> Station:
    """A station as `config` describes it. Each device not handed in is opened from its section:
    `[gateway]` or `[sip2]` (`open_circulation`), `[rfid]` (`kiosk.hardware.open_reader`), `[printer]`,
    `[journal]`.
    `policy` and `timing` replace what `[session]`/`[offline]` and the intervals say (the demo and tests
    compress time). Raises `ConfigError` for a configuration that cannot be used.
    Through a gateway, the staff console's settings the station took last are laid over `config`, and
    the station follows the console (`kiosk.station.console_link`)."""
    if circulation is None:
        circulation = open_circulation(config)
    own_config, central = config, None
    if isinstance(circulation, GatewayLink):
        from kiosk.station import central_at_start

        config, central = central_at_start(config, journal.path if journal else config.journal.path)
    if reader is None:
        reader = open_reader(config.rfid, source=config.source)
    if printer is None:
        printer = open_configured_printer(config)
    # [station] extra_languages: the drafts this library offers (each only once its catalogue is complete)
    offered = enable_languages(config.station.extra_language_codes())
    policy = policy if policy is not None else config.policy()
    # The session refuses a language the station does not offer (a draft not enabled, an unknown code).
    languages = frozenset(offered) | {policy.language}
    if languages != policy.languages:
        policy = replace(policy, languages=languages)
    if isinstance(circulation, GatewayLink) and not policy.email_receipts:
        policy = replace(policy, email_receipts=True)  # the gateway sends them, where the library does
    if journal is None:
        journal = Journal(Path(config.journal.path))  # last: nothing above may fail with it open
    station = Station(
        circulation=circulation,
        reader=reader,
        printer=printer,
        journal=journal,
        policy=policy,
        settings=station_settings(config, timing),
        clock=clock,
        clock_synchronised=clock_check(config.clock.trust),
    )
    if isinstance(circulation, GatewayLink):
        from kiosk.station import follow_console

        follow_console(station, own_config, central)
    return station


__all__ = ["build_station", "open_circulation", "open_configured_printer", "station_settings"]
