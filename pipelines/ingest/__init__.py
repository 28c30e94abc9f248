"""Ingest: the landing plan, the CSV reader, validation (SQL and Great Expectations), the cache."""
