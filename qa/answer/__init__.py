"""Answering a question over a loaded index: retrieval, the question's analysis, evidence, candidate spans, grouping, conflicts, grounding, type checks, calibration, and the Answerer."""
