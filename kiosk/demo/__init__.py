"""The demo: the whole station on simulated hardware against the demo library system, scripted patrons,
and the exactly-once audit against that library system's own log. Nothing in the product imports it, apart
from the `kiosk demo` command (lazily); tests and the UI's simulator panel use it."""

from kiosk.demo.audit import audit, ils_events
from kiosk.demo.environment import DemoEnvironment, DemoOptions, DemoSettings
from kiosk.demo.patrons import DemoPatron, demo_patrons, patron_lines
from kiosk.demo.scenarios import (
    SCENARIOS,
    Recorder,
    Scenario,
    ScenarioFailed,
    bookmobile,
    borrow_return,
    finish_visit,
    handle_stack,
    lendable_items,
    log_in,
    scenario_options,
    transit,
)
from kiosk.demo.tags import TAG_AFI_FILE, KeptAfi, KeptPad, PhysicalTag, make_tags

__all__ = [
    "SCENARIOS",
    "TAG_AFI_FILE",
    "DemoEnvironment",
    "DemoOptions",
    "DemoPatron",
    "DemoSettings",
    "KeptAfi",
    "KeptPad",
    "PhysicalTag",
    "Recorder",
    "Scenario",
    "ScenarioFailed",
    "audit",
    "bookmobile",
    "borrow_return",
    "demo_patrons",
    "finish_visit",
    "handle_stack",
    "ils_events",
    "lendable_items",
    "log_in",
    "make_tags",
    "patron_lines",
    "scenario_options",
    "transit",
]
