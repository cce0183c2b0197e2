"""A minimal iCalendar reader for tests, written from RFC 5545 independently of the writer:
unfold, split content lines, unescape TEXT, group components."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_ESCAPE = re.compile(r"\\([\\;,nN])")


def physical_lines(text: str) -> list[bytes]:
    """The lines as sent, in octets, without their CRLF. Fails on a bare LF or CR."""
    data = text.encode()
    assert data.endswith(b"\r\n"), "the object must end with CRLF"
    lines = data[:-2].split(b"\r\n")
    for line in lines:
        assert b"\n" not in line, f"bare LF in {line!r}"
        assert b"\r" not in line, f"bare CR in {line!r}"
    return lines


def unfold(text: str) -> list[str]:
    return text.replace("\r\n ", "").replace("\r\n\t", "").removesuffix("\r\n").split("\r\n")


def unescape(value: str) -> str:
    return _ESCAPE.sub(lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


@dataclass
class Component:
    name: str
    properties: list[tuple[str, str]] = field(default_factory=list)
    children: list[Component] = field(default_factory=list)

    def get(self, name: str) -> str:
        values = [v for n, v in self.properties if n.split(";")[0] == name]
        assert len(values) == 1, f"{name}: {len(values)} values in {self.name}"
        return values[0]

    def text(self, name: str) -> str:
        return unescape(self.get(name))

    def has(self, name: str) -> bool:
        return any(n.split(";")[0] == name for n, _v in self.properties)

    @property
    def events(self) -> list[Component]:
        return [c for c in self.children if c.name == "VEVENT"]


def parse(text: str) -> Component:
    """The VCALENDAR of `text`; fails on anything malformed."""
    stack: list[Component] = []
    root: Component | None = None
    for line in unfold(text):
        name, sep, value = line.partition(":")
        assert sep, f"not a content line: {line!r}"
        if name == "BEGIN":
            component = Component(value)
            if stack:
                stack[-1].children.append(component)
            stack.append(component)
        elif name == "END":
            assert stack, f"END:{value} without BEGIN"
            assert stack[-1].name == value, f"END:{value} does not close BEGIN:{stack[-1].name}"
            closed = stack.pop()
            if not stack:
                root = closed
        else:
            assert stack, f"property outside a component: {line!r}"
            stack[-1].properties.append((name, value))
    assert root is not None
    assert not stack
    assert root.name == "VCALENDAR"
    return root
