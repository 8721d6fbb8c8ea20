"""`kiosk demo [--headless --scenario NAME] [--sip2-direct]`: the whole station on demo data and simulated
hardware. By default as a consortium's kiosk: kiosk -> gateway (HTTPS + JSON, on SQLite) -> demo library
system (SIP2); `--sip2-direct` talks SIP2 straight to the library system, as a single library's kiosk.

The only command of the product that imports `kiosk.demo`, and only when it runs.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from kiosk.cli.common import Commands, fail, open_speaker_or_none, print_json

SCENARIO_NAMES = ("borrow-return", "transit", "bookmobile")


def _workdir(given: str | None) -> Path:
    if given:
        return Path(given)
    # A fresh library every time: the demo starts from the same data and leaves nothing behind.
    return Path(tempfile.mkdtemp(prefix="kiosk-demo-"))


def _where(env: Any) -> str:
    """Where a `kiosk.demo.DemoEnvironment` sends the station's requests."""
    assert env.ils is not None
    ils = f"demo library system on 127.0.0.1:{env.ils.port}"
    return f"gateway on {env.gateway.url} -> {ils}" if env.gateway is not None else f"SIP2 direct -> {ils}"


def _console_lines(env: Any) -> list[str]:
    """The staff console's address and the demo's staff logins, when the demo runs its gateway."""
    if env.gateway is None:
        return []
    return [
        f"Staff console: {env.gateway.console_url} (the demo kiosk is in its fleet)",
        *env.gateway.staff_logins,
    ]


async def _restarts_in_the_demo(env: Any) -> None:
    """A restart the console asks for (a technician, or a setting read at start) is what `kiosk run` does
    by exiting for systemd; the demo has no service manager: it says so and goes on following."""
    console = env.station.console if env.station is not None else None
    if console is None:
        return
    while True:
        await console.restart_wanted.wait()
        print(
            f"Demo: restart asked ({console.restart_reason}); a kiosk restarts now, the demo goes on",
            flush=True,
        )
        console.restart_wanted.clear()


async def _demo_headless(args: argparse.Namespace, workdir: Path) -> int:
    from kiosk.demo import (
        SCENARIOS,
        DemoEnvironment,
        ScenarioFailed,
        bookmobile,
        patron_lines,
        scenario_options,
    )

    scenario_name, sessions, quiet = args.scenario, args.sessions, args.quiet
    scenario = SCENARIOS[scenario_name]
    options = scenario_options(scenario_name)
    options["gateway"] = not args.sip2_direct
    async with DemoEnvironment(workdir, **options) as env:
        assert env.station is not None
        print(f"Demo: {_where(env)}; receipts (PNG) in {workdir / 'receipts'}", file=sys.stderr, flush=True)
        print("\n".join(patron_lines() + _console_lines(env)), file=sys.stderr, flush=True)
        if not quiet:
            env.station.add_observer(lambda observation: print_json(observation.as_record()))
        summary: dict[str, Any]
        try:
            if scenario_name == "bookmobile":
                summary = await bookmobile(env, sessions=sessions)
            else:
                summary = await scenario(env)
        except (TimeoutError, ScenarioFailed) as error:
            summary = {
                "scenario": scenario_name,
                "ok": False,
                "error": str(error) or "timed out",
                "screen": env.station.screen.name.value,
            }
    print_json({"kind": "summary", **summary})
    return 0 if summary.get("ok") else 1


async def _demo_window(workdir: Path, fullscreen: bool, sip2_direct: bool) -> int:
    from kiosk.demo import DemoEnvironment, patron_lines
    from ui.app import KioskApp

    async with DemoEnvironment(workdir, gateway=not sip2_direct) as env:
        assert env.station is not None and env.ils is not None
        # Printed receipts as PNG, e-mailed ones (through the gateway) as mail-N.eml, in the same folder.
        print(f"Demo: {_where(env)}; receipts (PNG, e-mail .eml) in {workdir / 'receipts'}", flush=True)
        print("\n".join(patron_lines()), flush=True)  # demo data: a normal, blocked, fees, child, Sámi card
        print("\n".join(_console_lines(env)), flush=True)
        # Demo only (a real kiosk's is set with `kiosk staff set-credential` and never shown)
        print(
            f"Demo staff screen: hold the library's name 3 s, passphrase: {env.demo_staff_passphrase}",
            flush=True,
        )
        from drivers.speech import SimulatedJack

        # the demo panel plugs a simulated headset in and out: speech starts and moves to it
        speaker = open_speaker_or_none()
        app = KioskApp(env.station, demo=env, fullscreen=fullscreen, speaker=speaker, jack=SimulatedJack())
        restarts = asyncio.create_task(_restarts_in_the_demo(env), name="restarts in the demo")
        try:
            await app.async_run(async_lib="asyncio")
        finally:
            restarts.cancel()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    if args.headless and not args.scenario:
        return fail("kiosk demo --headless needs --scenario (borrow-return, transit or bookmobile)", 2)
    workdir = _workdir(args.workdir)
    try:
        if args.headless:
            return asyncio.run(_demo_headless(args, workdir))
        return asyncio.run(_demo_window(workdir, args.fullscreen, args.sip2_direct))
    finally:
        if not args.workdir:  # its own folder: journal, library system, gateway, receipts; all demo data
            shutil.rmtree(workdir, ignore_errors=True)
            print(f"Demo: removed {workdir} (keep the next one with --workdir DIR)", file=sys.stderr)


def register(commands: Commands) -> None:
    demo = commands.add_parser("demo", help="the whole station on demo data and simulated hardware")
    demo.add_argument("--headless", action="store_true", help="no window: run a scenario, print JSON lines")
    demo.add_argument("--scenario", choices=SCENARIO_NAMES)
    demo.add_argument("--sessions", type=int, default=500, help="bookmobile: patron visits while offline")
    demo.add_argument("--quiet", action="store_true", help="headless: print only the summary line")
    demo.add_argument("--workdir", help="keep the demo library's database and receipts here")
    demo.add_argument("--fullscreen", action="store_true")
    demo.add_argument(
        "--sip2-direct",
        action="store_true",
        help="talk SIP2 straight to the library system (a single library) instead of through the gateway",
    )
    demo.set_defaults(func=cmd_demo)


__all__ = ["SCENARIO_NAMES", "cmd_demo", "register"]
