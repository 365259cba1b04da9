"""mfci's benchmark: `make bench` (or `.venv/bin/python -m benchmarks.run`). See README."""
