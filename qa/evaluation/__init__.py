"""Measuring the assistant: metrics, gold questions, the `qa eval` runner, its reports, `qa verify`, and the benchmarks (bench/)."""
