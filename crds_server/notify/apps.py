from django.apps import AppConfig


class Config(AppConfig):
    name = "crds_server.notify"
    label = "notify"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import links  # noqa: F401  (registers the check crds_server.notify.W001)
