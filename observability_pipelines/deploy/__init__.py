"""Deployment recipes: a PostgreSQL-backed Dagster instance and the project's jobs on Celery workers."""
