"""kiosk-flash: write a kiosk image with one kiosk's settings onto an SD card (or into a file).

    kiosk-flash IMAGE --device-config FILE --to /dev/sdX|FILE [--force]
    kiosk-flash IMAGE --device-config SHARED.toml --batch KIOSKS.csv --out-dir DIR
    kiosk-flash --check-config FILE

Exit status: 0 done, 2 bad arguments or device configuration, 3 target refused, 4 verification failed,
1 any other failure (a message says which).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from deploy.flash import disk
from deploy.flash.batch import read_batch
from deploy.flash.device_config import DeviceConfig, DeviceConfigError, load
from deploy.flash.target import Target, TargetRefused, check_target
from deploy.flash.writer import DEVICE_FILE, VerifyFailed, Written, prepared_boot, verify, write_image

__all__ = ["main"]

EXIT_CONFIG, EXIT_REFUSED, EXIT_VERIFY, EXIT_FAILED = 2, 3, 4, 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kiosk-flash",
        description="Write the library kiosk image with one kiosk's settings to a card or file.",
    )
    parser.add_argument(
        "image", nargs="?", type=Path, help="the kiosk image (kiosk-amd64.img, kiosk-arm64.img)"
    )
    parser.add_argument("--device-config", type=Path, help="this kiosk's settings (see device-example.toml)")
    parser.add_argument("--to", type=Path, help="the whole card (/dev/sdX, /dev/mmcblk0) or a new image file")
    parser.add_argument("--force", action="store_true", help="overwrite an existing file given with --to")
    parser.add_argument(
        "--batch", type=Path, help="CSV with one kiosk per row: makes one ready file per kiosk"
    )
    parser.add_argument("--out-dir", type=Path, help="batch mode: where the kiosks' files go")
    parser.add_argument("--check-config", type=Path, metavar="FILE", help="only check a device configuration")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    console = Console(stderr=True, highlight=False)
    try:
        if args.check_config:
            config = load(args.check_config)
            print(f"{args.check_config}: good. {config.describe()}")
            return 0
        _check_arguments(parser, args)
        shared = load(args.device_config)
        if args.batch:
            return _batch(args, shared, console)
        target = check_target(args.to, args.image.stat().st_size, force=args.force)
        written = _flash(args.image, shared, target, console, quiet=args.quiet)
        print(_report(args.image, shared, written, target))
        return 0
    except DeviceConfigError as error:
        console.print(f"kiosk-flash: bad device configuration: {error}", markup=False)
        return EXIT_CONFIG
    except TargetRefused as error:
        console.print(f"kiosk-flash: refused: {error}", markup=False)
        return EXIT_REFUSED
    except VerifyFailed as error:
        console.print(f"kiosk-flash: verification failed: {error}", markup=False)
        return EXIT_VERIFY
    except (disk.DiskError, OSError) as error:
        console.print(f"kiosk-flash: {_os_message(error)}", markup=False)
        return EXIT_FAILED


def _check_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.image is None or args.device_config is None:
        parser.error("give IMAGE and --device-config FILE (or --check-config FILE)")
    if not args.image.is_file():
        parser.error(f"{args.image}: no such image file (build one with `make image`)")
    if args.batch and args.to:
        parser.error("--batch writes one file per kiosk into --out-dir; leave out --to")
    if args.batch and not args.out_dir:
        parser.error("--batch needs --out-dir DIR for the kiosks' files")
    if not args.batch and not args.to:
        parser.error("--to is required: the card (/dev/sdX) or a new file")


def _flash(image: Path, config: DeviceConfig, target: Target, console: Console, *, quiet: bool) -> Written:
    size = image.stat().st_size
    with prepared_boot(image, config) as (boot, boot_copy), _progress(console, quiet) as progress:
        writing = progress.add_task(f"writing {target.path}", total=size)
        written = write_image(image, boot, boot_copy, target, lambda done: progress.advance(writing, done))
        checking = progress.add_task(f"verifying {target.path}", total=size)
        verify(written, lambda done: progress.advance(checking, done))
    return written


@contextmanager
def _progress(console: Console, quiet: bool) -> Iterator[Progress]:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(binary_units=True),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(
        *columns, console=console, disable=quiet or not console.is_terminal, transient=False
    ) as bar:
        yield bar


def _batch(args: argparse.Namespace, shared: DeviceConfig, console: Console) -> int:
    configs = read_batch(args.batch, shared)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    targets = [
        check_target(args.out_dir / f"{config.hostname}.img", 0, force=args.force) for config in configs
    ]
    for number, (config, target) in enumerate(zip(configs, targets, strict=True), start=1):
        written = _flash(args.image, config, target, console, quiet=args.quiet)
        (args.out_dir / f"{config.hostname}.img.sha256").write_text(f"{written.sha256}  {target.path.name}\n")
        print(
            f"[{number}/{len(configs)}] {target.path}: {config.describe()}; verified, sha256 {written.sha256}"
        )
    print(
        f"Done: {len(configs)} kiosk image(s) in {args.out_dir}. Each holds its kiosk's enrollment code: "
        "write each to its own card (kiosk-flash FILE --to /dev/sdX with the same device configuration, "
        "or any image writer), then delete the files."
    )
    return 0


def _report(image: Path, config: DeviceConfig, written: Written, target: Target) -> str:
    where = "card" if target.is_block_device else "file"
    done = "You may remove the card." if target.is_block_device else "Write it to a card or boot it in QEMU."
    return (
        f"Wrote {image.name} ({written.size / 2**30:.2f} GiB) to the {where} {target.path} "
        f"with the settings of {config.describe()} in its boot partition ({DEVICE_FILE}).\n"
        f"Verified: what reads back has the sha256 that was written ({written.sha256}). {done}"
    )


def _os_message(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return f"{error.filename or ''}: {error.strerror}".lstrip(": ")
    return str(error)


if __name__ == "__main__":
    sys.exit(main())
