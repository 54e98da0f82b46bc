from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "tally.web"
    label = "web"
    verbose_name = "Back office"

    def ready(self) -> None:
        from tally.web import lockout  # noqa: F401 (connects the failed-login signals)
