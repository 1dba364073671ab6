"""`make bench`: how fast and how big the audit is at health-system scale (bench/run.py).
Never part of `make test`; generated extracts and run databases live in bench/cache/ (ignored)."""
