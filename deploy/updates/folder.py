"""The kiosk's update folder (/data/updates, the station user's): what was fetched, what runs, what failed.

- `pending.raucb` + `pending.json`: a bundle fetched from the gateway, its size, sha256 and signature
  checked (`kiosk-update fetch`, as the station's user), waiting for `kiosk-update install-pending` (root,
  started by kiosk-update-install.path) to install it between patron sessions;
- `installing.raucb`: the bundle while root installs it (moved there first, so a newer download can
  arrive meanwhile without being deleted with the old one);
- `installed.json`: the update the running slot was installed from, once it booted healthy;
- `rejected.json`: updates that failed here (refused by RAUC, rolled back, or did not boot), so the
  fetcher does not download and install the same broken bundle again and again.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["UPDATES", "UpdateFolder"]

UPDATES = Path("/data/updates")
REJECTED_KEPT = 20


@dataclass(frozen=True)
class UpdateFolder:
    root: Path = UPDATES

    @property
    def pending_bundle(self) -> Path:
        return self.root / "pending.raucb"

    @property
    def pending_info(self) -> Path:
        return self.root / "pending.json"

    @property
    def installing_bundle(self) -> Path:
        return self.root / "installing.raucb"

    @property
    def partial(self) -> Path:
        return self.root / "download.part.raucb"  # RAUC takes only files named *.raucb

    @property
    def partial_info(self) -> Path:
        return self.root / "download.json"

    @property
    def installed_info(self) -> Path:
        return self.root / "installed.json"

    @property
    def rejected_info(self) -> Path:
        return self.root / "rejected.json"

    def read(self, path: Path) -> dict[str, Any]:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def write(self, path: Path, data: dict[str, Any]) -> None:
        """Atomically, readable by the station's user and the technician (no secrets in these files)."""
        self.root.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}")
        temporary.write_text(json.dumps(data) + "\n", encoding="utf-8")
        temporary.chmod(0o644)
        os.replace(temporary, path)

    def rejected(self) -> list[dict[str, Any]]:
        entries = self.read(self.rejected_info).get("rejected", [])
        return [entry for entry in entries if isinstance(entry, dict)]

    def reject(self, version: str, sha256: str, reason: str) -> None:
        entry = {"version": version, "sha256": sha256, "reason": reason, "at": time.time()}
        self.write(self.rejected_info, {"rejected": [*self.rejected(), entry][-REJECTED_KEPT:]})

    def was_rejected(self, sha256: str) -> dict[str, Any] | None:
        return next((entry for entry in self.rejected() if entry.get("sha256") == sha256), None)
