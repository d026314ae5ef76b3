"""The web UI on ``obs serve``: static pages (``static/``, hand-written JS, no build step) and the JSON
views they read under ``/api/v1/ui/`` (one module per page; routes in :mod:`lineage.serve.routes.ui`)."""
