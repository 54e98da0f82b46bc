from django.apps import AppConfig


class BreaksConfig(AppConfig):
    name = "tally.breaks"
    label = "breaks"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Plans, runs and breaks"
