"""Files in an ext4 partition of a disk image, read without mounting: e2fsprogs' debugfs, read-only.

``debugfs -c -R CMD 'IMAGE?offset=BYTES'`` opens the file system inside the image file (the unix I/O
manager's offset option), in catastrophic mode (read-only, no bitmaps: quick on a 2 GiB slot). Symbolic
links are followed here, inside the image (``/vmlinuz -> boot/vmlinuz-6.1...``), never on this machine.
"""

from __future__ import annotations

import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

__all__ = ["Entry", "Ext4Error", "Ext4Files"]


class Ext4Error(RuntimeError):
    """debugfs is missing, or the partition holds no ext4 file system it can read."""


@dataclass(frozen=True)
class Entry:
    name: str
    mode: int
    uid: int
    gid: int
    size: int

    @property
    def is_dir(self) -> bool:
        return stat.S_ISDIR(self.mode)

    @property
    def is_link(self) -> bool:
        return stat.S_ISLNK(self.mode)

    @property
    def is_file(self) -> bool:
        return stat.S_ISREG(self.mode)


class Ext4Files:
    """One ext4 file system at `offset` bytes into `image`."""

    def __init__(self, image: Path, offset: int) -> None:
        self.image, self.offset = image, offset
        self.target = f"{image}?offset={offset}"
        self._folders: dict[str, dict[str, Entry]] = {}  # the image is only read: listings are kept
        self._links: dict[str, str] = {}

    def debugfs(self, command: str) -> tuple[bytes, str]:
        try:
            done = subprocess.run(
                ["debugfs", "-c", "-R", command, self.target], capture_output=True, timeout=120, check=False
            )
        except FileNotFoundError as error:
            raise Ext4Error("debugfs is not installed (apt-get install e2fsprogs)") from error
        errors = done.stderr.decode(errors="replace")
        if done.returncode != 0 or "Bad magic number" in errors or "superblock" in errors.lower():
            raise Ext4Error(f"no ext4 file system at {self.offset} bytes into {self.image}")
        return done.stdout, errors

    def label(self) -> str:
        out, _ = self.debugfs("stats -h")
        for line in out.decode(errors="replace").splitlines():
            if line.startswith("Filesystem volume name:"):
                name = line.split(":", 1)[1].strip()
                return "" if name == "<none>" else name
        return ""

    def listdir(self, path: str) -> dict[str, Entry]:
        """The entries of a folder (no . and ..), links in its path followed; empty when it is missing."""
        folder = self.resolve(path)
        return {} if folder is None else self._entries(folder)

    def lstat(self, path: str) -> Entry | None:
        """The entry itself (a link is not followed), or None when it is missing."""
        pure = PurePosixPath("/") / path
        if pure == PurePosixPath("/"):
            return Entry("/", stat.S_IFDIR | 0o755, 0, 0, 0)
        parent = self.resolve(str(pure.parent))
        if parent is None:
            return None
        return self._entries(parent).get(pure.name)

    def stat(self, path: str) -> Entry | None:
        resolved = self.resolve(path)
        return None if resolved is None else self.lstat(resolved)

    def readlink(self, path: str) -> str:
        if path not in self._links:
            self._links[path] = self._readlink(path)
        return self._links[path]

    def _readlink(self, path: str) -> str:
        out, _ = self.debugfs(f'stat "{path}"')
        for line in out.decode(errors="surrogateescape").splitlines():
            if "link dest:" in line:  # "Fast link dest: "/dev/null"" (or a slow link's)
                return line.split("link dest:", 1)[1].strip().strip('"')
        out, _ = self.debugfs(f'cat "{path}"')  # a long target is stored like file data
        return out.decode(errors="surrogateescape")

    def resolve(self, path: str, depth: int = 0) -> str | None:
        """The path with every link in it followed inside this file system, or None when it leads nowhere."""
        if depth > 20:
            return None
        current = PurePosixPath("/")
        for part in PurePosixPath("/", path).parts[1:]:
            listing = self._entries(str(current))
            entry = listing.get(part)
            if entry is None:
                return None
            here = current / part
            if entry.is_link:
                target = PurePosixPath(self.readlink(str(here)))
                joined = target if target.is_absolute() else current / target
                followed = self.resolve(str(joined), depth + 1)
                if followed is None:
                    return None
                current = PurePosixPath(followed)
            else:
                current = here
        return str(current)

    def _entries(self, folder: str) -> dict[str, Entry]:
        if folder not in self._folders:
            self._folders[folder] = self._list(folder)
        return self._folders[folder]

    def _list(self, folder: str) -> dict[str, Entry]:
        out, _ = self.debugfs(f'ls -p "{folder}"')
        entries = {}
        for line in out.decode(errors="surrogateescape").splitlines():
            fields = line.split("/")  # /inode/mode/uid/gid/name/size/ (a name holds no slash)
            if len(fields) >= 7 and fields[5] not in (".", ".."):
                size = int(fields[6]) if fields[6].isdigit() else 0
                entries[fields[5]] = Entry(fields[5], int(fields[2], 8), int(fields[3]), int(fields[4]), size)
        return entries

    def read(self, path: str) -> bytes | None:
        """A file's contents (links followed), or None when it is missing or no regular file."""
        resolved = self.resolve(path)
        entry = None if resolved is None else self.lstat(resolved)
        if resolved is None or entry is None or not entry.is_file:
            return None
        out, _ = self.debugfs(f'cat "{resolved}"')
        return out

    def text(self, path: str) -> str | None:
        data = self.read(path)
        return None if data is None else data.decode(errors="replace")
