"""Every page of the smoke book, opened in headless Chromium as a reader would open it.

A page loads with no console error (offline: MathJax is served locally), every image
loads, no link inside the book is broken, no page shows a traceback or an error output,
content wraps or scrolls inside its box, and each chapter shows its provenance banner
above its first result and its parameters once. A screenshot of every page goes to
``build/screenshots/``. Without Chromium the test is skipped with a notice (and fails
under CI, which installs it).
"""

from __future__ import annotations

import os

import pytest
from book_site import site_pages, toc_pages
from browser import Chromium, broken_links, check_page, find_chromium, open_session

import run_notebooks
from mstl_lib.paths import screenshots_dir

CHROMIUM = find_chromium()
if CHROMIUM is None:
    message = "Chromium not found (apt-get install chromium): the rendered book was not checked in a browser"
    if os.environ.get("CI"):
        raise RuntimeError(message)
    pytest.skip(message, allow_module_level=True)

CHAPTERS = {f"build/notebooks/{name}" for name in run_notebooks.book_notebooks()}
PAGES = [*toc_pages(), "genindex", "search"]


@pytest.fixture(scope="module")
def browser():
    with Chromium(CHROMIUM) as chromium:
        yield chromium, open_session(chromium)


@pytest.fixture(scope="module")
def reports(smoke_book, browser):
    """The report of every page of the smoke book, by resolved path; screenshots saved."""
    chromium, session = browser
    shots = screenshots_dir()
    out = {}
    for page in site_pages(smoke_book):
        shot = shots / page.relative_to(smoke_book).with_suffix(".png")
        out[page.resolve()] = check_page(chromium, session, page, shot)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_page_reads_well(page, smoke_book, reports):
    report = reports[(smoke_book / f"{page}.html").resolve()]
    problems = report.problems(chapter=page in CHAPTERS)
    assert not problems, f"{page}.html:\n  " + "\n  ".join(problems)
    assert report.screenshot.stat().st_size > 0


@pytest.mark.slow
def test_every_page_was_checked(smoke_book, reports):
    others = [p for p in reports if p not in {(smoke_book / f"{page}.html").resolve() for page in PAGES}]
    problems = {str(p.relative_to(smoke_book.resolve())): reports[p].problems() for p in others}
    assert not {page: found for page, found in problems.items() if found}


@pytest.mark.slow
def test_no_link_inside_the_book_is_broken(smoke_book, reports):
    broken = broken_links(reports, smoke_book)
    assert not broken, "\n".join(broken)


# ---------------------------------------------------------------------- the checker itself

BAD_CHAPTER = """<!DOCTYPE html><html><head><title>bad</title></head><body><main>
<div class="cell docutils container"><div class="cell_input docutils container">
<pre>profile = "cpu"\nseed = 0</pre></div></div>
<div class="cell docutils container"><div class="cell_input docutils container">
<pre># Parameters\nprofile = "smoke"</pre></div></div>
<div class="cell_output docutils container"><table><tr><td>0.93</td></tr></table></div>
<div class="admonition note"><p class="admonition-title">Provenance of the numbers on this page</p>
<p style="width: 200px">{long}</p></div>
<div class="cell_output docutils container"><img src="missing.png" alt="a figure"></div>
<div class="cell_output docutils container"><img src="missing.png" alt="../_images/abc.png"></div>
<div class="cell_output docutils container"><div class="output traceback highlight-ipythontb">
<pre>Traceback (most recent call last):\n  File "x.py", line 1\nValueError: bad</pre></div></div>
<a href="nowhere.html">a link</a> <a href="#no-such-anchor">an anchor</a>
<script>console.error("a console error");</script>
</main></body></html>
""".replace("{long}", "/a/very/long/path/" * 30)

GOOD_CHAPTER = """<!DOCTYPE html><html><head><title>good</title></head><body><main>
<div class="admonition note"><p class="admonition-title">Provenance of the numbers on this page</p>
<p>profile smoke</p></div>
<div class="cell docutils container"><div class="cell_input docutils container">
<pre>profile = "smoke"</pre></div></div>
<div class="cell_output docutils container"><table><tr><td>0.93</td></tr></table></div>
<a href="good.html#here" id="here">here</a>
</main></body></html>
"""


@pytest.fixture
def pages(tmp_path):
    (tmp_path / "bad.html").write_text(BAD_CHAPTER)
    (tmp_path / "good.html").write_text(GOOD_CHAPTER)
    return tmp_path


def test_checker_passes_a_good_page(pages, browser):
    chromium, session = browser
    report = check_page(chromium, session, pages / "good.html", pages / "good.png")
    assert report.problems(chapter=True) == []
    assert broken_links({(pages / "good.html").resolve(): report}, pages) == []
    assert (pages / "good.png").read_bytes().startswith(b"\x89PNG")


def test_checker_reports_a_bad_page(pages, browser):
    chromium, session = browser
    report = check_page(chromium, session, pages / "bad.html")
    problems = "\n".join(report.problems(chapter=True))
    assert "image not loaded: missing.png" in problems
    assert problems.count("image without alt text: missing.png") == 1  # a file name is no alt text
    assert "Traceback (most recent call last)" in problems
    assert "console error: a console error" in problems
    assert "a result is shown above the provenance banner" in problems
    assert "the parameters are shown 2 times" in problems
    assert "content wider than its box" in problems
    broken = "\n".join(broken_links({(pages / "bad.html").resolve(): report}, pages))
    assert "nowhere.html: no such file" in broken
    assert "no anchor #no-such-anchor" in broken


MATH_PAGE = """<!DOCTYPE html><html><head><title>math</title>
<script defer src="{src}"></script></head><body><main><p>\\(x^2 + \\sqrt{{y}}\\)</p>
$$\\frac{{a}}{{b}} \\cancel{{c}}$$</main></body></html>
"""


@pytest.mark.slow
def test_math_renders_offline_with_the_mathjax_the_book_ships(smoke_book, browser):
    shipped = sorted(smoke_book.glob("_static/mathjax-*/tex-chtml.js"))
    if not shipped:
        message = "the book ships no MathJax (python scripts/fetch_mathjax.py needs npm): math needs a connection"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    chromium, session = browser
    page = smoke_book / "_mathjax_check.html"
    page.write_text(MATH_PAGE.format(src=shipped[-1].relative_to(smoke_book).as_posix()))
    try:
        report = check_page(chromium, session, page)
        rendered = chromium.evaluate("document.querySelectorAll('mjx-container').length", session)
    finally:
        page.unlink()
    assert report.problems() == []
    assert rendered == 2, "MathJax did not typeset the page's two formulas"
