"""Settings and URLs for `benchmarks/token_bench.py`: Wharf's, plus a trivial JSON view."""
