from django.apps import AppConfig


class Config(AppConfig):
    name = "crds_server.locks"
    label = "locks"
    default_auto_field = "django.db.models.BigAutoField"
