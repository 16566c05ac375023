"""One smoke P1 task on the phantom folder, on whatever Keras backend is in force (run by test_backends.py).

``probe(phantom_dir, weights_file, out_dir)`` does two things and returns a JSON-able dict:

* the deterministic piece: P1's stage-2 network with the weights of ``weights_file``
  (written there first when missing), BatchNorm settled on fold 0's training images,
  scores on its test images;
* the whole task: fold 0 of chapter 02's CTL grid (P1's smoke configuration, random
  initialisation) through the engine, into ``$MSTL_RESULTS_DIR``.

Run as a script (``python backend_probe.py PHANTOM_DIR WEIGHTS_FILE OUT_JSON``) it
writes that dict to ``OUT_JSON``; the caller chooses the backend (``KERAS_BACKEND``)
and whether TensorFlow can be imported.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

SIZE = 32
"""Side of the smoke profile's images."""


def probe(phantom_dir: str, weights_file: str, out_dir: str | None = None) -> dict:
    from mstl_lib import engine
    from mstl_lib.context import start_run
    from mstl_lib.data import tables
    from mstl_lib.nn import batchnorm, runtime, training
    from mstl_lib.papers.p1_mstl import grids, protocol, tasks
    from mstl_lib.papers.p1_mstl.settings import CHAPTER

    run = start_run(CHAPTER, profile="smoke", data_dir=phantom_dir, weights=None, seed=0)
    grid = grids.engine_tour(run)
    context = grid.context
    table = tables.binary_table(context["data_source"], context.get("grouping", "image"), context.get("max_images"),
                                int(context["seed"]), per_class=context.get("per_class"))
    part = protocol.nested_fold(table, 0, context)
    images = tables.image_array(tuple(table["path"]), SIZE)

    runtime.set_seed(0)
    model, _ = tasks.stage2_architecture("ResNet50", (SIZE, SIZE, 3))
    if Path(weights_file).is_file():
        model.load_weights(weights_file)
    else:
        model.save_weights(weights_file)
    settled = batchnorm.settle_batchnorm(model, images[part.train])
    scores = np.asarray(model.predict(training.make_dataset(images[part.test], None, 16), verbose=0)).reshape(-1)

    result = engine.run_grid(grid, select={"fold": 0}, progress=False)
    (record,) = engine.load_records(None, grid.name) if result.n_total == 1 else [None]
    return {
        "backend": runtime.backend(),
        "pipeline": runtime.input_pipeline(),
        "tensorflow_imported": sys.modules.get("tensorflow") is not None,
        "settled_layers": settled.n_layers,
        "test_rows": part.test.tolist(),
        "scores": scores.tolist(),
        "task": {"status": record["status"], "metrics": record["metrics"], "rows": record["predictions"]["row"],
                 "y_score": record["predictions"]["y_score"], "history": record["history"],
                 "device": record.get("device", {}), "error": record.get("error")},
    }


if __name__ == "__main__":
    phantom, weights, out = sys.argv[1:4]
    Path(out).write_text(json.dumps(probe(phantom, weights)))
