"""One setting: an environment variable, its default and its documented meaning."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Setting:
    """`default` is the value used when the variable is unset, written as it would be in the
    environment (`"30"`, `"true"`, `"5/900"`): the readers in `values.py` parse it like a set
    value, and docs/settings.md shows it. It is empty when the setting has no value by default
    or when `settings.py` computes it from others; `shown` then says in docs/settings.md what
    that means ("(empty: no link)", "ISSUER/token").

    With `blank_is_default`, a variable set to an empty value (or, for a list, to no item)
    counts as unset; otherwise an empty value is taken as it is.
    """

    name: str
    default: str
    help: str
    group: str
    shown: str = ""
    blank_is_default: bool = False

    def __post_init__(self) -> None:
        if bool(self.default) == bool(self.shown):
            raise ValueError(f"{self.name}: give either a default or, when it is empty, `shown`")

    @property
    def documented_default(self) -> str:
        """The default as docs/settings.md states it."""
        return self.shown or self.default
