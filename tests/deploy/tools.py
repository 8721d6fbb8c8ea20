"""A PATH for build.sh's checks on any machine, with or without the image's tools installed."""

from __future__ import annotations

import shutil
from pathlib import Path

# What build.sh runs before and during its checks, which this machine has (`make test` installs them).
SHELL_TOOLS = ("python3", "dpkg", "grep", "dirname", "id", "bash", "env")
# What it only looks for: the image's tools, which `make test` does not install (mmdebstrap, e2fsprogs...).
IMAGE_TOOLS = ("mmdebstrap", "sfdisk", "mkfs.vfat", "mcopy", "mmd", "mkfs.ext4", "openssl")


def build_tools(folder: Path) -> str:
    """A PATH of this machine's shell tools and the image tools build.sh looks for, with a stand-in for
    each image tool missing here, so that a foreign build's checks are reached on any machine; no
    arch-test, whose absence is one of those checks."""
    tools = folder / "bin"
    tools.mkdir()
    for tool in SHELL_TOOLS + IMAGE_TOOLS:
        found = shutil.which(tool)
        if found is not None:
            (tools / tool).symlink_to(found)
        elif tool in IMAGE_TOOLS:
            (tools / tool).write_text(f"#!/bin/sh\necho 'stand-in for {tool}: not installed' >&2\nexit 1\n")
            (tools / tool).chmod(0o700)
        else:
            raise AssertionError(f"{tool} is missing: make test installs it")
    return str(tools)
