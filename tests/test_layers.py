"""The import graph of `emu` keeps the layers docs/architecture.md draws.

Every module under emu/ is parsed (nothing is imported), and every import in
it is read, those inside functions too, relative ones resolved.  The test
fails on a cycle among emu modules (and names one), and on an import that
goes up the table of layers in docs/architecture.md's "Layers" section, or
sideways between two packages of one layer: the table is read from the page,
so the page and this test cannot disagree.
"""
import ast
import pathlib
import re

REPO = pathlib.Path(__file__).resolve().parents[1]
EMU = REPO / "emu"
DOC = REPO / "docs" / "architecture.md"


def modules():
    """{dotted name: (path, is a package)} for every module under emu/."""
    out = {}
    for path in sorted(EMU.rglob("*.py")):
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        package = parts[-1] == "__init__"
        if package:
            parts.pop()
        out[".".join(parts)] = (path, package)
    return out


def _owner(name, mods):
    """The emu module an imported name lives in (a package's name for its attributes)."""
    while name not in mods and "." in name:
        name = name.rsplit(".", 1)[0]
    return name if name in mods else None


def imports(mods):
    """{module: {imported emu module: line of the first such import}}."""
    graph = {}
    for name, (path, package) in mods.items():
        edges = {}
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name.split(".") if package else name.split(".")[:-1]
                    base = base[:len(base) - (node.level - 1)]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module
                # `from pkg import sub` imports the module pkg.sub; `from m import f`, m
                targets = [module + "." + a.name if module + "." + a.name in mods else module
                           for a in node.names]
            for target in targets:
                if target == "emu" or target.startswith("emu."):
                    owner = _owner(target, mods)
                    if owner is not None and owner != name:
                        edges.setdefault(owner, node.lineno)
        graph[name] = edges
    return graph


def cycles(graph):
    """One cycle (a list of modules, first = last) per strongly connected component."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):                   # Tarjan's algorithm
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(_cycle_in(graph, component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _cycle_in(graph, component):
    """A shortest cycle through the component's first module (breadth first)."""
    start = min(component)
    paths = {start: [start]}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(graph[v]):
            if w == start:
                return paths[v] + [start]
            if w in component and w not in paths:
                paths[w] = paths[v] + [w]
                queue.append(w)
    raise AssertionError("no cycle in a strongly connected component")


def layers():
    """{unit: (layer, line of the table)} from docs/architecture.md's Layers section:
    the first fenced block after '## Layers', lines 'N  name | name ...'."""
    text = DOC.read_text()
    section = text.split("\n## Layers\n", 1)
    assert len(section) == 2, "docs/architecture.md has no '## Layers' section"
    block = re.search(r"^```[^\n]*\n(.*?)^```", section[1], re.M | re.S)
    assert block, "the Layers section of docs/architecture.md has no fenced table"
    table = {}
    for line in block.group(1).splitlines():
        m = re.match(r"\s*(\d+)\s+(\S.*)$", line)
        if not m:
            continue
        for unit in m.group(2).split("|"):
            unit = unit.strip()
            assert re.fullmatch(r"\w+", unit), "bad name %r in the layer table" % unit
            assert unit not in table, "%s is in two layers" % unit
            table[unit] = (int(m.group(1)), line.strip())
    assert table, "the layer table of docs/architecture.md is empty"
    return table


def unit(module):
    """The layer table's name for a module: emu.X's X (a package or a top-level
    module), 'emu' for the package's own __init__."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "emu"


def test_no_import_cycles():
    found = cycles(imports(modules()))
    assert not found, "import cycles among emu modules:\n" + "\n".join(" -> ".join(c) for c in found)


def test_every_module_has_a_layer():
    table = layers()
    missing = sorted({unit(m) for m in modules()} - set(table))
    assert not missing, ("not in the layer table of docs/architecture.md (give each its layer): "
                         + ", ".join(missing))


def test_imports_go_down_the_layers():
    mods, table = modules(), layers()
    graph = imports(mods)
    wrong = []
    for a in sorted(graph):
        for b, line in sorted(graph[a].items()):
            ua, ub = unit(a), unit(b)
            if ua == ub or ua not in table or ub not in table:
                continue
            la, lb = table[ua][0], table[ub][0]
            if lb < la:
                continue
            how = "sideways (both in layer %d)" % la if la == lb else "up (layer %d to %d)" % (la, lb)
            wrong.append("%s:%d imports %s: %s -> %s goes %s"
                         % (mods[a][0].relative_to(REPO), line, b, ua, ub, how))
    assert not wrong, "imports against the layers of docs/architecture.md:\n" + "\n".join(wrong)


def test_the_checks_see_what_they_check():
    """The parser finds imports inside functions and resolves relative ones, and
    the graph has no edge to a module that does not exist."""
    mods = modules()
    graph = imports(mods)
    assert "emu.machine" in graph["emu.cli"]                 # imported inside run_config
    assert "emu.devices.chardev.base" in graph["emu.devices.chardev.fd"]   # from .base import ...
    assert all(b in mods for edges in graph.values() for b in edges)
    assert cycles({"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}, "d": {"a": 1}}) == [["a", "b", "c", "a"]]
