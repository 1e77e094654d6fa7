"""The HTML report in a real headless Chromium: it renders, its images load, it fetches nothing."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FIXTURE = Path(__file__).parent / "fixtures" / "forecast_example.json"
SCREENSHOT = Path(tempfile.gettempdir()) / "report_screenshot.png"  # for a human to look at

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium at /usr/bin/chromium "
                       "(apt-get install -y chromium chromium-driver)"),
]


def _quartiles(r: dict) -> tuple[float, float, float]:
    """Quartiles inside a response's HDI, none at its mean (the early fixture report kept none)."""
    lo, hi = r["hdi_low"], r["hdi_high"]
    return lo + 0.3 * (hi - lo), lo + 0.45 * (hi - lo), lo + 0.62 * (hi - lo)


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[Path, str]:
    import pandas as pd

    from forecast.outputs.figures import history
    from forecast.outputs.render import render_html

    data = json.loads(FIXTURE.read_text(encoding="utf-8"))
    for r in data["responses"]:  # the quartiles a report keeps (this early one did not)
        r["q25"], r["median"], r["q75"] = _quartiles(r)
    replay = pd.DataFrame({"as_of": ["2026-01-16", "2026-02-01"] * 2, "scenario": [data["scenario"]] * 4,
                           "response": ["a", "a", "b", "b"], "mean": [0.2, 0.3, 0.6, 0.5]})
    data["history"] = {"figure": "history", "command": "forecast history --replay", "dates": ["2026-02-01"],
                       "arrivals": {}}
    page = render_html(data, history.files(replay, data["scenario"]))
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(page, encoding="utf-8")
    return path, page


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    if not CHROMEDRIVER.exists():
        pytest.skip("needs chromedriver at /usr/bin/chromedriver (apt-get install -y chromium-driver)")
    profile = tmp_path_factory.mktemp("chromium-profile")
    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1280,1000", f"--user-data-dir={profile}"):
        opts.add_argument(arg)
    drv = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=opts)
    drv.set_page_load_timeout(60)
    try:
        yield drv
    finally:
        drv.quit()
        shutil.rmtree(profile, ignore_errors=True)


def test_report_renders_in_chromium(report, driver):
    from selenium.webdriver.common.by import By

    path, page = report
    data = json.loads(FIXTURE.read_text(encoding="utf-8"))
    driver.get(path.as_uri())
    assert driver.execute_script("return document.readyState") == "complete"
    assert data["title"] in driver.title
    h1 = driver.find_element(By.TAG_NAME, "h1")
    assert h1.text.strip() == data["title"] and h1.is_displayed()
    body = driver.find_element(By.TAG_NAME, "body").text
    for r in data["responses"]:
        assert r["label"] in body

    imgs = driver.find_elements(By.TAG_NAME, "img")
    assert len(imgs) == 1  # the history (the ranges, what moved and all scenarios are drawn by the page)
    for img in imgs:
        assert driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth", img) > 0
        assert img.get_attribute("src").startswith("data:image/png;base64,")

    # nothing was fetched but the page itself and data: URIs
    resources = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert all(name.startswith("data:") for name in resources), resources
    nav = driver.execute_script("return performance.getEntriesByType('navigation').map(e => e.name)")
    assert nav == [path.as_uri()]

    # and nothing could be: no remote src, no stylesheet link, no script, no CSS url()
    assert not re.search(r"""\bsrc\s*=\s*["']?\s*(https?:)?//""", page, flags=re.IGNORECASE)
    assert not re.search(r"<link\b", page, flags=re.IGNORECASE)
    assert "<script" not in page.lower() and "url(" not in page

    # the page fits its width (tables scroll inside their own box, not the page)
    width = driver.execute_script("return document.documentElement.scrollWidth")
    assert width <= driver.execute_script("return window.innerWidth") + 1
    # ... and at a laptop width no table needs its scroll bar
    overflow = driver.execute_script(
        "return [...document.querySelectorAll('.table-wrap')].filter(e => e.scrollWidth > e.clientWidth + 1)"
        ".map(e => e.querySelector('th').textContent)")
    assert overflow == []

    # on a phone all scenarios side by side keep their columns and fit (the heatmap figure showed one of them), each
    # cell on its own shade (the zebra stripes do not cover it)
    driver.set_window_size(390, 900)
    grid = driver.execute_script(
        "const t = document.querySelector('table.heat'); const w = t.closest('.table-wrap');"
        "const cells = [...t.querySelectorAll('td.heat')];"
        "return [w.scrollWidth - w.clientWidth, getComputedStyle(t.querySelector('thead')).display, cells.length,"
        " new Set(cells.map(c => getComputedStyle(c).backgroundColor)).size]")
    n_cells = sum(len(v) for v in data["all_scenarios"].values())
    assert grid[0] <= 1 and grid[1] != "none" and grid[2] == n_cells and grid[3] > 20, grid
    # ... and the ranges are drawn in their two tables, which fit: every bar has a width and its dot inside it, at
    # the median's place (the forest and prior-vs-posterior figures showed a phone their labels, the plots off-screen)
    ranges = driver.execute_script(
        "const s = document.getElementById('figures');"
        "const wraps = [...s.querySelectorAll('.table-wrap')].filter(w => w.querySelector('.range'));"
        "const bars = [...s.querySelectorAll('.range')].map(r => { const b = r.getBoundingClientRect();"
        " const d = r.querySelector('.dot').getBoundingClientRect(); return [b.width, (d.left + d.width / 2 - b.left)"
        " / b.width]; });"
        "return [wraps.length, Math.max(...wraps.map(w => w.scrollWidth - w.clientWidth)), bars,"
        " getComputedStyle(s.querySelector('.range.prior')).color, getComputedStyle(s.querySelector('.range.post'))"
        ".color]")
    n = len(data["responses"])
    assert ranges[0] == 2 and ranges[1] <= 1 and len(ranges[2]) == 3 * n, ranges[:2]
    assert all(w >= 80 for w, _ in ranges[2]), ranges[2]
    top = max(data["responses"], key=lambda r: r["mean"])
    assert ranges[2][0][1] == pytest.approx(_quartiles(top)[1], abs=0.03)  # the first row's dot: the top's median
    assert ranges[3] != ranges[4]  # the article's prior and the forecast in two colours
    driver.set_window_size(1280, 1000)

    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, height + 200)
    driver.save_screenshot(str(SCREENSHOT))
    assert SCREENSHOT.stat().st_size > 10_000
