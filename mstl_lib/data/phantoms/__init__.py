"""Synthetic ultrasound and cell-line phantoms, deterministic under a seed (see :mod:`.ultrasound`)."""

from mstl_lib.data.phantoms.cells import cell_phantom, write_cell_phantoms
from mstl_lib.data.phantoms.data_dir import write_phantom_data_dir
from mstl_lib.data.phantoms.ultrasound import (
    CELL_LINES,
    GENERATOR_VERSION,
    PHANTOM_DATASETS,
    PHANTOM_SCALES,
    LesionCues,
    render_ultrasound,
    sample_lesion_cues,
    ultrasound_phantom,
    write_ultrasound_phantoms,
)

__all__ = [
    "CELL_LINES", "GENERATOR_VERSION", "PHANTOM_DATASETS", "PHANTOM_SCALES", "LesionCues", "cell_phantom",
    "render_ultrasound", "sample_lesion_cues", "ultrasound_phantom", "write_cell_phantoms",
    "write_phantom_data_dir", "write_ultrasound_phantoms",
]
