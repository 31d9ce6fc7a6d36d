"""Benchmarks: `make bench`, `make bench-quick`, `make bench-overhead` (see BENCHMARKS.md)."""
