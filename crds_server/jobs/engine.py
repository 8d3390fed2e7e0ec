"""The job engine: Huey, configured in settings (SQLite storage embedded, Redis for many machines).

Domain apps declare their tasks with these decorators; a periodic task that
must not run twice at once adds `@leased(name)` (a lock that expires, see
leases.py) under `@db_periodic_task`.  `crds-server run` starts a consumer,
and `crds-server run_huey` runs consumers alone; every consumer runs the
scheduler (schedule.py makes each tick enqueue a task once).
"""

from huey.contrib.djhuey import HUEY, db_periodic_task, db_task  # noqa: F401

from .leases import LeaseHeld, held, leased  # noqa: F401
