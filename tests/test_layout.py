"""The package shows its parts: imports run down the floors, never in a circle.

Floors, bottom first (a module may import its own floor and the ones below):
  shared    values and pure helpers at the top of ``crawler/`` (article, urls, errors...)
  extract   pure parsing: no I/O, no SQLAlchemy
  store     the database
  crawl     the event-loop side: spiders, middlewares, parse workers, writer, runner
  top       the service and its timetable, the command line, the web app (``web``), and
            what the service offers besides crawling: alerts (``crawler/alerts/``), metrics
            (``metrics.py``), distributed mode (``crawler/cluster/``)
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "crawler"
# and every module whose name starts with "cli_"
TOP = {"cli", "service", "timetable", "metrics", "__main__"}
FLOORS = {"shared": 0, "extract": 1, "store": 2, "crawl": 3, "top": 4, "alerts": 4, "web": 4,
          "cluster": 4}  # fmt: skip
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def floor_of(module: str) -> int:
    parts = module.split(".")
    if len(parts) > 2 and parts[1] in FLOORS:
        return FLOORS[parts[1]]
    if len(parts) == 2 and parts[1] in FLOORS:  # the subpackage's own __init__
        return FLOORS[parts[1]]
    leaf = parts[1] if len(parts) > 1 else ""
    if leaf in TOP or leaf.startswith("cli_") or leaf == "commands":
        return FLOORS["top"]
    return FLOORS["shared"]


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(path: Path) -> set[str]:
    """The crawler modules that ``path`` imports anywhere, lazily inside functions too
    (``from a import b`` counts ``a.b`` when that is a module, else ``a``)."""
    known = modules()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("crawler"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("crawler"):
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                found.add(child if child in known else node.module)
    return {m for m in found if m in known and m != "crawler"}


@pytest.mark.parametrize("module", sorted(modules()))
def test_imports_run_down_the_floors(module: str) -> None:
    path = modules()[module]
    upward = sorted(m for m in imports_of(path) if floor_of(m) > floor_of(module))
    assert not upward, f"{module} (floor {floor_of(module)}) imports from above: {upward}"


def test_no_import_circles() -> None:
    # Lazy imports inside functions count too: they hide a circle, they do not break it.
    graph = {m: imports_of(p) - {m} for m, p in modules().items()}
    circles: list[list[str]] = []

    def visit(node: str, path: list[str], on_path: set[str], done: set[str]) -> None:
        for nxt in sorted(graph[node]):
            if nxt in on_path:
                circles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in done:
                on_path.add(nxt)
                visit(nxt, [*path, nxt], on_path, done)
                on_path.discard(nxt)
        done.add(node)

    done: set[str] = set()
    for start in sorted(graph):
        if start not in done:
            visit(start, [start], {start}, done)
    assert not circles, "import circles: " + "; ".join(" → ".join(c) for c in circles)


@pytest.mark.parametrize("module", sorted(modules()))
def test_modules_stay_small(module: str) -> None:
    lines = modules()[module].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{module} has {lines} lines; split it around its ideas"


def test_extract_is_pure() -> None:
    """The parser runs in worker processes and in benchmarks without a database."""
    code = (
        "import sys, crawler.extract.parser, crawler.fingerprint;"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in"
        " ('sqlalchemy', 'scrapy', 'twisted', 'psycopg') or m.startswith('crawler.store')"
        " or m.startswith('crawler.crawl'));"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"parsing imports {out.stdout.strip()}"
