"""Benchmarks and their harnesses (`qa bench`): SQuAD as a corpus, TAT-QA, web pages, speed and memory. Never on the path of `qa ask`."""
