"""The project's import graph: no cycle, `dossiers` never imports the apps above it, nothing
imports `cert_workflow.tasks` (the top layer; services enqueue tasks by name), and the pure policy
modules do no database work.

Read from the source with `ast`, so imports inside functions count as much as those at the top.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("portal", "dossiers", "cert_workflow", "filing", "payments", "tracking", "webhooks", "batches")
# The apps built on the dossier: `dossiers` is below all of them.
ABOVE_DOSSIERS = ("cert_workflow", "filing", "payments", "tracking", "webhooks", "batches")
TASKS = "cert_workflow.tasks"
# Pure policy: the ORM feeds these modules, it does not live in them.
PURE = ("cert_workflow.checks.rules", "cert_workflow.routing.policy")
# Models modules from which a pure module may take choices (values and labels, no query), and nothing else.
CHOICES_MODULES = ("dossiers.models", "cert_workflow.models")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _project_modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                modules[_module_name(path)] = path
    return modules


def _imported(node: ast.AST, *, module: str, is_package: bool, known: set[str]) -> list[str]:
    """The project modules one import statement names (`from a import b` is module a.b when that
    module exists, else module a)."""
    names: list[str] = []
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            anchor = module.split(".")
            anchor = anchor if is_package else anchor[:-1]
            anchor = anchor[: len(anchor) - (node.level - 1)]
            base = ".".join([*anchor, base] if base else anchor)
        for alias in node.names:
            full = f"{base}.{alias.name}"
            names.append(full if full in known else base)
    found = []
    for name in names:
        # `import a.b.c` or an attribute path: the longest prefix that is a project module.
        parts = name.split(".")
        for cut in range(len(parts), 0, -1):
            candidate = ".".join(parts[:cut])
            if candidate in known:
                found.append(candidate)
                break
    return found


def _graph() -> dict[str, set[str]]:
    modules = _project_modules()
    known = set(modules)
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        edges = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                edges.update(
                    _imported(node, module=module, is_package=path.name == "__init__.py", known=known)
                )
        edges.discard(module)
        # A package's __init__ is imported with each of its modules; empty ones add nothing.
        graph[module] = edges
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component that has one (Tarjan, then a path inside it)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.add(top)
                if top == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)

    cycles = []
    for component in components:
        start = min(component)
        # Breadth-first back to the start, inside the component: the shortest cycle through it.
        paths = {start: [start]}
        frontier = [start]
        found = None
        while frontier and found is None:
            following = []
            for node in frontier:
                for nxt in sorted(graph[node] & component):
                    if nxt == start:
                        found = [*paths[node], start]
                        break
                    if nxt not in paths:
                        paths[nxt] = [*paths[node], nxt]
                        following.append(nxt)
                if found:
                    break
            frontier = following
        cycles.append(found or sorted(component))
    return cycles


def test_the_graph_sees_the_project():
    graph = _graph()
    assert "cert_workflow.tasks" in graph and "dossiers.services" in graph
    assert "dossiers.models" in graph["cert_workflow.models"]


def test_no_import_cycle():
    cycles = _cycles(_graph())
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(cycle) for cycle in cycles)


def test_dossiers_never_imports_the_apps_above_it():
    bad = {
        module: sorted(target for target in targets if target.split(".")[0] in ABOVE_DOSSIERS)
        for module, targets in _graph().items()
        if module.split(".")[0] == "dossiers"
    }
    bad = {module: targets for module, targets in bad.items() if targets}
    assert not bad, f"dossiers imports an app above it: {bad}"


def test_nothing_imports_the_tasks():
    importers = sorted(module for module, targets in _graph().items() if TASKS in targets)
    assert not importers, f"{TASKS} is the top layer, yet imported by {importers}"


def _runtime_imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """The import statements that run: those under `if TYPE_CHECKING:` only serve type hints."""
    hints_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
        for statement in node.body
        for inner in ast.walk(statement)
    }
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom) and id(node) not in hints_only
    ]


def _choices_of(path: Path) -> set[str]:
    """The classes of a models module that are choices (TextChoices and the like)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    return {
        node.name
        for node in tree.body
        if isinstance(node, ast.ClassDef)
        and any(ast.unparse(base).endswith("Choices") for base in node.bases)
    }


def _database_work(module: str, modules: dict[str, Path], found: dict[str, list[str]]) -> list[str]:
    """How `module` reaches the database: its imports of `django.db`, of anything but choices from a
    models module, and of project modules that do, recursively. Empty for a pure module."""
    if module in found:
        return found[module]
    found[module] = []  # an import cycle is test_no_import_cycle's business
    path = modules[module]
    problems = []
    for node in _runtime_imports(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module in CHOICES_MODULES and not node.level:
            other = sorted({alias.name for alias in node.names} - _choices_of(modules[node.module]))
            if other:
                problems.append(f"{module} imports {', '.join(other)} from {node.module}")
            continue
        base = (node.module or "") if isinstance(node, ast.ImportFrom) else ""
        names = [f"{base}.{alias.name}" if base else alias.name for alias in node.names]
        if any(name == "django.db" or name.startswith("django.db.") for name in [base, *names]):
            problems.append(f"{module} imports {base or names[0]}")
        for target in _imported(
            node, module=module, is_package=path.name == "__init__.py", known=set(modules)
        ):
            if target in CHOICES_MODULES:
                problems.append(f"{module} imports {target} whole")
            elif target != module:
                problems += _database_work(target, modules, found)
    found[module] = problems
    return problems


def test_pure_policy_does_no_database_work():
    modules, found = _project_modules(), {}
    problems = {module: _database_work(module, modules, found) for module in PURE}
    problems = {module: lines for module, lines in problems.items() if lines}
    assert not problems, f"pure modules reaching the database: {problems}"
