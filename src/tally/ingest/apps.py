from django.apps import AppConfig


class IngestConfig(AppConfig):
    name = "tally.ingest"
    label = "ingest"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Sources and bills"
