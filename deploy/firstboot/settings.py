"""Take the device configuration kiosk-flash left on the boot partition and make it this kiosk's own.

The enrollment code, the Wi-Fi key and the technicians' SSH keys go to the data partition (0600 or, for
sshd, 0644 root-owned); the station gets its configuration file; the boot partition's copy is wiped.
The Wi-Fi passphrase itself is never stored: only the WPA key derived from it (as ``wpa_passphrase`` does).
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path

from deploy.firstboot.files import Layout, atomic_write, wipe
from deploy.flash.device_config import DeviceConfig, DeviceConfigError, Wifi, from_mapping

__all__ = ["adopt_device_config", "code_digest", "station_config_text", "wpa_supplicant_text"]


def adopt_device_config(layout: Layout) -> DeviceConfig | None:
    """Move a device.toml from the boot partition to the data partition; None when there is none.

    A device.toml on the boot partition is always the newest word (a technician may write a new one to
    change the Wi-Fi or the keys); without one, the copy kept on the data partition is used.
    """
    source = layout.device_file
    kept = layout.kiosk / "device.toml"
    if not source.exists():
        return _load(kept) if kept.exists() else None
    config = _load(source)
    owner = layout.station_owner()
    public = {"library": config.library, "name": config.name, "hostname": config.hostname}
    atomic_write(kept, source.read_bytes(), mode=0o600)
    if not _already_used(layout, config.enrollment_code):
        atomic_write(layout.code_file, config.enrollment_code.encode() + b"\n", mode=0o600)
    _write_wifi(layout, config.wifi)
    _write_ssh_keys(layout, config.ssh_keys)
    _write_display(layout, config.renderer, config.watchdog_seconds)
    if not layout.station_config.exists():
        atomic_write(layout.station_config, station_config_text(config, layout).encode(), owner=owner)
    atomic_write(layout.data / "hostname", f"{config.hostname}\n".encode(), mode=0o644)
    atomic_write(layout.kiosk / "identity.json", json.dumps(public, ensure_ascii=False).encode(), mode=0o644)
    wipe(source)
    return config


def code_digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _already_used(layout: Layout, code: str) -> bool:
    """The code this kiosk already enrolled with (a new device.toml that only changes the Wi-Fi keeps it)."""
    used = layout.kiosk / "enrolled-code.sha256"
    return layout.token_file.exists() and used.exists() and used.read_text().strip() == code_digest(code)


def _load(path: Path) -> DeviceConfig:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise DeviceConfigError(f"{path}: cannot read the device configuration: {error}") from error
    return from_mapping(data, str(path))


def _write_wifi(layout: Layout, wifi: Wifi | None) -> None:
    if wifi is None:
        layout.wifi_file.unlink(missing_ok=True)
        return
    atomic_write(layout.wifi_file, wpa_supplicant_text(wifi).encode(), mode=0o600)


def _write_display(layout: Layout, renderer: str, watchdog_seconds: int = 0) -> None:
    """The screen's settings for kiosk-station.service (EnvironmentFile=-/data/kiosk/display.env);
    KIOSK_WATCHDOG_SEC: the station asks systemd for that watchdog instead (kiosk/service/notify.py)."""
    display = layout.kiosk / "display.env"
    lines = [f"WLR_RENDERER={renderer}"] if renderer != "auto" else []
    lines += [f"KIOSK_WATCHDOG_SEC={watchdog_seconds}"] if watchdog_seconds else []
    if not lines:
        display.unlink(missing_ok=True)
        return
    atomic_write(display, ("\n".join(lines) + "\n").encode(), mode=0o644)


def _write_ssh_keys(layout: Layout, keys: tuple[str, ...]) -> None:
    if not keys:
        layout.ssh_keys_file.unlink(missing_ok=True)  # no keys named: SSH stays off
        return
    layout.ssh_keys_file.parent.mkdir(parents=True, exist_ok=True)
    for folder in (layout.ssh_keys_file.parent, layout.ssh_keys_file.parent.parent):
        folder.chmod(0o755)  # sshd reads authorized keys as the user; the host keys inside stay 0600
    atomic_write(layout.ssh_keys_file, ("\n".join(keys) + "\n").encode(), mode=0o644)


def wpa_supplicant_text(wifi: Wifi) -> str:
    if len(wifi.psk) == 64:
        key = wifi.psk.lower()
    else:
        key = hashlib.pbkdf2_hmac("sha1", wifi.psk.encode(), wifi.ssid.encode(), 4096, 32).hex()
    return (
        "# Written by kiosk first boot from the device configuration.\n"
        "ctrl_interface=DIR=/run/wpa_supplicant\n"
        "update_config=0\n"
        f"country={wifi.country}\n\n"
        "network={\n"
        f"    ssid={wifi.ssid.encode().hex()}\n"
        "    scan_ssid=1\n"
        "    key_mgmt=WPA-PSK\n"
        f"    psk={key}\n"
        "}\n"
    )


def station_config_text(config: DeviceConfig, layout: Layout) -> str:
    """The station's starting configuration; the gateway's configuration for this kiosk replaces it later."""

    def quoted(value: str) -> str:
        return json.dumps(value, ensure_ascii=False)

    return (
        "# Written by kiosk first boot. See docs/CONFIGURATION.md.\n"
        "[station]\n"
        f"name = {quoted(config.name)}\n"
        f"library_name = {quoted(config.library)}\n"
        f"language = {quoted(config.language)}\n\n"
        "[journal]\n"
        f"path = {quoted(str(layout.kiosk / 'journal.sqlite3'))}\n\n"
        "[printer]\n"
        f"directory = {quoted(str(layout.kiosk / 'receipts'))}\n\n"
        # Through the consortium's gateway, with the token enrollment stores (the station holds no SIP2
        # password); without this the station would look for [sip2] and refuse to start.
        "[gateway]\n"
        f"url = {quoted(config.gateway_url)}\n"
        f"token_file = {quoted(str(layout.token_file))}\n"
        + ("insecure_http = true\n" if config.insecure_http else "")
    )
