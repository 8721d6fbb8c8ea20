"""CRC-16/CCITT as used by the Danish RFID data model (ISO 28560-3).

Parameters: polynomial 0x1021, initial value 0xFFFF, input and output not reflected, no final XOR
(the variant catalogued as CRC-16/IBM-3740, formerly "CRC-16/CCITT-FALSE"). Check value for b"123456789"
is 0x29B1.
"""

from __future__ import annotations

CRC16_CCITT_POLY = 0x1021
CRC16_CCITT_INIT = 0xFFFF


def _build_table() -> tuple[int, ...]:
    # One entry per possible high byte: processing a byte is then a shift and one lookup, not eight rounds.
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ CRC16_CCITT_POLY) if crc & 0x8000 else (crc << 1)
        table.append(crc & 0xFFFF)
    return tuple(table)


_TABLE = _build_table()


def crc16_ccitt(data: bytes | bytearray | memoryview, initial: int = CRC16_CCITT_INIT) -> int:
    """Return the CRC-16/CCITT of ``data``.

    ``initial`` lets a caller continue a CRC over data that arrives in pieces:
    ``crc16_ccitt(b, crc16_ccitt(a)) == crc16_ccitt(a + b)``.
    """
    if not 0 <= initial <= 0xFFFF:
        raise ValueError(f"CRC initial value must fit in 16 bits, got {initial:#x}")
    crc = initial
    for byte in memoryview(data).cast("B"):
        crc = ((crc << 8) & 0xFFFF) ^ _TABLE[(crc >> 8) ^ byte]
    return crc
