"""Batch mode: one CSV row per kiosk, merged onto a shared device configuration.

Columns (header row required): ``name``, ``library`` and ``enrollment_code`` always; ``hostname``,
``language``, ``wifi_ssid``, ``wifi_psk``, ``wifi_country`` when they differ per kiosk. Everything else
(gateway URL, SSH keys, a shared Wi-Fi) comes from the shared file. All rows are checked before anything is
written; an error names the row.
"""

from __future__ import annotations

import csv
from pathlib import Path

from deploy.flash.device_config import DeviceConfig, DeviceConfigError, Wifi, from_mapping, hostname_from

__all__ = ["REQUIRED_COLUMNS", "read_batch"]

REQUIRED_COLUMNS = ("name", "library", "enrollment_code")
OPTIONAL_COLUMNS = ("hostname", "language", "wifi_ssid", "wifi_psk", "wifi_country")


def read_batch(csv_path: Path, shared: DeviceConfig) -> list[DeviceConfig]:
    try:
        with csv_path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle))
            header = list(rows[0].keys()) if rows else []
    except OSError as error:
        raise DeviceConfigError(f"{csv_path}: cannot read it: {error.strerror}") from error
    except (UnicodeDecodeError, csv.Error) as error:
        raise DeviceConfigError(f"{csv_path}: not a UTF-8 CSV file: {error}") from error
    if not rows:
        raise DeviceConfigError(f"{csv_path}: no kiosks in it (a header row and one row per kiosk)")
    _check_header(csv_path, header)
    configs = [_row_config(csv_path, number, row, shared) for number, row in enumerate(rows, start=2)]
    _check_unique(csv_path, configs)
    return configs


def _check_header(csv_path: Path, header: list[str]) -> None:
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        raise DeviceConfigError(f"{csv_path}: the header lacks the column(s) {', '.join(missing)}")
    unknown = [column for column in header if column not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if unknown:
        known = ", ".join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)
        raise DeviceConfigError(f"{csv_path}: unknown column(s) {', '.join(unknown)}; known: {known}")


def _row_config(
    csv_path: Path, number: int, row: dict[str, str | None], shared: DeviceConfig
) -> DeviceConfig:
    values = {key: (value or "").strip() for key, value in row.items() if key is not None}
    if None in row:
        raise DeviceConfigError(f"{csv_path}, row {number}: more fields than the header has columns")
    name = values["name"]
    kiosk: dict[str, object] = {
        "library": values["library"],
        "name": name,
        "hostname": values.get("hostname") or hostname_from(name),
        "language": values.get("language") or shared.language,
    }
    gateway: dict[str, object] = {
        "url": shared.gateway_url,
        "enrollment_code": values["enrollment_code"],
        "enroll_command": list(shared.enroll_command),
        "insecure_http": shared.insecure_http,
    }
    data: dict[str, object] = {
        "kiosk": kiosk,
        "gateway": gateway,
        "ssh": {"authorized_keys": list(shared.ssh_keys)},
    }
    wifi = _row_wifi(values, shared.wifi)
    if wifi is not None:
        data["wifi"] = {"ssid": wifi.ssid, "psk": wifi.psk, "country": wifi.country}
    return from_mapping(data, f"{csv_path}, row {number}")


def _row_wifi(values: dict[str, str], shared: Wifi | None) -> Wifi | None:
    if not values.get("wifi_ssid"):
        return shared
    return Wifi(
        ssid=values["wifi_ssid"],
        psk=values.get("wifi_psk") or (shared.psk if shared else ""),
        country=values.get("wifi_country") or (shared.country if shared else ""),
    )


def _check_unique(csv_path: Path, configs: list[DeviceConfig]) -> None:
    for attribute, what in (("hostname", "host name"), ("enrollment_code", "enrollment code")):
        seen: dict[str, int] = {}
        for number, config in enumerate(configs, start=2):
            value = getattr(config, attribute)
            if value in seen:
                raise DeviceConfigError(
                    f"{csv_path}, row {number}: the same {what} as row {seen[value]}; "
                    "every kiosk needs its own"
                )
            seen[value] = number
