"""Networked index stores (prototypes); the file-based index stays in qa.index."""
