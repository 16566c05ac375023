"""What a chapter's records say of the weights their networks started from, read from one field.

Every task record holds ``weights``: name -> entry, where an entry is
:meth:`mstl_lib.nn.weights.WeightsInfo.record` (``used`` is the kind: ``"imagenet"``,
``"file"`` or ``"random"``, with ``requested`` and ``description``), or, for a task that
returned none, the run's resolved identity. Reports ask this module; none parses the
display line ``weights_used``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from mstl_lib.nn.weights import is_random_request

KINDS = ("imagenet", "file", "random")
"""The kinds of initial weights (``WeightsInfo.used``)."""


def weights_entries(records: Iterable[Mapping]) -> list[dict]:
    """Every network's weights entry in ``records`` (raw store records), in order."""
    entries = []
    for record in records:
        found = record.get("weights")
        if isinstance(found, Mapping):
            entries.extend(dict(entry) for entry in found.values() if isinstance(entry, Mapping))
    return entries


def weights_kinds(entries: Iterable[Mapping]) -> list[str]:
    """The distinct kinds of ``entries``, sorted; an entry without a known kind counts as ``"unknown"``."""
    return sorted({entry.get("used") if entry.get("used") in KINDS else "unknown" for entry in entries})


def weights_descriptions(entries: Iterable[Mapping]) -> list[str]:
    """The distinct lines that describe ``entries`` (their kind where an entry has no description), sorted."""
    return sorted({str(entry.get("description") or entry.get("used") or "unknown") for entry in entries})


def random_requested(entries: Iterable[Mapping]) -> bool:
    """Whether every random entry was asked for (``weights=None``), rather than a fallback for missing ImageNet
    weights; False when there is no random entry or an entry does not say what was requested."""
    random = [entry for entry in entries if entry.get("used") == "random"]
    return bool(random) and all("requested" in entry and is_random_request(entry["requested"]) for entry in random)
