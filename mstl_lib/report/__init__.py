"""What the book shows: the provenance banner, tables and figures, built from results."""

from mstl_lib.report.banner import markdown, provenance_banner, provenance_lines
from mstl_lib.report.figures import (
    duplicate_examples,
    finish,
    finish_roc_axes,
    image_sizes,
    learning_curves,
    mask_outline,
    plot_roc,
    roc_curves,
    sample_grid,
    show_frames,
    size_histogram,
)
from mstl_lib.report.tables import aggregate, mean_sd_column, table_or_note

__all__ = [
    "aggregate", "duplicate_examples", "finish", "finish_roc_axes", "image_sizes", "learning_curves", "markdown",
    "mask_outline", "mean_sd_column", "plot_roc", "provenance_banner", "provenance_lines", "roc_curves",
    "sample_grid", "show_frames", "size_histogram", "table_or_note",
]
