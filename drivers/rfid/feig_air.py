"""The FEIG simulator's models: how long the serial line and the air interface take (`AirTiming`), the
faults it can be told to show (`Fault`) and a tag on its pad (`VirtualTag`). Re-exported by
``drivers.rfid.feig_sim``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from drivers.rfid.base import AFI_IN_LIBRARY

BLOCK_SIZE = 4
DEFAULT_BLOCKS = 28  # NXP ICODE SLIX: 112 bytes of user memory


class Fault(enum.Enum):
    NO_TRANSPONDER = "no_transponder"
    RF_ERROR = "rf_error"
    CORRUPT_FRAME = "corrupt_frame"
    REMOVED_MID_WRITE = "removed_mid_write"
    WRITE_LOST = "write_lost"


@dataclass(frozen=True)
class AirTiming:
    """How long the serial line and the ISO 15693 air interface take (seconds), as a simple linear model.

    Defaults follow ISO 15693 high data rate (about 26.5 kbit/s each way, so about 0.3 ms per byte on
    the air) and a FEIG reader at 38400 baud (10 bits per byte on the wire). Write times include the
    tag's EEPROM programming time.
    """

    baud: int = 38400
    air_byte: float = 0.000302
    command_overhead: float = 0.0010  # reader firmware turnaround per command
    inventory_slot: float = 0.00030  # an empty slot of a 16-slot round
    inventory_slots: int = 16
    inventory_tag: float = 0.0040  # one tag's answer in a slot (incl. SOF/EOF and CRC)
    collision_round: float = 0.0060  # extra round per further tag answering in the same inventory
    write_block: float = 0.0060  # programming time per block
    write_afi: float = 0.0060

    def serial_time(self, frame_bytes: int) -> float:
        return frame_bytes * 10 / self.baud

    def inventory_time(self, tags: int) -> float:
        rounds = self.inventory_slots * self.inventory_slot + tags * self.inventory_tag
        return self.command_overhead + rounds + max(0, tags - 1) * self.collision_round

    def read_time(self, blocks: int, block_size: int) -> float:
        request = 12  # flags, command, UID, first block, count
        response = 3 + blocks * (block_size + 1)
        return self.command_overhead + (request + response) * self.air_byte

    def write_time(self, blocks: int, block_size: int) -> float:
        return self.command_overhead + (12 + blocks * block_size) * self.air_byte + blocks * self.write_block

    def system_info_time(self) -> float:
        return self.command_overhead + (10 + 15) * self.air_byte

    def afi_time(self) -> float:
        return self.command_overhead + 11 * self.air_byte + self.write_afi


NO_DELAY = AirTiming(
    baud=10**9,
    air_byte=0,
    command_overhead=0,
    inventory_slot=0,
    inventory_tag=0,
    collision_round=0,
    write_block=0,
    write_afi=0,
)
"""A timing model that answers at once (for tests that are about behaviour, not timing)."""


@dataclass
class VirtualTag:
    uid: bytes
    memory: bytearray
    afi: int = AFI_IN_LIBRARY
    dsfid: int = 0
    block_size: int = BLOCK_SIZE
    ic_reference: int = 0x01

    @property
    def block_count(self) -> int:
        return len(self.memory) // self.block_size


__all__ = ["BLOCK_SIZE", "DEFAULT_BLOCKS", "NO_DELAY", "AirTiming", "Fault", "VirtualTag"]
