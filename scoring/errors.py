"""The base of every error the scoring engine raises for bad input."""


class ScoringError(ValueError):
    """Bad input to the scoring engine; the message says what was wrong and where."""
