from django.apps import AppConfig


class Config(AppConfig):
    name = "crds_server.rpc"
    label = "rpc"
    default_auto_field = "django.db.models.BigAutoField"
