from django.apps import AppConfig


class Config(AppConfig):
    name = "crds_server.jobs"
    label = "jobs"
    default_auto_field = "django.db.models.BigAutoField"
