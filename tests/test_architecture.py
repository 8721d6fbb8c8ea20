"""The rules of docs/ARCHITECTURE.md, checked on the source: which part may import which, and that other
packages use only what a package offers in `__all__` (the way httpx's test_exported_members.py does it).

Each rule is a function from the parsed source to a list of violations, so a broken rule names the file, the
line and the import, and the tests at the bottom show that every rule catches what it is meant to catch.
"""

from __future__ import annotations

import ast
import importlib
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.paths import ROOT

PRODUCT = ("kiosk", "drivers", "server_api", "ui")
# The kiosk's rooms: code outside a room imports the room's package, never its modules.
ROOMS = ("kiosk.core", "kiosk.station", "kiosk.journal", "kiosk.cli", "kiosk.demo")
# Tests may reach into a command's module to test it; the three rooms of the station they enter by the door.
TEST_ROOMS = ROOMS[:3]
# kiosk/core is pure: no asyncio, no SQLite, no clock, no I/O, and nothing of the shell around it.
IMPURE = (
    "asyncio",
    "sqlite3",
    "sqlite_utils",
    "socket",
    "ssl",
    "threading",
    "subprocess",
    "time",
    "serial",
    "smartcard",
    "kivy",
    "ui",
    "kiosk.station",
    "kiosk.journal",
    "kiosk.cli",
    "kiosk.demo",
    "kiosk.clock",
    "kiosk.hardware",
    "drivers.rfid",
    "drivers.printer",
    "server_api.sip2",
    "server_api.demo_ils",
    "server_api.gateway",
    "server_api.client",
)


@dataclass(frozen=True)
class Import:
    path: str  # the importing file, relative to the repository
    module: str  # the importing module's dotted name
    target: str  # the module imported from
    names: tuple[str, ...]  # the names taken from it (empty for `import x`)
    line: int
    top_level: bool  # False when the import sits inside a function (a lazy import)
    type_checking: bool  # True when it sits under `if TYPE_CHECKING:`

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: import from {self.target}"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


class _Collector(ast.NodeVisitor):
    def __init__(self, path: Path) -> None:
        self.path = path
        self.module = _module_name(path)
        self.is_package = path.name == "__init__.py"
        self.imports: list[Import] = []
        self._depth = 0  # inside how many functions
        self._type_checking = 0

    def _add(self, target: str, names: tuple[str, ...], line: int) -> None:
        rel = str(self.path.relative_to(ROOT))
        self.imports.append(
            Import(rel, self.module, target, names, line, self._depth == 0, self._type_checking > 0)
        )

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, (), node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        target = _resolve(node, self.module, self.is_package)
        self._add(target, tuple(a.name for a in node.names), node.lineno)

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self._depth += 1
        self.generic_visit(node)
        self._depth -= 1

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function

    def visit_If(self, node: ast.If) -> None:
        guard = ast.unparse(node.test)
        if guard in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            self._type_checking += 1
            for child in node.body:
                self.visit(child)
            self._type_checking -= 1
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)


def collect(roots: tuple[str, ...] = PRODUCT) -> list[Import]:
    found: list[Import] = []
    for root in roots:
        for path in sorted((ROOT / root).rglob("*.py")):
            collector = _Collector(path)
            collector.visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
            found.extend(collector.imports)
    return found


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _imports_from(imp: Import, package: str) -> bool:
    """Whether `imp` takes anything from `package` (also `from kiosk import demo`)."""
    if _within(imp.target, package):
        return True
    return any(_within(f"{imp.target}.{name}", package) for name in imp.names)


# ------------------------------------------------------------------------------------------------ the rules


def layering(imports: list[Import]) -> list[str]:
    """ui → kiosk → drivers, server_api; drivers and server_api never import kiosk or ui."""
    bad = []
    for imp in imports:
        if imp.module.split(".")[0] in ("drivers", "server_api") and (
            _imports_from(imp, "kiosk") or _imports_from(imp, "ui")
        ):
            bad.append(f"{imp}: drivers/ and server_api/ never import kiosk/ or ui/")
    return bad


def kivy_only_in_ui(imports: list[Import]) -> list[str]:
    """kivy and ui/ only in ui/, apart from the composition root kiosk/cli, which imports ui/ lazily."""
    bad = []
    for imp in imports:
        if _within(imp.module, "ui") or imp.type_checking:
            continue
        for package in ("kivy", "ui"):
            if not _imports_from(imp, package):
                continue
            if package == "ui" and _within(imp.module, "kiosk.cli") and not imp.top_level:
                continue  # the composition root opens the window inside the commands that need it
            bad.append(f"{imp}: {package} is imported only in ui/ (kiosk/cli/ may import ui/ lazily)")
    return bad


def demo_stays_out_of_the_product(imports: list[Import]) -> list[str]:
    """Nothing in the product imports kiosk.demo, except the CLI's commands (lazily) and type hints in ui/."""
    bad = []
    for imp in imports:
        if _within(imp.module, "kiosk.demo") or not _imports_from(imp, "kiosk.demo"):
            continue
        if imp.type_checking and _within(imp.module, "ui"):
            continue
        if _within(imp.module, "kiosk.cli") and not imp.top_level:
            continue
        bad.append(f"{imp}: only the CLI's demo command and tests import kiosk.demo")
    return bad


def core_is_pure(imports: list[Import]) -> list[str]:
    bad = []
    for imp in imports:
        if not _within(imp.module, "kiosk.core"):
            continue
        for impure in IMPURE:
            if _imports_from(imp, impure):
                bad.append(f"{imp}: kiosk/core is pure ({impure} is I/O, a clock or the shell)")
    return bad


def rooms_are_entered_by_their_door(imports: list[Import], rooms: tuple[str, ...] = ROOMS) -> list[str]:
    """Outside a room, `from kiosk.core import X`, never `from kiosk.core.session import X`."""
    bad = []
    for imp in imports:
        for room in rooms:
            if _within(imp.target, room) and imp.target != room and not _within(imp.module, room):
                bad.append(f"{imp}: import from {room}, not from its modules")
    return bad


def _exported(module: str) -> list[str] | None:
    try:
        loaded = importlib.import_module(module)
    except ImportError:
        return None
    exported = getattr(loaded, "__all__", None)
    return list(exported) if exported is not None else None


def only_exported_names(imports: list[Import]) -> list[str]:
    """Across packages, only names a module lists in `__all__` (and never a private `_name`)."""
    bad = []
    cache: dict[str, list[str] | None] = {}
    for imp in imports:
        if not imp.names or imp.target.split(".")[0] not in ("kiosk", "drivers", "server_api"):
            continue  # ui/ is imported by nobody but the composition root; importing it opens a window
        own_package = ".".join(imp.module.split(".")[:2])  # kiosk.core, server_api.gateway, drivers.tags ...
        if own_package.count(".") == 1 and _within(imp.target, own_package):
            continue  # inside one package (with its subpackages), modules may share what they like
        if imp.target not in cache:
            cache[imp.target] = _exported(imp.target)
        exported = cache[imp.target]
        for name in imp.names:
            if importlib.util.find_spec(f"{imp.target}.{name}") if _is_package(imp.target) else False:
                continue  # `from package import submodule`
            if name.startswith("_"):
                bad.append(f"{imp}: {name} is private to {imp.target}")
            elif exported is not None and name not in exported:
                bad.append(f"{imp}: {name} is not in {imp.target}.__all__")
    return bad


def _is_package(module: str) -> bool:
    spec = importlib.util.find_spec(module)
    return spec is not None and spec.submodule_search_locations is not None


RULES = (
    layering,
    kivy_only_in_ui,
    demo_stays_out_of_the_product,
    core_is_pure,
    rooms_are_entered_by_their_door,
    only_exported_names,
)


@pytest.fixture(scope="module")
def imports() -> list[Import]:
    return collect()


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.__name__)
def test_the_code_keeps_the_architecture_rule(rule: object, imports: list[Import]) -> None:
    assert callable(rule)
    violations = rule(imports)
    assert violations == [], "\n".join(violations)


def test_tests_use_rooms_by_their_door_too() -> None:
    violations = rooms_are_entered_by_their_door(collect(("tests", "bench")), TEST_ROOMS)
    assert violations == [], "\n".join(violations)


def test_no_test_module_imports_another() -> None:
    bad = [
        str(imp)
        for imp in collect(("tests",))
        if imp.target.rsplit(".", 1)[-1].startswith("test_") or any(n.startswith("test_") for n in imp.names)
    ]
    assert bad == [], "\n".join(bad)


@pytest.mark.parametrize(
    "module",
    ["kiosk.core", "kiosk.station", "kiosk.journal", "drivers.rfid", "drivers.tags", "server_api.sip2"],
)
def test_every_exported_name_exists(module: str) -> None:
    loaded = importlib.import_module(module)
    missing = [name for name in loaded.__all__ if not hasattr(loaded, name)]
    assert missing == []
    assert len(loaded.__all__) == len(set(loaded.__all__)), "a name is exported twice"


# ------------------------------------------------------------------------- each rule catches what it should


def _imp(
    module: str, target: str, *names: str, top_level: bool = True, type_checking: bool = False
) -> Import:
    path = module.replace(".", "/") + ".py"
    return Import(path, module, target, names, 1, top_level, type_checking)


@pytest.mark.parametrize(
    ("rule", "broken"),
    [
        (layering, _imp("drivers.rfid.feig", "kiosk.core", "Mode")),
        (layering, _imp("server_api.gateway.app", "ui.app", "KioskApp")),
        (kivy_only_in_ui, _imp("kiosk.station.station", "kivy.clock", "Clock")),
        (kivy_only_in_ui, _imp("kiosk.cli.run", "ui.app", "KioskApp")),  # at the top of the module
        (demo_stays_out_of_the_product, _imp("kiosk.cli.journal", "kiosk.demo.audit", "took_effect")),
        (demo_stays_out_of_the_product, _imp("kiosk.station.station", "kiosk", "demo")),
        (core_is_pure, _imp("kiosk.core.session", "asyncio")),
        (core_is_pure, _imp("kiosk.core.session", "kiosk.journal", "Journal")),
        (rooms_are_entered_by_their_door, _imp("kiosk.cli.run", "kiosk.core.session", "PatronSession")),
        (only_exported_names, _imp("kiosk.cli.run", "kiosk.core", "_group")),
        (only_exported_names, _imp("kiosk.cli.run", "server_api.sip2.errors", "NotAnError")),
    ],
    ids=lambda value: value.__name__ if callable(value) else str(value.target),
)
def test_each_rule_catches_a_broken_import(rule: object, broken: Import) -> None:
    assert callable(rule)
    assert rule([broken]) != []


@pytest.mark.parametrize(
    ("rule", "allowed"),
    [
        (kivy_only_in_ui, _imp("kiosk.cli.run", "ui.app", "KioskApp", top_level=False)),
        (
            demo_stays_out_of_the_product,
            _imp("kiosk.cli.demo", "kiosk.demo", "DemoEnvironment", top_level=False),
        ),
        (demo_stays_out_of_the_product, _imp("ui.app", "kiosk.demo", "DemoEnvironment", type_checking=True)),
        (rooms_are_entered_by_their_door, _imp("kiosk.core.session", "kiosk.core.screens", "Screen")),
        (only_exported_names, _imp("kiosk.cli.run", "kiosk.core", "PatronSession")),
    ],
    ids=lambda value: value.__name__ if callable(value) else str(value.module),
)
def test_each_rule_allows_what_the_architecture_allows(rule: object, allowed: Import) -> None:
    assert callable(rule)
    assert rule([allowed]) == []
