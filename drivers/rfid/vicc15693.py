"""A virtual ISO 15693 tag for vsmartcard's ``vpcd``: the PC/SC tests run through the real ``pcscd``.

``vpcd`` is a PC/SC reader driver that listens on a TCP port; a virtual card connects to it. Every message
in both directions is a 2-byte big-endian length followed by that many bytes. A 1-byte message from vpcd
is a control code (0x00 power off, 0x01 power on, 0x02 reset, 0x04 "send your ATR"); anything longer is a
command APDU, answered with a response APDU.

The tag answers the PC/SC part 3 pseudo-APDUs for storage cards, plus the AFI commands of the
``virtual-15693`` reader model in ``drivers.rfid.pcsc``::

    FF CA 00 00 00          UID (least significant byte first, as on the air) + 90 00
    FF B0 00 bb LL          read LL bytes from block bb
    FF D6 00 bb LL data     write whole blocks from block bb
    FF 30 00 27 01 afi      write AFI
    FF 30 00 2B 00          ISO 15693 system information: flags, info flags, UID, DSFID, AFI, size, IC ref

``insert``/``remove`` connect and disconnect the card (a reader slot sees one tag at a time).
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time

BLOCK_SIZE = 4
SW_OK = b"\x90\x00"
SW_WRONG_LENGTH = b"\x67\x00"
SW_NOT_FOUND = b"\x6a\x82"
SW_INS_NOT_SUPPORTED = b"\x6d\x00"
SW_CLA_NOT_SUPPORTED = b"\x6e\x00"

# PC/SC part 3 ATR for a contactless storage card (RID A0 00 00 03 06, standard 0x0B: ISO 15693 part 3).
_ATR_BODY = bytes.fromhex("3B8F8001804F0CA0000003060B00000000000000")


def atr() -> bytes:
    check = 0
    for byte in _ATR_BODY[1:]:
        check ^= byte
    return _ATR_BODY + bytes([check])


class VirtualTag:
    """The tag's state: UID (MSB first), memory, AFI, DSFID. Thread-safe enough for tests (one writer)."""

    def __init__(self, uid: bytes, data: bytes = b"", *, blocks: int = 28, afi: int = 0x07, dsfid: int = 0):
        self.uid = bytes(uid)
        self.memory = bytearray(blocks * BLOCK_SIZE)
        self.memory[: len(data)] = data
        self.afi = afi
        self.dsfid = dsfid
        self.afi_writable = True

    def answer(self, apdu: bytes) -> bytes:
        if len(apdu) < 4:
            return SW_WRONG_LENGTH
        cla, ins, p1, p2 = apdu[:4]
        body = apdu[5:] if len(apdu) > 5 else b""
        if cla != 0xFF:
            return SW_CLA_NOT_SUPPORTED
        if ins == 0xCA and p1 == 0x00:
            return self.uid[::-1] + SW_OK
        if ins == 0xB0:
            length = apdu[4] if len(apdu) > 4 else 0
            start = p2 * BLOCK_SIZE
            if length == 0 or start + length > len(self.memory):
                return SW_NOT_FOUND
            return bytes(self.memory[start : start + length]) + SW_OK
        if ins == 0xD6:
            start = p2 * BLOCK_SIZE
            if not body or len(body) % BLOCK_SIZE or start + len(body) > len(self.memory):
                return SW_WRONG_LENGTH if len(body) % BLOCK_SIZE else SW_NOT_FOUND
            self.memory[start : start + len(body)] = body
            return SW_OK
        if ins == 0x30 and p2 == 0x27 and len(body) == 1:
            if not self.afi_writable:
                return b"\x65\x81"  # memory failure
            self.afi = body[0]
            return SW_OK
        if ins == 0x30 and p2 == 0x2B:
            blocks = len(self.memory) // BLOCK_SIZE
            info = (
                bytes([0x00, 0x0F])
                + self.uid[::-1]
                + bytes([self.dsfid, self.afi, blocks - 1, BLOCK_SIZE - 1, 1])
            )
            return info + SW_OK
        return SW_INS_NOT_SUPPORTED


class VirtualCardClient:
    """Connects a ``VirtualTag`` to vpcd on ``127.0.0.1:port`` and serves it from a thread."""

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = port
        self.tag: VirtualTag | None = None
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None

    def insert(self, tag: VirtualTag, timeout: float = 10.0) -> None:
        if self._sock is not None:
            self.remove()
        self.tag = tag
        sock = self._connect(timeout)
        sock.settimeout(None)
        self._sock = sock
        self._thread = threading.Thread(target=self._serve, args=(sock, tag), daemon=True, name="vicc")
        self._thread.start()

    def _connect(self, timeout: float) -> socket.socket:
        """vpcd listens with a backlog of 0 and accepts only on its next poll (about every 0.4 s), so while
        a card that just left still waits in its queue a new one is refused: tried again within `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return socket.create_connection((self.host, self.port), timeout=timeout)
            except ConnectionRefusedError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.05)

    def remove(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.tag = None

    def _serve(self, sock: socket.socket, tag: VirtualTag) -> None:
        try:
            while True:
                header = _recv_exact(sock, 2)
                if header is None:
                    return
                (length,) = struct.unpack(">H", header)
                message = _recv_exact(sock, length)
                if message is None:
                    return
                if length == 1:
                    if message[0] == 0x04:
                        reply = atr()
                    else:
                        continue  # power on/off, reset: nothing to say
                else:
                    reply = tag.answer(message)
                sock.sendall(struct.pack(">H", len(reply)) + reply)
        except OSError:
            return


def _recv_exact(sock: socket.socket, count: int) -> bytes | None:
    data = bytearray()
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            return None
        data += chunk
    return bytes(data)
