"""The simulated kube-apiserver: Kubernetes REST over HTTP/1.1 on a ``ThreadingHTTPServer``."""

from __future__ import annotations

import threading
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from bot.sim import access_review, openapi
from bot.sim.handler import RequestRecord, SimHTTPServer
from bot.sim.routes import Api

if TYPE_CHECKING:
    from bot.sim.cluster import SimCluster

__all__ = ["RequestRecord", "SimServer"]


class SimServer:
    """Serves ``cluster`` over HTTP; ``start``/``stop`` also run the cluster's controller thread."""

    def __init__(self, cluster: SimCluster, host: str = "127.0.0.1", port: int = 0) -> None:
        self.cluster = cluster
        self.api = Api(cluster.store, cluster.read_log)
        self.request_log: list[RequestRecord] = []
        self.denied_access: set[access_review.Denial] = set()  # access reviews answered allowed: false
        self._log_lock = threading.Lock()
        self._httpd = SimHTTPServer((host, port), self)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        host = self._httpd.server_address[0]
        return f"http://{host!s}:{self.port}"

    def record(self, rec: RequestRecord) -> None:
        with self._log_lock:
            self.request_log.append(rec)

    def start(self) -> SimServer:
        self.cluster.start()
        # Field validation and /openapi need the client's models; load them before the first create.
        threading.Thread(target=openapi.schemas, name="sim-openapi", daemon=True).start()
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name="sim-apiserver", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self.cluster.store.close_watches()
        self._httpd.close_connections()
        self._httpd.server_close()
        self.cluster.stop()

    def __enter__(self) -> SimServer:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def write_kubeconfig(self, path: str | Path, context: str = "sim") -> Path:
        from bot.sim.discovery import kubeconfig_yaml

        out = Path(path)
        out.write_text(kubeconfig_yaml(self.url, context))
        return out

    def api_client(self) -> Any:
        """A ``kubernetes.client.ApiClient`` pointed at this server with no credentials."""
        from kubernetes import client

        return client.ApiClient(client.Configuration(host=self.url))
