"""Leak detection (trend on the memory series) and attribution (census, tracemalloc window)."""
