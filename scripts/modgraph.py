#!/usr/bin/env python3
"""The module graph of a crate's `src/`, and its import circles.

    scripts/modgraph.py node/src [--dot]          # circles (exit 1 if any), or the graph as DOT
    scripts/modgraph.py proto-types/src

A module is a file (`a/b.rs` or `a/b/mod.rs` is `a::b`; `lib.rs`/`main.rs` is the root). An
edge `a -> b` is a path `crate::…` or `super::…` (in a `use` or inline, outside test modules:
`#[cfg(test)]` inline modules and files declared `#[cfg(test)] mod name;`) in `a` that names something in `b`, resolved to the longest module path that exists.
Circles are looked for at each level of the tree: among the top-level modules (each with all
its descendants), then among the children of each module (each with its descendants; the
parent's own file is not one of them). A circle is a strongly connected set of two or more.
"""

import re
import sys
from pathlib import Path


def module_of(root: Path, file: Path) -> tuple:
    rel = file.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "mod":
        parts = parts[:-1]
    if parts in (["lib"], ["main"]):
        parts = []
    return tuple(parts)


def strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return "\n".join(line.split("//", 1)[0] for line in text.splitlines())


def strip_tests(text: str) -> str:
    """Drops `#[cfg(test)] mod … { … }` blocks (test-only imports are not the design)."""
    out, i = [], 0
    for m in re.finditer(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{", text):
        if m.start() < i:
            continue
        out.append(text[i : m.start()])
        depth, j = 1, m.end()
        while j < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        i = j
    out.append(text[i:])
    return "".join(out)


def expand_use(body: str) -> list:
    """`a::{b, c::{d, e}}` -> ['a::b', 'a::c::d', 'a::c::e']."""
    body = re.sub(r"\s+", "", body)
    m = re.match(r"^(.*?)\{(.*)\}$", body)
    if not m:
        return [body]
    prefix, inner = m.group(1), m.group(2)
    items, depth, cur = [], 0, ""
    for ch in inner:
        if ch == "," and depth == 0:
            items.append(cur)
            cur = ""
            continue
        depth += {"{": 1, "}": -1}.get(ch, 0)
        cur += ch
    if cur:
        items.append(cur)
    out = []
    for it in items:
        for e in expand_use(it):
            out.append(prefix + e)
    return out


def resolve(path: list, here: tuple, modules: set):
    if not path:
        return None
    if path[0] == "crate":
        base, rest = (), path[1:]
    elif path[0] in ("super", "self"):
        base = here
        while path and path[0] in ("super", "self"):
            if path[0] == "super":
                base = base[:-1]
            path = path[1:]
        rest = path
    else:
        return None
    best = base
    for k in range(1, len(rest) + 1):
        cand = base + tuple(rest[:k])
        if cand in modules:
            best = cand
    return best


def test_modules(modules: dict) -> set:
    """Modules declared `#[cfg(test)] mod name;` in their parent's file, and their descendants."""
    tests = set()
    for m, f in modules.items():
        text = strip_comments(f.read_text())
        for t in re.finditer(r"#\[cfg\(test\)\]\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;", text):
            tests.add(m + (t.group(1),))
    return {m for m in modules if any(m[: len(t)] == t for t in tests)}


def graph(root: Path):
    files = sorted(root.rglob("*.rs"))
    modules = {module_of(root, f): f for f in files}
    for t in test_modules(modules):
        del modules[t]
    edges = {m: set() for m in modules}
    for m, f in modules.items():
        text = strip_tests(strip_comments(f.read_text()))
        paths = []
        for um in re.finditer(r"\b(pub(?:\([^)]*\))?\s+)?use\s+([^;]+);", text):
            reexport = um.group(1) is not None
            for p in expand_use(um.group(2)):
                p = re.sub(r"\bas\s*\w+$", "", p)
                paths.append((p.split("::"), reexport))
        for im in re.finditer(r"\b((?:crate|super)(?:::\w+)+)", text):
            paths.append((im.group(1).split("::"), False))
        for parts, reexport in paths:
            target = resolve([x for x in parts if x], m, set(modules))
            if target is None or target == m:
                continue
            edges[m].add(target)
    return modules, edges


def levels(modules: dict, edges: dict) -> dict:
    """For each parent module P: the graph among P's children, each standing for its subtree."""
    out = {}
    for parent in sorted(set(modules) | {()}):
        n = len(parent)
        g = {}
        for a, targets in edges.items():
            if len(a) <= n or a[:n] != parent:
                continue
            ka = a[: n + 1]
            g.setdefault(ka, set())
            for b in targets:
                if len(b) <= n or b[:n] != parent:
                    continue
                kb = b[: n + 1]
                if kb != ka:
                    g[ka].add(kb)
                    g.setdefault(kb, set())
        if g:
            out[parent] = g
    return out


def circles(edges: dict) -> list:
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def name(m: tuple) -> str:
    return "::".join(m) or "crate"


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(args) != 1:
        sys.exit(__doc__)
    modules, edges = graph(Path(args[0]))
    if "--dot" in sys.argv:
        print("digraph modules {")
        for a in sorted(edges):
            for b in sorted(edges[a]):
                print(f'  "{name(a)}" -> "{name(b)}";')
        print("}")
        return
    found = []
    for parent, g in levels(modules, edges).items():
        for comp in circles(g):
            found.append(comp)
            members = set(comp)
            where = f"in {name(parent)}" if parent else "at the top"
            print(f"circle {where} of {len(comp)} modules: " + ", ".join(name(m) for m in comp))
            for a in comp:
                inside = sorted(name(b) for b in g[a] if b in members)
                print(f"  {name(a)} -> {', '.join(inside)}")
    if not found:
        print(f"{args[0]}: {len(modules)} modules, no import circle")
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
