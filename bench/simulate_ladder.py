"""Simulation: the "wacky boosting" attack on the public split, with and without the Ladder.

An attacker starts from honest predictions (true age plus noise), submits ``--probes`` copies
perturbed by random sign flips (``prediction ± --step`` years per item), keeps the
perturbations that looked better on the public leaderboard, and submits their majority vote
(Blum & Hardt, 2015, section 6). What "looked better" means depends on what is public:

- plain leaderboard: every submission's public MAE, exactly: keep it if below the honest one;
- rounding (``--decimals``): public MAEs rounded: keep it if it shows lower than the honest one;
- Ladder (``--threshold``): only the participant's public best, updated when a submission
  beats it by more than the threshold: keep a probe when it moved the best.

The overfitting gap is private MAE minus public MAE of the final submission (the honest
submission's own gap is printed for comparison). Labels come from ``scoring.synthetic``, the
split from ``scoring.splits.public_mask``, the policies from ``scoring.ladder``; the default
threshold is the public MAE's bootstrap standard error (``scoring.uncertainty``).

    .venv/bin/python bench/simulate_ladder.py [--n 1978] [--probes 700] [--trials 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scoring.groups import ATTRIBUTES
from scoring.ladder import PublicScorePolicy
from scoring.splits import public_mask
from scoring.synthetic import make_labels
from scoring.testset import TestSet
from scoring.uncertainty import score_intervals

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Outcome:
    """Public and private MAE of the attacker's final submission, and the probes it kept."""

    public: float
    private: float
    kept: int

    @property
    def gap(self) -> float:
        return self.private - self.public


def mae(errors: Floats) -> float:
    return float(np.mean(np.abs(errors)))


def attack(
    errors: Floats,
    public: npt.NDArray[np.bool_],
    keep: Callable[[float], bool],
    *,
    probes: int,
    step: float,
    rng: np.random.Generator,
) -> Outcome:
    """Wacky boosting on prediction errors: probe, keep what ``keep`` accepts, majority-vote."""
    signs = rng.choice(np.array([-1.0, 1.0]), size=(probes, len(errors)))
    probe_public = np.abs(errors[public][None, :] + step * signs[:, public]).mean(axis=1)
    kept = np.array([keep(float(value)) for value in probe_public], dtype=bool)
    final = errors + step * np.sign(signs[kept].sum(axis=0))
    return Outcome(mae(final[public]), mae(final[~public]), int(kept.sum()))


def plain_rule(policy: PublicScorePolicy, honest: float) -> Callable[[float], bool]:
    """Every submission's public score is shown (rounded when the policy rounds)."""
    shown_honest = policy.shown(honest)
    return lambda value: policy.shown(value) < shown_honest


def ladder_rule(policy: PublicScorePolicy, honest: float) -> Callable[[float], bool]:
    """Only the public best is shown; a probe counts when it moved the best."""
    state = {"best": policy.reveal(None, honest).best}

    def keep(value: float) -> bool:
        revealed = policy.reveal(state["best"], value)
        state["best"] = revealed.best
        return revealed.improved

    return keep


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1978, help="test-set size")
    parser.add_argument("--fraction", type=float, default=0.5, help="public share of items")
    parser.add_argument("--probes", type=int, default=700, help="perturbed submissions")
    parser.add_argument("--step", type=float, default=0.3, help="perturbation, years")
    parser.add_argument("--noise", type=float, default=6.0, help="honest error SD, years")
    parser.add_argument("--threshold", type=float, help="Ladder threshold (default: 1 SE)")
    parser.add_argument("--decimals", type=int, default=2, help="rounding of public scores")
    parser.add_argument("--trials", type=int, default=5, help="independent repetitions")
    args = parser.parse_args()

    truth: TestSet = make_labels(n=args.n, seed=0)
    codes = {a.name: truth.group_codes(a.name) for a in ATTRIBUTES}
    public = public_mask(codes, args.fraction, seed=0)
    rng = np.random.default_rng(1)
    honest_errors = rng.normal(0.0, args.noise, args.n)
    threshold = args.threshold
    if threshold is None:
        subset = truth.subset(public)
        low, high = score_intervals(subset, subset.age + honest_errors[public], seed=0).intervals[
            "mae"
        ] or (0.0, 0.0)
        threshold = (high - low) / (2 * 1.96)
    policies = {
        "plain leaderboard": (PublicScorePolicy(), plain_rule),
        f"rounded to {args.decimals} decimals": (
            PublicScorePolicy(decimals=args.decimals),
            plain_rule,
        ),
        f"Ladder, threshold {threshold:.3f}": (PublicScorePolicy(threshold=threshold), ladder_rule),
        # A quarter of the SE: to show what a lax threshold lets through.
        f"Ladder, threshold {threshold / 4:.3f}": (
            PublicScorePolicy(threshold=threshold / 4),
            ladder_rule,
        ),
    }
    print(
        f"{args.n} items, {int(public.sum())} public; {args.probes} probes of ±{args.step} years"
        f" on predictions with error SD {args.noise} years; medians of {args.trials} trials"
    )
    print(f"{'public leaderboard':34} {'public':>7} {'private':>7} {'gap':>7} {'kept':>5}")
    added = {}
    for name, (policy, rule) in policies.items():
        rows = []
        for trial in range(args.trials):
            errors = honest_errors if trial == 0 else rng.normal(0.0, args.noise, args.n)
            honest = Outcome(mae(errors[public]), mae(errors[~public]), 0)
            keep = rule(policy, honest.public)
            attacked = attack(errors, public, keep, probes=args.probes, step=args.step, rng=rng)
            # Relative to the honest submission, so the split's own sampling gap cancels.
            rows.append(
                (
                    attacked.public - honest.public,
                    attacked.private - honest.private,
                    attacked.gap - honest.gap,
                    attacked.kept,
                )
            )
        public_change, private_change, gap, kept = (
            statistics.median(c) for c in zip(*rows, strict=True)
        )
        added[name] = gap
        print(f"{name:34} {public_change:+7.3f} {private_change:+7.3f} {gap:+7.3f} {kept:5.0f}")
    plain = added["plain leaderboard"]
    print("public/private: change of MAE from the honest submission; gap: private - public,")
    print("minus the honest submission's. Share of the plain leaderboard's gap left:")
    for name, gap in added.items():
        print(f"  {name}: {gap / plain:.0%}" if plain else f"  {name}: (no gap)")


if __name__ == "__main__":
    main()
