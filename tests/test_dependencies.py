"""pyproject.toml declares every package the code imports, and nothing it does not use."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OURS = {"engine", "server", "tests", "benchmarks", "scripts"}
# Declared but never imported: uvicorn loads its websocket protocol (ws="auto") itself.
LOADED_BY_ANOTHER = {"websockets"}
# Test extras no test imports: TestClient needs httpx, test_wheel.py runs `python -m build`
# without isolation (so hatchling too), and ruff is run by scripts/test.sh.
TOOLS = {"httpx", "build", "hatchling", "ruff"}


def imported(folders: list[str], skip: tuple[str, ...] = ()) -> set[str]:
    """The top-level third-party packages imported by the Python files under `folders`."""
    names: set[str] = set()
    for folder in folders:
        for path in (ROOT / folder).rglob("*.py"):
            if path.name.startswith(skip):
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    names |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - OURS


def declared(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0] for requirement in requirements}


def test_the_runtime_dependencies_are_what_engine_and_server_import():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert imported(["engine", "server"]) == declared(project["dependencies"]) - LOADED_BY_ANOTHER


def test_the_test_extra_is_what_the_tests_import_beyond_the_runtime():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = declared(project["dependencies"])
    # tests/reference/make_*.py import torch to record references once; never a dependency.
    needed = imported(["tests"], skip=("make_",)) - runtime
    assert needed == declared(project["optional-dependencies"]["test"]) - TOOLS
