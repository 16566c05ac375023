"""The experiment engine (kept for users' scripts): a re-export of :mod:`mstl_lib.engine`."""

from mstl_lib.engine import *  # noqa: F403
from mstl_lib.engine import __all__  # noqa: F401
from mstl_lib.report.tables import aggregate, mean_sd_column  # noqa: F401
