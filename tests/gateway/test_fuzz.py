"""A small schemathesis run over the OpenAPI in the suite; the bigger one is in docs/GATEWAY.md."""

from __future__ import annotations

import argparse

from tests.gateway.fuzz import fuzz


def test_fuzzing_the_openapi_finds_no_server_error() -> None:
    result = fuzz(argparse.Namespace(examples=3, phases="fuzzing", seed=7, timeout=240))
    assert result["cases"] >= 45
    assert result["server_errors"] == 0, result["runs"]
    assert result["internal_errors_logged"] == 0
    assert result["runs"]["kiosk"]["operations"] == 15 and result["runs"]["staff"]["operations"] == 5
