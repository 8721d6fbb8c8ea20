"""kiosk-enroll: exchange the one-time enrollment code for this kiosk's device token at the gateway.

    kiosk-enroll GATEWAY_URL --code-file FILE [--ca-file PEM] [--timeout S]

``POST /v1/enroll`` with ``{"code": ..., "version": ...}``. Prints the device token on standard output (the
only place it ever appears; first boot stores it 0600) and exits 0. Exit 65 when the gateway refused the
code (used, expired, revoked: a technician needs a new one), 75 when told to wait (rate limit) and 1 on any
other failure. The code is read from a file so that it never shows on a command line.
"""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import httpx

__all__ = ["main"]

EXIT_REFUSED, EXIT_LATER, EXIT_FAILED = 65, 75, 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kiosk-enroll", description=__doc__.splitlines()[0])
    parser.add_argument("gateway_url")
    parser.add_argument("--code-file", type=Path, required=True)
    parser.add_argument("--ca-file", type=Path, help="trust only this CA (PEM) for the gateway's certificate")
    parser.add_argument("--timeout", type=float, default=20.0)
    args = parser.parse_args(argv)
    try:
        code = args.code_file.read_text(encoding="utf-8").strip()
    except OSError as error:
        print(f"kiosk-enroll: cannot read the enrollment code: {error.strerror}", file=sys.stderr)
        return EXIT_FAILED
    verify: str | bool = str(args.ca_file) if args.ca_file else True
    try:
        answer = httpx.post(
            f"{args.gateway_url.rstrip('/')}/v1/enroll",
            json={"code": code, "version": _version()},
            timeout=args.timeout,
            verify=verify,
        )
    except httpx.HTTPError as error:
        print(f"kiosk-enroll: the gateway did not answer: {error}", file=sys.stderr)
        return EXIT_FAILED
    if answer.status_code == 200:
        token = answer.json().get("token", "")
        if not isinstance(token, str) or not token:
            print("kiosk-enroll: the gateway's answer holds no token", file=sys.stderr)
            return EXIT_FAILED
        print(token)
        return 0
    message = _message(answer)
    print(f"kiosk-enroll: {answer.status_code} {message}", file=sys.stderr)
    if answer.status_code in (400, 403, 404, 422):
        return EXIT_REFUSED
    return EXIT_LATER if answer.status_code == 429 else EXIT_FAILED


def _message(answer: httpx.Response) -> str:
    try:
        detail = answer.json().get("detail")
    except ValueError:
        return answer.reason_phrase
    if isinstance(detail, dict):
        return f"{detail.get('error', '')}: {detail.get('message', '')}".strip(": ")
    return str(detail or answer.reason_phrase)


def _version() -> str:
    try:
        return version("library-kiosk")
    except PackageNotFoundError:
        return ""


if __name__ == "__main__":
    sys.exit(main())
