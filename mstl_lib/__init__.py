"""The library behind the replication book: shared layers below, one package per paper above.

Shared layers (none imports a paper):

``paths``, ``seeding``    where the repository, data, build and results folders are; seeds
``profiles``              smoke / cpu / full, and each chapter's settings under them
``downloads``             the registry of files a reader may download (ImageNet weights), with checksums
``data``                  dataset registry and loaders, images, phantoms, splits, near-duplicates
``nn``                    Keras runtime and backend, backbones and their weights, heads, training,
                          BatchNorm settling, the freeze cache, operating points, Grad-CAM
``engine``                grids of (configuration, fold) tasks, executors, the atomic results store,
                          provenance
``evaluation``            metrics, bootstrap CIs, patient-level scores, tests, replication verdicts
``report``                banners, tables, figures, the scorecard: what a page shows
``context``               a notebook's parameters resolved once into a run (data, weights, profile, seed)

``papers`` holds one package per paper (``p1_mstl``, ``p2_breakhis``, ``p3_elastography``,
``p4_finetuning``), each with the same modules (see :mod:`mstl_lib.papers`); papers never import
each other. ``paper_values`` holds the papers' own printed numbers, and nothing else does.
``python -m mstl_lib`` is the command line (``runs``, ``weights``).
"""

__version__ = "0.1.0"
