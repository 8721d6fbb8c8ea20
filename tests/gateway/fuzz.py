"""Schemathesis over the gateway's published OpenAPI, against the real gateway in front of the demo ILS.

Three runs: as an enrolled kiosk (device token) over the kiosk endpoints (the console's /v1/console among
them), as a consortium administrator (HTTP Basic) over the staff endpoints, and as the same administrator
signed in to the staff console (session cookie) over its pages, from a schema of their own
(`server_api.console.app.console_schema`: the pages are not in /openapi.json). A failure is any 5xx: the
gateway must answer every request it is sent with a valid answer, a `Problem` or an HTML error page.
Prints JSON with the number of cases.

    python -m tests.gateway.fuzz --examples 100 --phases examples,coverage,fuzzing
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from server_api.gateway.config import load
from server_api.gateway.devices import add_user
from server_api.gateway.storage import open_engine
from tests.gateway.servers import ROOT, GatewayProcess, ThreadedIls, enroll, make_gateway_config

SCHEMATHESIS = str(ROOT / ".venv" / "bin" / "schemathesis")
ADMIN = ("fuzz-admin", "a long fuzzing password")
GENEROUS = "\n".join(
    [
        "enrollments_per_minute = 10000",
        "device_requests_per_minute = 100000",
        "card_lookups_per_minute = 10000",
    ]
)


def _run(
    url: str, auth: list[str], include: list[str], args: argparse.Namespace, report: Path, schema: str = ""
) -> dict[str, Any]:
    command = [
        SCHEMATHESIS, "run", schema or f"{url}/openapi.json", *(["--url", url] if schema else []),
        *auth, *include,
        "--checks", "not_a_server_error", "--max-examples", str(args.examples), "--seed", str(args.seed),
        "--phases", args.phases, "--no-shrink", "--workers", "1",
        "--report", "json", "--report-dir", str(report),
        "--request-timeout", "30", "--warnings", "off",
        # On a busy machine generating for an operation can take longer than Hypothesis allows: that
        # operation would go untested (23 of 24 under load) instead of being slow.
        "--suppress-health-check", "too_slow",
        # One worker: with two threads Python 3.11's ast.parse (Hypothesis reads its strategies' source)
        # raised "AST constructor recursion depth mismatch" now and then (CPython gh-106905), which ended
        # an operation's phase early. ~3 s slower quiet (18-20 s against 16 s).
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout, env={**os.environ})
    reports = sorted(report.glob("json-*.json"))
    if not reports:
        raise RuntimeError(f"schemathesis wrote no report: {done.stdout[-2000:]} {done.stderr[-2000:]}")
    data: dict[str, Any] = json.loads(reports[-1].read_text())
    reports[-1].unlink()
    failures = [f for f in data["failures"] if f.get("code") == "ST101"]
    return {
        "cases": data["test_cases"]["generated"],
        "operations": data["operations"]["tested"],
        "server_errors": sum(f["count"] for f in failures),
        "failing_operations": sorted({op for f in failures for op in f["operations"]}),
        "errors": len(data["errors"]),
        "output": done.stdout[-3000:] if failures or data["errors"] else "",
    }


def fuzz(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="gateway-fuzz-") as name:
        return _fuzz(args, Path(name))


def _fuzz(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    with ThreadedIls(folder / "ils.sqlite") as ils:
        config = make_gateway_config(
            folder / "gw", ils.port, "sqlite:///gateway.sqlite", extra_limits=GENEROUS
        )
        engine = open_engine(load(config).database_url())
        add_user(engine, *ADMIN, role="admin", library=None, actor="fuzz")
        engine.dispose()
        process = GatewayProcess(config).start()
        try:
            token = enroll(process.url, config, "2190000", "Fuzz kiosk")
            kiosk = _run(
                process.url,
                ["--header", f"Authorization: Bearer {token}"],
                ["--exclude-path-regex", "^/v1/admin"],
                args,
                folder / "report",
            )
            staff = _run(
                process.url,
                ["--auth", ":".join(ADMIN)],
                ["--include-path-regex", "^/v1/admin"],
                args,
                folder / "report",
            )
            console = _run_console(process.url, args, folder)
            internal = process.log().count("internal error on")
        finally:
            process.stop()
    runs = {"kiosk": kiosk, "staff": staff, "console": console}
    return {
        "examples_per_operation": args.examples,
        "phases": args.phases,
        "seed": args.seed,
        "cases": sum(r["cases"] for r in runs.values()),
        "server_errors": sum(r["server_errors"] for r in runs.values()),
        "internal_errors_logged": internal,
        "runs": runs,
    }


def _run_console(url: str, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """The console's pages, signed in as the administrator (signing out is left out: it would end the run's
    session). Without their forms' CSRF token every POST is refused; the GETs see real pages."""
    from server_api.console.app import console_schema
    from tests.console.conftest import Staff

    schema = folder / "console-openapi.json"
    schema.write_text(json.dumps(console_schema()))
    signed_in = Staff(url, *ADMIN)
    if not signed_in.session:
        raise RuntimeError(f"the administrator could not sign in to the console: {signed_in.login_answer}")
    cookie = ["--header", f"Cookie: console_session={signed_in.session}"]
    return _run(url, cookie, ["--exclude-path", "/console/logout"], args, folder / "report", str(schema))


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    top.add_argument("--examples", type=int, default=100)
    top.add_argument("--phases", default="examples,coverage,fuzzing")
    top.add_argument("--seed", type=int, default=1)
    top.add_argument("--timeout", type=float, default=1800)
    return top


if __name__ == "__main__":
    print(json.dumps(fuzz(parser().parse_args()), indent=2))
