"""Helper library of the multistage-transfer-learning replication book.

One module per concern:

``paths``           where the repository, data and build folders are
``images``          reading images and masks with clear errors
``datasets``        loaders (BUSI, Mendeley, MT-Small, DDTI, BreakHis, folders)
``phantoms``        synthetic ultrasound and cell-line phantoms
``splits``          stratified / grouped / nested cross-validation splits
``near_duplicates`` perceptual-hash duplicate clusters
``nn.runtime``      the Keras backend and input pipeline (TensorFlow only where installed), seeding
``models``          backbone factory and ImageNet weight resolution
``nn.pipeline``     batches from arrays: tf.data, or a NumPy PyDataset without TensorFlow
``training``        augmentation, schedules, optimizers, fit
``metrics``         classification metrics and fold summaries
``profiles``        smoke / cpu / full settings, in one place
``provenance``      what produced a page: profile, data, weights, versions
``report``          banners, tables and figures for the book
"""

__version__ = "0.1.0"
