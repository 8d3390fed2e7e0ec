from django.apps import AppConfig


class Config(AppConfig):
    name = "crds_server.reprocessing"
    label = "reprocessing"
    default_auto_field = "django.db.models.BigAutoField"
