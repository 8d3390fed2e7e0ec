from django.apps import AppConfig


class Config(AppConfig):
    name = "crds_server.web"
    label = "web"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)
