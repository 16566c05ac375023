"""Sphinx extension of the book: it works offline and fits its boxes.

* MathJax comes from the build folder (``scripts/fetch_mathjax.py``) instead of its CDN;
  without those files Sphinx keeps the CDN and the build says so.
* Each script is included once per page (sphinx-thebe's inline configuration is
  registered twice under Jupyter Book 1.x, and the second ``const`` is a console error).
* The theme starts in ``auto`` mode (an empty mode is a console error on a first visit).
* ``book.css``: long banner lines and wide tables wrap or scroll inside their box.
"""

from __future__ import annotations

from pathlib import Path

from sphinx.util import logging

from mstl_lib.paths import vendor_dir

STATIC = Path(__file__).resolve().parent / "static"
logger = logging.getLogger(__name__)


def local_mathjax() -> Path | None:
    """The fetched ``tex-chtml.js``, newest version first; ``None`` when none was fetched."""
    found = sorted(vendor_dir().glob("mathjax-*/tex-chtml.js"))
    return found[-1] if found else None


def use_local_assets(app, config) -> None:
    mathjax = local_mathjax()
    if mathjax is None:
        logger.info("MathJax was not fetched (python scripts/fetch_mathjax.py): math loads from its CDN")
    else:
        config.html_static_path.append(str(mathjax.parent.parent))
        config.mathjax_path = f"{mathjax.parent.name}/{mathjax.name}"
    config.html_static_path.append(str(STATIC))
    config.html_context.setdefault("default_mode", "auto")


def _script_key(script) -> tuple:
    attributes = getattr(script, "attributes", {}) or {}
    return str(getattr(script, "filename", script) or ""), tuple(sorted(attributes.items()))  # None and "" alike


def include_scripts_once(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        key = _script_key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    app.connect("config-inited", use_local_assets)
    app.connect("html-page-context", include_scripts_once, priority=900)
    app.add_css_file("book.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
