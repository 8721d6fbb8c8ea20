"""`kiosk-gateway`: serve, migrate, enroll-code, user add, check-config, devices, revoke, demo-config.

Every command reads the configuration from `--config`, else $KIOSK_GATEWAY_CONFIG, else
/etc/kiosk-gateway/gateway.toml. Errors are one sentence on stderr and exit status 2; never a traceback.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import ssl
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError, OperationalError

from .config import CONFIG_ENV, GatewayConfig, GatewayConfigError, default_path, load, read_secret
from .devices import add_user, create_enrollment_code, list_devices, revoke
from .storage import DatabaseNotReady, current_revision, head_revision, migrate, open_engine

WORKER_LOG_ENV = "KIOSK_GATEWAY_WORKER_LOG_LEVEL"


class CliError(Exception):
    pass


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return f"cli:uid{os.getuid()}"


def _config(args: argparse.Namespace) -> GatewayConfig:
    return load(args.config or default_path())


def cmd_check_config(args: argparse.Namespace) -> int:
    from server_api.console.settings import console_problems

    config = _config(args)
    problems = config.check() + console_problems(config)
    for line in problems:
        print(f"problem: {line}", file=sys.stderr)
    if problems:
        return 2
    print(f"{args.config or default_path()}: fine ({len(config.library)} libraries)")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    config = _config(args)
    engine = open_engine(config.database_url())
    before = current_revision(engine)
    after = migrate(engine)
    print(f"database schema: {before or 'empty'} -> {after}")
    return 0


def _logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )


def worker_app() -> Any:
    """The application of one worker process of `serve --workers N` (uvicorn imports it by name; the
    configuration's path and the log level come through the environment `serve` set)."""
    from server_api.console.app import create_console_app

    _logging(os.environ.get(WORKER_LOG_ENV, "info"))
    config = load(default_path())
    return create_console_app(config, open_engine(config.database_url()))


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from server_api.console.app import create_console_app  # the gateway with its staff console
    from server_api.console.settings import console_problems

    _logging(args.log_level)
    config = _config(args)
    problems = config.check() + console_problems(config)
    if problems:
        raise CliError("the configuration cannot be served:\n  " + "\n  ".join(problems))
    engine = open_engine(config.database_url())
    if args.workers > 1 and engine.dialect.name == "sqlite":
        raise CliError(
            'several worker processes need PostgreSQL ([gateway] database = "postgresql+psycopg://..."); '
            "on SQLite run one process (--workers 1)"
        )
    if args.migrate:
        migrate(engine)
    elif current_revision(engine) != head_revision():
        raise DatabaseNotReady("the database is not at the newest schema: run `kiosk-gateway migrate` first")
    gw = config.gateway
    host, port = args.host or gw.listen, args.port if args.port is not None else gw.port
    tls: dict[str, object] = {}
    if gw.tls_cert_file:
        tls = {
            "ssl_certfile": str(config.path(gw.tls_cert_file)),
            "ssl_keyfile": str(config.path(gw.tls_key_file)),
        }
    if gw.tls_client_ca_file:
        tls |= {"ssl_ca_certs": str(config.path(gw.tls_client_ca_file)), "ssl_cert_reqs": ssl.CERT_REQUIRED}
    scheme = "https" if tls else "http"
    print(f"kiosk gateway: {scheme}://{host}:{port} (OpenAPI at /openapi.json)", flush=True)
    print(f"staff console: {scheme}://{host}:{port}/console/", flush=True)
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": args.log_level,
        "timeout_keep_alive": 75,  # kiosks keep one connection open between actions
        **tls,
    }
    if args.workers > 1:
        engine.dispose()
        os.environ[CONFIG_ENV] = str((args.config or default_path()).resolve())
        os.environ[WORKER_LOG_ENV] = args.log_level
        print(f"worker processes: {args.workers}", flush=True)
        uvicorn.run("server_api.gateway.cli:worker_app", factory=True, workers=args.workers, **options)
    else:
        uvicorn.run(create_console_app(config, engine), **options)
    return 0


def cmd_enroll_code(args: argparse.Namespace) -> int:
    config = _config(args)
    if args.library not in config.libraries():
        raise CliError(
            f"library {args.library} is not in the configuration (known: {', '.join(config.libraries())})"
        )
    engine = open_engine(config.database_url())
    hours = args.hours or config.gateway.enrollment_code_hours
    code, expires = create_enrollment_code(engine, args.library, args.kiosk, hours=hours, actor=_actor())
    print(code)
    print(
        f"for kiosk {args.kiosk!r} at {config.library_names[args.library]}, "
        f"valid once until {expires:%Y-%m-%d %H:%M} UTC",
        file=sys.stderr,
    )
    return 0


def cmd_user_add(args: argparse.Namespace) -> int:
    config = _config(args)
    if args.library and args.library not in config.libraries():
        raise CliError(f"library {args.library} is not in the configuration")
    if args.password_file:
        password = read_secret(args.password_file, "--password-file")
    else:
        password = getpass.getpass(f"password for {args.username}: ")
        if getpass.getpass("again: ") != password:
            raise CliError("the two passwords differ")
    engine = open_engine(config.database_url())
    try:
        add_user(engine, args.username, password, role=args.role, library=args.library, actor=_actor())
    except IntegrityError:
        raise CliError(f"user {args.username} exists already") from None
    except ValueError as exc:
        raise CliError(str(exc)) from None
    print(
        f"user {args.username} added "
        f"({args.role}, {'library ' + args.library if args.library else 'all libraries'})"
    )
    return 0


def cmd_devices(args: argparse.Namespace) -> int:
    config = _config(args)
    for row in list_devices(
        open_engine(config.database_url()), frozenset({args.library}) if args.library else None
    ):
        state = f"revoked {row['revoked_at']:%Y-%m-%d}" if row["revoked_at"] else "active"
        print(f"{row['id']}  {row['library']}  {state:18}  {row['name']}")
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    config = _config(args)
    if not revoke(open_engine(config.database_url()), args.device_id, actor=_actor(), libraries=None):
        raise CliError(f"no active device {args.device_id}")
    print(f"device {args.device_id} revoked")
    return 0


def cmd_demo_config(args: argparse.Namespace) -> int:
    from .demo import write_demo_config

    path = write_demo_config(args.folder, ils_host=args.ils_host, ils_port=args.ils_port, port=args.port)
    print(path)
    return 0


def _workers(value: str) -> int:
    try:
        workers = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of processes") from None
    if not 1 <= workers <= 64:
        raise argparse.ArgumentTypeError("--workers is 1 to 64")
    return workers


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="kiosk-gateway", description="The consortium's circulation gateway")
    top.add_argument(
        "--config",
        type=Path,
        help=f"configuration file (default: ${'KIOSK_GATEWAY_CONFIG'} or {default_path()})",
    )
    sub = top.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the gateway")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--migrate", action="store_true", help="bring the database schema up to date first")
    serve.add_argument(
        "--workers",
        type=_workers,
        default=1,
        help="worker processes on one port (PostgreSQL only; default 1). Each has its own SIP2 pools",
    )
    serve.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"]
    )
    serve.set_defaults(run=cmd_serve)
    sub.add_parser("migrate", help="create or upgrade the database schema").set_defaults(run=cmd_migrate)
    sub.add_parser("check-config", help="validate the configuration and its secret files").set_defaults(
        run=cmd_check_config
    )
    code = sub.add_parser("enroll-code", help="make a one-time enrollment code for a kiosk")
    code.add_argument("--library", required=True)
    code.add_argument("--kiosk", required=True, help="the kiosk's name, e.g. 'Tromsø 1'")
    code.add_argument("--hours", type=int, help="validity (default from the configuration)")
    code.set_defaults(run=cmd_enroll_code)
    user = sub.add_parser("user", help="staff users").add_subparsers(dest="user_command", required=True)
    add = user.add_parser("add", help="add a staff user")
    add.add_argument("username")
    add.add_argument("--library", help="the user's library (none: all libraries)")
    add.add_argument("--role", default="staff", choices=["staff", "admin"])
    add.add_argument("--password-file", help="read the password from this 0600 file instead of asking")
    add.set_defaults(run=cmd_user_add)
    devices = sub.add_parser("devices", help="list enrolled kiosks")
    devices.add_argument("--library")
    devices.set_defaults(run=cmd_devices)
    rev = sub.add_parser("revoke", help="revoke a kiosk's token")
    rev.add_argument("device_id")
    rev.set_defaults(run=cmd_revoke)
    demo = sub.add_parser("demo-config", help="write a configuration for the demo ILS")
    demo.add_argument("folder", type=Path)
    demo.add_argument("--ils-host", default="127.0.0.1")
    demo.add_argument("--ils-port", type=int, default=6001)
    demo.add_argument("--port", type=int, default=8080)
    demo.set_defaults(run=cmd_demo_config)
    from .routes.updates import register_commands  # publish-bundle, bundles

    register_commands(sub)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except (GatewayConfigError, CliError, DatabaseNotReady) as exc:
        print(f"kiosk-gateway: {exc}", file=sys.stderr)
        return 2
    except OperationalError as exc:
        print(f"kiosk-gateway: the database cannot be used: {exc.orig}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
