"""Benchmark helpers: timing statistics and typed latency records (numpy only)."""
