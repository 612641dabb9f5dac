"""The shape of the code: no module reaches into another module's private names.

Walks the syntax tree of every module under ``core/`` and ``bench/``. A private name is one
with a single leading underscore; using one is fine inside its own module, and fails here when
it crosses into another: ``from x import _y``, or ``x._y`` where ``x`` is a name this module
imported. ``ALLOWED`` lists the exceptions, each with its reason.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = [ROOT / "core", ROOT / "bench"]

# (module path relative to the repository, private name): why it is allowed.
ALLOWED: dict[tuple[str, str], str] = {}


def modules() -> list[Path]:
    return sorted(p for package in PACKAGES for p in package.rglob("*.py"))


def private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def crossings(path: Path) -> list[str]:
    """Every use in ``path`` of a private name that belongs to another module."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    imported: set[str] = set()
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if private(alias.name):
                    found.append(
                        f"line {node.lineno}: from {node.module} import {alias.name}"
                    )
                imported.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                imported.add((alias.asname or alias.name).split(".")[0])
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and private(node.attr)
            and isinstance(node.value, ast.Name)
            and node.value.id in imported
        ):
            found.append(f"line {node.lineno}: {node.value.id}.{node.attr}")
    relative = path.relative_to(ROOT).as_posix()
    found.sort(key=lambda text: int(text.split()[1].rstrip(":")))
    return [f for f in found if (relative, f.split()[-1].split(".")[-1]) not in ALLOWED]


def test_there_are_modules_to_check() -> None:
    assert len(modules()) > 30


@pytest.mark.parametrize(
    "path", modules(), ids=lambda p: p.relative_to(ROOT).as_posix()
)
def test_no_module_uses_another_modules_private_names(path: Path) -> None:
    assert crossings(path) == []


def test_the_check_sees_a_crossing(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from x import _hidden, shown\nimport y\nimport z as w\n"
        "shown._inner()\ny._private\nw._other\nself._mine\n"
    )
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        assert crossings(sample) == [
            "line 1: from x import _hidden",
            "line 4: shown._inner",
            "line 5: y._private",
            "line 6: w._other",
        ]
    finally:
        ROOT = saved


def test_the_bench_module_map_names_every_module() -> None:
    """bench/__init__.py's docstring lists each module of the harness with its job."""
    import ast as _ast

    docstring = _ast.get_docstring(
        _ast.parse((ROOT / "bench" / "__init__.py").read_text())
    )
    assert docstring
    names = set()
    for path in (ROOT / "bench").rglob("*.py"):
        if path.stem == "__init__" and path.parent != ROOT / "bench":
            names.add(path.parent.name)  # a subpackage
        elif path.stem not in ("__init__", "__main__"):
            names.add(path.stem)
    missing = sorted(name for name in names if f"``{name}``" not in docstring)
    assert missing == []
