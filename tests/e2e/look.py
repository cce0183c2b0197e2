"""What a person perceives of a page, checked in the browser tests: axe-core's verdict
(zero violations, WCAG 2.1 A and AA plus axe's best practices and the label-in-name
rule) and, when asked, a screenshot
kept in docs/screenshots/ for people to look at.

    from tests.e2e.look import assert_accessible, screenshot
    assert_accessible(page, "room live, 390 px")
    screenshot(page, "room-live-390")   # written only with ANTENNE_SCREENSHOTS=1

axe-core comes from the axe-playwright-python package (it ships axe.min.js)."""

from __future__ import annotations

import os
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
# Experimental in axe-core, so outside the tags above, but a defect people meet: a control
# whose visible words are not in its accessible name (speech users say what they see).
EXTRA_RULES = ["label-content-name-mismatch"]
_axe = Axe()


def violations(page, *, exclude: list[str] | None = None) -> list[str]:
    """axe-core's violations on the page as it is now, one readable line per node."""
    context = {"exclude": [[selector] for selector in exclude]} if exclude else None
    options = {
        "resultTypes": ["violations"],
        "runOnly": {"type": "tag", "values": RULES},
        "rules": {rule: {"enabled": True} for rule in EXTRA_RULES},
    }
    results = _axe.run(page, context=context, options=options)
    found = []
    for violation in results.response["violations"]:
        for node in violation["nodes"]:
            target = " ".join(str(t) for t in node["target"])
            found.append(
                f"{violation['id']} ({violation['impact']}) at {target}: {violation['help']}"
            )
    return found


def assert_accessible(page, state: str, *, exclude: list[str] | None = None) -> None:
    """Fail with every axe-core violation of `page`, naming the page state checked."""
    found = violations(page, exclude=exclude)
    assert not found, f"axe-core on {state} ({page.url}):\n" + "\n".join(found)


def screenshot(page, name: str, *, full_page: bool = False) -> None:
    """Keep a screenshot as docs/screenshots/<name>.png when ANTENNE_SCREENSHOTS=1."""
    if os.environ.get("ANTENNE_SCREENSHOTS") != "1":
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)
