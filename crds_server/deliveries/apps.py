from django.apps import AppConfig


class Config(AppConfig):
    name = "crds_server.deliveries"
    label = "deliveries"
    default_auto_field = "django.db.models.BigAutoField"
