"""The size rules of kiosk/ (docs/ARCHITECTURE.md): a module under 400 lines, a function under 60, a class
with at most 20 methods and 8 constructor parameters; drivers/ and server_api/ keep the module rule. They
keep each room readable in one sitting; a rule broken here names the place, so the fix is to split it, not
to raise the number."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.paths import ROOT

MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
MAX_METHODS = 20
MAX_CONSTRUCTOR_PARAMETERS = 8  # besides self


def _modules(package: str = "kiosk") -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _parsed(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), str(path))


def _where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"


def oversized_modules(paths: list[Path]) -> list[str]:
    too_long = []
    for path in paths:
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_MODULE_LINES:
            too_long.append(f"{path.relative_to(ROOT)}: {lines} lines")
    return too_long


def oversized_functions(paths: list[Path]) -> list[str]:
    too_long = []
    for path in paths:
        for node in ast.walk(_parsed(path)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                assert node.end_lineno is not None
                first = node.decorator_list[0].lineno if node.decorator_list else node.lineno
                lines = node.end_lineno - first + 1
                if lines > MAX_FUNCTION_LINES:
                    too_long.append(f"{_where(path, node)}: {node.name} has {lines} lines")
    return too_long


def oversized_classes(paths: list[Path]) -> list[str]:
    too_big = []
    for path in paths:
        for node in ast.walk(_parsed(path)):
            if not isinstance(node, ast.ClassDef):
                continue
            methods = [n for n in node.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
            if len(methods) > MAX_METHODS:
                too_big.append(f"{_where(path, node)}: {node.name} has {len(methods)} methods")
            for method in methods:
                if method.name == "__init__":
                    arguments = method.args
                    count = len(arguments.posonlyargs) + len(arguments.args) + len(arguments.kwonlyargs) - 1
                    if count > MAX_CONSTRUCTOR_PARAMETERS:
                        too_big.append(f"{_where(path, node)}: {node.name}() takes {count} parameters")
    return too_big


@pytest.mark.parametrize("rule", [oversized_modules, oversized_functions, oversized_classes])
def test_kiosk_keeps_its_size_rules(rule: object) -> None:
    assert callable(rule)
    found = rule(_modules())
    assert found == [], "\n".join(found)


# Over the limit when drivers/ and server_api/ came under the module rule (issue 17), to be split by their
# owners; an entry must go when its module is split (the test below fails on a stale entry too).
KNOWN_OVERSIZED_MODULES: set[str] = set()


def test_drivers_and_server_api_keep_modules_under_400_lines() -> None:
    """Only the module rule reaches beyond kiosk/ (the function and class rules are kiosk/'s own)."""
    found = oversized_modules(_modules("drivers") + _modules("server_api"))
    oversized = {line.split(":")[0] for line in found}
    new = [line for line in found if line.split(":")[0] not in KNOWN_OVERSIZED_MODULES]
    assert new == [], "\n".join(new)
    stale = KNOWN_OVERSIZED_MODULES - oversized
    assert not stale, f"split now, take them off KNOWN_OVERSIZED_MODULES: {sorted(stale)}"


def test_the_size_rules_catch_what_they_should(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    methods = "\n".join(f"    def m{i}(self) -> None: ..." for i in range(MAX_METHODS + 1))
    params = ", ".join(f"p{i}: int" for i in range(MAX_CONSTRUCTOR_PARAMETERS + 1))
    source = (
        f"def long() -> None:\n{body}\n\n\nclass Big:\n{methods}\n\n\n"
        f"class Wide:\n    def __init__(self, {params}) -> None: ...\n"
    )
    source += "\n" * MAX_MODULE_LINES
    path = ROOT / "test-artifacts" / "size_rules_sample.py"
    path.parent.mkdir(exist_ok=True)
    path.write_text(source, encoding="utf-8")
    try:
        assert oversized_modules([path]) and oversized_functions([path])
        assert len(oversized_classes([path])) == 2
    finally:
        path.unlink()
