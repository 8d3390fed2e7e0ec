from django.apps import AppConfig


class Config(AppConfig):
    name = "crds_server.replica"
    label = "replica"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (register the system checks)
