from django.apps import AppConfig


class LockerConfig(AppConfig):
    name = "locker"
    verbose_name = "Evidence Locker"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The admin pages live with the web layer (locker/web/admin.py), so autodiscovery,
        # which looks for locker/admin.py, does not find them by itself.
        from locker.web import admin  # noqa: F401

        # Its log-in and log-out receivers keep the list of each person's sessions.
        from locker.web.middleware import sessions  # noqa: F401
