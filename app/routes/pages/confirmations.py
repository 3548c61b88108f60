"""What each irreversible organizer action says before it runs (asked by ``FormPost.run``)."""

from __future__ import annotations

from app.routes.pages.forms import Confirmation

REVEAL = Confirmation(
    "Reveal the private leaderboard",
    "Every participant will see the private-split scores and the final ranking of this phase. "
    "A reveal cannot be taken back.",
)
DISQUALIFY = Confirmation(
    "Disqualify {username}",
    "{username}'s entries leave every leaderboard of this competition and they can no longer "
    "submit. They will see your reason on the competition and submit pages.",
)
HIDE = Confirmation(
    "Hide submission #{id}",
    "Submission #{id} leaves the leaderboards; its owner sees that it is hidden, with your "
    "reason. You can show it again later.",
)
WITHDRAW_KIT = Confirmation(
    "Withdraw the {label}",
    "The {label} is deleted: participants can no longer download it until you upload it again.",
)
REMOVE_ORGANIZER = Confirmation(
    "Remove {username} from the organizers",
    "{username} loses access to this competition's organizer pages at once.",
)
RESCORE = Confirmation(
    "Re-score this phase",
    "Every finished submission of this phase is scored again (on the test set you chose). "
    "Scores and rankings may change; a report lists what did.",
)


def filled(confirmation: Confirmation, **names: object) -> Confirmation:
    """The confirmation with the action's names filled in."""
    return Confirmation(
        confirmation.action.format(**names), confirmation.consequences.format(**names)
    )
