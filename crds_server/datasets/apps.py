from django.apps import AppConfig


class Config(AppConfig):
    name = "crds_server.datasets"
    label = "datasets"
    default_auto_field = "django.db.models.BigAutoField"
