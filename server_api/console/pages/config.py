"""Kiosk settings per library and per kiosk: edit, history with differences, roll back, staff-screen
logins."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from server_api.gateway.storage import run

from .. import configs, managed
from ..accounts import Viewer
from ..fleet import fleet
from ..i18n import N_
from ..web import PREFIX, ConsoleError, console_of, form_of, redirect, render, require, viewer
from .fleet import visible_kiosk

router = APIRouter(prefix=PREFIX)
# What staff read above each field (the key itself is shown under it, as in the kiosk's file).
LABELS = {
    "session.idle_timeout": N_("Idle timeout: a session ends after this many seconds without a touch"),
    "session.idle_warning": N_("Warning before the idle timeout (seconds)"),
    "session.goodbye_time": N_("Goodbye screen (seconds)"),
    "session.max_pin_attempts": N_("Wrong PINs in a row before the card rests"),
    "session.pin_cooldown": N_("Rest after wrong PINs (seconds)"),
    "session.pin_cooldown_max": N_("Longest rest (seconds)"),
    "session.pin_required": N_("PIN required"),
    "session.print_staff_slips": N_("Print staff slips"),
    "station.language": N_("Starting language"),
    "station.staff_language": N_("Language of the staff screen"),
    "station.library_name": N_("Library name shown on the kiosk"),
    "rfid.security_attempts": N_("Tries to set an item's security"),
    "rfid.security_failure": N_("When security cannot be set: flag (keep the loan) or undo"),
    "offline.borrowing": N_("Borrowing while offline"),
    "offline.max_items_per_session": N_("Offline: items per session"),
    "offline.max_items_per_patron": N_("Offline: items per patron"),
    "offline.loan_days": N_("Offline: loan period (days)"),
    "offline.known_for_days": N_("Offline: a card counts as known for (days)"),
    "network.failure_budget": N_("Failed requests before working offline"),
    "network.probe_interval": N_("Seconds between tries while offline"),
    "journal.purge_after_days": N_("Days finished actions are kept on the kiosk"),
}
Person = Annotated[Viewer, Depends(viewer)]


def parse_form(form: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    """The settings a form sets (an empty field: not set here), and what is wrong with them."""
    values: dict[str, Any] = {}
    problems: list[str] = []
    for key in managed.KEYS:
        text = form.get(key.name, "").strip()
        if not text:
            continue
        try:
            values[key.name] = managed.parse_value(key, text)
        except ValueError as exc:
            problems.append(exc.args[0])  # managed.Words: translated where it is shown
    if not problems:
        try:
            managed.validate(values)
        except managed.SettingsError as exc:
            problems = exc.problems
    return values, problems


def _library(request: Request, person: Viewer, library: str, permission: str) -> None:
    if library not in console_of(request).gateway.config.libraries():
        raise ConsoleError(404, "not_found")
    require(person, permission, library)


def _history(engine: Any, library: str, device_id: str) -> list[dict[str, Any]]:
    versions = configs.history(engine, library, device_id)
    return [
        {"version": v, "changes": configs.diff(older.settings if older else {}, v.settings)}
        for v, older in zip(versions, [*versions[1:], None][: len(versions)], strict=True)
    ]


async def _library_page(
    request: Request, person: Viewer, library: str, values: dict[str, Any] | None, problems: list[str]
) -> Response:
    console = console_of(request)
    engine = console.engine
    latest = await run(configs.current, engine, library, "")
    kiosks = await run(lambda: fleet(engine, person, console.offline_after, library=library))
    return render(
        request,
        "config_library.html",
        422 if problems else 200,
        library=library,
        keys=managed.KEYS,
        labels=LABELS,
        values=values if values is not None else (latest.settings if latest else {}),
        problems=problems,
        history=await run(_history, engine, library, ""),
        kiosks=kiosks,
        saved=request.query_params.get("saved", ""),
    )


@router.get("/libraries/{library}/config")
async def library_config(request: Request, person: Person, library: str) -> Response:
    _library(request, person, library, "configure")
    return await _library_page(request, person, library, None, [])


@router.post("/libraries/{library}/config")
async def save_library_config(request: Request, person: Person, library: str) -> Response:
    form = await form_of(request, person)
    _library(request, person, library, "configure")
    values, problems = parse_form(form)
    if not problems:
        try:
            saved = await run(
                lambda: configs.save(
                    console_of(request).engine,
                    library,
                    "",
                    values,
                    author=person.username,
                    note=form.get("note", ""),
                )
            )
            return redirect(f"{PREFIX}/libraries/{library}/config?saved={saved.version}")
        except managed.SettingsError as exc:  # a kiosk's overrides would not fit the new settings
            problems = exc.problems
    return await _library_page(request, person, library, values, problems)


@router.post("/libraries/{library}/config/rollback")
async def rollback(request: Request, person: Person, library: str) -> Response:
    form = await form_of(request, person)
    _library(request, person, library, "configure")
    try:
        version_id = int(form.get("version_id", ""))
    except ValueError:
        raise ConsoleError(422, "bad_version") from None
    engine = console_of(request).engine
    try:
        new = await run(lambda: configs.rollback(engine, library, version_id, author=person.username))
    except managed.SettingsError:
        raise ConsoleError(422, "rollback_invalid") from None
    if new is None:
        raise ConsoleError(404, "not_found")
    target = f"kiosks/{new.device_id}" if new.device_id else f"libraries/{library}"
    return redirect(f"{PREFIX}/{target}/config?saved={new.version}")


async def _kiosk_page(
    request: Request, person: Viewer, device_id: str, values: dict[str, Any] | None, problems: list[str]
) -> Response:
    kiosk = await visible_kiosk(request, person, device_id)
    require(person, "configure", kiosk.library)
    engine = console_of(request).engine
    own = await run(configs.current, engine, kiosk.library, kiosk.id)
    base = await run(configs.current, engine, kiosk.library, "")
    return render(
        request,
        "config_kiosk.html",
        422 if problems else 200,
        kiosk=kiosk,
        keys=managed.KEYS,
        labels=LABELS,
        values=values if values is not None else (own.settings if own else {}),
        inherited=base.settings if base else {},
        problems=problems,
        history=await run(_history, engine, kiosk.library, kiosk.id),
        wanted_version=(await run(configs.effective, engine, kiosk.library, kiosk.id))[0],
        saved=request.query_params.get("saved", ""),
    )


@router.get("/kiosks/{device_id}/config")
async def kiosk_config(request: Request, person: Person, device_id: str) -> Response:
    return await _kiosk_page(request, person, device_id, None, [])


@router.post("/kiosks/{device_id}/config")
async def save_kiosk_config(request: Request, person: Person, device_id: str) -> Response:
    form = await form_of(request, person)
    kiosk = await visible_kiosk(request, person, device_id)
    require(person, "configure", kiosk.library)
    values, problems = parse_form(form)
    if not problems:
        engine = console_of(request).engine
        try:
            saved = await run(
                lambda: configs.save(
                    engine, kiosk.library, kiosk.id, values, author=person.username, note=form.get("note", "")
                )
            )
            return redirect(f"{PREFIX}/kiosks/{kiosk.id}/config?saved={saved.version}")
        except managed.SettingsError as exc:
            problems = exc.problems
    return await _kiosk_page(request, person, device_id, values, problems)


@router.post("/libraries/{library}/credentials")
async def set_credential(request: Request, person: Person, library: str) -> Response:
    form = await form_of(request, person)
    _library(request, person, library, "credentials")
    device_id = form.get("device_id", "")
    if device_id:
        kiosk = await visible_kiosk(request, person, device_id)
        if kiosk.library != library:
            raise ConsoleError(404, "not_found")
    engine = console_of(request).engine
    try:
        await run(
            lambda: configs.set_credential(
                engine, library, device_id, form.get("username", "").strip(), form.get("password", ""),
                actor=person.username,
            )
        )  # fmt: skip
    except ValueError as exc:
        return await _library_page(request, person, library, None, [str(exc)])
    return redirect(f"{PREFIX}/libraries/{library}/config?saved=credential")
