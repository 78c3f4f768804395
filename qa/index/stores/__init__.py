"""Stores an index can live in besides its default folder: PostgreSQL with pgvector (`postgres`)."""
