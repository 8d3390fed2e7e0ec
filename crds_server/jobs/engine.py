"""The job engine: Huey, configured in settings (SQLite storage embedded, Redis for many machines).

Domain apps declare their tasks with these decorators; `crds-server run`
starts a consumer, and `crds-server run_huey` runs consumers alone.
"""

from huey.contrib.djhuey import HUEY, db_periodic_task, db_task, lock_task  # noqa: F401
