"""The provenance banner at the top of every page, and Markdown output."""

from __future__ import annotations

import platform

from mstl_lib import __version__

def _markdown(text: str):
    from IPython.display import Markdown  # noqa: PLC0415

    return Markdown(text)


def provenance_lines(ctx) -> list[str]:
    """The banner's facts as markdown bullet lines."""
    used = ctx.datasets_table()
    data = "; ".join(
        f"{r.name}: **{r.kind}**" + (f" ({r.n_images} images)" if r.n_images else "")
        for r in used.itertuples()
    ) or "none loaded yet"
    folder = f"`{ctx.data_root}` ({ctx.data_root_reason})" if ctx.data_root else f"none found ({ctx.data_root_reason})"
    if ctx.weights_used:
        weights = "; ".join(f"{k}: {v}" for k, v in ctx.weights_used.items())
    else:
        weights = "no pretrained model is used on this page"
    return [
        f"- **Profile**: `{ctx.profile.name}`: {ctx.profile.summary}",
        f"- **Data folder**: {folder}",
        f"- **Datasets used**: {data}",
        f"- **Weights**: requested `{ctx.weights_request!r}`; used: {weights}",
        f"- **Seed** {ctx.seed} · mstl_lib {__version__} · Python {platform.python_version()}",
    ]


def provenance_banner(ctx):
    """A MyST admonition stating profile, data and weights; a warning when phantoms are used."""
    kind = "warning" if ctx.uses_phantoms else "note"
    title = "Provenance of the numbers on this page"
    body = "\n".join(provenance_lines(ctx))
    if ctx.uses_phantoms:
        body += (
            "\n\n**Synthetic data.** No real data folder was found, so some numbers below come "
            "from the project's phantom generator. They demonstrate the pipeline and say "
            "nothing about the papers' claims."
        )
    return _markdown(f"```{{admonition}} {title}\n:class: {kind}\n\n{body}\n```")


def markdown(text: str):
    """Render a markdown string as notebook output (MyST in the book)."""
    return _markdown(text)
