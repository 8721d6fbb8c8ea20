"""The whole station on its embedded defaults: the demo library system on a loopback TCP port, a
simulated RFID pad holding NOR-RFID tags for every demo item and card, and a printer that writes files.

Used by `kiosk demo` (with the window, or headless with a scripted scenario), by the UI's simulator panel
and by the end-to-end tests. Everything talks over the same interfaces as on a real kiosk: SIP2 over TCP,
the `Reader` protocol, the `Printer` protocol.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import TypedDict, Unpack

from drivers.printer import Printer
from drivers.rfid.base import AFI_IN_LIBRARY, AFI_ON_LOAN, TagMemory
from kiosk.cli import build_station
from kiosk.config import ClockSection, NetworkSection, StaffSection, StationConfig, StationSection
from kiosk.core import Screen, SessionPolicy
from kiosk.credentials import hash_credential
from kiosk.demo.patrons import demo_patrons
from kiosk.demo.printer import DemoPrinter
from kiosk.demo.tags import TAG_AFI_FILE, KeptAfi, KeptPad, PhysicalTag, make_tags
from kiosk.i18n import DRAFT_LANGUAGES
from kiosk.journal import Journal
from kiosk.station import GatewayLink, Observation, ScreenShown, Station, StationTiming, local_now
from server_api.circulation import Circulation, CirculationError
from server_api.client import GatewaySettings, HttpCirculation
from server_api.demo_ils import data as demo_data
from server_api.demo_ils.server import DemoIls
from server_api.faulty_link import FaultPlan, FaultyLink
from server_api.gateway.demo import DemoGateway
from server_api.sip2.circulation import Sip2Circulation
from server_api.sip2.client import Sip2Settings

# The demo's staff passphrase (`kiosk demo` prints it): holding the header asks for it. Demo only: a real
# kiosk's credential is set by a technician with `kiosk staff set-credential`.
DEMO_STAFF_PASSPHRASE = "demo staff screen"

_BRANCHES = {
    "tromso": (demo_data.KIOSK_LOGIN, demo_data.KIOSK_LIBRARY),
    "bookmobile": (
        ("kiosk-bokbuss", "demo-bokbuss"),
        next(lib for lib in demo_data.LIBRARIES if lib.number == demo_data.BOOKMOBILE),
    ),
}


@dataclass(frozen=True)
class DemoSettings:
    """How the demo station runs. `link_plan` makes the network between station and library system
    misbehave (seeded by `link_seed`). `ils_address` connects to a library system someone else runs
    (the crash test's harness keeps it alive while it kills stations): no demo library system or link
    is started then. `branch` is the kiosk's library ("tromso" or "bookmobile"): its SIP2 login.

    `gateway`: the station talks to the consortium's gateway (`server_api.gateway.DemoGateway`, in this
    event loop, on SQLite), which talks SIP2 to the library system through the link; the kiosk enrolls
    with a one-time code like a real one. `gateway_url` and `gateway_token`: a gateway someone else runs
    (the crash harness kills it too), enrolled already."""

    policy: SessionPolicy = field(default_factory=SessionPolicy)
    poll_interval: float = 0.05
    clock: Callable[[], datetime] = local_now
    failure_budget: int = 2
    probe_interval: float = 2.0
    tick_interval: float = 1.0
    branch: str = "tromso"
    sip2_timeout: float = 5.0
    sip2_pool: tuple[int, int] = (1, 2)  # SIP2-direct: pool_min_size (opened at start), pool_size (ceiling)
    link_plan: FaultPlan | None = None
    link_seed: int = 0
    ils_address: tuple[str, int] | None = None
    gateway: bool = False
    gateway_url: str = ""
    gateway_token: str = ""
    staff_passphrase: str = DEMO_STAFF_PASSPHRASE  # "": no staff credential, the staff screen stays shut
    # A receipt printer someone else runs (bench/soak.py: the ESC/POS driver to a simulator in its own
    # process, so only the station's memory is measured); None: the demo's own (`DemoPrinter`).
    receipt_printer: Printer | None = None


class DemoOptions(TypedDict, total=False):
    """`DemoSettings` as keywords: `DemoEnvironment(workdir, policy=..., tick_interval=...)`."""

    policy: SessionPolicy
    poll_interval: float
    clock: Callable[[], datetime]
    failure_budget: int
    probe_interval: float
    tick_interval: float
    branch: str
    sip2_timeout: float
    sip2_pool: tuple[int, int]
    link_plan: FaultPlan | None
    link_seed: int
    ils_address: tuple[str, int] | None
    gateway: bool
    gateway_url: str
    gateway_token: str
    staff_passphrase: str
    receipt_printer: Printer | None


@functools.cache
def _staff_credential(passphrase: str) -> str:
    """The argon2id hash of the demo's passphrase, once per process (hashing costs ~50 ms)."""
    return hash_credential(passphrase) if passphrase else ""


class DemoEnvironment:
    """The demo station and everything around it; `async with` starts and stops it all."""

    patrons = staticmethod(demo_patrons)  # whose cards the simulator panel places (`kiosk.demo.patrons`)

    def __init__(self, workdir: Path, **options: Unpack[DemoOptions]) -> None:
        settings = self.settings = DemoSettings(**options)
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.policy = settings.policy
        self.poll_interval = settings.poll_interval
        self.clock = settings.clock
        # The tags keep their AFI across restarts, in this folder (kiosk.demo.tags), as real ones do.
        self.kept_afi = KeptAfi(workdir / TAG_AFI_FILE)
        self.pad = KeptPad(self.kept_afi)
        self.printer = DemoPrinter(workdir / "receipts")  # ESC/POS driver -> simulated printer, PNGs
        self.ils_address = settings.ils_address
        self.ils: DemoIls | None = (
            None
            if settings.ils_address
            else DemoIls(db_path=workdir / "demo-ils.sqlite3", host="127.0.0.1", port=0)
        )
        self.item_tags, self.card_tags = make_tags()
        self.afi: dict[bytes, int] = self.kept_afi.afi  # each physical tag's AFI while off the pad
        self.demo_patron_id = demo_data.DEMO_PATRON_ID
        self.demo_patron_pin = demo_data.DEMO_PATRON_PIN
        self.demo_borrow_items = list(demo_data.DEMO_BORROW_ITEMS)
        self.demo_return_items = [demo_data.HOLD_SHELF_ITEM, demo_data.OTHER_LIBRARY_ITEM]
        self.demo_staff_passphrase = settings.staff_passphrase
        self.journal = Journal(workdir / "journal.sqlite3")
        self.tick_interval = settings.tick_interval
        self.sip2_timeout = settings.sip2_timeout
        # The kiosk's branch decides its SIP2 login: the ILS takes the branch of a transaction from it.
        self.login, self.library = _BRANCHES[settings.branch]
        self.link: FaultyLink | None = None  # the network between kiosk and library system
        self.link_plan = settings.link_plan
        self.link_seed = settings.link_seed
        self.failure_budget = settings.failure_budget
        self.probe_interval = settings.probe_interval
        self.circulation: Circulation | None = None
        self.gateway: DemoGateway | None = None  # the consortium's gateway, when the demo runs one
        self.station: Station | None = None

    # ------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> DemoEnvironment:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self.settings.receipt_printer is None:
            self.printer.start()
        if self.ils is not None:
            await self.ils.__aenter__()
            self.link = await FaultyLink(
                "127.0.0.1", self.ils.port, plan=self.link_plan, seed=self.link_seed
            ).__aenter__()
            host, port = "127.0.0.1", self.link.port
        else:
            assert self.ils_address is not None
            host, port = self.ils_address
        self.circulation = await _open_circulation(self, host, port)
        await self._set_initial_afi()
        # The demo chooses only what it simulates; the station is built the way `kiosk run` builds one.
        self.station = build_station(
            StationConfig(
                # Every draft language, shown with its draft notice (the demo shows what a library may enable)
                station=StationSection(
                    library_name=self.library.name, extra_languages=" ".join(DRAFT_LANGUAGES)
                ),
                network=NetworkSection(
                    failure_budget=self.failure_budget, probe_interval=self.probe_interval
                ),
                clock=ClockSection(trust="always"),
                staff=StaffSection(credential=_staff_credential(self.settings.staff_passphrase)),
                source="demo",
            ),
            reader=self.pad,
            circulation=self.circulation,
            printer=self.settings.receipt_printer or self.printer,
            journal=self.journal,
            policy=self.policy,
            timing=StationTiming(
                poll_interval=self.poll_interval,
                tick_interval=self.tick_interval,
                probe_interval=self.probe_interval,
            ),
            clock=self.clock,
        )
        await self.station.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.station is not None:
            await self.station.stop()
        if self.circulation is not None:
            await self.circulation.close()
        if self.gateway is not None:
            await self.gateway.__aexit__(exc_type, exc, tb)
        self.journal.close()
        if self.link is not None:
            await self.link.__aexit__(exc_type, exc, tb)
        if self.ils is not None:
            await self.ils.__aexit__(exc_type, exc, tb)
        if self.settings.receipt_printer is None:
            await self.printer.close()
            self.printer.stop()
        else:
            await self.settings.receipt_printer.close()

    async def _set_initial_afi(self) -> None:
        """Tags keep the AFI they had when the demo last stopped (kiosk.demo.tags). A tag the demo has
        never seen carries the on-loan AFI when its item is on loan, as it would in a real library; with
        the library system out of reach it starts in-library (the AFI decides nothing about a loan or a
        return; the station writes it after each)."""
        assert self.circulation is not None
        kept = self.kept_afi
        new = [i for i, tags in self.item_tags.items() if any(t.uid not in kept.afi for t in tags)]
        for tag in [*self.card_tags.values(), *(t for tags in self.item_tags.values() for t in tags)]:
            if tag.uid not in kept.afi:
                kept.afi[tag.uid] = AFI_IN_LIBRARY
                kept.provisional.add(tag.uid)  # until the library system or a write says otherwise
        with contextlib.suppress(CirculationError):
            for status in await asyncio.gather(*(self.circulation.item_status(item) for item in new)):
                for tag in self.item_tags[status.item_id]:
                    kept.afi[tag.uid] = AFI_ON_LOAN if status.charged else AFI_IN_LIBRARY
                    kept.provisional.discard(tag.uid)
        kept.provisional -= {card.uid for card in self.card_tags.values()}  # cards are never on loan
        kept.save()

    # ------------------------------------------------------------ the simulator panel

    def _on_pad(self) -> dict[bytes, TagMemory]:
        return {memory.uid: memory for memory in self.pad.tags()}

    def _place(self, tag: PhysicalTag) -> None:
        self.pad.place(tag.uid, tag.data, self.afi.get(tag.uid, AFI_IN_LIBRARY))

    def _lift(self, uid: bytes) -> None:
        snapshot = self._on_pad()
        if uid in snapshot:
            self.afi[uid] = snapshot[uid].afi
            self.pad.remove(uid)

    def place_patron_card(self, patron_id: str | None = None) -> None:
        self._place(self.card_tags[patron_id or self.demo_patron_id])

    def remove_patron_card(self, patron_id: str | None = None) -> None:
        self._lift(self.card_tags[patron_id or self.demo_patron_id].uid)

    def place_items(self, item_ids: list[str], *, parts: dict[str, list[int]] | None = None) -> None:
        """Put items on the pad; `parts` limits an item to some of its parts (a disc left at home)."""
        for item_id in item_ids:
            for number, tag in enumerate(self.item_tags[item_id], start=1):
                if parts is None or item_id not in parts or number in parts[item_id]:
                    self._place(tag)

    def remove_items(self, item_ids: list[str]) -> None:
        for item_id in item_ids:
            for tag in self.item_tags[item_id]:
                self._lift(tag.uid)

    async def wait_lifted(
        self, item_ids: list[str], *, patron_id: str | None = None, timeout: float = 5.0
    ) -> None:
        """Until the station has seen these items (and this card) leave the pad: it debounces, a tag
        must be missing for a few inventory rounds. A patron takes longer; a script must wait for it."""
        assert self.station is not None
        uids = {tag.uid for item_id in item_ids for tag in self.item_tags[item_id]}
        if patron_id is not None:
            uids.add(self.card_tags[patron_id].uid)
        async with asyncio.timeout(timeout):
            while uids & {tag.uid for tag in self.station.session.pad}:
                await asyncio.sleep(self.poll_interval)

    def clear_pad(self) -> None:
        for uid in list(self._on_pad()):
            self._lift(uid)

    def item_afi(self, item_id: str) -> list[int]:
        snapshot = self._on_pad()
        return [
            snapshot[t.uid].afi if t.uid in snapshot else self.afi[t.uid] for t in self.item_tags[item_id]
        ]

    def empty_printer(self) -> None:
        self.printer.simulate_paper_out()

    @property
    def network_up(self) -> bool:
        return self.link is not None and not self.link.cut

    def cut_network(self) -> None:
        assert self.link is not None
        self.link.set_cut(True)

    def restore_network(self) -> None:
        assert self.link is not None
        self.link.set_cut(False)

    def toggle_network(self) -> None:
        if self.network_up:
            self.cut_network()
        else:
            self.restore_network()

    # ------------------------------------------------------------ scripted use

    async def wait_for(self, predicate: Callable[[Screen], bool], timeout: float = 10.0) -> Screen:
        """Wait (bounded) until the station shows a screen for which `predicate` holds; return it. Each
        screen shown is checked, so one up for a tick only (a goodbye time of 0) is not missed."""
        assert self.station is not None
        station = self.station
        changed = asyncio.Event()
        unseen: list[Screen] = []
        shown: collections.deque[str] = collections.deque(maxlen=8)  # the way it got there, for the error

        def on_record(observation: Observation) -> None:
            if isinstance(observation, ScreenShown):
                unseen.append(observation.screen)
                shown.append(_screen_and_message(observation.screen))
                changed.set()

        station.add_observer(on_record)
        try:
            async with asyncio.timeout(timeout):
                while True:
                    for screen in [*unseen, station.screen]:
                        if predicate(screen):
                            return screen
                    unseen.clear()
                    changed.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(changed.wait(), 0.5)
        except TimeoutError as error:  # say where the station stood and how it got there
            way = " -> ".join(shown) or "no screen change"
            raise TimeoutError(
                f"after {timeout:g}s the station still shows {_screen_and_message(station.screen)};"
                f" the screens it showed meanwhile (last 8): {way}"
            ) from error
        finally:
            station.remove_observer(on_record)


async def _open_circulation(env: DemoEnvironment, host: str, port: int) -> Circulation:
    """SIP2 to the library system at host:port, or HTTPS to a gateway that talks SIP2 to it."""
    settings = env.settings
    if settings.gateway:
        gateway = DemoGateway(
            env.workdir / "gateway",
            ils_host=host,
            ils_port=port,
            sip2_timeout=settings.sip2_timeout,
            mail_folder=env.workdir / "receipts",  # e-mail receipts saved beside the printed ones
        )
        env.gateway = await gateway.__aenter__()
        token = env.gateway.enroll(env.library.number, f"Demo kiosk ({env.library.name})")
        return _gateway_link(settings, env.gateway.url, token)
    if settings.gateway_url:
        return _gateway_link(settings, settings.gateway_url, settings.gateway_token)
    user, password = env.login
    sip2 = Sip2Settings(
        host=host,
        port=port,
        user=user,
        password=password,
        location=env.library.number,
        institution=env.library.number,
        timeout=settings.sip2_timeout,
        library_names=demo_data.LIBRARY_NAMES,
        pool_min_size=settings.sip2_pool[0],
        pool_size=settings.sip2_pool[1],
    )
    return Sip2Circulation(sip2)


def _gateway_link(settings: DemoSettings, url: str, token: str) -> GatewayLink:
    # The gateway waits up to its SIP2 timeout for the library system, and asks again once.
    client = HttpCirculation(GatewaySettings(url, token=token, timeout=max(15.0, 3 * settings.sip2_timeout)))
    return GatewayLink(client, heartbeat_interval=max(5.0, settings.probe_interval))


def _screen_and_message(screen: Screen) -> str:
    return f"{screen.name.value} ({screen.message.key if screen.message is not None else 'no message'})"
