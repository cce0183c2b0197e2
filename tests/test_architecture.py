"""The package stack of docs/architecture.md holds: import-linter's contracts (pyproject.toml)
pass and name every package, no two packages import each other, and imports hidden inside
functions exist only where the architecture document lists them with their reason."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from itertools import combinations
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "antenne"
MAX_LINES = 600


def _contracts() -> list[dict]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return config["tool"]["importlinter"]["contracts"]


def _top_level_modules() -> set[str]:
    """Every package and module directly under src/antenne."""
    names = set()
    for path in SRC.iterdir():
        if path.suffix == ".py" and path.name != "__init__.py":
            names.add(f"antenne.{path.stem}")
        elif path.is_dir() and (path / "__init__.py").exists():
            names.add(f"antenne.{path.name}")
    return names


def _modules() -> list[tuple[Path, str]]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found.append((path, name))
    return found


def test_the_import_contracts_hold():
    # In a process of its own: import-linter configures logging (dictConfig), which would
    # silence the loggers of the tests that run after it.
    script = (
        "import sys; from importlinter.cli import lint_imports; "
        f"sys.exit(lint_imports(config_filename={str(ROOT / 'pyproject.toml')!r}, no_cache=True))"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_stack_names_every_package():
    stack = next(contract for contract in _contracts() if contract["id"] == "stack")
    named = {name.strip() for layer in stack["layers"] for name in re.split(r"[|:]", layer)}
    assert named == _top_level_modules()


def test_no_two_packages_import_each_other():
    graph = grimp.build_graph("antenne")
    packages = sorted(_top_level_modules())
    cycles = [
        (a, b)
        for a, b in combinations(packages, 2)
        if graph.chain_exists(importer=a, imported=b, as_packages=True)
        and graph.chain_exists(importer=b, imported=a, as_packages=True)
    ]
    assert cycles == []


def _function_level_imports() -> dict[str, list[int]]:
    """Module path (relative to src/antenne) → lines of `antenne` imports inside functions."""
    found: dict[str, list[int]] = {}
    for path, _name in _modules():
        tree = ast.parse(path.read_text())
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                targets: list[str] = []
                if isinstance(node, ast.Import):
                    targets = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom):
                    targets = ["antenne" if node.level else (node.module or "")]
                if any(t == "antenne" or t.startswith("antenne.") for t in targets):
                    relative = str(path.relative_to(SRC))
                    found.setdefault(relative, []).append(node.lineno)
    return found


def _documented_exceptions() -> set[str]:
    """The files listed under "Imports inside functions" in docs/architecture.md."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    section = text.split("## Imports inside functions", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^- `src/antenne/([^`]+)`", section, flags=re.MULTILINE))


def test_imports_inside_functions_are_the_documented_exceptions():
    found = _function_level_imports()
    assert set(found) == _documented_exceptions(), found


def test_no_module_is_over_the_size_limit():
    over = {
        str(path.relative_to(SRC)): lines
        for path, _name in _modules()
        if (lines := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert over == {}
