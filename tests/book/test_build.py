"""The book builds from the smoke-run notebooks with warnings as errors."""

from __future__ import annotations

from book_site import toc_pages


def test_every_page_of_the_toc_is_built(smoke_book):
    missing = [page for page in toc_pages() if not (smoke_book / f"{page}.html").is_file()]
    assert not missing, f"pages of _toc.yml without HTML: {missing}"


def test_the_smoke_book_shows_smoke_numbers(smoke_book):
    chapter = next(smoke_book.glob("build/notebooks/*.html"))
    assert "<code class=\"docutils literal notranslate\"><span class=\"pre\">smoke</span></code>" in \
        chapter.read_text(encoding="utf-8"), f"{chapter.name}: the banner does not say profile smoke"
