"""The `kiosk` command: the composition root.

`main` parses the command line (`kiosk.cli.main`) and runs one sub-command, each in its own module
(listed in `kiosk.cli.main`). `kiosk.cli.build.build_station` is the one way a station is put together,
for `kiosk run` and `kiosk demo` alike. This is the one package of kiosk/ that may import ui/, lazily, in
the commands that open a window (`run`, `demo`), and the one that may import kiosk.demo (`demo`, lazily).
"""

from kiosk.cli.build import build_station, open_configured_printer, station_settings
from kiosk.cli.main import SUB_COMMANDS, build_parser, main

__all__ = [
    "SUB_COMMANDS",
    "build_parser",
    "build_station",
    "main",
    "open_configured_printer",
    "station_settings",
]
