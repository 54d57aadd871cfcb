"""Kueue for ``chatops sim --kueue``: the v1beta2 kinds, the visibility API and an admission controller."""
