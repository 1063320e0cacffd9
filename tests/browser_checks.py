"""What every browser journey checks on the pages it visits (issue 19).

- ``assert_accessible``: axe-core (npm, pinned in ui/package.json, installed by ``make setup``) finds no WCAG 2.0
  A/AA violation (JIS X 8341-3:2016 AA). The page's CSP forbids injected <script> tags, so axe's source is
  evaluated through the DevTools protocol, which CSP does not govern; the page itself is unchanged.
- ``assert_same_look_by_menu``: the page reached through a boosted link (the menu: htmx swaps only <body>) has the
  same computed styles on its tables, cards and forms as the same page loaded in full.
- ``assert_refusal_visible``: a refused action shows its Japanese message on screen and holds the focus.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

from tests.conftest import PROJECT_ROOT

AXE_SOURCE = PROJECT_ROOT / "ui" / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.0 A and AA: the success criteria JIS X 8341-3:2016 adopts.
WCAG20_AA = ["wcag2a", "wcag2aa"]

# Elements whose look the page styles decide, and the properties that show whether those styles applied.
LOOK_SELECTORS = (".data-table", ".data-table th", ".data-table td", ".timetable", ".timetable td", ".panel", ".cards",
                  ".form", ".form-field", ".facts", ".sub-nav", ".status", "table", "th", "td")
LOOK_PROPERTIES = ("display", "border-collapse", "border-top-width", "border-top-style", "border-top-color",
                   "background-color", "padding-top", "padding-left", "margin-bottom", "gap", "max-width",
                   "grid-template-columns", "text-align", "font-size", "font-weight", "color", "border-radius")


def axe_violations(page) -> list[dict]:
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(AXE_SOURCE.read_text(encoding="utf-8"))
    found = page.evaluate(
        "axe.run(document, {runOnly: {type: 'tag', values: %s}, resultTypes: ['violations']})"
        ".then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' ') + ' :: ' + n.failureSummary.split('\\n').slice(1).join(' ')).slice(0, 5)})))"
        % json.dumps(WCAG20_AA)
    )
    return found


def assert_accessible(page, where: str = "") -> None:
    violations = axe_violations(page)
    assert violations == [], f"axe (WCAG 2.0 AA) on {where or page.url}:\n" + "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']}\n    " + "\n    ".join(v["nodes"]) for v in violations
    )


def computed_look(page) -> dict:
    return page.evaluate(
        "(() => { const out = {}; for (const sel of %s) { const el = document.querySelector('#content ' + sel);"
        " if (!el) continue; const cs = getComputedStyle(el); out[sel] = {};"
        " for (const p of %s) out[sel][p] = cs.getPropertyValue(p); } return out; })()"
        % (json.dumps(LOOK_SELECTORS), json.dumps(LOOK_PROPERTIES))
    )


def wait_settled(page, before: int) -> None:
    deadline = time.monotonic() + 20
    while page.evaluate("window.__settled || 0") <= before:
        assert time.monotonic() < deadline, "the page was not updated"
        page.wait_for_timeout(25)


SETTLE_COUNTER = "document.addEventListener('htmx:afterSettle', () => { window.__settled = (window.__settled || 0) + 1 })"


def boosted_visit(page, path: str) -> None:
    """Go to ``path`` the way a menu link does: a link inside the boosted <body>, clicked (htmx swaps the body)."""
    page.evaluate("window.__settled = window.__settled || 0;"
                  "document.addEventListener('htmx:afterSettle', () => { window.__settled += 1 })")
    before = page.evaluate("window.__settled")
    page.evaluate(
        "(() => { const a = document.createElement('a'); a.href = %s; a.id = 'menu-probe'; a.textContent = 'probe';"
        " document.querySelector('#content').appendChild(a); htmx.process(a); })()" % json.dumps(path)
    )
    page.click("#menu-probe")
    wait_settled(page, before)


def assert_same_look_by_menu(page, base_url: str, path: str) -> None:
    """Full load of ``path``, then the same page reached by a boosted link from home: the same computed styles."""
    page.goto(base_url + path)
    full = computed_look(page)
    if not full:
        return  # a page without tables, panels or forms (home without cards): nothing page-styled to compare
    page.goto(base_url + "/")
    boosted_visit(page, path)
    by_menu = computed_look(page)
    assert by_menu == full, f"{path} looks different reached by the menu:\n" + "\n".join(
        f"{sel}.{p}: menu {by_menu.get(sel, {}).get(p)!r} / full {v!r}"
        for sel, props in full.items() for p, v in props.items() if by_menu.get(sel, {}).get(p) != v
    )


def assert_refusal_visible(page, text: str) -> None:
    """The server's refusal is on screen, in an alert region that holds the keyboard focus."""
    region = page.locator(".action-refusal, #form-errors, [data-refusal]").filter(has_text=text).first
    region.wait_for(state="visible", timeout=10000)
    assert region.get_attribute("role") == "alert"
    # htmx moves the focus when the swap settles (kyosei.js, htmx:afterSettle), a moment after the text is shown
    from playwright.sync_api import TimeoutError as NotWithinTime

    try:
        page.wait_for_function("el => el === document.activeElement", arg=region.element_handle(), timeout=3000)
    except NotWithinTime:
        raise AssertionError("focus did not move to the refusal") from None
    screenshot(page, "refusal")


def assert_journey_page(page, base_url: str, path: str) -> None:
    """What every page of a journey owes the user: no WCAG 2.0 AA violation, the same look by menu and by URL.

    Leaves the browser on ``path`` (reached through a boosted link), ready for the journey's next step."""
    page.goto(base_url + path)
    assert_accessible(page, path)
    assert_same_look_by_menu(page, base_url, path)
    screenshot(page, path)


# -- screenshots for review (python -m infra.screenshots) --------------------------------------------------------
_shots: dict[str, int] = {}
JOURNEY_NAMES = {"test_cases_browser": "1-intake", "test_meetings_browser": "2-meeting-chain",
                 "test_programs_browser": "3-enrolment", "test_grants_browser": "4-grants-report",
                 "test_prefecture_browser": "5-onboarding"}
_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f-]{27}")


def screenshot(page, what: str) -> None:
    """With ``KYOSEI_SCREENSHOTS=<folder>``: the visible 1280×800 page as ``<journey>-<nn>-<what>.png``."""
    folder = os.environ.get("KYOSEI_SCREENSHOTS")
    if not folder:
        return
    test = Path(os.environ.get("PYTEST_CURRENT_TEST", "journey").split("::")[0]).stem
    journey = JOURNEY_NAMES.get(test, test.removeprefix("test_"))
    _shots[journey] = _shots.get(journey, 0) + 1
    slug = re.sub(r"[^0-9A-Za-z぀-ヿ一-鿿_-]+", "_", _ID.sub("id", what)).strip("_") or "home"
    Path(folder).mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(Path(folder) / f"{journey}-{_shots[journey]:02d}-{slug}.png"))


def assert_fits_320(page, base_url: str, path: str) -> None:
    """At 320 CSS px (WCAG 1.4.10's reflow width) the page scrolls only vertically; wide tables scroll themselves."""
    size = page.viewport_size
    page.set_viewport_size({"width": 320, "height": 640})
    try:
        page.goto(base_url + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 320, f"{path} is {width}px wide at 320px"
    finally:
        page.set_viewport_size(size)
