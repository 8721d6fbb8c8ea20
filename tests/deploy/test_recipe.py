"""The image recipe's pieces, checked without building an image: unit files (systemd-analyze verify), udev
rules (their grammar), GRUB's menu (grub-script-check), the shell scripts (sh -n) and build.sh's checks of
its arguments and of a foreign build's qemu-user."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deploy.tools import build_tools
from tests.paths import ROOT

DEPLOY = ROOT / "deploy"
BUILD = DEPLOY / "image" / "build.sh"
# What the image provides that this machine need not have.
IMAGE_PROGRAMS = ("/opt/kiosk/venv/bin/", "/usr/bin/cage")


def verify_unit(path: Path, folder: Path) -> list[str]:
    copy = folder / path.name
    copy.write_text(path.read_text())
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(copy)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"SYSTEMD_LOG_LEVEL": "notice", "PATH": "/usr/bin:/bin:/usr/sbin:/sbin"},
    )
    complaints = []
    for line in (done.stdout + done.stderr).splitlines():
        if any(f"Command {program}" in line for program in IMAGE_PROGRAMS):
            continue  # the image has it
        if "Unit rauc.service not found" in line:
            continue  # the image has RAUC
        complaints.append(line)
    return complaints


UNITS = sorted(p for p in (DEPLOY / "systemd").iterdir() if p.suffix in (".service", ".timer", ".path"))


@pytest.mark.parametrize("unit", UNITS, ids=lambda path: path.name)
def test_unit_files_have_no_unknown_keys_or_bad_values(unit: Path, tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    assert verify_unit(unit, tmp_path) == []


def test_unit_verification_catches_a_mistyped_key(tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    broken = tmp_path / "source" / "kiosk-station.service"
    broken.parent.mkdir()
    text = (DEPLOY / "systemd" / "kiosk-station.service").read_text()
    broken.write_text(text.replace("WatchdogSec=30s", "WatchdogSecs=30s"))
    assert any("Unknown key" in line for line in verify_unit(broken, tmp_path))


def test_the_station_runs_under_a_watchdog_and_is_restarted_on_failure() -> None:
    unit = (DEPLOY / "systemd" / "kiosk-station.service").read_text()
    for line in ("Type=notify", "NotifyAccess=all", "WatchdogSec=30s", "Restart=on-failure", "User=kiosk"):
        assert f"\n{line}\n" in unit, line
    assert "ExecStart=/usr/bin/cage -d -- /opt/kiosk/venv/bin/kiosk run" in unit  # no -s: no VT switching


UDEV_KEY = re.compile(
    r"(ACTION|KERNEL|SUBSYSTEM|SUBSYSTEMS|DRIVER|DRIVERS|ATTR\{[^}]+\}|ATTRS\{[^}]+\}|ENV\{[^}]+\}|TAG|"
    r"MODE|GROUP|OWNER|SYMLINK|NAME|RUN|IMPORT\{[^}]+\})"
    r'(==|!=|\+=|-=|:=|=)"[^"]*"'
)
MATCH_ONLY = ("ACTION", "KERNEL", "SUBSYSTEM", "SUBSYSTEMS", "DRIVER", "DRIVERS", "ATTRS")


def udev_problems(text: str) -> list[str]:
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        for pair in (part.strip() for part in line.split(", ")):
            found = UDEV_KEY.fullmatch(pair)
            if found is None:
                problems.append(f"line {number}: cannot read {pair!r}")
            elif found.group(1).split("{")[0] in MATCH_ONLY and found.group(2) not in ("==", "!="):
                problems.append(f"line {number}: {found.group(1)} can only be matched (==, !=)")
        if not any(op in line for op in ("==", "!=")):
            problems.append(f"line {number}: matches nothing, so it would apply to every device")
    return problems


@pytest.mark.parametrize("rules", sorted((DEPLOY / "udev").glob("*.rules")), ids=lambda path: path.name)
def test_udev_rules_follow_the_rule_grammar(rules: Path) -> None:
    assert udev_problems(rules.read_text()) == []


def test_the_udev_check_catches_an_assignment_to_a_match_key() -> None:
    assert udev_problems('SUBSYSTEM="tty", MODE="0660"\n')
    assert udev_problems('SUBSYSTEM=="tty" MODE="0660"\n')  # a missing comma


def test_the_grub_menu_is_valid_grub_script(tmp_path: Path) -> None:
    if shutil.which("grub-script-check") is None:
        pytest.skip("grub-script-check (grub-common) is not installed")
    menu = (DEPLOY / "image" / "grub.cfg.in").read_text()
    menu = menu.replace("@ROOT_A_UUID@", "a").replace("@ROOT_B_UUID@", "b").replace("@CMDLINE@", "quiet")
    for name, text in (
        ("grub.cfg", menu),
        ("embedded.cfg", (DEPLOY / "image" / "grub-embedded.cfg").read_text()),
    ):
        (tmp_path / name).write_text(text)
        done = subprocess.run(["grub-script-check", str(tmp_path / name)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr


def _is_script(path: Path) -> bool:
    return path.is_file() and path.read_bytes()[:2] == b"#!"


@pytest.mark.parametrize(
    "script",
    [
        *sorted((DEPLOY / "image").glob("*.sh")),
        *(path for path in sorted((DEPLOY / "image" / "overlay").rglob("*")) if _is_script(path)),
    ],
    ids=lambda path: path.name,
)
def test_shell_scripts_parse(script: Path) -> None:
    shell = "bash" if script.read_text().startswith("#!/usr/bin/env bash") else "sh"
    done = subprocess.run([shell, "-n", str(script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def build(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BUILD), *args], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "--arch is required"),
        (["--arch", "riscv64"], "'riscv64' is not supported: use amd64 or arm64"),
        (["--arch"], "--arch needs a value"),
        (["--arch", "amd64", "--frobnicate"], "unknown argument '--frobnicate'"),
        (["--arch", "amd64"], "--out DIR is required"),
        (["--arch", "amd64", "--out", "x", "--keyring", "/nonexistent.pem"], "cannot read it"),
        (
            ["--arch", "arm64", "--out", "x", "--packages", "/nonexistent.txt"],
            "'/nonexistent.txt': cannot read it",
        ),
        (["--arch", "arm64", "--out", "x", "--extra-source"], "--extra-source needs a sources line"),
    ],
)
def test_build_refuses_bad_arguments_with_the_reason(args: list[str], message: str) -> None:
    done = build(*args)
    assert done.returncode == 2
    assert message in done.stderr


def foreign() -> tuple[str, str]:
    host = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True).stdout.strip()
    arch = "arm64" if host == "amd64" else "amd64"
    return arch, {"arm64": "qemu-aarch64", "amd64": "qemu-x86_64"}[arch]


REGISTERED = "enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: {flags}\noffset 0\n"


@pytest.mark.parametrize(
    ("binfmt", "message"),
    [
        ({}, "binfmt_misc; it is not mounted here"),
        ({"status": "enabled\n"}, "needs {qemu} registered in binfmt_misc"),
        ({"status": "enabled\n", "{qemu}": "disabled\n"}, "apt-get install qemu-user-static binfmt-support"),
        ({"status": "enabled\n", "{qemu}": REGISTERED.format(flags="P")}, "without the F (fix binary) flag"),
    ],
    ids=["not mounted", "not registered", "disabled", "no F flag"],
)
def test_a_foreign_build_says_what_qemu_user_lacks(
    binfmt: dict[str, str], message: str, tmp_path: Path
) -> None:
    arch, qemu = foreign()
    for name, text in binfmt.items():
        (tmp_path / name.format(qemu=qemu)).write_text(text)
    done = subprocess.run([str(BUILD), "--arch", arch, "--check"], capture_output=True, text=True, timeout=60,
                          env={"PATH": build_tools(tmp_path), "KIOSK_BINFMT_DIR": str(tmp_path)})  # fmt: skip
    assert done.returncode == 1 and message.format(qemu=qemu) in done.stderr, done.stderr


def test_a_foreign_build_needs_arch_test_to_run(tmp_path: Path) -> None:
    arch, qemu = foreign()
    (tmp_path / "status").write_text("enabled\n")
    (tmp_path / qemu).write_text(REGISTERED.format(flags="PF"))
    done = subprocess.run([str(BUILD), "--arch", arch, "--check"], capture_output=True, text=True, timeout=60,
                          env={"PATH": build_tools(tmp_path), "KIOSK_BINFMT_DIR": str(tmp_path)})  # fmt: skip
    assert (
        done.returncode == 1
        and "needs arch-test" in done.stderr
        and "apt-get install arch-test" in done.stderr
    )


def test_the_recipe_keeps_the_promises_of_the_read_only_root() -> None:
    fstab_and_binds = (DEPLOY / "image" / "customize.sh").read_text() + (
        DEPLOY / "image" / "overlay" / "etc" / "initramfs-tools" / "scripts" / "local-bottom" / "kiosk-data"
    ).read_text()
    assert "/dev/root   /            ext4   ro," in fstab_and_binds
    for place in ("journal:/var/log/journal", "var-lib-systemd:/var/lib/systemd", "/etc/machine-id"):
        assert place in fstab_and_binds, place
    journald = (
        DEPLOY / "image" / "overlay" / "etc" / "systemd" / "journald.conf.d" / "kiosk.conf"
    ).read_text()
    assert "SystemMaxUse=" in journald and "Storage=persistent" in journald


def test_station_dependencies_from_pypi_are_pinned_by_hash() -> None:
    lock = (DEPLOY / "image" / "requirements.lock").read_text()
    pins = re.findall(r"^([a-z0-9_.-]+)==\S+ \\$", lock, flags=re.MULTILINE)
    assert {"kivy", "pillow", "sqlalchemy", "httpx", "rich"} <= set(pins)
    assert "pyscard" not in pins  # Debian's python3-pyscard, built against Debian's pcsclite
    blocks = lock.split("==")[1:]
    assert all("--hash=sha256:" in block for block in blocks)
