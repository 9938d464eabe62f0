"""Browser tests: Playwright drives Debian's /usr/bin/chromium (never a downloaded browser)."""

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# The probe's flags: no sandbox as root, no background traffic on a closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{call.when}", report)
    shots = item.funcargs.get("shots") if hasattr(item, "funcargs") else None
    if report.when == "call" and report.failed and shots is not None:
        # Now, while the pages are still open: fixtures close them on teardown.
        for page in shots.pages:
            try:
                shots(page, "failure")
            except Exception:  # noqa: BLE001 - a dead page; keep the earlier shots
                pass


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: `make test` installs Debian's chromium package.")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the
    # tests make between browser steps are still synchronous.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


class Shots:
    """A screenshot after every step; kept only when the test fails."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0
        self.pages = []

    def __call__(self, page, name: str) -> None:
        self.count += 1
        self.folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(self.folder / f"{self.count:02d}-{name}.png"), full_page=True)


@pytest.fixture
def shots(request):
    folder = ARTIFACTS / request.node.name
    shutil.rmtree(folder, ignore_errors=True)
    recorder = Shots(folder)
    yield recorder
    failed = getattr(request.node, "rep_call", None) is None or request.node.rep_call.failed
    if not failed:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def new_page(browser, shots):
    """Opens a desktop-sized Chinese-locale page in a context of its own (its own
    cookies), kept for failure screenshots and closed after the test."""
    contexts = []

    def open_page():
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        shots.pages.append(page)
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def sign_in(new_page, live_server):
    """Signs a user in on a new page, starting at ``path`` (the sign-in page by default)."""

    def sign_in(username: str, password: str, path: str = "/accounts/login/"):
        page = new_page()
        page.goto(live_server.url + path)
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.click("button[type=submit]")
        return page

    return sign_in


# axe-core from the npm registry, pinned by package-lock.json (`make test` runs npm ci).
AXE_SCRIPT = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.0, 2.1 and 2.2, levels A and AA.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
AXE_FAILING_IMPACTS = ("serious", "critical")


def axe_violations(page, impacts=AXE_FAILING_IMPACTS) -> list[dict]:
    """axe-core's WCAG 2 A/AA violations on the page as shown now, of the given impacts."""
    if not AXE_SCRIPT.exists():
        pytest.fail(f"axe-core not found at {AXE_SCRIPT}: `make test` installs it (npm ci).")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        # Evaluated through the DevTools protocol: the page's Content-Security-Policy does not apply.
        page.evaluate(AXE_SCRIPT.read_text(encoding="utf-8") + "\n;true")
    results = page.evaluate(
        """async (tags) => await window.axe.run(document, {
            runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]})""",
        AXE_TAGS,
    )
    return [v for v in results["violations"] if v["impact"] in impacts]


def describe_violations(violations: list[dict]) -> str:
    """One block per rule: id, impact, help, then each element's selector and what axe found."""
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} [{v['helpUrl'].split('?')[0]}]")
        for node in v["nodes"]:
            target = " ".join(" >>> ".join(t) if isinstance(t, list) else t for t in node["target"])
            summary = " ".join(node.get("failureSummary", "").split())
            lines.append(f"    {target}: {summary}")
    return "\n".join(lines)


@pytest.fixture
def axe():
    """``axe(page)`` fails the test on every serious or critical WCAG 2 A/AA violation
    axe-core finds on the page as it is shown now, listing each rule and element."""

    def check(page, what: str = "") -> None:
        violations = axe_violations(page)
        if violations:
            count = sum(len(v["nodes"]) for v in violations)
            where = what or page.url
            pytest.fail(
                f"axe-core: {count} serious or critical violation(s) on {where} ({page.url}):\n"
                + describe_violations(violations),
                pytrace=False,
            )

    return check
