"""Run one chapter's smoke grids in this process and write what happened as JSON.

    KERAS_BACKEND=jax python tests/without_tensorflow.py tests/papers/jax_chapter_probe.py p4_finetuning out.json

``test_jax_chapters.py`` runs it with TensorFlow unimportable, as on a GPU machine with JAX only.
"""

from __future__ import annotations

import json
import sys


def probe(key: str) -> dict:
    from mstl_lib import engine, papers
    from mstl_lib.context import start_run

    run = start_run(papers.module(key, "settings").CHAPTER, profile="smoke", data_dir="auto", weights="auto", seed=0)
    store = engine.ResultsStore()
    papers.module(key, "grids").run_all(run, store, executor="local")  # smoke: a failed task raises
    import keras

    records = [r for name in store.experiments() for r in store.records(name)]
    return {"backend": keras.backend.backend(), "tensorflow_imported": "tensorflow" in sys.modules,
            "statuses": sorted({r["status"] for r in records}), "n_records": len(records),
            "record_backends": sorted({(r.get("device") or {}).get("keras_backend") for r in records} - {None})}


if __name__ == "__main__":
    key, out = sys.argv[1], sys.argv[2]
    with open(out, "w", encoding="utf-8") as handle:
        json.dump(probe(key), handle)
