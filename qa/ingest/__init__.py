"""Ingestion: files to text renditions (formats/), a folder read (corpus), passages and sentences (chunking), spaCy at index time (nlp)."""
