"""The index: building it (build), loading and verifying it (load), its search parts (bm25, lexicon, aliases) and where it is kept (stores/)."""
