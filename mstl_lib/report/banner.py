"""The provenance banner at the top of every page, and Markdown output."""

from __future__ import annotations

import importlib.metadata
import platform

from mstl_lib import __version__
from mstl_lib.engine.provenance import cpu_model, usable_cpus
from mstl_lib.nn.runtime import backend

USE_FEEDS = {
    "train": "the trained numbers (metrics, tables and figures of results)",
    "show": "the counts, samples and figures that describe the data",
}
"""Which numbers of a page a dataset feeds, by use."""


def markdown(text: str):
    """Render a markdown string as notebook output (MyST in the book)."""
    from IPython.display import Markdown  # noqa: PLC0415

    return Markdown(text)


def _dataset_line(use) -> str:
    images = f", {use.n_images} images" if use.n_images else ""
    note = f"; {use.note}" if use.note and use.kind != "real" else ""
    return f"{use.name} ({use.use}): **{use.kind}**{images}{note}"


def _weights_line(ctx) -> str:
    if not ctx.weights:
        return "no pretrained network is used on this page"
    return "; ".join(f"{name}: {info.describe()}" for name, info in ctx.weights.items())


def provenance_lines(ctx) -> list[str]:
    """The banner's facts as markdown bullet lines."""
    folder = f"`{ctx.data_root}` ({ctx.data_root_reason})" if ctx.data_root else f"none found ({ctx.data_root_reason})"
    datasets = "; ".join(_dataset_line(use) for use in ctx.uses.values()) or "none loaded yet"
    return [
        f"- **Profile**: `{ctx.profile.name}`: {ctx.profile.summary}",
        f"- **Data folder**: {folder}",
        f"- **Datasets used**: {datasets}",
        f"- **Weights**: requested `{ctx.weights_request!r}`; used: {_weights_line(ctx)}",
        f"- **Seed** {ctx.seed} · mstl_lib {__version__} · Python {platform.python_version()}",
        f"- **Ran on**: {machine_line()}",
    ]


BACKEND_DISTRIBUTIONS = {"tensorflow": ("tensorflow", "tensorflow-cpu", "tensorflow_cpu"), "jax": ("jax",),
                         "torch": ("torch",)}


def _version(*distributions: str) -> str | None:
    for name in distributions:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def machine_line() -> str:
    """Keras, its backend (and that framework's version) and the CPU: what the page's numbers were computed with."""
    name = backend()
    framework = _version(*BACKEND_DISTRIBUTIONS.get(name, (name,)))
    return (f"Keras {_version('keras') or '?'} on the `{name}` backend"
            f"{f' ({name} {framework})' if framework else ''}; {cpu_model()}, {usable_cpus()} usable CPU core(s)")


def synthetic_warning(ctx) -> str:
    """The sentence naming exactly which datasets on the page are synthetic or stand-ins, and what they feed.

    Empty when every dataset used is real.
    """
    lines = []
    for use in ctx.synthetic_uses:
        what = "phantoms from the project's generator" if use.kind == "phantom" else "a stand-in"
        lines.append(f"**{use.name}** ({use.use}) is {what}: it feeds {USE_FEEDS[use.use]}.")
    if not lines:
        return ""
    real = sorted({use.name for use in ctx.uses.values() if use.kind == "real"})
    tail = (f" The other datasets ({', '.join(real)}) are the real ones." if real else
            " No real dataset is used on this page.")
    return ("**Not all data on this page are real.** " + " ".join(lines) + tail
            + " Numbers fed by synthetic data test the pipeline and say nothing about the papers' claims.")


def random_weights_warning(ctx) -> str:
    """A sentence when ``full`` runs from random initialisation, which the caller asked for explicitly."""
    if not getattr(ctx, "random_init_requested_under_full", False):
        return ""
    return ("**Random initialisation under the full profile** (weights=None was passed): the protocol is the "
            "paper's, the starting weights are not, so no number here reproduces the paper.")


def provenance_banner(ctx):
    """A MyST admonition stating profile, data and weights; a warning naming what is synthetic."""
    warnings = [w for w in (synthetic_warning(ctx), random_weights_warning(ctx)) if w]
    kind = "warning" if warnings else "note"
    body = "\n".join(provenance_lines(ctx))
    if warnings:
        body += "\n\n" + "\n\n".join(warnings)
    return markdown(f"```{{admonition}} Provenance of the numbers on this page\n:class: {kind}\n\n{body}\n```")
