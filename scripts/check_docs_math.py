"""Check that the built site typesets its formulas in a real browser, offline.

Loads a page of the built site (the Adam page by default) in headless Chromium,
lets its scripts run, dumps the resulting DOM and checks that:

* MathJax was loaded from the site itself (every ``<script src>`` is a relative
  path, none from the network);
* MathJax typeset the math: at least ``--min`` ``<mjx-container>`` elements, and
  no ``<mjx-merror>`` (a formula MathJax could not parse);
* no raw TeX delimiters ``\\(`` / ``\\[`` are left in the page's text.

Usage (after ``python -m sphinx -W -b html docs docs/_build/html``)::

    python scripts/check_docs_math.py [--site docs/_build/html]
        [--page generated/optimizers/adam.html] [--min 10] [--browser chromium]

Exits 0 and prints the count when the math is typeset, 1 with the reason
otherwise, 2 when no Chromium is found (Debian: ``apt-get install chromium``).
"""
from __future__ import annotations

import argparse
import html.parser
import pathlib
import shutil
import subprocess
import sys
import tempfile

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
DEFAULT_SITE = pathlib.Path(__file__).resolve().parents[1] / "docs" / "_build" / "html"
DEFAULT_PAGE = "generated/optimizers/adam.html"


def find_browser(name: str | None = None) -> str | None:
    """The path of a Chromium-like browser: ``name`` if given, else the first found."""
    for candidate in ([name] if name else BROWSERS):
        path = shutil.which(candidate)
        if path:
            return path
    return None


def dump_dom(browser: str, page: pathlib.Path, budget_ms: int = 20000, timeout: float = 90) -> str:
    """The page's DOM after its scripts ran (``--virtual-time-budget`` lets them finish)."""
    with tempfile.TemporaryDirectory(prefix="docs-math-") as profile:
        cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-extensions", "--disable-background-networking",
               f"--user-data-dir={profile}", f"--virtual-time-budget={budget_ms}",
               "--dump-dom", page.resolve().as_uri()]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0 or "<html" not in done.stdout.lower():
        raise RuntimeError(f"{browser} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return done.stdout


class _Scan(html.parser.HTMLParser):
    """Counts MathJax's elements and collects script sources and visible text."""

    def __init__(self):
        super().__init__()
        self.containers = self.errors = 0
        self.scripts: list = []
        self.text: list = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag == "mjx-container":
            self.containers += 1
        elif tag == "mjx-merror":
            self.errors += 1
        elif tag == "script":
            src = dict(attrs).get("src")
            if src:
                self.scripts.append(src)
        if tag in ("script", "style", "mjx-assistive-mml"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style", "mjx-assistive-mml") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)


def check(dom: str, minimum: int) -> tuple[bool, str]:
    """(ok, message) for a dumped DOM."""
    scan = _Scan()
    scan.feed(dom)
    remote = [s for s in scan.scripts if s.startswith(("http:", "https:", "//"))]
    mathjax = [s for s in scan.scripts if "mathjax" in s.lower()]
    text = "".join(scan.text)
    problems = []
    if remote:
        problems.append(f"scripts loaded from the network: {remote}")
    if not mathjax:
        problems.append("no MathJax script on the page")
    if scan.containers < minimum:
        problems.append(f"{scan.containers} typeset formulas (<mjx-container>), expected at least {minimum}")
    if scan.errors:
        problems.append(f"{scan.errors} formulas MathJax could not parse (<mjx-merror>)")
    if "\\(" in text or "\\[" in text:
        problems.append("raw TeX delimiters left in the page's text")
    if problems:
        return False, "; ".join(problems)
    return True, f"{scan.containers} formulas typeset by {mathjax[0]}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", type=pathlib.Path, default=DEFAULT_SITE, help="the built HTML site")
    parser.add_argument("--page", default=DEFAULT_PAGE, help="the page to load, relative to --site")
    parser.add_argument("--min", type=int, default=10, dest="minimum", help="formulas expected at least")
    parser.add_argument("--browser", default=None, help="browser executable (default: the first Chromium found)")
    args = parser.parse_args(argv)
    page = args.site / args.page
    if not page.is_file():
        print(f"check_docs_math: {page} does not exist; build the site first "
              "(python -m sphinx -W -b html docs docs/_build/html)", file=sys.stderr)
        return 1
    browser = find_browser(args.browser)
    if browser is None:
        print(f"check_docs_math: no Chromium found (tried {', '.join([args.browser] if args.browser else BROWSERS)})",
              file=sys.stderr)
        return 2
    ok, message = check(dump_dom(browser, page), args.minimum)
    print(f"check_docs_math: {args.page}: {message}", file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
