"""A phase's settings in words, for the pages that show or edit them (never raw values)."""

from __future__ import annotations

ENTRY_SELECTION = {
    "latest": "the participant's latest submission",
    "best": "the participant's best submission (by the column below)",
    "chosen": "the submission the participant chooses (their latest until they do)",
}
ENTRY_SELECTION_PUBLIC = {
    "latest": "your latest submission",
    "best": "your best submission by {column}",
    "chosen": "the submission you choose (your latest until you do)",
}
TIE_POLICY = {
    "dense": "equal values share a rank and the next rank follows on (1, 1, 2)",
    "min": "equal values share the best rank and the next ranks are skipped (1, 1, 3)",
    "average": "equal values share the mean of their ranks (1.5, 1.5, 3)",
}


def limit_words(daily: int | None, total: int | None) -> str:
    """e.g. "5 a day, no limit in total"; "no limit" when there is none."""
    if daily is None and total is None:
        return "no limit"
    parts = [
        f"{daily} a day" if daily is not None else "no daily limit",
        f"{total} in total" if total is not None else "no limit in total",
    ]
    return ", ".join(parts)
