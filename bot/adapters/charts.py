"""PNG charts with matplotlib's Agg backend (no display, thread-safe use through the OO API).

matplotlib is imported on the first chart, not with the bot: it is a second of start-up for a chart
that most runs never draw."""

from __future__ import annotations

import datetime as dt
import io
import threading

Series = list[tuple[float, float]]


def usage_png(util: dict[str, Series], alloc: dict[str, Series], title: str, labels: dict[str, str]) -> bytes:
    """Two panels (utilization %, allocation %) with one line per GPU type; ``labels`` names the types."""
    _load_backend()
    from matplotlib.dates import DateFormatter
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 5.5), dpi=100)  # Figure, not pyplot: no global state shared by threads
    top, bottom = fig.subplots(2, 1, sharex=True)
    for ax, data, ylabel in ((top, util, "utilization %"), (bottom, alloc, "allocated %")):
        for model, points in sorted(data.items()):
            if points:
                xs = [dt.datetime.fromtimestamp(t, dt.UTC) for t, _ in points]
                ax.plot(xs, [v for _, v in points], label=labels.get(model, model))
        ax.set_ylabel(ylabel)
        ax.set_ylim(0, 105)
        ax.grid(True, alpha=0.3)
    top.set_title(title)
    top.legend(loc="upper left", fontsize="small")
    bottom.xaxis.set_major_formatter(DateFormatter("%m-%d %H:%M"))  # type: ignore[no-untyped-call]
    fig.autofmt_xdate()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


_backend_lock = threading.Lock()


def _load_backend() -> None:
    import matplotlib

    with _backend_lock:  # before pyplot's first import anywhere: a server has no display
        if matplotlib.get_backend().lower() != "agg":
            matplotlib.use("Agg")
