"""Measure the package's structure: file sizes in ui/, imports that go up the layers, import loops,
colour literals outside the theme.

    python scripts/check_layers.py [--root REPO] [--json] [--max-lines 600]

The layers, lowest first (ARCHITECTURE.md explains them); a module may import its own package
and anything in a lower layer, never a higher one, and never a sibling package of its layer:

    0  core, __init__        paths, registry, errors, the area and fine-tuning contracts
    1  engine                the request engine (jobs are generators)
    2  music, ink, racing    the areas: data, networks, training, generation (no Qt)
    3  jobs, areas           engine adapters for the panels; the one table of areas
    4  live                  real-time MIDI/audio around the music models
    5  finetune              fine-tuning jobs in a child process
    6  ui                    the Qt layer
    7  bench, cli, selftest, __main__   benchmarks that need the UI, the command line

Inside ui/ the same rule holds between its parts (SUBLAYERS): theme and settings < the panel
base class < widgets (shared controls) < compose, sketch, dream (the features, which do not
import each other) < shell (main window, Training dock, About, start-up).

Every import counts, wherever it is written (module level, inside a function, under
``TYPE_CHECKING``), and so does a string literal naming a module (``"gdl_studio.music.cli"``,
``"gdl_studio.music.finetune:finetune"``): tables of such names are imports done later.
An import loop is a set of modules that import each other, directly or through others.

Colours are named in ``gdl_studio/ui/theme.py`` and nowhere else: a colour literal in ``ui/``
outside theme.py or in ``resources/style.qss`` (a hex colour or ``rgb()``/``rgba()``/``hsl()``
in a string, a named colour in a style sheet, a ``QColor``/``mkPen``/``mkBrush``… call given
numbers or a colour name, ``Qt.GlobalColor.<colour>``) is reported; style sheets write
``@NAME@`` and go through ``theme.qss()``.
Exit status 1 when a ui/ file is longer than --max-lines (the files listed in
LONG_FILES_TO_SPLIT may keep their present length until they are split, the loops in KNOWN_LOOPS
stay until broken; --strict counts them too), an import goes upward or sideways, modules form a
loop, or a colour literal is found.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE = "gdl_studio"
LAYERS: dict[str, int] = {
    "__init__": 0,
    "core": 0,
    "engine": 1,
    "music": 2,
    "ink": 2,
    "racing": 2,
    "jobs": 3,
    "areas": 3,
    "live": 4,
    "finetune": 5,
    "ui": 6,
    "bench": 7,
    "cli": 7,
    "selftest": 7,
    "__main__": 7,
}
# siblings of one layer that may import each other: (importer, imported)
ALLOWED_SIDEWAYS: set[tuple[str, str]] = {
    ("jobs", "areas"),
    ("cli", "bench"),
    ("cli", "selftest"),
    ("bench", "cli"),
    ("selftest", "cli"),
    ("__main__", "cli"),
}
# inside a package, the same rule between its sub-packages / modules (missing names: no rule)
SUBLAYERS: dict[str, dict[str, int]] = {
    # foundations every part of the UI uses < shared controls < the features < the app around them
    "ui": {
        "__init__": 0,
        "theme": 0,
        "settings": 0,
        "panel": 1,
        "widgets": 2,
        "compose": 3,
        "sketch": 3,
        "dream": 3,
        "shell": 4,
    },
}
UI_MAX_LINES = 600
# Known debt: ui/ files still above the limit, each held to the length it has now (it may only
# shrink). Split one (a view-model, control groups) and remove its line here.
LONG_FILES_TO_SPLIT: dict[str, int] = {}
# Known debt: import loops let through until they are broken (exactly these sets of modules).
KNOWN_LOOPS: list[set[str]] = []
# Where colours may be written, and the files searched for colour literals besides ui/**.py.
THEME_FILE = f"{PACKAGE}/ui/theme.py"
STYLE_SHEETS = ("resources/style.qss",)
_HEX_COLOUR = re.compile(r"(?<![\w&])#(?:[0-9a-fA-F]{8}|[0-9a-fA-F]{6}|[0-9a-fA-F]{3,4})\b")
_COLOUR_FUNCTION = re.compile(r"\b(?:rgba?|hsla?|hsva?)\s*\(")
_NAMED_IN_STYLE = re.compile(
    r"(?:color|background(?:-color)?|border(?:-[a-z]+)?)\s*:[^;{}]*?"
    r"\b(white|black|red|green|blue|yellow|gr[ae]y|orange|purple|pink|cyan|magenta)\b"
)
# calls that make a colour from their first argument (numbers or a name): QColor(30, 30, 40), mkPen("w")
_COLOUR_CALLS = {
    "QColor",
    "mkColor",
    "mkPen",
    "mkBrush",
    "fromRgb",
    "fromRgbF",
    "fromRgba",
    "fromHsv",
    "fromHsvF",
    "fromHsl",
    "fromHslF",
    "setRgb",
    "setRgbF",
    "setNamedColor",
    "setBackground",
}


@dataclass
class Edge:
    source: str  # importing module
    target: str  # imported module
    line: int
    kind: str  # "top", "function", "type-checking", "importlib" or "string" (a module named in a literal)


@dataclass
class Report:
    ui_files: list[tuple[str, int]] = field(default_factory=list)
    too_long: list[tuple[str, int]] = field(default_factory=list)
    known_long: list[tuple[str, int]] = field(default_factory=list)
    known_loops: list[list[str]] = field(default_factory=list)
    upward: list[str] = field(default_factory=list)
    sideways: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    loops: list[list[str]] = field(default_factory=list)
    colours: list[str] = field(default_factory=list)  # "path:line: literal", outside the theme
    modules: int = 0
    edges: int = 0

    @property
    def ok(self) -> bool:
        return not (self.too_long or self.upward or self.sideways or self.unknown or self.loops or self.colours)


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


def collect(root: Path) -> tuple[dict[str, Path], list[Edge]]:
    """All modules of the package under ``root`` and the imports between them."""
    modules = {module_name(p, root): p for p in sorted((root / PACKAGE).rglob("*.py"))}
    edges: list[Edge] = []
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        is_package = path.name == "__init__.py"
        _Visitor(name, is_package, modules, edges).visit(tree)
    return modules, edges


class _Visitor(ast.NodeVisitor):
    def __init__(self, name: str, is_package: bool, modules: dict[str, Path], edges: list[Edge]) -> None:
        self.name = name
        self.is_package = is_package
        self.modules = modules
        self.edges = edges
        self.depth = 0  # inside a function
        self.type_checking = 0

    def _add(self, target: str, line: int, kind: str | None = None) -> None:
        if not (target == PACKAGE or target.startswith(PACKAGE + ".")):
            return
        while target not in self.modules and "." in target:
            target = target.rsplit(".", 1)[0]
        if target == self.name:
            return
        if self.edges and (self.edges[-1].source, self.edges[-1].target, self.edges[-1].line) == (
            self.name,
            target,
            line,
        ):
            return
        if kind is None:
            kind = "type-checking" if self.type_checking else ("function" if self.depth else "top")
        self.edges.append(Edge(self.name, target, line, kind))

    def _resolve(self, module: str | None, level: int) -> str:
        if not level:
            return module or ""
        base = self.name.split(".")
        if not self.is_package:
            base = base[:-1]
        base = base[: len(base) - (level - 1)]
        return ".".join(base + ([module] if module else []))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = self._resolve(node.module, node.level)
        for alias in node.names:
            full = f"{base}.{alias.name}"
            self._add(full if full in self.modules else base, node.lineno)

    def visit_FunctionDef(self, node) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_AsyncFunctionDef = visit_FunctionDef  # noqa: N815 (ast naming)

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        if (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
            isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
        ):
            self.type_checking += 1
            for child in node.body:
                self.visit(child)
            self.type_checking -= 1
            for child in node.orelse:
                self.visit(child)
            return
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if (
            name == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            self._add(node.args[0].value, node.lineno, "importlib")
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        # "gdl_studio.music.finetune:finetune" in a table read by importlib later
        value = node.value
        if isinstance(value, str) and _MODULE_STRING.match(value):
            target = value.split(":")[0]
            if target in self.modules or target.rsplit(".", 1)[0] in self.modules:
                self._add(target, node.lineno, "string")


_MODULE_STRING = re.compile(r"^gdl_studio(\.[a-z_][a-z0-9_]*)+(:[A-Za-z_][A-Za-z0-9_]*)?$")


def top_name(module: str) -> str:
    """The layer key of ``module``: its first name below the package."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def sub_name(module: str) -> str:
    """The sub-layer key of ``module``: its second name below the package."""
    parts = module.split(".")
    return parts[2] if len(parts) > 2 else "__init__"


def find_loops(modules: dict[str, Path], edges: list[Edge]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for e in edges:
        graph[e.source].add(e.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    loops: list[list[str]] = []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    loops.append(sorted(component))
    return sorted(loops)


def colours_in_text(text: str) -> list[str]:
    """The colour literals in ``text`` (a string of Python code or a style sheet)."""
    return (
        [m.group(0) for m in _HEX_COLOUR.finditer(text)]
        + [m.group(0) for m in _COLOUR_FUNCTION.finditer(text)]
        + [m.group(1) for m in _NAMED_IN_STYLE.finditer(text)]
    )


def colours_in_python(source: str, filename: str = "<source>") -> list[tuple[int, str]]:
    """``(line, literal)`` for each colour literal in Python ``source``."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found += [(node.lineno, c) for c in colours_in_text(node.value)]
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            if name not in _COLOUR_CALLS or not isinstance(first, ast.Constant):
                continue
            if isinstance(first.value, (int, float)) and not isinstance(first.value, bool):
                found.append((node.lineno, f"{name}({', '.join(ast.unparse(a) for a in node.args)})"))
            elif isinstance(first.value, str) and "@" not in first.value and not colours_in_text(first.value):
                found.append((node.lineno, f"{name}({first.value!r})"))  # QColor("white"), mkPen("w")
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "GlobalColor"
            and node.attr != "transparent"
        ):
            found.append((node.lineno, f"Qt.GlobalColor.{node.attr}"))
    return sorted(found)


def find_colours(root: Path) -> list[str]:
    """Colour literals outside the theme: in ui/ (but theme.py) and in the app's style sheets."""
    found: list[str] = []
    for path in sorted((root / PACKAGE / "ui").rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel != THEME_FILE:
            found += [f"{rel}:{line}: {c}" for line, c in colours_in_python(path.read_text(encoding="utf-8"), rel)]
    for rel in STYLE_SHEETS:
        path = root / rel
        if path.is_file():
            for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                found += [f"{rel}:{number}: {c}" for c in colours_in_text(text)]
    return found


def check(
    root: Path,
    max_lines: int = UI_MAX_LINES,
    known: dict[str, int] | None = None,
    known_loops: list[set[str]] | None = None,
) -> Report:
    modules, edges = collect(root)
    report = Report(modules=len(modules), edges=len(edges))
    for path in sorted((root / PACKAGE / "ui").rglob("*.py")):
        n = len(path.read_text(encoding="utf-8").splitlines())
        rel = path.relative_to(root).as_posix()
        report.ui_files.append((rel, n))
        if n > max_lines:
            if known is not None and n <= known.get(rel, 0):
                report.known_long.append((rel, n))
            else:
                report.too_long.append((rel, n))
    report.ui_files.sort(key=lambda item: -item[1])
    for e in edges:
        src, dst = top_name(e.source), top_name(e.target)
        if src == dst:
            src_sub, dst_sub = sub_name(e.source), sub_name(e.target)
            order = SUBLAYERS.get(src, {})
            if src_sub == dst_sub or src_sub not in order or dst_sub not in order:
                continue
            where = f"{e.source}:{e.line} → {e.target} ({e.kind})"
            if order[src_sub] < order[dst_sub]:
                report.upward.append(where + f"  [{src}.{src_sub} {order[src_sub]} < {src}.{dst_sub} {order[dst_sub]}]")
            elif order[src_sub] == order[dst_sub]:
                report.sideways.append(where + f"  [{src}.{src_sub} and {src}.{dst_sub} share a layer]")
            continue
        where = f"{e.source}:{e.line} → {e.target} ({e.kind})"
        if src not in LAYERS or dst not in LAYERS:
            report.unknown.append(where + f"  [no layer for {src if src not in LAYERS else dst}]")
        elif LAYERS[src] < LAYERS[dst]:
            report.upward.append(where + f"  [{src} {LAYERS[src]} < {dst} {LAYERS[dst]}]")
        elif LAYERS[src] == LAYERS[dst] and (src, dst) not in ALLOWED_SIDEWAYS:
            report.sideways.append(where + f"  [{src} and {dst} share layer {LAYERS[src]}]")
    for loop in find_loops(modules, edges):
        (report.known_loops if known_loops is not None and set(loop) in known_loops else report.loops).append(loop)
    report.colours = find_colours(root)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--root", default=str(Path(__file__).resolve().parents[1]), help="repository root (default: this one)"
    )
    parser.add_argument(
        "--max-lines", type=int, default=UI_MAX_LINES, help=f"longest file allowed in ui/ (default {UI_MAX_LINES})"
    )
    parser.add_argument("--top", type=int, default=10, help="how many of the largest ui/ files to list")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument("--strict", action="store_true", help="fail on the known long files too (LONG_FILES_TO_SPLIT)")
    args = parser.parse_args(argv)
    report = check(
        Path(args.root),
        args.max_lines,
        None if args.strict else LONG_FILES_TO_SPLIT,
        None if args.strict else KNOWN_LOOPS,
    )
    if args.json:
        print(
            json.dumps(
                {
                    "ok": report.ok,
                    "modules": report.modules,
                    "imports": report.edges,
                    "ui_largest": report.ui_files[: args.top],
                    "ui_files_over_limit": report.too_long,
                    "ui_files_over_limit_known": report.known_long,
                    "upward_imports": report.upward,
                    "sideways_imports": report.sideways,
                    "unknown_layer": report.unknown,
                    "import_loops": report.loops,
                    "import_loops_known": report.known_loops,
                    "colour_literals": report.colours,
                },
                indent=2,
                ensure_ascii=False,
            )
        )
    else:
        print(f"{report.modules} modules, {report.edges} imports between them")
        print(f"largest files in ui/ (limit {args.max_lines} lines):")
        for rel, n in report.ui_files[: args.top]:
            flag = (
                ""
                if n <= args.max_lines
                else ("   over the limit (known, to split)" if (rel, n) in report.known_long else "   TOO LONG")
            )
            print(f"  {n:6d}  {rel}{flag}")
        for title, items in (
            ("upward imports", report.upward),
            ("sideways imports", report.sideways),
            ("modules outside every layer", report.unknown),
        ):
            print(f"{title}: {len(items)}")
            for item in items:
                print(f"  {item}")
        print(f"import loops: {len(report.loops)}")
        for loop in report.loops:
            print("  " + " ↔ ".join(loop))
        if report.known_loops:
            print(f"known import loops (KNOWN_LOOPS, to break): {len(report.known_loops)}")
            for loop in report.known_loops:
                print("  " + " ↔ ".join(loop))
        print(f"colour literals outside {THEME_FILE}: {len(report.colours)}")
        for item in report.colours:
            print(f"  {item}")
        print("OK" if report.ok else "FAILED")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
