"""deploy/image/install_venv.py installs the station's wheels into an image's venv from the build machine:
scripts that start /opt/kiosk/venv/bin/python, byte code compiled here with the paths the kiosk will see
and the image Python's magic number, a wheel not in the lock or with another hash refused, requirements
checked with the image's platform markers. A root with a real venv (this Python's, --without-pip) and
wheels written here (zip files, as a build backend writes them)."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.deploy.tools import build_tools
from tests.paths import ROOT

INSTALL = ROOT / "deploy" / "image" / "install_venv.py"
VERSION = f"{sys.version_info.major}.{sys.version_info.minor}"


WHEEL = "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"


def wheel(folder: Path, name: str, version: str, requires: tuple[str, ...] = ()) -> Path:
    dist = f"{name}-{version}"
    files = {
        f"{name}/__init__.py": f"VERSION = {version!r}\n\ndef main():\n    print(VERSION)\n",
        f"{dist}.dist-info/METADATA": "Metadata-Version: 2.1\nName: " + name + "\nVersion: " + version + "\n"
        + "".join(f"Requires-Dist: {r}\n" for r in requires),
        f"{dist}.dist-info/WHEEL": WHEEL,
        f"{dist}.dist-info/entry_points.txt": f"[console_scripts]\n{name}-cli = {name}:main\n",
    }  # fmt: skip
    record = []
    for member, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{member},sha256={digest},{len(text.encode())}")
    files[f"{dist}.dist-info/RECORD"] = "\n".join([*record, f"{dist}.dist-info/RECORD,,"]) + "\n"
    path = folder / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for member, text in files.items():
            archive.writestr(member, text)
    return path


def lock(folder: Path, *wheels: Path) -> None:
    lines = []
    for built in wheels:
        name, version = built.name.split("-")[:2]
        lines.append(
            f"{name}=={version} \\\n    --hash=sha256:{hashlib.sha256(built.read_bytes()).hexdigest()}\n"
        )
    (folder / "requirements.lock").write_text("".join(lines))


def image_root(tmp_path: Path) -> Path:
    root = tmp_path / "rootfs"
    stdlib = root / f"usr/lib/python{VERSION}/__pycache__"
    stdlib.mkdir(parents=True)
    tag = sys.implementation.cache_tag
    (stdlib / f"os.{tag}.pyc").write_bytes(importlib.util.MAGIC_NUMBER + bytes(12))  # as Debian compiled it
    (root / "usr/lib/python3/dist-packages").mkdir(parents=True)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root / "opt/kiosk/venv")], check=True,
                   timeout=120)  # fmt: skip
    return root


def run(root: Path, wheels: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(INSTALL), str(root), str(wheels), *args], capture_output=True,
                          text=True, timeout=120, check=False)  # fmt: skip


def test_wheels_are_installed_with_the_kiosks_interpreter_and_byte_code_compiled_here(tmp_path: Path) -> None:
    root, wheels = image_root(tmp_path), tmp_path / "wheels"
    wheels.mkdir()
    lock(wheels, wheel(wheels, "helper", "1.2"))
    wheel(wheels, "library_kiosk", "0.1.0", ("helper>=1.0", "pyscard; sys_platform == 'win32'"))
    done = run(root, wheels, "--arch", "arm64")
    assert done.returncode == 0, done.stderr
    venv = root / "opt/kiosk/venv"
    script = (venv / "bin/library_kiosk-cli").read_text()
    assert (
        script.startswith("#!/opt/kiosk/venv/bin/python\n")
        and (venv / "bin/library_kiosk-cli").stat().st_mode & 0o111
    )
    site = venv / f"lib/python{VERSION}/site-packages"
    compiled = site / "helper" / "__pycache__" / f"__init__.{sys.implementation.cache_tag}.pyc"
    data = compiled.read_bytes()
    assert data[:4] == importlib.util.MAGIC_NUMBER
    assert f"/opt/kiosk/venv/lib/python{VERSION}/site-packages/helper/__init__.py".encode() in data
    assert str(tmp_path).encode() not in data  # no build machine's path in what the kiosk runs
    assert (site / "helper-1.2.dist-info/INSTALLER").read_text() == "deploy/image/install_venv.py\n"


def test_a_wheel_with_another_hash_than_the_lock_is_refused(tmp_path: Path) -> None:
    root, wheels = image_root(tmp_path), tmp_path / "wheels"
    wheels.mkdir()
    built = wheel(wheels, "helper", "1.2")
    lock(wheels, built)
    with zipfile.ZipFile(built, "a") as archive:
        archive.writestr("helper/evil.py", "import os\n")
    done = run(root, wheels)
    assert done.returncode == 2 and "its sha256 is not the one in requirements.lock" in done.stderr
    assert not list((root / "opt/kiosk/venv/lib").rglob("helper"))  # nothing installed
    (wheels / "requirements.lock").write_text("")
    assert "helper==1.2 is not in requirements.lock" in run(root, wheels).stderr


@pytest.mark.parametrize(("arch", "met"), [("amd64", False), ("arm64", True)])
def test_requirements_are_checked_with_the_images_platform_markers(
    tmp_path: Path, arch: str, met: bool
) -> None:
    root, wheels = image_root(tmp_path), tmp_path / "wheels"
    wheels.mkdir()
    lock(wheels)
    wheel(wheels, "library_kiosk", "0.1.0", ("cpuid>=2; platform_machine == 'x86_64'",))
    done = run(root, wheels, "--arch", arch)
    if met:
        assert done.returncode == 0, done.stderr
    else:
        assert done.returncode == 2
        assert (
            'library_kiosk 0.1.0 requires cpuid>=2; platform_machine == "x86_64", which is missing'
            in done.stderr
        )


def test_a_python_that_writes_other_byte_code_than_the_images_is_refused(tmp_path: Path) -> None:
    root, wheels = image_root(tmp_path), tmp_path / "wheels"
    wheels.mkdir()
    lock(wheels)
    for compiled in (root / f"usr/lib/python{VERSION}/__pycache__").iterdir():
        compiled.write_bytes(b"\x00\x0d\x0d\x0a" + bytes(12))
    done = run(root, wheels)
    assert done.returncode == 2 and "does not write the byte code of the image's Python" in done.stderr
    assert "KIOSK_PIP_PYTHON=" in done.stderr and "Traceback" not in done.stderr


def test_the_build_says_when_its_python_cannot_fill_the_venv(tmp_path: Path) -> None:
    build = ROOT / "deploy" / "image" / "build.sh"
    env = {"PATH": build_tools(tmp_path), "KIOSK_PIP_PYTHON": "/bin/false"}
    host = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True).stdout.strip()
    done = subprocess.run(
        [str(build), "--arch", host, "--check"], capture_output=True, text=True, timeout=60, env=env
    )
    assert done.returncode == 1 and "lacks pypa's installer or packaging" in done.stderr, done.stderr
