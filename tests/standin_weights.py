"""Architecture-correct stand-ins for the ImageNet weights files, under their exact names.

Random weights of the right shapes, written the way the real files are (Keras's legacy
HDF5 layout for ``*_notop.h5``; a converted ``.weights.h5`` with its conversion record
for the torchvision layouts), into ``<keras_home>/models``, plus a manifest of their
checksums for :data:`mstl_lib.downloads.MANIFEST_ENV`. Only the checksum is bypassed:
the files go through the same lookup, check and loading as the published ones.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py

from mstl_lib import downloads


def write_standin_weights(keras_home: Path, backbones) -> Path:
    """Write stand-in ImageNet files of ``backbones`` under ``keras_home/models``; return the manifest's path."""
    from keras.src.legacy.saving import legacy_h5_format

    from mstl_lib.nn import backbones as registry
    from mstl_lib.nn import torchvision_models as tvm

    folder = Path(keras_home) / "models"
    folder.mkdir(parents=True, exist_ok=True)
    checksums = {}
    for name in dict.fromkeys(registry.canonical_name(b) for b in backbones):
        download = downloads.weights_download(name)
        if download.converted_file:
            model = tvm.ARCHITECTURES[name](include_top=False, weights=None, input_shape=(224, 224, 3))
            path = folder / download.converted_file
            model.save_weights(path)
        else:
            size = max(registry.BACKBONES[name].min_size, 75)
            model = registry.BACKBONES[name].constructor(include_top=False, weights=None, input_shape=(size, size, 3))
            path = folder / download.file_name
            with h5py.File(path, "w") as handle:
                legacy_h5_format.save_weights_to_hdf5_group(handle, model)
        checksums[path.name] = downloads.file_digests(path)[1]
    manifest = Path(keras_home) / "standin_manifest.json"
    manifest.write_text(json.dumps(checksums, indent=2), encoding="utf-8")
    return manifest
