from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "tally.web"
    label = "web"
    verbose_name = "Back office"
