"""The chaos suite is long: `make chaos` runs it (CHATOPS_CHAOS=1); `make test` collects only its smoke."""

from __future__ import annotations

import os

collect_ignore_glob = [] if os.environ.get("CHATOPS_CHAOS") else ["test_chaos.py"]
