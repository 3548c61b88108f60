"""Jobs: the only writer of a submission's status (``state``), leases, the runners.

``state`` holds the transition table; ``execute`` runs one job under a lease; ``runner`` is
the embedded (in-process) runner and ``worker`` the Celery one; ``sweep`` takes back jobs whose
lease expired; ``dispatch`` is the interface the web process hands jobs to. The package
itself imports nothing, so that services may import ``app.jobs.state`` alone.
"""
