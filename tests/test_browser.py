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


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[Path, str]:
    from forecast.outputs.figures.report import make_figures
    from forecast.outputs.render import render_html

    data = json.loads(FIXTURE.read_text(encoding="utf-8"))
    inner = {r["response"]: (r["hdi_low"] + 0.3 * (r["mean"] - r["hdi_low"]),
                             r["hdi_high"] - 0.3 * (r["hdi_high"] - r["mean"])) for r in data["responses"]}
    figures = make_figures(data, inner)
    page = render_html(data, figures)
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
    assert len(imgs) == 2  # the forest and prior-vs-posterior (all scenarios are a table)
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
    driver.set_window_size(1280, 1000)

    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, height + 200)
    driver.save_screenshot(str(SCREENSHOT))
    assert SCREENSHOT.stat().st_size > 10_000
