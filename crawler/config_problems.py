"""Findings in settings.toml as one-line, plain-English problems naming file, feed and key::

    settings.toml: feeds[2] (name='herald-ukraine').shedule: unknown key (did you mean 'schedule'?)

Pydantic's errors are rewritten here (where they are, what was expected, what was found);
problems pydantic cannot see, such as a feed name used twice or a TOML syntax error, are
found here too.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from crawler.config_values import bare_host, show_value

_EXPECTED = {
    "int_type": "an integer", "int_parsing": "an integer", "int_from_float": "an integer",
    "float_type": "a number", "float_parsing": "a number", "bool_type": "true or false",
    "bool_parsing": "true or false", "string_type": "a string", "tuple_type": "an array",
    "list_type": "an array", "model_type": "a table", "model_attributes_type": "a table",
    "dict_type": "a table",
}  # fmt: skip
# The key that names an item in the messages.
_LABELS = {"feeds": "name", "sites": "domain", "alerts": "name"}


def describe_toml_error(exc: tomllib.TOMLDecodeError) -> str:
    """``Invalid value (at line 3, column 11)`` → ``line 3, column 11: Invalid value``."""
    match = re.fullmatch(r"(.*) \((?:at line (\d+), column (\d+)|at end of document)\)", str(exc))
    if match is None:
        return str(exc)
    message, line, column = match.groups()
    return f"line {line}, column {column}: {message}" if line else f"at end of file: {message}"


def find_duplicates(data: dict[str, Any], path: str) -> list[str]:
    """Feed names and site domains given twice (checked on the raw tables, so duplicates are
    reported even when other keys are wrong)."""
    problems: list[str] = []
    for section, key, what in (("feeds", "name", "feed name"), ("sites", "domain", "domain")):
        items = data.get(section)
        seen: dict[str, int] = {}
        for index, item in enumerate(items if isinstance(items, list) else []):
            value = item.get(key) if isinstance(item, dict) else None
            if not isinstance(value, str):
                continue
            normal = bare_host(value) if section == "sites" else value
            if normal in seen:
                where = f"{section}[{index}]{_label(section, index, data)}.{key}"
                also = f"{section}[{seen[normal]}]"
                problems.append(f"{path}: {where}: duplicate {what} {value!r}, also at {also}")
            else:
                seen[normal] = index
    return problems


def describe_error(
    error: Any,
    data: dict[str, Any],
    path: str,
    root: type[BaseModel],
    sections: Mapping[str, type[BaseModel]],
) -> str:
    """One pydantic error of validating ``data`` as ``root`` → one problem line.

    ``sections`` maps the name of a table (or of a feed's kind) to its model, so that an
    unknown key can be matched against the keys that model has.
    """
    loc: tuple[int | str, ...] = tuple(error["loc"])
    kind, ctx = error["type"], error.get("ctx", {})
    model = root
    for part in loc[:-1]:
        model = sections.get(str(part), model)
    kinds = {name for name, section in sections.items() if "kind" in section.model_fields}
    if len(loc) >= 3 and loc[0] == "feeds" and loc[2] in kinds:
        loc = loc[:2] + loc[3:]  # pydantic inserts the discriminator value; users never wrote it
    if kind == "extra_forbidden":
        keys = [k for k in model.model_fields if k != "source_path"]
        close = difflib.get_close_matches(str(loc[-1]), keys, n=1, cutoff=0.7)
        message = "unknown key" + (f" (did you mean {close[0]!r}?)" if close else "")
    elif kind == "missing":
        message = "required key missing"
    elif kind in ("union_tag_invalid", "union_tag_not_found"):
        loc += ("kind",)
        expected = f"expected {', '.join(sorted(kinds)[:-1])} or {sorted(kinds)[-1]}"
        message = (
            f"unknown kind {ctx['tag']!r} ({expected})"
            if kind == "union_tag_invalid"
            else f"required key missing ({expected})"
        )
    elif kind == "literal_error":
        message = f"expected {ctx['expected']} (got {show_value(error['input'])})"
    elif kind in _EXPECTED:
        message = f"expected {_EXPECTED[kind]} (got {show_value(error['input'])})"
    else:
        message = str(error["msg"]).removeprefix("Value error, ")
    where = _where(loc, data)
    return f"{path}: {where}: {message}" if where else f"{path}: {message}"


def _label(section: object, index: int, data: dict[str, Any]) -> str:
    key = _LABELS.get(str(section))
    items = data.get(str(section))
    if key and isinstance(items, list) and index < len(items) and isinstance(items[index], dict):
        value = items[index].get(key)
        if isinstance(value, str):
            return f" ({key}={value!r})"
    return ""


def _where(loc: tuple[int | str, ...], data: dict[str, Any]) -> str:
    parts: list[str] = []
    for position, part in enumerate(loc):
        if isinstance(part, int) and parts:
            parts[-1] += f"[{part}]"
            if position == 1:
                parts[-1] += _label(loc[0], part, data)
        else:
            parts.append(str(part))
    return ".".join(parts)
