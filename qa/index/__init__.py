"""The index: its files (files), building it (build, embed), the loaded index (loaded) and opening it (load), its search parts (bm25, lexicon, aliases), and where it is kept (stores/)."""
