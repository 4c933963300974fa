"""The suite's own shape: shared helpers live in conftest.py, factories.py and helper modules, so
that no test module depends on another one (running or moving one file never breaks another)."""

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            # `from tests import test_x` imports a module through its package.
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_no_test_module_imports_another_test_module():
    offenders = {
        path.name: sorted(
            name
            for name in _imported_modules(path)
            if name.startswith("tests.") and name.split(".")[-1].startswith("test_")
        )
        for path in sorted(TESTS.glob("test_*.py"))
    }

    assert {name: found for name, found in offenders.items() if found} == {}
