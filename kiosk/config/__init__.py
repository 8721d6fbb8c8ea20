"""The station's configuration: one TOML file, validated with messages a technician can act on.

Every problem names the file, the key and what is wrong ("kiosk.toml: [sip2] port: 99999 is out of
range: use a whole number from 1 to 65535"), and an unknown key suggests the nearest known one: a typo
must never silently fall back to a default. Every number has a range (`checks.RANGES`), every path is
checked for what the station will do with it (`paths`), and `check_for_run` says everything `kiosk run`
would refuse, so a file `kiosk config check` passed never stops the station. Secrets (the SIP2 password)
live in their own file, readable only by the kiosk user, so the configuration can be shown and shared.

sections (the dataclasses and what they become), checks (types, choices, ranges, keys that must agree),
paths (directories, the journal, secret files), loading (`load`, `from_mapping`, `check_for_run`),
editing (`set_section`: one section rewritten, the rest as the technician wrote it).
"""

from kiosk.config.checks import CHOICES, RANGES, Range, check_gateway
from kiosk.config.editing import set_section, without_section
from kiosk.config.errors import ConfigError
from kiosk.config.loading import check_for_run, from_mapping, load, run_problems
from kiosk.config.sections import (
    ClockSection,
    GatewaySection,
    JournalSection,
    NetworkSection,
    OfflineSection,
    PrinterSection,
    ReceiptsSection,
    RfidSection,
    SessionSection,
    Sip2Section,
    SpeechSection,
    StaffSection,
    StationConfig,
    StationSection,
    UiSection,
)

__all__ = [
    "CHOICES",
    "RANGES",
    "ClockSection",
    "ConfigError",
    "GatewaySection",
    "JournalSection",
    "NetworkSection",
    "OfflineSection",
    "PrinterSection",
    "Range",
    "ReceiptsSection",
    "RfidSection",
    "SessionSection",
    "Sip2Section",
    "SpeechSection",
    "StaffSection",
    "StationConfig",
    "StationSection",
    "UiSection",
    "check_for_run",
    "check_gateway",
    "from_mapping",
    "load",
    "run_problems",
    "set_section",
    "without_section",
]
