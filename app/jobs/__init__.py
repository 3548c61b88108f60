"""Jobs: the only writer of a submission's status (``state``), leases, the runners.

``state`` holds the transition table; ``execute`` runs one job under a lease; ``runner`` is
the embedded (in-process) runner and ``worker`` the Celery one; ``sweep`` takes back jobs whose
lease expired. Importing the package loads only the dispatcher interface, so that services
may import ``app.jobs.state`` without pulling in the runners.
"""

from app.jobs.dispatch import JobDispatcher, make_dispatcher

__all__ = ["JobDispatcher", "make_dispatcher"]
