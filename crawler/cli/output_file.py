"""Writing a command's output to a file all at once, or not at all.

The text goes to a hidden file beside the target, which replaces the target only when the
whole output is written; an interrupted export never leaves a truncated file where a
complete one was expected. Because the target is replaced, only a regular file or a path
that does not exist yet is accepted: a symbolic link, a FIFO, a device or a directory
named by mistake is refused rather than silently turned into a regular file.
"""

from __future__ import annotations

import os
import secrets
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from crawler.errors import OutputError, UsageError

STDOUT = "-"

_KINDS = (
    (stat.S_ISLNK, "a symbolic link"),
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


@contextmanager
def output_to(target: str | None, option: str = "--output") -> Iterator[TextIO]:
    """Standard output for None or ``-``; else a file that appears whole when the block ends.

    UsageError (exit 2) when ``target`` names something other than a regular file or a new
    path in an existing directory; OutputError (exit 1) when the file cannot be written.
    """
    if target is None or target == STDOUT:
        yield sys.stdout
        return
    path = Path(target)
    existing_mode = _check_target(path, option)
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from None
    try:
        with open(fd, "w", encoding="utf-8", newline="") as out:
            if existing_mode is not None:
                os.fchmod(fd, existing_mode)  # replaced, the file keeps its permissions
            yield out
            out.flush()
            os.fsync(fd)
        _check_target(path, option)  # still a regular file or absent: it may have changed
        os.replace(partial, path)
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from None
    finally:
        partial.unlink(missing_ok=True)


def _check_target(path: Path, option: str) -> int | None:
    """The permission bits of the regular file at ``path``, None when there is none yet."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        _check_directory(path, option)
        return None
    except NotADirectoryError:
        raise _refused(path, option, f"{_first_non_directory(path)} is not a directory") from None
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    for is_kind, kind in _KINDS:
        if is_kind(mode):
            raise _refused(path, option, f"{kind}, not a regular file")
    return stat.S_IMODE(mode)


def _check_directory(path: Path, option: str) -> None:
    directory = path.parent
    try:
        is_directory = stat.S_ISDIR(os.stat(directory).st_mode)
    except FileNotFoundError:
        raise _refused(path, option, f"no directory {str(directory)!r}") from None
    except NotADirectoryError:
        is_directory = False
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    if not is_directory:
        raise _refused(path, option, f"{_first_non_directory(path)} is not a directory")


def _first_non_directory(path: Path) -> str:
    # The component that stops the path: "notes.txt" in notes.txt/out.jsonl.
    for parent in reversed(path.parents):
        if parent.exists() and not parent.is_dir():
            return repr(str(parent))
    return repr(str(path.parent))


def _refused(path: Path, option: str, why: str) -> UsageError:
    return UsageError(
        f"{option} {str(path)!r}: {why} (give a regular file, a new path or '-' for"
        " standard output)"
    )
