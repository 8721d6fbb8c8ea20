"""The crash test in CI: 50 SIGKILLs of a working station, then the library system's own log must
show every intended loan and return exactly once (see tests/crash/harness.py; `--runs 1000` for more)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.paths import ROOT

# 50 kills take about 60 s on two idle cores and about 230 s on two busy ones (each life starts a Python
# process). The harness gets 12 minutes, and pytest's own limit sits above it, so a slow machine is reported
# by the harness's timeout with its output, not cut off by pytest's global 120 s.
HARNESS_LIMIT = 720
LONG_LIMIT = 3 * 3600  # 1,000 kills: about 17 minutes on idle cores


def _harness(runs: int, keep: Path, limit: int, *extra: str) -> dict[str, Any]:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.crash.harness",
            "--runs",
            str(runs),
            "--keep",
            str(keep),
            "--afi-oracle",
            *extra,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=limit,
    )
    assert result.stdout.strip(), result.stderr[-3000:]
    summary: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    summary["returncode"] = result.returncode
    return summary


@pytest.mark.timeout(HARNESS_LIMIT + 60)
def test_fifty_kills_lose_nothing_and_double_nothing(tmp_path: Path) -> None:
    summary = _harness(50, tmp_path, HARNESS_LIMIT)
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
    assert summary["returncode"] == 0
    # Tags keep their AFI across lives: none disagrees with the library system unless staff were told.
    assert summary["tag_disagreements"] == 0


# In `make test-long` for its time: 200-430 s on two busy cores (a gateway process started again after each
# of its kills), too much for `make test`'s budget. It once found 2 actions applied twice in 1 of 4 runs
# (seed 2026, epoch 2): a stack whose gateway was killed after sending it on, retried while the gateway was
# down, came back "cannot connect" = "not sent", and the patron's next try lent the item again under a new
# UUID. Fixed in server_api/client.py (tests/gateway/test_idempotency_gateway_killed.py); 0 since.
@pytest.mark.long
@pytest.mark.timeout(HARNESS_LIMIT + 60)
def test_twenty_kills_through_a_gateway_that_is_killed_too_lose_nothing_and_double_nothing(
    tmp_path: Path,
) -> None:
    """Station -> kiosk-gateway (its own process, SQLite) -> library system; the gateway is SIGKILLed at
    random moments of half the lives and started again, with UUIDs in flight."""
    summary = _harness(20, tmp_path, HARNESS_LIMIT, "--gateway")
    print(json.dumps(summary))
    assert summary["failures"] == [] and summary["kills"] >= 20 and summary["gateway"]
    assert summary["gateway_kills"] > 0
    assert (summary["lost"], summary["duplicated"], summary["refused_then_lent"]) == (0, 0, 0)
    assert (summary["out_of_order"], summary["wrong_final_holder"]) == (0, 0)
    assert (summary["audit_lost"], summary["audit_duplicated"], summary["audit_unsettled"]) == (0, 0, 0)
    assert summary["tag_disagreements"] == 0 and summary["returncode"] == 0


@pytest.mark.long
@pytest.mark.timeout(LONG_LIMIT + 60)
def test_a_thousand_kills_lose_nothing_and_double_nothing(tmp_path: Path) -> None:
    summary = _harness(1000, tmp_path, LONG_LIMIT)
    print(json.dumps(summary))
    assert summary["failures"] == [] and summary["kills"] >= 1000
    assert (summary["lost"], summary["duplicated"], summary["refused_then_lent"]) == (0, 0, 0)
    assert (summary["out_of_order"], summary["wrong_final_holder"], summary["tag_disagreements"]) == (0, 0, 0)
    assert summary["returncode"] == 0
