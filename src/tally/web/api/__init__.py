"""The JSON API (django-ninja), mounted at ``/api/``; OpenAPI at ``/api/openapi.json``.

``root.api`` is the one NinjaAPI; each area adds its router there. Every endpoint authenticates
(a Bearer token from ``tally token create USER``, or the browser session) and checks the same
permission as the matching page (``auth.require``).
"""
