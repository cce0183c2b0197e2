"""The data directory is the Antenne user's alone.

It holds the SQLite database (with login sessions and every registrant's address), the secret
key, uploaded covers and the export files. The directory is created with mode 0700 and files
in it with 0600, whatever the process's umask; an existing data directory or database that
others could read is made private when Antenne starts (an installation made before this rule
is fixed by its next start). The `antenne` command also sets the umask to 077, so whatever
else a process writes there (SQLite's journal, collected static files) is private too."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

UMASK = 0o077
DIR_MODE = 0o700
FILE_MODE = 0o600


def make_private(path: Path) -> None:
    """Drops group and other permissions of an existing `path` when this user owns it (an
    operator may have given it to another user on purpose: then it is left as it is)."""
    with contextlib.suppress(OSError):  # missing, or a file system without modes
        info = path.stat()
        if info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) & 0o077:
            path.chmod(stat.S_IMODE(info.st_mode) & ~0o077)


def private_dir(path: Path) -> Path:
    """`path` as a directory only its owner may enter (created with its parents if needed)."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    make_private(path)
    return path


def private_file(path: Path) -> Path:
    """`path` as a file only its owner may read: created empty with mode 0600 if it does not
    exist (O_EXCL: never replacing one another process created meanwhile)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        make_private(path)
    else:
        os.close(fd)
    return path


def new_private_file(path: Path) -> Path:
    """`path` as an empty file with mode 0600, emptied if it exists: for a file about to be
    written (writers that reopen it keep its mode)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)
    return path
