"""Building the hardware drivers from the station's configuration: the one place that knows every reader.

``open_reader`` turns the ``[rfid]`` section into a ``Reader``: ``sim`` (an empty ``SimulatedPad``),
``feig`` (``drivers.rfid.feig.FeigReader`` on ``device``) or ``pcsc`` (``drivers.rfid.pcsc.PcscReader``).
Settings that cannot work raise ``ConfigError`` naming the key. Constructing a reader does not touch the
hardware: a FEIG device that is unplugged when the station starts is opened when it appears (the station
reports the reader as unavailable until then). Tools that need the reader *now* (``kiosk tag``) pass
``check_device=True`` and get ``ReaderUnavailable`` at once when the serial device does not exist.
"""

from __future__ import annotations

import logging
from pathlib import Path

from drivers.rfid.base import Reader, ReaderUnavailable
from kiosk.config import ConfigError, RfidSection

log = logging.getLogger(__name__)

READERS = ("sim", "feig", "pcsc")


def open_reader(rfid: RfidSection, *, check_device: bool = False, source: str = "configuration") -> Reader:
    """The reader ``rfid`` describes.

    Raises ``ConfigError``, or with ``check_device`` ``ReaderUnavailable`` for a missing serial device.
    """
    if rfid.reader == "sim":
        from drivers.rfid.sim import SimulatedPad

        return SimulatedPad()
    if rfid.reader == "feig":
        from drivers.rfid.feig import FeigReader

        if not rfid.device:
            raise ConfigError(
                f"{source}: [rfid] reader = 'feig' needs device: the reader's serial device, "
                "best its stable /dev/serial/by-id/... path"
            )
        if not 0 <= rfid.feig_address <= 255:
            raise ConfigError(
                f"{source}: [rfid] feig_address must be 0..255 (255 = broadcast), got {rfid.feig_address}"
            )
        if not Path(rfid.device).exists():
            if check_device:
                raise ReaderUnavailable(
                    f"the serial device {rfid.device} does not exist (is the reader plugged in?)"
                )
            log.warning("FEIG reader %s is not there yet; it is opened when it appears", rfid.device)
        return FeigReader(
            rfid.device,
            address=rfid.feig_address,
            baudrate=rfid.baudrate,
            reversed_blocks=rfid.reversed_blocks,
        )
    if rfid.reader == "pcsc":
        from drivers.rfid.pcsc import READER_MODELS, PcscReader

        if rfid.pcsc_model not in READER_MODELS:
            raise ConfigError(
                f"{source}: [rfid] pcsc_model {rfid.pcsc_model!r} is not one of {', '.join(READER_MODELS)}"
            )
        return PcscReader(rfid.pcsc_reader, rfid.pcsc_model)
    raise ConfigError(f"{source}: [rfid] reader {rfid.reader!r} is not one of {', '.join(READERS)}")
