"""README must not fall behind the code: every settings key and every command is in it."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from pydantic import BaseModel

from crawler import config, config_alerts, config_cluster
from crawler.cli import build_parser

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
SHIPPED = (Path(__file__).resolve().parents[1] / "settings.toml").read_text(encoding="utf-8")

SECTIONS: list[type[BaseModel]] = [
    config.DatabaseConfig,
    config.CrawlConfig,
    config.Defaults,
    config.ListingFeed,
    config.RssFeed,
    config.SitemapFeed,
    config.SiteConfig,
    config_alerts.AlertConfig,
    config_alerts.ServiceConfig,
    config.WebConfig,
    config_cluster.ClusterConfig,
]


@pytest.mark.parametrize("model", SECTIONS, ids=lambda m: m.__name__)
def test_every_settings_key_is_documented_in_readme(model: type[BaseModel]) -> None:
    missing = [key for key in model.model_fields if f"`{key}`" not in README]
    assert not missing, f"README lacks {model.__name__} keys: {missing}"


def test_every_crawl_key_is_explained_in_the_shipped_settings() -> None:
    missing = [key for key in config.CrawlConfig.model_fields if f"\n{key} = " not in SHIPPED]
    assert not missing, f"settings.toml [crawl] lacks: {missing}"


def subcommands() -> dict[str, argparse.ArgumentParser]:
    """Every command by its full name, nested ones too (``db upgrade``)."""
    found: dict[str, argparse.ArgumentParser] = {}

    def walk(parser: argparse.ArgumentParser, prefix: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    found[prefix + name] = sub
                    walk(sub, f"{prefix}{name} ")

    walk(build_parser(), "")
    return found


@pytest.mark.parametrize("name", sorted(subcommands()))
def test_every_command_is_in_readme_and_has_an_example(name: str) -> None:
    assert f"`newsmon {name}" in README, f"README does not describe `newsmon {name}`"
    epilog = subcommands()[name].epilog or ""
    assert epilog.startswith("example: newsmon "), f"`newsmon {name} --help` has no example"


def readme_tree() -> set[str]:
    """The module paths drawn in README's "How it works" tree of ``crawler/``."""
    block = README.split("\n```text\ncrawler/\n", 1)[1].split("\n```", 1)[0]
    paths: set[str] = set()
    folders: list[tuple[int, str]] = []  # (indent, folder) of the enclosing folders
    for line in block.splitlines():
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        name = line.split()[0]
        folders = [(i, f) for i, f in folders if i < indent]
        prefix = "".join(f for _, f in folders)
        if name.endswith("/"):
            folders.append((indent, name))
        else:
            paths.update(prefix + n for n in name.split(",") if n.endswith(".py"))
    return paths


def test_readme_tree_matches_the_package() -> None:
    package = Path(__file__).resolve().parents[1] / "crawler"
    actual = {
        str(p.relative_to(package))
        for p in package.rglob("*.py")
        if p.name not in ("__init__.py", "__main__.py") and "migrations" not in p.parts
    }
    drawn = readme_tree()
    assert not actual - drawn, f"README's tree lacks {sorted(actual - drawn)}"
    assert not drawn - actual, (
        f"README's tree names modules that do not exist: {sorted(drawn - actual)}"
    )


def _database_section() -> str:
    start = README.index("## The database")
    return README[start : README.index("\n## ", start + 1)]


def test_every_table_of_the_models_is_in_readme() -> None:
    from crawler.store.models import Base

    section = _database_section()
    missing = [name for name in Base.metadata.tables if f"`{name}`" not in section]
    assert not missing, f"README's table list lacks: {missing}"


def test_every_table_of_a_new_sqlite_database_is_in_readme(tmp_path: Path) -> None:
    """Tables made outside the models too (full-text search, migrations)."""
    from sqlalchemy import inspect

    from crawler.store.store import Store

    with Store.open(f"sqlite:///{tmp_path}/news.db") as store:
        names = inspect(store.engine).get_table_names()
    assert "articles_fts" in names
    section = _database_section()
    # FTS5's shadow tables (articles_fts_data, ...) are SQLite's, named after their table.
    missing = [n for n in names if f"`{n}`" not in section and not n.startswith("articles_fts_")]
    assert not missing, f"README's table list lacks: {missing}"


def test_readme_runs_python_only_from_the_venv() -> None:
    """The system Python has none of newsmon's dependencies: `python x.py` would fail."""
    import re

    bare = [m.group(0) for m in re.finditer(r"(?<![/\w])python3? (-m )?\S+", README)]
    assert not bare, f"README runs python outside .venv: {bare}"
