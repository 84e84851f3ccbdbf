from django.apps import AppConfig


class LockerConfig(AppConfig):
    name = "locker"
    verbose_name = "Evidence Locker"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Deploy checks of our own (manage.py check --deploy), registered on import. The admin
        # pages live with the web layer (locker/web/admin.py), so autodiscovery, which looks
        # for locker/admin.py, does not find them by itself.
        from locker.infra import checks  # noqa: F401
        from locker.services import security
        from locker.web import admin  # noqa: F401

        # The security log listens to Django's log-in, password and admin-change signals.
        security.connect_signals()
        # Its log-in and log-out receivers keep the list of each person's sessions.
        from locker.web.middleware import sessions  # noqa: F401
