"""Benchmarks run by hand (never by the test suite); each prints figures measured side by side in one run."""
