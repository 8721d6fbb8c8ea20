#!/usr/bin/env bash
# Build the kiosk's disk image from Debian bookworm packages.
#
#   deploy/image/build.sh --arch amd64|arm64 --out DIR [--keyring CA.pem] [--mirror URL] [--check]
#       [--packages FILE] [--extra-source "deb [signed-by=KEY] URL SUITE COMPONENTS"] [--apt-keyring KEY]
#
# Steps: check the tools (and, for a foreign architecture, qemu-user in binfmt_misc), build the station's
# wheels (this repository) and fetch its dependencies' wheels by hash (requirements.lock), make the root
# file system with mmdebstrap (customize.sh puts the station, units, udev rules and settings in), then lay
# out the image without loop mounts (layout.sh: sfdisk, mkfs.vfat + mtools, mkfs.ext4 -d).
# --packages replaces packages-ARCH.txt (e.g. packages-pi5.txt), --extra-source adds an APT source (may be
# repeated; with --apt-keyring for its key): together they bring in Raspberry Pi OS's kernel for the Pi 5.
# The initramfs is made once, at the end (initramfs-deferred.sh): each package that asks for it
# would otherwise make one, minutes each under qemu-user. KIOSK_NICE (default 19): mmdebstrap's nice level. --check only runs the checks. Needs root (mmdebstrap's root mode keeps file owners for mkfs.ext4 -d).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
arch="" out="" keyring="" check_only=0 packages_file="" apt_keyring=""
extra_sources=()
mirror=${KIOSK_MIRROR:-http://deb.debian.org/debian}
suite=bookworm
# The Python that downloads and builds wheels: the project's venv (it has pip and setuptools) if there is one.
pip_python=${KIOSK_PIP_PYTHON:-$repo/.venv/bin/python}
[ -x "$pip_python" ] || pip_python=python3

die() { echo "build.sh: $*" >&2; exit 2; }
usage() { sed -n '2,12s/^# \{0,1\}//p' "$0"; }

while [ $# -gt 0 ]; do
    case "$1" in
        --arch) [ $# -ge 2 ] || die "--arch needs a value: amd64 or arm64"; arch=$2; shift 2 ;;
        --out) [ $# -ge 2 ] || die "--out needs a directory"; out=$2; shift 2 ;;
        --keyring) [ $# -ge 2 ] || die "--keyring needs a PEM file"; keyring=$2; shift 2 ;;
        --mirror) [ $# -ge 2 ] || die "--mirror needs a URL"; mirror=$2; shift 2 ;;
        --packages) [ $# -ge 2 ] || die "--packages needs a file"; packages_file=$2; shift 2 ;;
        --extra-source) [ $# -ge 2 ] || die "--extra-source needs a sources line"; extra_sources+=("$2"); shift 2 ;;
        --apt-keyring) [ $# -ge 2 ] || die "--apt-keyring needs a key file"; apt_keyring=$2; shift 2 ;;
        --check) check_only=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown argument '$1' (try --help)" ;;
    esac
done
case "$arch" in
    amd64) py_platform=x86_64 qemu_name=qemu-x86_64 ;;
    arm64) py_platform=aarch64 qemu_name=qemu-aarch64 ;;
    "") die "--arch is required: amd64 (small PCs, QEMU) or arm64 (Raspberry Pi 4)" ;;
    *) die "--arch '$arch' is not supported: use amd64 or arm64" ;;
esac
[ -n "$out" ] || [ "$check_only" = 1 ] || die "--out DIR is required (where the image and its checksum go)"
if [ -n "$keyring" ] && [ ! -r "$keyring" ]; then die "--keyring '$keyring': cannot read it"; fi
packages_file=${packages_file:-$here/packages-$arch.txt}
[ -r "$packages_file" ] || die "--packages '$packages_file': cannot read it"
if [ -n "$apt_keyring" ] && [ ! -r "$apt_keyring" ]; then die "--apt-keyring '$apt_keyring': cannot read it"; fi

check_tools() {
    local missing=() tool
    for tool in mmdebstrap:mmdebstrap sfdisk:fdisk mkfs.vfat:dosfstools mcopy:mtools mmd:mtools \
        mkfs.ext4:e2fsprogs openssl:openssl python3:python3; do
        command -v "${tool%%:*}" >/dev/null 2>&1 || missing+=("${tool#*:}")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "build.sh: missing tools; install them with: apt-get install ${missing[*]}" >&2
        return 1
    fi
}

check_foreign() {
    local host
    host=$(dpkg --print-architecture)
    [ "$host" = "$arch" ] && return 0
    # KIOSK_BINFMT_DIR: only for the recipe's tests, which show each refusal without changing the machine.
    local binfmt=${KIOSK_BINFMT_DIR:-/proc/sys/fs/binfmt_misc}
    local entry=$binfmt/$qemu_name
    if [ ! -e "$binfmt/status" ]; then
        echo "build.sh: building $arch on $host runs $arch programs through qemu-user, which needs the kernel's" >&2
        echo "  binfmt_misc; it is not mounted here ($binfmt/status is missing). Mount it:" >&2
        echo "  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc (in a container: as a privileged one)" >&2
        return 1
    fi
    if [ ! -e "$entry" ] || ! grep -q '^enabled' "$entry"; then
        echo "build.sh: building $arch on $host needs $qemu_name registered in binfmt_misc ($entry is missing)." >&2
        echo "  install it: apt-get install qemu-user-static binfmt-support (then: update-binfmts --enable)" >&2
        return 1
    fi
    if ! grep -q '^flags:.*F' "$entry"; then
        echo "build.sh: $entry is registered without the F (fix binary) flag, so it will not work in a chroot." >&2
        echo "  use Debian's qemu-user-static package, which registers it with F" >&2
        return 1
    fi
    if ! command -v arch-test >/dev/null 2>&1; then
        echo "build.sh: building $arch on $host needs arch-test (mmdebstrap uses it to check that $arch programs run)." >&2
        echo "  install it: apt-get install arch-test" >&2
        return 1
    fi
    if ! arch-test "$arch" >/dev/null 2>&1; then
        echo "build.sh: $qemu_name is registered, but $arch programs do not run here (arch-test $arch fails)." >&2
        echo "  a container may hide the host's binfmt_misc: register qemu-user-static on the host itself" >&2
        return 1
    fi
}

check_installer() {
    # customize.sh fills the image's venv with this Python (deploy/image/install_venv.py)
    if ! "$pip_python" -c 'import installer, packaging' >/dev/null 2>&1; then
        echo "build.sh: $pip_python lacks pypa's installer or packaging, which fill the image's venv." >&2
        echo "  install them: $pip_python -m pip install -e '$repo[dev]' (or set KIOSK_PIP_PYTHON)" >&2
        return 1
    fi
}

check_tools
check_foreign
check_installer
[ "$(id -u)" = 0 ] || die "run as root (mmdebstrap's root mode keeps file owners for mkfs.ext4 -d)"
if [ "$check_only" = 1 ]; then echo "build.sh: ready to build $arch"; exit 0; fi

started=$(date +%s)
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d "${TMPDIR:-/var/tmp}/kiosk-image.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "build.sh: building the $arch image in $work"

wheels() {
    local plats=() tag
    for tag in manylinux2014 manylinux_2_17 manylinux_2_24 manylinux_2_28 manylinux_2_31 manylinux_2_34 \
        manylinux_2_35 manylinux_2_36; do
        plats+=(--platform "${tag}_${py_platform}")
    done
    mkdir -p "$work/wheels"
    # Everything from PyPI is checked against the hashes in requirements.lock; the station's own wheel is
    # built here from this checkout.
    PIP_CONSTRAINT='' "$pip_python" -m pip download --quiet --no-deps --require-hashes --only-binary=:all: \
        "${plats[@]}" --python-version 3.11 --implementation cp --abi cp311 --abi abi3 --abi none \
        -r "$here/requirements.lock" -d "$work/wheels"
    PIP_CONSTRAINT='' "$pip_python" -m pip wheel --quiet --no-deps -w "$work/wheels" "$repo"
    cp "$here/requirements.lock" "$work/wheels/requirements.lock"
    # customize.sh installs them with this Python (it has pypa's installer: the dev extras)
    printf '%s\n' "$pip_python" >"$work/pip-python"
}

signing_keyring() {
    mkdir -p "$work/keys"
    if [ -n "$keyring" ]; then
        cp "$keyring" "$work/keys/keyring.pem"
        return
    fi
    echo "build.sh: WARNING: no --keyring given: this image trusts a throw-away development key," >&2
    echo "  kept next to the image (dev-keys/); never ship it to a library." >&2
    mkdir -p "$out/dev-keys"
    if [ ! -s "$out/dev-keys/dev.key.pem" ]; then
        openssl req -x509 -newkey rsa:3072 -nodes -days 3650 -subj "/CN=library-kiosk development" \
            -keyout "$out/dev-keys/dev.key.pem" -out "$out/dev-keys/dev.cert.pem" 2>/dev/null
        chmod 600 "$out/dev-keys/dev.key.pem"
    fi
    cp "$out/dev-keys/dev.cert.pem" "$work/keys/keyring.pem"
}

package_list() {
    grep -hv '^\s*#' "$here/packages.txt" "$packages_file" | sed 's/\s*#.*//' | grep -v '^\s*$' | paste -sd,
}

wheels
signing_keyring
python3 -c 'import uuid; [print(uuid.uuid4()) for _ in range(3)]' >"$work/partuuids"
echo "$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')" >"$work/disk-id"

# Downloaded packages are kept between builds (KIOSK_APT_CACHE) and never left in the image.
cache=${KIOSK_APT_CACHE:-/var/tmp/kiosk-apt-cache/$arch}
mkdir -p "$cache"
nice -n "${KIOSK_NICE:-19}" mmdebstrap --mode=root --variant=apt --arch="$arch" \
    --skip=download/empty \
    --setup-hook="mkdir -p \"\$1/var/cache/apt/archives\" && find \"$cache\" -name '*.deb' -exec cp {} \"\$1/var/cache/apt/archives/\" \\;" \
    --customize-hook="find \"\$1/var/cache/apt/archives\" -name '*.deb' -exec mv -f {} \"$cache/\" \\;" \
    --essential-hook="\"$here/initramfs-deferred.sh\" defer \"\$1\"" \
    --components="main non-free-firmware" \
    --include="$(package_list)" \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    ${apt_keyring:+--keyring="$apt_keyring"} \
    --customize-hook="\"$here/customize.sh\" \"\$1\" \"$arch\" \"$work\" \"$repo\"" \
    "$suite" "$work/rootfs" "$mirror" "${extra_sources[@]}"

"$here/layout.sh" "$arch" "$work" "$out/kiosk-$arch.img"
(cd "$out" && sha256sum "kiosk-$arch.img" >"kiosk-$arch.img.sha256")
elapsed=$(($(date +%s) - started))
size=$(du -h --apparent-size "$out/kiosk-$arch.img" | cut -f1)
used=$(du -h "$out/kiosk-$arch.img" | cut -f1)
echo "build.sh: done in ${elapsed}s: $out/kiosk-$arch.img ($size, $used of it data; sparse file)"
