"""Dataset loaders (kept for users' scripts): a re-export of :mod:`mstl_lib.data`."""

from mstl_lib.data import *  # noqa: F403
from mstl_lib.data import __all__  # noqa: F401
