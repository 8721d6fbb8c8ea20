"""The station's own rules, against the demo library system over TCP and the simulated pad."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from kiosk.cli import station_settings
from kiosk.config import NetworkSection, StationConfig, StationSection
from kiosk.core import CheckoutDone, Mode, SessionPolicy
from kiosk.demo import DemoEnvironment
from kiosk.station import NetworkChanged, Observation, SessionSurprised, StationTiming, Synced
from server_api.circulation import CheckoutOutcome


async def test_a_result_the_session_cannot_take_is_logged_and_observed_never_dropped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with DemoEnvironment(tmp_path) as env:
        assert env.station is not None
        seen: list[Observation] = []
        env.station.add_observer(seen.append)
        with caplog.at_level(logging.WARNING, logger="kiosk.station"):
            env.station.feed(CheckoutDone(CheckoutOutcome("never-placed", ok=True), datetime.now()))
        (surprise,) = [o for o in seen if isinstance(o, SessionSurprised)]
        assert surprise.unexpected.event == "CheckoutDone" and surprise.unexpected.item_id == "never-placed"
        assert surprise.unexpected.mode is Mode.WELCOME and "never-placed" in caplog.text


async def test_after_the_failure_budget_the_station_works_offline_and_comes_back_by_itself(
    tmp_path: Path,
) -> None:
    async with DemoEnvironment(tmp_path, failure_budget=2, probe_interval=0.2) as env:
        assert env.station is not None
        station = env.station
        await station.settle()
        seen: list[Observation] = []
        station.add_observer(seen.append)
        env.cut_network()
        assert await station.check_connection() is False
        assert not station.online and station.screen.offline
        assert [o for o in seen if isinstance(o, NetworkChanged)] == [NetworkChanged(online=False)]

        env.restore_network()  # the probe notices by itself, and a replay follows
        async with asyncio.timeout(20):
            while not any(isinstance(o, Synced) for o in seen):
                await asyncio.sleep(0.05)
        assert station.online and not station.screen.offline
        assert [o for o in seen if isinstance(o, NetworkChanged)][-1] == NetworkChanged(online=True)
        assert station.status().online


async def test_the_demo_station_is_built_from_a_configuration_as_kiosk_run_builds_one(tmp_path: Path) -> None:
    policy = SessionPolicy(goodbye_time=timedelta(0))
    async with DemoEnvironment(tmp_path, policy=policy, failure_budget=4, probe_interval=0.7) as env:
        assert env.station is not None
        settings = env.station.settings
        assert (settings.failure_budget, settings.timing.probe_interval) == (4, 0.7)
        assert settings.library_name == env.library.name
        # The given policy, with the demo's draft languages offered beside the complete ones.
        assert dataclasses.replace(env.station.policy, languages=policy.languages) == policy
        assert policy.languages < env.station.policy.languages
        assert env.station.reader is env.pad and env.station.circulation is env.circulation


def test_the_configuration_sets_the_station_and_a_given_timing_replaces_only_the_intervals() -> None:
    config = StationConfig(
        station=StationSection(library_name="Harstad bibliotek", staff_language="se"),
        network=NetworkSection(failure_budget=5, probe_interval=30.0),
    )
    settings = station_settings(config)
    assert (settings.library_name, settings.staff_language, settings.failure_budget) == (
        "Harstad bibliotek",
        "se",
        5,
    )
    assert (
        settings.timing.probe_interval == 30.0 and settings.timing.poll_interval == config.rfid.poll_interval
    )
    fast = station_settings(config, StationTiming(tick_interval=0.05))
    assert fast.timing.tick_interval == 0.05 and fast.failure_budget == 5
