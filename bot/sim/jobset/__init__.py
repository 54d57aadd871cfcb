"""JobSet (``jobset.x-k8s.io/v1alpha2``) in the simulated cluster: its webhook's defaults and checks, and
its controller (child Jobs, the headless Service, status, restarts)."""
