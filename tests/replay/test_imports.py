"""Replay's imports: its modules import each other one way (no circles, not even for types),
and an import waits inside a function only with a reason."""

from __future__ import annotations

import ast
from pathlib import Path

import sessionforge.replay

PKG = Path(sessionforge.replay.__file__).parent


def _local_imports(path: Path) -> set[str]:
    """Modules of sessionforge.replay that ``path`` imports anywhere (TYPE_CHECKING blocks included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            if node.level == 1:
                names = [mod] if mod else [a.name for a in node.names]
            elif mod.startswith("sessionforge.replay"):
                rest = mod[len("sessionforge.replay"):].lstrip(".")
                names = [rest] if rest else [a.name for a in node.names]
            else:
                continue
            found.update(n.split(".")[0] for n in names)
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[2] for a in node.names
                         if a.name.startswith("sessionforge.replay."))
    return {m for m in found if (PKG / f"{m}.py").exists()} - {path.stem}


def test_no_import_circles_in_replay():
    graph = {p.stem: _local_imports(p) for p in PKG.glob("*.py") if p.stem != "__init__"}
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for dep in sorted(graph.get(m, ())):
            assert state.get(dep) != 1, "import circle: " + " -> ".join(path + [m, dep])
            if dep not in state:
                visit(dep, path + [m])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [])
    assert "tracking" in graph["terminal"] and "terminal" not in graph["tracking"]


def test_imports_inside_functions_say_why():
    # A deferred import is only worth it when it saves start-up time; it says so on its line.
    unexplained = []
    for path in sorted(PKG.glob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for fn in ast.walk(ast.parse("\n".join(lines))):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for node in ast.walk(fn):
                    if isinstance(node, (ast.Import, ast.ImportFrom)) and "# why" not in lines[node.lineno - 1]:
                        unexplained.append(f"{path.name}:{node.lineno}")
    assert not unexplained, f"move these imports to the top, or say why they wait: {unexplained}"
