"""Benchmarks and their harnesses (`qa bench`): SQuAD as a corpus, speed and memory. Never on the path of `qa ask`."""
