"""The kiosk's console client against the real gateway: a new settings version waits while a patron is in
a session and is handed over after it; the version applied shows in the fleet; commands and tasks go both
ways; a gateway that cannot be reached is one clear error."""

from __future__ import annotations

from server_api.client import GatewaySettings
from server_api.console.kiosk_client import ConfigFollower, ConsoleClient, ConsoleUnavailable
from server_api.console.wire import TaskIn
from tests.console.conftest import TROMSO, ConsoleSite, unique
from tests.gateway.servers import free_port


async def test_a_new_version_waits_for_the_end_of_the_session_and_is_reported_once_applied(
    console_site: ConsoleSite,
) -> None:
    name = unique("Kiosk")
    token = console_site.enroll(TROMSO, name)
    client = ConsoleClient(GatewaySettings(url=console_site.url, token=token))
    follower = ConfigFollower(client)
    try:
        assert await follower.fetch()  # first contact: the central version is new to it
        first = follower.take(between_sessions=True)
        assert first is not None
        await follower.applied(first)
        assert not await follower.fetch()
        tove = console_site.staff("tove")
        tove.post(f"/console/kiosks/{console_site.ids[name]}/config", {"session.idle_timeout": "150"})
        assert await follower.fetch()
        assert follower.take(between_sessions=False) is None  # a patron is using it: nothing changes
        new = follower.take(between_sessions=True)
        assert new is not None and new.settings["session.idle_timeout"] == 150
        await follower.applied(new)
        assert new.version in tove.get(f"/console/kiosks/{console_site.ids[name]}").text

        console_site.staff("tor").post(
            f"/console/kiosks/{console_site.ids[name]}/commands", {"kind": "restart"}
        )
        (restart,) = await client.commands()
        assert restart.kind == "restart"
        await client.finish(restart, ok=True)
        assert await client.commands() == []
        await client.post_tasks(
            [TaskIn(key="k1", kind="security_write", item_id="0302", summary="AFI not set")]
        )
        (task,) = await client.tasks()
        assert task.kind == "security_write" and task.handled_at is None
    finally:
        await client.close()


async def test_an_unreachable_gateway_is_one_clear_error(console_site: ConsoleSite) -> None:
    client = ConsoleClient(
        GatewaySettings(url=f"http://127.0.0.1:{free_port()}", token="kgw1.x.y", retries=0)
    )
    try:
        try:
            await client.config()
        except ConsoleUnavailable as exc:
            assert "cannot be reached" in str(exc)
        else:
            raise AssertionError("no error")
    finally:
        await client.close()
