"""The crash test in CI: 50 SIGKILLs of a working station, then the library system's own log must
show every intended loan and return exactly once (see tests/crash/harness.py; `--runs 1000` for more)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_fifty_kills_lose_nothing_and_double_nothing(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tests.crash.harness", "--runs", "50", "--keep", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.stdout.strip(), result.stderr[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    print(json.dumps(summary))
    assert summary["failures"] == []
    assert summary["kills"] >= 50
    assert (summary["lost"], summary["duplicated"]) == (0, 0)
    assert (summary["out_of_order"], summary["wrong_final_holder"]) == (0, 0)
    assert summary["refusals"] > 0 and summary["refused_then_lent"] == 0  # a "no" stays a "no"
    assert (summary["audit_lost"], summary["audit_duplicated"], summary["audit_unsettled"]) == (0, 0, 0)
    # The kills landed where it matters: from outside at random, at journal writes and around requests.
    kinds = summary["kills_by"]
    assert kinds.get("timer", 0) > 0
    assert any(k.startswith("journal.") for k in kinds)
    assert any(k.startswith("circulation.") for k in kinds)
    # Offline lives happened, and work done offline reached the library system by replay.
    assert summary["offline_lives"] > 0 and summary["replayed"] > 0
    assert result.returncode == 0
