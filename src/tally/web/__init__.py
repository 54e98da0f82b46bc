"""The back office: server-rendered pages (Django templates + htmx) over the service layer.

Views read models and call ``tally.services``; they hold no business logic.
"""
