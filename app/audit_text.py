"""The audit log in words: each recorded action as a sentence, its details as short phrases.

Any stored record renders: an unknown action or an odd detail value is shown as it is, in words
where possible, never as a Python repr.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ACTIONS: dict[str, str] = {
    "competition.create": "created the competition",
    "competition.update": "changed the competition's details",
    "phase.create": "added {target}",
    "phase.update": "changed the settings of {target}",
    "phase.reveal": "revealed the private leaderboard of {target}",
    "phase.rescore": "re-scored {target}",
    "phase.repoint": "moved {target} to another test set",
    "organizer.add": "made {name} an organizer",
    "organizer.remove": "removed {name} from the organizers",
    "participant.disqualify": "disqualified {name}",
    "participant.requalify": "lifted the disqualification of {name}",
    "submission.hide": "hid {target} from the leaderboards",
    "submission.unhide": "showed {target} on the leaderboards again",
    "submission.rerun": "ran {target} again",
    "baseline.add": "added the baseline {target}",
    "kit.upload": "uploaded a file for {target}",
    "kit.delete": "withdrew a file of {target}",
    "testset.upload": "uploaded a test set",
}
"""The action filter offers these; the log may hold others, shown by their code."""

DETAIL_LABELS = {
    "testset_id": "test set",
    "public_fraction": "public share",
    "daily_limit": "daily limit",
    "total_limit": "total limit",
    "entry_selection": "leaderboard entry",
    "primary_column": "column for 'best'",
    "tie_policy": "ties",
    "previous_reason": "earlier reason",
    "previous_status": "earlier state",
}


@dataclass(frozen=True)
class AuditLine:
    """One audit entry as the page says it."""

    sentence: str
    details: tuple[str, ...]


def _target_words(target: str | None) -> tuple[str, str]:
    """``"phase 3"`` → ("phase 3", "3"); ``"user bob"`` → ("bob", "bob")."""
    kind, _, name = (target or "").partition(" ")
    if kind == "user":
        return name, name
    if kind in ("phase", "submission", "competition") and name:
        label = f"{kind} #{name}" if kind == "submission" else f"{kind} {name}"
        return label, name
    return target or "", target or ""


def words(value: Any) -> str:
    """A stored detail value in words."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(words(item) for item in value) or "none"
    if isinstance(value, Mapping):
        return "; ".join(f"{label(key)} {words(item)}" for key, item in value.items())
    return str(value)


def label(key: Any) -> str:
    return DETAIL_LABELS.get(str(key), str(key).replace("_", " "))


def _detail_phrases(details: Mapping[str, Any]) -> tuple[str, ...]:
    phrases: list[str] = []
    for key, value in details.items():
        if key == "changes" and isinstance(value, Mapping):
            for field, change in value.items():
                if isinstance(change, Mapping) and {"from", "to"} <= change.keys():
                    phrases.append(
                        f"{label(field)} from {words(change['from'])} to {words(change['to'])}"
                    )
                else:
                    phrases.append(f"{label(field)}: {words(change)}")
        elif value not in ("", None):
            phrases.append(f"{label(key)}: {words(value)}")
    return tuple(phrases)


def describe(
    action: str, actor: str | None, target: str | None, details: Mapping[str, Any]
) -> AuditLine:
    """The sentence for one audit entry, e.g. "lecturer disqualified bob"."""
    target_label, name = _target_words(target)
    template = ACTIONS.get(action)
    doing = (
        template.format(target=target_label, name=name)
        if template
        else f"did {action}" + (f" on {target_label}" if target_label else "")
    )
    who = actor or "a deleted user"
    return AuditLine(f"{who} {doing}", _detail_phrases(details))
