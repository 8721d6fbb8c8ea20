"""`kiosk doctor`: what is wrong with this kiosk, in plain words, with what to do (docs/TECHNICIANS.md).

`diagnose(config)` runs every check once and returns one `Finding` per check: reader, printer, network,
gateway (when `[gateway]` is set), library, clock, disk, journal, files. It opens the devices the way the
station does, so it is meant for a stopped station or one whose devices can be shared (the simulators);
while a station runs (it reports in /run/kiosk), the reader and printer are taken as the station reports
them (it holds their ports).
"""

from __future__ import annotations

from pathlib import Path

from drivers.printer import Printer
from kiosk.config import ConfigError, StationConfig
from kiosk.doctor.devices import check_printer, check_reader
from kiosk.doctor.local import check_clock, check_disk, check_file_modes, check_journal, kernel_clock_estimate
from kiosk.doctor.remote import check_gateway, check_sip2
from kiosk.doctor.result import Finding, Verdict, fail
from kiosk.service import RUN_DIR, station_reporting


async def diagnose(config: StationConfig, printer: Printer | None, run_dir: Path = RUN_DIR) -> list[Finding]:
    """Every check, in the order a technician reads them. `printer` is None when [printer] is unusable;
    `run_dir` is where a running station reports (`kiosk.service`)."""
    journal = Path(config.journal.path)
    station = station_reporting(run_dir)
    findings = [await check_reader(config, station)]
    if printer is None:
        findings.append(fail("printer", "[printer] cannot be used", "fix [printer] (`kiosk config check`)"))
    else:
        findings.append(await check_printer(config, printer, station))
    findings += await (check_gateway(config) if config.gateway.enabled else check_sip2(config))
    findings += [check_clock(config), check_disk(journal), check_journal(journal), check_file_modes(config)]
    return findings


def healthy(findings: list[Finding]) -> bool:
    return not any(finding.verdict is Verdict.FAIL for finding in findings)


__all__ = [
    "ConfigError",
    "Finding",
    "Verdict",
    "check_clock",
    "diagnose",
    "healthy",
    "kernel_clock_estimate",
]
