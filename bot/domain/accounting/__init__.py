"""Accounting of finished and running jobs: wall time, GPU-hours, cost (``usage.py``)."""
