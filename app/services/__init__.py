"""Use cases. Services take a Session, never commit and never speak HTTP."""
