"""The API's routers, one module per concern: health, ingest, lineage queries, rca, metrics."""
