"""Synthetic extracts for demos, tests and benchmarks."""
