"""The engine's packages are layers: a module imports only from layers below its own (or its own package),
and no imports go round in a circle. Read from the source, so a local import inside a function counts too."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "pipeline"

# bottom to top; the README's architecture section shows the same map
LAYERS = [
    {"pipeline", "pipeline.state", "pipeline.theme", "pipeline.heap", "pipeline.files", "pipeline.moved"},
    {"pipeline.ml", "pipeline.tables"},
    {"pipeline.brains"},
    {"pipeline.run"},
    {"pipeline.phases"},
    {"pipeline.artifacts"},
    {"pipeline.engine"},
    {"pipeline.cli"},
    {"pipeline.__main__"},
]


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _unit(module: str) -> str:
    """The package a module belongs to for layering: `pipeline.ml.cv` -> `pipeline.ml`; base modules stand alone."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else module


def _layer(module: str) -> int:
    unit = _unit(module)
    for index, members in enumerate(LAYERS):
        if unit in members:
            return index
    raise AssertionError(f"{module} is in no layer: add its package to LAYERS (and to the README's map)")


def _imports(path: Path, module: str) -> set[str]:
    """Every `pipeline` module this file imports, at any depth of the file."""
    found: set[str] = set()
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] == "pipeline")
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
                base = ".".join(anchor + ([base] if base else []))
            if base.split(".")[0] != "pipeline":
                continue
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if _exists(candidate) else base)
    return found


def _exists(module: str) -> bool:
    path = ROOT.joinpath(*module.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _graph() -> dict[str, set[str]]:
    graph = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path)
        graph[module] = {name for name in _imports(path, module) if name != module}
    return graph


def test_every_import_goes_down_a_layer_or_stays_in_its_package():
    upward = []
    for module, targets in _graph().items():
        for target in targets:
            if _unit(target) != _unit(module) and _layer(target) >= _layer(module) and _layer(module) > 0:
                upward.append(f"{module} -> {target}")
            elif _layer(module) == 0 and _layer(target) > 0:
                upward.append(f"{module} -> {target}")
    assert not upward, "imports that do not go down a layer:\n" + "\n".join(sorted(upward))


def test_no_import_circle():
    graph = _graph()
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            cycle = path[path.index(module) :] + [module]
            raise AssertionError("import circle: " + " -> ".join(cycle))
        if module in done:
            return
        for target in sorted(graph.get(module, ())):
            visit(target, path + [module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])


def test_no_source_file_outside_the_sandbox_is_over_500_lines():
    long_files = []
    for folder in ("pipeline", "ui", "app_pages", "benchmarks"):
        for path in (ROOT / folder).rglob("*.py"):
            lines = len(path.read_text().splitlines())
            if lines > 500:
                long_files.append(f"{path.relative_to(ROOT)}: {lines}")
    assert not long_files, "split these files along their jobs:\n" + "\n".join(long_files)


def _top_level_imports_of(folder: str) -> dict[str, set[str]]:
    """For each file under `folder`, the top-level packages it imports (at any depth of the file)."""
    found = {}
    for path in (ROOT / folder).rglob("*.py"):
        names = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


def test_the_engine_the_interface_and_the_sandbox_import_only_downwards():
    """sandbox/ imports nothing of ours; pipeline/ never imports Streamlit or the interface; ui/ never a page."""
    ours = {"pipeline", "ui", "app_pages", "sandbox", "app"}
    allowed = {
        "sandbox": {"sandbox"},
        "pipeline": {"pipeline", "sandbox"},
        "ui": {"pipeline", "ui", "sandbox", "streamlit"},
    }
    wrong = []
    for folder, may in allowed.items():
        for path, names in _top_level_imports_of(folder).items():
            bad = (names & ours) - may | ({"streamlit"} & names if folder != "ui" else set())
            if bad:
                wrong.append(f"{path}: {', '.join(sorted(bad))}")
    assert not wrong, "\n".join(wrong)
