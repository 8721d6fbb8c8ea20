"""`make demo` opens the staff console: the demo gateway serves it, makes the demo's staff accounts (once)
and hands the lines `kiosk demo` prints (its address and the logins), and a printed login signs in."""

from __future__ import annotations

import asyncio
from pathlib import Path

from server_api.console.demo import DEMO_PASSWORD, ensure_demo_staff
from server_api.demo_ils import DemoIls
from server_api.gateway.demo import DemoGateway
from tests.console.conftest import TROMSO, Staff


async def test_the_demo_gateway_serves_the_console_and_a_printed_login_signs_in(tmp_path: Path) -> None:
    async with (
        DemoIls(tmp_path / "ils.sqlite") as ils,
        DemoGateway(tmp_path / "gw", ils_port=ils.port) as gateway,
    ):
        gateway.enroll(TROMSO, "Demo kiosk")
        assert gateway.console_url == f"{gateway.url}/console/"
        assert f"staff console login: demo-tekniker / {DEMO_PASSWORD} (technician)" in gateway.staff_logins
        assert await asyncio.to_thread(ensure_demo_staff, gateway.engine) == gateway.staff_logins  # made once
        staff = await asyncio.to_thread(Staff, gateway.url, "demo-tromso", DEMO_PASSWORD)
        assert staff.login_answer.status_code == 303
        fleet = await asyncio.to_thread(staff.get, "/console/")
        assert fleet.status_code == 200 and "Demo kiosk" in fleet.text
