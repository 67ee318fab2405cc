"""The house layout, checked on the source (``ast``, nothing imported): the import graph of every module under
``nvib_hf`` (absolute, relative and function-level imports) has no cycle, only ``nvib_hf/cli`` imports the CLI, the
remote-code files of ``nvib_hf/models/nvae`` import one another only as ``from .x import y`` (the form Transformers
copies into a saved model directory), and modules stay under ~400 lines.

The graph builder is first checked on small made-up packages, so that a passing layout test means something.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "nvib_hf"
REMOTE_CODE_DIR = PACKAGE / "models" / "nvae"
MAX_LINES = 400

Graph = dict[str, set[str]]


# --- the import graph ----------------------------------------------------------------------------------------------
def module_files(package: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` file under ``package`` (``a/__init__.py`` is module ``a``)."""
    modules = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def _target(base: str, name: str, modules: dict[str, Path]) -> str:
    """``from base import name``: the submodule ``base.name`` when there is one, else ``base`` itself."""
    return f"{base}.{name}" if f"{base}.{name}" in modules else base


def _longest_module_prefix(name: str, modules: dict[str, Path]) -> str:
    """``import a.b.c``: the longest prefix of ``a.b.c`` that is a module (the name itself when none is)."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in modules:
            return ".".join(parts[:end])
    return name


def imported_modules(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Every module that ``module`` imports anywhere in its source (including inside functions and
    ``if TYPE_CHECKING``), relative imports resolved against its package."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    targets = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets |= {_longest_module_prefix(alias.name, modules) for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{node.module}" if node.module else anchor
            else:
                base = node.module or ""
            targets |= {_target(base, alias.name, modules) for alias in node.names}
    return targets


def import_graph(package: Path) -> tuple[Graph, dict[str, set[str]]]:
    """(module -> the package's modules it imports, module -> imports of the package that name no module)."""
    modules = module_files(package)
    graph, unresolved = {}, {}
    for module, path in modules.items():
        internal = {t for t in imported_modules(module, path, modules) if t.split(".")[0] == package.name}
        graph[module] = {t for t in internal if t in modules}
        if internal - graph[module]:
            unresolved[module] = internal - graph[module]
    return graph, unresolved


def import_cycles(graph: Graph) -> list[list[str]]:
    """The strongly connected components with a cycle (Tarjan): more than one module, or a module importing itself."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = [stack.pop()]
            while component[-1] != node:
                component.append(stack.pop())
            if len(component) > 1 or node in graph.get(node, ()):
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def cli_importers(graph: Graph, cli: str) -> dict[str, set[str]]:
    """Modules outside the package ``cli`` that import ``cli`` or one of its modules."""
    inside = lambda name: name == cli or name.startswith(cli + ".")  # noqa: E731
    found = {src: {dst for dst in targets if inside(dst)} for src, targets in graph.items() if not inside(src)}
    return {src: dsts for src, dsts in found.items() if dsts}


def _remote_code_problem(node: ast.Import | ast.ImportFrom, siblings: set[str], package_name: str) -> str | None:
    """Why this import breaks in a copied model directory, or None when it does not."""
    if isinstance(node, ast.ImportFrom) and node.level:
        if node.level == 1 and node.module in siblings:
            return None
        return f"`from {'.' * node.level}{node.module or ''} import ...` is not `from .sibling`"
    names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [alias.name for alias in node.names]
    if any(name.split(".")[0] == package_name for name in names):
        return f"absolute import of {package_name}"
    return None


def remote_code_violations(directory: Path, package_name: str) -> list[str]:
    """Imports in the flat remote-code files of ``directory`` (all but ``__init__.py``) that break when the files are
    copied into a model directory: any import of ``package_name`` and any relative import other than ``from .x
    import y`` with ``x`` a file beside them. Returns ``FILE:LINE: why``, sorted."""
    siblings = {path.stem for path in directory.glob("*.py")}
    problems: list[tuple[str, int, str]] = []
    for path in sorted(directory.glob("*.py")):
        if path.name == "__init__.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                problem = _remote_code_problem(node, siblings, package_name)
                if problem:
                    problems.append((path.name, node.lineno, problem))
    return [f"{name}:{lineno}: {text}" for name, lineno, text in sorted(problems)]


def relative_imports(path: Path) -> set[str]:
    """The sibling modules ``path`` imports as ``from .x import ...`` (ast)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level == 1 and n.module}


def long_modules(package: Path, limit: int) -> dict[str, int]:
    """``relative path -> line count`` of the modules longer than ``limit`` lines."""
    counts = {
        str(p.relative_to(package.parent)): len(p.read_text(encoding="utf-8").splitlines())
        for p in package.rglob("*.py")
    }
    return {path: count for path, count in sorted(counts.items()) if count > limit}


# --- the checker on made-up packages -------------------------------------------------------------------------------
def make_package(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "pkg"


def test_graph_resolves_absolute_relative_and_function_level_imports(tmp_path):
    package = make_package(
        tmp_path,
        {
            "pkg/__init__.py": "from .a import f\n",
            "pkg/a.py": "import os\nfrom . import b\n",
            "pkg/b.py": "def g():\n    from pkg.sub.c import h\n",
            "pkg/sub/__init__.py": "",
            "pkg/sub/c.py": "from ..b import g\nimport pkg.sub\nfrom pkg.sub import d\nfrom pkg import missing_name\n",
            "pkg/sub/d.py": "from pkg.nothing import x\n",
        },
    )
    graph, unresolved = import_graph(package)
    assert graph == {
        "pkg": {"pkg.a"},
        "pkg.a": {"pkg.b"},
        "pkg.b": {"pkg.sub.c"},
        "pkg.sub": set(),
        "pkg.sub.c": {"pkg.b", "pkg.sub", "pkg.sub.d", "pkg"},
        "pkg.sub.d": set(),
    }
    assert unresolved == {"pkg.sub.d": {"pkg.nothing"}}
    assert import_cycles(graph) == [["pkg", "pkg.a", "pkg.b", "pkg.sub.c"]]


def test_cycle_finder_reports_each_cycle_and_self_imports():
    graph = {"a": {"b"}, "b": {"a"}, "c": {"c"}, "d": {"a", "e"}, "e": set()}
    assert sorted(import_cycles(graph)) == [["a", "b"], ["c"]]
    assert import_cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_cli_rule_and_remote_code_rule_flag_offenders(tmp_path):
    graph = {"p.cli.main": {"p.lib"}, "p.cli.sub": {"p.cli.main"}, "p.lib": {"p.cli"}, "p.client": {"p.lib"}}
    assert cli_importers(graph, "p.cli") == {"p.lib": {"p.cli"}}
    package = make_package(
        tmp_path,
        {
            "pkg/m/__init__.py": "from pkg.utils import x\n",
            "pkg/m/ok.py": "import torch\nfrom .other import y\n",
            "pkg/m/other.py": "def f():\n    from pkg.utils import z\nfrom . import ok\nfrom ..n import w\nfrom .gone import v\n",
        },
    )
    assert remote_code_violations(package / "m", "pkg") == [
        "other.py:2: absolute import of pkg",
        "other.py:3: `from . import ...` is not `from .sibling`",
        "other.py:4: `from ..n import ...` is not `from .sibling`",
        "other.py:5: `from .gone import ...` is not `from .sibling`",
    ]


# --- the layout of nvib_hf -----------------------------------------------------------------------------------------
def test_every_internal_import_names_a_module():
    _, unresolved = import_graph(PACKAGE)
    assert unresolved == {}


def test_no_import_cycle():
    graph, _ = import_graph(PACKAGE)
    assert len(graph) > 20 and any(graph.values())  # the whole package was read
    assert import_cycles(graph) == []


def test_only_the_cli_imports_the_cli():
    graph, _ = import_graph(PACKAGE)
    assert any(dst.startswith("nvib_hf.cli") for targets in graph.values() for dst in targets)
    assert cli_importers(graph, "nvib_hf.cli") == {}


def test_remote_code_files_import_each_other_only_relatively():
    assert (REMOTE_CODE_DIR / "modeling_nvae.py").is_file()
    assert remote_code_violations(REMOTE_CODE_DIR, "nvib_hf") == []


def test_transformers_copies_every_file_the_remote_code_imports():
    """Transformers' own scan (the one ``save_pretrained``/``trust_remote_code`` use) finds the same sibling imports
    as ``ast`` in every remote-code file, so a saved model directory holds every file it needs."""
    from transformers.dynamic_module_utils import get_relative_import_files, get_relative_imports

    for path in sorted(REMOTE_CODE_DIR.glob("*.py")):
        if path.name != "__init__.py":
            assert set(get_relative_imports(path)) == relative_imports(path), path.name
    # What save_pretrained copies beside modeling_nvae.py: its imports, followed recursively, are every sibling file.
    copied = {Path(name).stem for name in get_relative_import_files(str(REMOTE_CODE_DIR / "modeling_nvae.py"))}
    siblings = {path.stem for path in REMOTE_CODE_DIR.glob("*.py")} - {"__init__", "modeling_nvae"}
    assert copied == siblings


def test_experiments_package_exports_resolve_to_their_modules():
    """``nvib_hf.experiments`` re-exports (lazily) exactly the names of its ``_EXPORTS`` table, each from the module
    that defines it."""
    import importlib

    import nvib_hf.experiments as experiments

    assert sorted(experiments.__all__) == sorted(experiments._MODULE_OF)
    for name, module in experiments._MODULE_OF.items():
        assert getattr(experiments, name) is getattr(importlib.import_module(f"nvib_hf.experiments.{module}"), name)
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        experiments.not_a_name  # noqa: B018


def test_modules_stay_under_the_line_limit():
    offenders = long_modules(PACKAGE, MAX_LINES)
    for path, count in offenders.items():
        print(f"{path}: {count} lines (limit {MAX_LINES})")
    assert offenders == {}, f"modules over {MAX_LINES} lines: {offenders}"
