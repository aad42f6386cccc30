"""The Dagster UI in a real headless Chromium: the pages people open show the pipeline's metadata.

Chromium is Debian's (installed by `make browser-deps`, which `make test` runs); Playwright's Python package
drives that binary, so nothing is downloaded. The page may only reach the local server: every other
request is aborted. Screenshots go to the test's temporary folder; with SPEC2PROD_UPDATE_SCREENSHOTS=1
they replace the committed ones in docs/screenshots/ that docs/ui.md shows (a test run never edits
the checkout otherwise).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Locator, Page, Route, ViewportSize, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.conftest import REPO_ROOT
from tests.e2e.conftest import DagsterDev, Run

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
COMMITTED_SCREENSHOTS = REPO_ROOT / "docs" / "screenshots"
PARTITION = "calculator"  # a spec of the bundled example: the sensor runs it on its first tick
VIEWPORT: ViewportSize = {"width": 1400, "height": 900}
UI_TIMEOUT_MS = 30_000
LOOPBACK = {"127.0.0.1", "localhost"}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: run `make browser-deps` as root"
        if os.environ.get("SPEC2PROD_BROWSER_REQUIRED") == "1":  # in CI a failed install must fail
            pytest.fail(reason)
        pytest.skip(reason)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(UI_TIMEOUT_MS)
    context.route("**/*", _loopback_only)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture(scope="module")
def finished_run(dagster_dev: DagsterDev) -> Run:
    run = dagster_dev.wait_for_run(PARTITION)
    assert run.status == "SUCCESS", dagster_dev.log_tail()
    return run


def _loopback_only(route: Route) -> None:
    if urlsplit(route.request.url).hostname in LOOPBACK:
        route.continue_()
    else:
        route.abort()


def open_page(page: Page, dagster_dev: DagsterDev, path: str) -> None:
    page.goto(f"{dagster_dev.base_url}{path}", wait_until="networkidle")
    # A first visit shows a "Join the Dagster community" dialog over the page; dismiss it.
    skip = page.get_by_role("button", name="Skip")
    try:
        skip.wait_for(state="visible", timeout=3_000)
    except PlaywrightTimeout:
        return
    skip.click()
    skip.wait_for(state="hidden")


def metadata_row(page: Page, key: str) -> Locator:
    """The table row that shows one metadata entry (key cell, then value cell)."""
    return page.locator("tr").filter(has=page.get_by_text(key, exact=True)).first


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.environ.get("SPEC2PROD_UPDATE_SCREENSHOTS") == "1":
        return COMMITTED_SCREENSHOTS
    return tmp_path_factory.mktemp("screenshots")


def screenshot(page: Page, folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path))
    return path


@pytest.mark.e2e
def test_asset_page_shows_generated_tests_metadata(
    page: Page, dagster_dev: DagsterDev, finished_run: Run, screenshots: Path
) -> None:
    open_page(page, dagster_dev, f"/assets/generated_tests?view=events&partition={PARTITION}")

    expect(page.get_by_text(f"materialized in run {finished_run.run_id[:8]}")).to_be_visible()
    for key in ("generator", "tests_accepted", "coverage_after_pct", "duration_s"):
        expect(metadata_row(page, key)).to_be_visible()
    expect(metadata_row(page, "tests_accepted")).to_have_text(re.compile(r"tests_accepted\s*\d+"))
    expect(metadata_row(page, "generator")).to_have_text(re.compile(r"generator\s*crosshair"))
    assert screenshot(page, screenshots, "asset_generated_tests").stat().st_size > 0


@pytest.mark.e2e
def test_asset_page_shows_release_candidate_traceability_and_mutation_scores(
    page: Page, dagster_dev: DagsterDev, finished_run: Run, screenshots: Path
) -> None:
    open_page(page, dagster_dev, f"/assets/release_candidate?view=events&partition={PARTITION}")

    expect(page.get_by_text(f"materialized in run {finished_run.run_id[:8]}")).to_be_visible()
    for key in ("traceability", "criteria_traced", "mutation_score_before_pct", "surviving_mutants"):
        expect(metadata_row(page, key)).to_be_visible()
    expect(metadata_row(page, "mutation_score_pct")).to_have_text(re.compile(r"mutation_score_pct\s*\d"))
    metadata_row(page, "traceability").scroll_into_view_if_needed()  # the screenshot shows these rows
    assert screenshot(page, screenshots, "asset_release_candidate").stat().st_size > 0


@pytest.mark.e2e
def test_asset_page_shows_baseline_test_results(
    page: Page, dagster_dev: DagsterDev, finished_run: Run, screenshots: Path
) -> None:
    open_page(page, dagster_dev, f"/assets/baseline_tests?view=events&partition={PARTITION}")

    for key in ("tests_passed", "tests_failed", "line_coverage_pct", "duration_s"):
        expect(metadata_row(page, key)).to_be_visible()
    expect(metadata_row(page, "tests_passed")).to_have_text(re.compile(r"tests_passed\s*[1-9]\d*"))
    assert screenshot(page, screenshots, "asset_baseline_tests").stat().st_size > 0


@pytest.mark.e2e
def test_run_page_shows_the_sensor_launched_run_and_its_assets(
    page: Page, dagster_dev: DagsterDev, finished_run: Run, screenshots: Path
) -> None:
    open_page(page, dagster_dev, f"/runs/{finished_run.run_id}")

    expect(page.get_by_text("Launched by spec_sensor")).to_be_visible()
    expect(page.get_by_text(f"partition: {PARTITION}")).to_be_visible()
    expect(page.get_by_text("Success", exact=True).first).to_be_visible()
    expect(page.get_by_text("RUN_SUCCESS").first).to_be_visible()
    assert screenshot(page, screenshots, "run_page").stat().st_size > 0


@pytest.mark.e2e
def test_sensor_page_shows_the_running_spec_sensor(
    page: Page, dagster_dev: DagsterDev, finished_run: Run, screenshots: Path
) -> None:
    open_page(page, dagster_dev, f"/locations/{dagster_dev.location_name}/sensors/spec_sensor")

    expect(page.get_by_text("Runs each new or changed spec in the project's specs/ folder")).to_be_visible()
    expect(page.get_by_role("switch").or_(page.get_by_role("checkbox")).first).to_be_checked()
    assert screenshot(page, screenshots, "sensor_page").stat().st_size > 0
