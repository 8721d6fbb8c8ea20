"""Install the station's wheels into the image's venv from the build machine, not inside the new root.

    python deploy/image/install_venv.py ROOT WHEELS [--venv /opt/kiosk/venv] [--arch amd64|arm64]

customize.sh makes the venv in the root (``python3 -m venv --without-pip``: seconds, even emulated) and
then runs this with the build machine's Python. For an arm64 image on a PC, ``pip install`` and
``python -m compileall`` inside the root ran under qemu-user and took most of the build; here pypa's
``installer`` unpacks each wheel into ROOT/opt/kiosk/venv with its scripts' first line set to
/opt/kiosk/venv/bin/python, and the byte code is compiled by this machine's CPython. That is only right
when both Pythons write the same byte code: the magic number of this Python must equal the one in the
root's own byte-compiled standard library (Debian bookworm: 3.11, 0xa70d); otherwise it refuses and
says so. Before: every wheel from PyPI is checked against the sha256 in WHEELS/requirements.lock (the
station's own wheel is built from the checkout); after: every installed distribution's requirements
(with their markers for the image's platform) are met by the venv or by the root's Debian packages
(pyscard), which is what ``pip check`` did inside the root.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import re
import sys
from importlib import metadata
from pathlib import Path

from installer import install
from installer.destinations import SchemeDictionaryDestination
from installer.sources import WheelFile
from packaging.markers import default_environment
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

__all__ = ["InstallError", "check_requirements", "install_wheels", "main"]

MACHINES = {"amd64": "x86_64", "arm64": "aarch64"}
STATION_WHEEL = "library_kiosk"


class InstallError(RuntimeError):
    """A wheel is not the one locked, this Python cannot compile for the image, or a requirement is unmet."""


def python_version(root: Path) -> str:
    """The root's python3 version (X.Y), from its standard library's folder."""
    found = sorted(p.name.removeprefix("python") for p in (root / "usr/lib").glob("python3.*") if p.is_dir())
    if not found:
        raise InstallError(f"{root}: no /usr/lib/python3.* (is python3 in the package list?)")
    return found[-1]


def check_magic(root: Path, version: str) -> None:
    tag = "cpython-" + version.replace(".", "")
    compiled = sorted((root / f"usr/lib/python{version}/__pycache__").glob(f"*.{tag}.pyc"))
    if not compiled:
        raise InstallError(f"{root}: the root's Python {version} has no byte-compiled standard library")
    theirs, ours = compiled[0].read_bytes()[:4], importlib.util.MAGIC_NUMBER
    if theirs != ours or sys.implementation.cache_tag != tag:
        raise InstallError(
            f"this Python ({sys.version.split()[0]}, magic {ours.hex()}) does not write the byte code of the "
            f"image's Python {version} (magic {theirs.hex()}): run the build with "
            f"KIOSK_PIP_PYTHON=/usr/bin/python{version} (a Debian bookworm machine has it)"
        )


def locked_hashes(lock: Path) -> dict[tuple[str, str], set[str]]:
    """{(name, version): sha256s} from a pip-compile --generate-hashes file."""
    hashes: dict[tuple[str, str], set[str]] = {}
    current: tuple[str, str] | None = None
    for line in lock.read_text().splitlines():
        pinned = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", line)
        if pinned:
            current = (canonicalize_name(pinned.group(1)), pinned.group(2))
            hashes[current] = set()
        if current is not None:
            hashes[current].update(re.findall(r"--hash=sha256:([0-9a-f]{64})", line))
    return hashes


def check_wheels(wheels: list[Path], lock: Path) -> None:
    hashes = locked_hashes(lock)
    for wheel in wheels:
        name, version, _, _ = parse_wheel_filename(wheel.name)
        if name == canonicalize_name(STATION_WHEEL):
            continue
        allowed = hashes.get((name, str(version)))
        if allowed is None:
            raise InstallError(f"{wheel.name}: {name}=={version} is not in {lock.name}")
        if hashlib.sha256(wheel.read_bytes()).hexdigest() not in allowed:
            raise InstallError(f"{wheel.name}: its sha256 is not the one in {lock.name}: refusing it")


def install_wheels(root: Path, venv: str, wheels: list[Path], version: str) -> None:
    site = f"{venv}/lib/python{version}/site-packages"
    for wheel in wheels:
        name = parse_wheel_filename(wheel.name)[0]
        destination = SchemeDictionaryDestination(
            {"purelib": site, "platlib": site, "scripts": f"{venv}/bin", "data": venv,
             "headers": f"{venv}/include/site/python{version}/{name}"},
            interpreter=f"{venv}/bin/python",
            script_kind="posix",
            bytecode_optimization_levels=(0,),
            destdir=str(root),
        )  # fmt: skip
        with WheelFile.open(wheel) as source:
            install(source, destination, additional_metadata={"INSTALLER": b"deploy/image/install_venv.py\n"})


def check_requirements(paths: list[Path], own: Path, environment: dict[str, str]) -> list[str]:
    """What `pip check` says, for the distributions in `own` against everything in `paths`."""
    found = {
        canonicalize_name(d.metadata["Name"]): d.version
        for d in metadata.distributions(path=list(map(str, paths)))
    }
    problems = []
    for dist in metadata.distributions(path=[str(own)]):
        for text in dist.requires or []:
            try:
                requirement = Requirement(text)
            except InvalidRequirement:
                problems.append(f"{dist.metadata['Name']}: cannot read the requirement {text!r}")
                continue
            if requirement.marker is not None and not requirement.marker.evaluate(
                {**environment, "extra": ""}
            ):
                continue
            have = found.get(canonicalize_name(requirement.name))
            if have is None:
                problems.append(
                    f"{dist.metadata['Name']} {dist.version} requires {requirement}, which is missing"
                )
            elif not requirement.specifier.contains(have, prereleases=True):
                problems.append(f"{dist.metadata['Name']} {dist.version} requires {requirement}, has {have}")
    return problems


def target_environment(root: Path, venv: str, arch: str, version: str) -> dict[str, str]:
    """The marker values of the image's Python (pyvenv.cfg has its full version), not of this machine's."""
    config = (root / venv.lstrip("/") / "pyvenv.cfg").read_text()
    full = re.search(r"^version\s*=\s*(\S+)", config, re.MULTILINE)
    environment: dict[str, str] = {key: str(value) for key, value in default_environment().items()}
    environment.update(platform_machine=MACHINES[arch], python_version=version,
                       python_full_version=full.group(1) if full else f"{version}.0",
                       sys_platform="linux", platform_system="Linux", os_name="posix")  # fmt: skip
    return environment


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("wheels", type=Path)
    parser.add_argument("--venv", default="/opt/kiosk/venv")
    parser.add_argument("--arch", choices=sorted(MACHINES), default="amd64")
    args = parser.parse_args(argv)
    wheels = sorted(args.wheels.glob("*.whl"))
    try:
        version = python_version(args.root)
        if not (args.root / args.venv.lstrip("/") / "pyvenv.cfg").is_file():
            raise InstallError(f"no venv at {args.venv} in {args.root}: make it first (python3 -m venv)")
        check_magic(args.root, version)
        check_wheels(wheels, args.wheels / "requirements.lock")
        install_wheels(args.root, args.venv, wheels, version)
        site = args.root / args.venv.lstrip("/") / f"lib/python{version}/site-packages"
        system = [args.root / "usr/lib/python3/dist-packages", args.root / f"usr/lib/python{version}"]
        problems = check_requirements(
            [site, *system], site, target_environment(args.root, args.venv, args.arch, version)
        )
        if problems:
            raise InstallError("requirements not met:\n  " + "\n  ".join(problems))
    except InstallError as error:
        print(f"install_venv: {error}", file=sys.stderr)
        return 2
    print(f"install_venv: {len(wheels)} wheels into {args.venv} (Python {version}), byte code compiled here")
    return 0


if __name__ == "__main__":
    sys.exit(main())
