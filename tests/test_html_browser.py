"""The HTML report in a real browser: Debian's chromium, headless, driven by Playwright.

The page is opened from a ``file://`` URL with every network request recorded
and refused; the test asserts that none was attempted, that no script ran
(hostile labels included), and that the cells drawn with a background other
than an unflagged cell's are exactly the failing, review and suppressed cells of
the JSON report. It also prints the page to PDF and takes a screenshot.

Playwright never downloads a browser here: it is launched on ``/usr/bin/chromium``.
Where chromium or Playwright is missing the tests are skipped with the reason,
except in CI (``CI`` set), where that is a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from html_cases import HOSTILE, expected_status, full_report, replace_strings, with_extras

from sdc.release import write_html_report

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run",
]  # fmt: skip


def launch(playwright: Any) -> Any:
    """Chromium from the system, headless, with nothing that phones home."""
    executable = CHROMIUM if Path(CHROMIUM).is_file() else str(shutil.which("chromium"))
    return playwright.chromium.launch(executable_path=executable, args=ARGS)


def _missing() -> str | None:
    """Why the browser cannot run here, or ``None``."""
    if not (Path(CHROMIUM).is_file() or shutil.which("chromium")):
        return f"{CHROMIUM} is not installed (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[test]')"
    return None


@pytest.fixture(scope="module")
def browser(request: pytest.FixtureRequest) -> Iterator[Any]:
    reason = _missing()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"headless browser test cannot run in CI: {reason}")
        capture = request.config.pluginmanager.getplugin("capturemanager")
        with capture.global_and_fixture_disabled():
            print(f"\nskipping the headless browser tests: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch(p)
        try:
            yield b
        finally:
            b.close()


class Opened:
    """A report opened in the browser, with the requests it tried to make."""

    def __init__(self, browser: Any, path: Path) -> None:
        self.url = path.resolve().as_uri()
        self.requests: list[str] = []
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(self.url, wait_until="load")

    def _route(self, route: Any) -> None:
        if route.request.url == self.url:
            route.continue_()
        else:
            route.abort()

    def others(self) -> list[str]:
        """Requests other than the page itself."""
        return [u for u in self.requests if u != self.url]


#: Per drawn cell: output, cell, flag, computed background colour and image, marker size.
CELL_STYLES = """() => {
  const table = document.querySelector("table.grid");
  const probe = document.createElement("td");
  probe.textContent = "1";
  table.querySelector("tbody tr").appendChild(probe);
  const plain = getComputedStyle(probe).backgroundColor;
  const out = [...document.querySelectorAll("section[data-output] td[data-cell]")].map(td => {
    const s = getComputedStyle(td);
    const sup = td.querySelector("sup");
    const box = sup ? sup.getBoundingClientRect() : null;
    return [Number(td.closest("section").dataset.output), Number(td.dataset.cell),
            td.dataset.status || null, s.backgroundColor, s.backgroundImage,
            box ? box.width * box.height : 0];
  });
  probe.remove();
  return {plain, cells: out};
}"""


def test_highlighted_cells_are_exactly_the_flagged_ones(browser: Any, tmp_path: Path) -> None:
    report = full_report()
    path = write_html_report(report, tmp_path / "report.html")
    opened = Opened(browser, path)
    try:
        page = opened.page
        assert page.title() == "Output check report"
        assert page.locator("p.inside").is_visible()
        got = page.evaluate(CELL_STYLES)
        plain = got["plain"]
        highlighted = {
            (o, c) for o, c, _, bg, img, _ in got["cells"] if bg != plain or img != "none"
        }
        want = {
            (j, i)
            for j, out in enumerate(report["outputs"])
            for i, cell in enumerate(out["cells"])
            if expected_status(cell) is not None
        }
        n_cells = sum(len(o["cells"]) for o in report["outputs"])
        assert len(got["cells"]) == n_cells
        assert highlighted == want
        # One colour per kind of flag, each with a visible marker.
        colours: dict[str, set[str]] = {}
        for o, c, status, bg, _, marker in got["cells"]:
            if status is not None:
                colours.setdefault(status, set()).add(bg)
                assert marker > 0, (o, c)
        assert set(colours) == {"fail", "review", "primary", "secondary"}
        assert all(len(v) == 1 for v in colours.values())
        assert len(set().union(*colours.values())) == 4
        # A marker links to its row beside the grid.
        first = page.locator("td[data-status] sup a").first
        target = first.get_attribute("href")
        first.click()
        assert page.evaluate("location.hash") == target
        pdf = page.pdf()
        assert pdf.startswith(b"%PDF")
        shot = page.screenshot(full_page=True)
        assert shot.startswith(b"\x89PNG")
        assert opened.others() == []
    finally:
        opened.context.close()
    bare = Opened(browser, without_csp(path))
    try:
        assert bare.others() == []
    finally:
        bare.context.close()


def without_csp(path: Path) -> Path:
    """The same page without its Content-Security-Policy, which could hide a request."""
    html = path.read_text(encoding="utf-8")
    start = html.index('<meta http-equiv="Content-Security-Policy"')
    stripped = html[:start] + html[html.index(">", start) + 1 :]
    out = path.with_name(f"no-csp-{path.name}")
    out.write_text(stripped, encoding="utf-8")
    return out


@pytest.mark.parametrize("csp", [True, False], ids=["as written", "policy removed"])
def test_hostile_labels_run_nothing_and_fetch_nothing(
    browser: Any, tmp_path: Path, csp: bool
) -> None:
    benign, release = with_extras(full_report())
    report = replace_strings(benign, HOSTILE)
    path = write_html_report(report, tmp_path / "hostile.html",
                             release=replace_strings(release, HOSTILE))  # fmt: skip
    opened = Opened(browser, path if csp else without_csp(path))
    try:
        page = opened.page
        assert page.evaluate("typeof window.__pwned") == "undefined"
        assert page.evaluate("document.querySelectorAll('script, img, iframe').length") == 0
        body = page.evaluate("document.body.innerText")
        assert HOSTILE["Isles"] in body and "U+202E" in body
        assert opened.others() == []
    finally:
        opened.context.close()


def test_the_recorder_sees_a_request(browser: Any, tmp_path: Path) -> None:
    """The request log can fail: a page that asks for a style sheet is caught (and refused)."""
    path = tmp_path / "fetches.html"
    path.write_text('<!DOCTYPE html><link rel="stylesheet" href="http://127.0.0.1:9/x.css">'
                    "<p>x</p>", encoding="utf-8")  # fmt: skip
    opened = Opened(browser, path)
    try:
        assert opened.others() == ["http://127.0.0.1:9/x.css"]
    finally:
        opened.context.close()


def docs_screenshot(png: Path, width: int = 1280, height: int = 1640) -> None:
    """The picture of a typical report in the checkers' guide (docs/checkers/html-report.md):
    a protected table (primary and secondary cells), a table with failing and review cells,
    and a regression. Run ``python tests/test_html_browser.py docs/_static/html-report.png``."""
    import tempfile

    from playwright.sync_api import sync_playwright

    import sdc
    from sdc.example import example_microdata
    from sdc.release import build_report

    df = example_microdata()
    s = sdc.Session(suppress=True)
    s.crosstab(df.region, df.sex, margins=True, name="visits_by_region_sex")
    plain = sdc.Session()
    plain.crosstab(df.region, df.ageband, name="visits_by_region_age")
    plain.ols("cost ~ C(region) + C(sex)", df, name="cost_model")
    report = build_report([*s.outputs.values(), *plain.outputs.values()], s.ruleset_)
    with tempfile.TemporaryDirectory() as folder:
        path = write_html_report(report, Path(folder) / "report.html", title="Request 42")
        with sync_playwright() as p:
            b = launch(p)
            page = b.new_page(viewport={"width": width, "height": height})
            page.goto(path.resolve().as_uri())
            page.screenshot(path=str(png), clip={"x": 0, "y": 0, "width": width,
                                                 "height": height})  # fmt: skip
            b.close()


if __name__ == "__main__":
    import sys

    docs_screenshot(Path(sys.argv[1]))
