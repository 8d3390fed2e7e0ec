from django.apps import AppConfig


class Config(AppConfig):
    name = "crds_server.accounts"
    label = "accounts"
    default_auto_field = "django.db.models.BigAutoField"
