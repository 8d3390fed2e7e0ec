from django.apps import AppConfig


class Config(AppConfig):
    name = "crds_server.submissions"
    label = "submissions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import fitsverify  # noqa: F401  (registers its system check)
