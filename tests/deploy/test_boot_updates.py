"""The boot test's own pieces that run on this machine (deploy/image/boot_updates.py): the broken update
is a root with slot A's kernel and initramfs and nothing else, so it boots as far as the initramfs and
panics; `until` returns the first true answer or the last one; an SSH command that gets no answer is a
failed command."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

from deploy.image.boot_test import Kiosk
from deploy.image.boot_updates import Bundles, until


def test_the_broken_root_has_the_kernel_and_initramfs_and_no_system(tmp_path: Path) -> None:
    tree = tmp_path / "root"
    (tree / "boot").mkdir(parents=True)
    (tree / "boot" / "vmlinuz-6.1.0-50-amd64").write_bytes(b"kernel" * 1000)
    (tree / "boot" / "initrd.img-6.1.0-50-amd64").write_bytes(b"initrd" * 1000)
    (tree / "sbin").mkdir()
    (tree / "sbin" / "init").write_text("#!/bin/sh\n")
    root = tmp_path / "root.ext4"
    subprocess.run(["mkfs.ext4", "-q", "-d", str(tree), str(root), "8M"], check=True, timeout=60)
    broken = Bundles(root, tmp_path, tmp_path)._unbootable_root(root)
    listing = subprocess.run(["debugfs", "-R", "ls -p /", str(broken)], capture_output=True, text=True).stdout
    names = {line.split("/")[5] for line in listing.splitlines() if line.count("/") >= 6}
    assert names == {".", "..", "lost+found", "vmlinuz", "initrd.img"}


def test_until_gives_the_first_true_answer_or_the_last(tmp_path: Path) -> None:
    answers = iter([None, {}, {"booted": "B"}, {"late": True}])
    assert until(lambda: next(answers), 5, pause=0.01) == {"booted": "B"}
    assert until(lambda: 0, 0.05, pause=0.01) == 0


def test_ssh_to_a_kiosk_that_accepts_and_never_answers_is_a_failure_not_an_exception(tmp_path: Path) -> None:
    # A kiosk going down for a reboot takes the connection and then says nothing: the update check that
    # waits for it to go down must get "not answering" (exit 255), not a TimeoutExpired that ends the run.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        kiosk = Kiosk(tmp_path / "disk.img", tmp_path, tmp_path / "key", "tcg")
        kiosk.ssh_port = silent.getsockname()[1]
        started = time.monotonic()
        result = kiosk.ssh("true", timeout=2)
        assert result.returncode == 255 and "no answer within 2s" in result.stderr
        assert time.monotonic() - started < 10
