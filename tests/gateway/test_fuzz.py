"""A small schemathesis run over the OpenAPI in the suite; the bigger one is in docs/GATEWAY.md."""

from __future__ import annotations

import argparse

from tests.gateway.fuzz import fuzz


def test_fuzzing_the_openapi_finds_no_server_error() -> None:
    # The coverage phase tests every operation in turn, so none is left out; the fuzzing phase alone
    # draws operations at random across its workers and left one of the 24 untested on a busy machine.
    result = fuzz(argparse.Namespace(examples=3, phases="coverage,fuzzing", seed=7, timeout=240))
    assert result["cases"] >= 1000
    assert result["server_errors"] == 0, result["runs"]
    assert result["internal_errors_logged"] == 0
    # the run itself went through: no request that failed to send, no error inside schemathesis
    assert all(run["errors"] == 0 for run in result["runs"].values()), result["runs"]
    # the kiosks' 18 and the console's 6 (/v1/console: configuration, its report, commands, tasks)
    assert result["runs"]["kiosk"]["operations"] == 24 and result["runs"]["staff"]["operations"] == 5
    # the staff console's pages, signed in: all 24 but signing out (it would end the run's session)
    assert result["runs"]["console"]["operations"] == 23
