from django.apps import AppConfig


class LockerConfig(AppConfig):
    name = "locker"
    verbose_name = "Evidence Locker"
    default_auto_field = "django.db.models.BigAutoField"
