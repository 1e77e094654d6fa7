"""The brief on any screen, in a real headless Chromium at a phone's 390 px and a desktop's 1400 px.

For a scenario report (the fixture's numbers with its brief, real figures and the What if panel on seeded draws)
and for the landing page: the page never scrolls sideways; the title, the question and the bottom line (most
likely, most dangerous, what changed, how fresh the evidence is) are inside the first screen; no visible text is
smaller than a legible size; the What if panel's before, after and change columns fit the screen. Each check would
fail on the page as it was before the brief (measured when written: at 390 px the page scrolled sideways by the
provenance block and the first screen ended in the headline table, with no bottom line). The screenshots it
checked are saved (``SHOTS``) for a person to look at.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from .test_browser import CHROMEDRIVER, CHROMIUM, driver  # noqa: F401 - the shared headless Chromium
from .whatif_draws import draws_from_fit, fake_fit

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium at /usr/bin/chromium "
                       "(apt-get install -y chromium chromium-driver)"),
]
FIXTURE = Path(__file__).parent / "fixtures" / "forecast_example.json"
SHOTS = Path(tempfile.gettempdir()) / "forecast-brief-screenshots"  # the screenshots this test checked
SCREENS = {"phone": (390, 844, True), "desktop": (1400, 900, False)}
MIN_FONT_PX = 11.0  # the smallest text a reader can read without zooming
PARTS = ("likely", "dangerous", "changed", "evidence")  # the bottom line's parts a first screen must show


@pytest.fixture(scope="module")
def pages(tmp_path_factory, cfg, inputs) -> dict[str, Path]:
    """A scenario report with a material change since the last published brief, and a landing page over it."""
    from forecast.analysis import whatif as W
    from forecast.outputs.brief import brief_data, report_links
    from forecast.outputs.landing import write_landing
    from forecast.outputs.render import render_html

    reports = tmp_path_factory.mktemp("reports")
    data = json.loads(FIXTURE.read_text(encoding="utf-8"))
    top = data["responses"][0]
    data["changes"] = {"previous": {"generated_at": "2026-12-01T02:15:00+00:00", "as_of": "2026-12-01",
                                    "mcse": {r["response"]: 0.004 for r in data["responses"]}},
                       "rows": [{"id": top["response"], "response": top["label"], "previous": top["mean"] - 0.05,
                                 "current": top["mean"], "change": 0.05, "E-2026-12-poll": 0.046,
                                 "± E-2026-12-poll": 0.003, "sampling noise only (same inputs)": 0.004}],
                       "parts": ["sampling noise only (same inputs)", "E-2026-12-poll"], "method": "Shapley values"}
    data["brief"] = brief_data(cfg, inputs, data)
    folder = reports / data["scenario"]
    folder.mkdir()
    data["brief"]["links"] = report_links(reports, reports, data["scenario"], [data["scenario"]], {})
    figures: dict[str, bytes] = {}  # the report's ranges are drawn by its page
    d = draws_from_fit(cfg, inputs, fake_fit(inputs, chains=2, draws=500, seed=3), data["scenario"],
                       command="forecast scenario=one_time_raid")
    data["whatif"] = W.summary(d)
    (folder / "forecast.json").write_text(json.dumps(data), encoding="utf-8")
    (folder / "report.html").write_text(render_html(data, figures, whatif=W.payload(d)), encoding="utf-8")
    # the same brief as a preview (what make reports and any run without publish=true write): its notice must
    # not push the bottom line's parts off a phone's first screen (a box above it did, at 390 x 844)
    preview = json.loads(json.dumps(data))
    preview["brief"].setdefault("publication", {})["status"] = "preview"
    (reports / "preview").mkdir()
    (reports / "preview" / "report.html").write_text(render_html(preview, figures, whatif=W.payload(d)),
                                                     encoding="utf-8")
    write_landing(reports)
    assert data["brief"]["bottom_line"]["changed"]["material"], "the fixture must show a material move"
    return {"report": folder / "report.html", "preview": reports / "preview" / "report.html",
            "landing": reports / "index.html"}


def _screen(drv, screen: str) -> None:
    w, h, mobile = SCREENS[screen]
    drv.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                        {"width": w, "height": h, "deviceScaleFactor": 1, "mobile": mobile})


MEASURE = """
const small = [], wide = [];
const vw = window.innerWidth;
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
while (walker.nextNode()) {
  const n = walker.currentNode, el = n.parentElement;
  if (!n.textContent.trim() || !el) continue;
  const rects = [...el.getClientRects()].filter(r => r.width > 0 && r.height > 0);
  if (!rects.length || getComputedStyle(el).visibility === 'hidden') continue;
  const fs = parseFloat(getComputedStyle(el).fontSize);
  if (fs < arguments[0]) small.push([el.tagName, fs, n.textContent.trim().slice(0, 40)]);
}
const top = id => { const e = document.querySelector(id); if (!e) return null;
                    const r = e.getBoundingClientRect(); return [r.top, r.bottom]; };
return {scrollWidth: document.documentElement.scrollWidth, innerWidth: vw, innerHeight: window.innerHeight,
        small: small, h1: top('h1'), question: top('#title p'),
        parts: Object.fromEntries(arguments[1].map(p => [p, top('.part-' + p)])),
        firstItem: Object.fromEntries(arguments[1].map(p => [p, top('.part-' + p + ' h3 + *')])),
        glance: top('#glance table')};
"""


@pytest.mark.parametrize("kind", ["report", "preview"])
@pytest.mark.parametrize("screen", list(SCREENS))
def test_report_first_screen_overflow_and_text_size(pages, driver, screen, kind):  # noqa: F811
    _screen(driver, screen)
    driver.get(pages[kind].as_uri())
    m = driver.execute_script(MEASURE, MIN_FONT_PX, list(PARTS))
    SHOTS.mkdir(exist_ok=True)
    driver.save_screenshot(str(SHOTS / f"{kind}-{screen}.png"))
    if kind == "preview":  # the page says it is a preview, in its first screen
        seen = driver.execute_script("return document.body.innerText")
        assert "· preview, " in seen and "Preview, not a published brief: " in seen, "under the title, explained"
    assert m["innerWidth"] == SCREENS[screen][0]
    assert m["scrollWidth"] <= m["innerWidth"], f"the page scrolls sideways: {m['scrollWidth']} > {m['innerWidth']}"
    assert not m["small"], f"text below {MIN_FONT_PX}px: {m['small'][:5]}"
    h = m["innerHeight"]
    assert 0 <= m["h1"][0] and m["question"][1] <= h, m  # the title and the question: first screen
    for part in PARTS:  # each part of the bottom line starts inside the first screen, with its first line
        assert m["parts"][part] is not None and m["parts"][part][0] < h, (part, m["parts"], h)
        assert m["firstItem"][part][1] <= h, (part, m["firstItem"], h)


@pytest.mark.parametrize("screen", list(SCREENS))
def test_landing_page_fits_every_screen(pages, driver, screen):  # noqa: F811
    _screen(driver, screen)
    driver.get(pages["landing"].as_uri())
    m = driver.execute_script(MEASURE, MIN_FONT_PX, [])
    driver.save_screenshot(str(SHOTS / f"landing-{screen}.png"))
    assert m["scrollWidth"] <= m["innerWidth"] and not m["small"], m
    assert m["glance"] is not None and m["glance"][0] < m["innerHeight"]  # the scenarios at a glance: first screen
    links = driver.execute_script("return [...document.querySelectorAll('a')].map(a => a.getAttribute('href'))")
    assert "one_time_raid/report.html" in links and "one_time_raid/probabilities.csv" in links


def test_whatif_panel_is_usable_on_a_phone(pages, driver):  # noqa: F811
    """On a phone the panel's table keeps the before, after and change columns on the screen (the intervals fold
    away), after an item is added."""
    from selenium.webdriver.common.by import By

    _screen(driver, "phone")
    driver.get(pages["report"].as_uri())
    driver.find_element(By.ID, "whatif-poll-share").send_keys("0.9")
    driver.find_element(By.ID, "whatif-poll-n").send_keys("1000")
    add = driver.find_element(By.ID, "whatif-add")
    driver.execute_script("arguments[0].scrollIntoView()", add)
    add.click()
    right = driver.execute_script("""
      const vw = window.innerWidth;
      return [...document.querySelectorAll('#whatif-table th')].filter(th => th.offsetWidth > 0)
        .map(th => [th.textContent, th.getBoundingClientRect().right <= vw + 0.5]);""")
    driver.save_screenshot(str(SHOTS / "whatif-phone.png"))
    shown = [name for name, _ in right]
    assert any(n.startswith("Hypothetical") for n in shown) and "change" in shown, shown
    assert all(ok for _, ok in right), right
    assert driver.execute_script("return document.documentElement.scrollWidth") <= 390
