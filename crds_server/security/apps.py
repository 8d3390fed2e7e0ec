from django.apps import AppConfig


class SecurityConfig(AppConfig):
    name = "crds_server.security"
    label = "security"
    verbose_name = "Security"

    def ready(self) -> None:
        from . import checks, glob  # noqa: F401  (register the system checks and the glob lookup)
