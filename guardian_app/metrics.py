"""Prometheus metrics in the text exposition format, without a dependency.

Only what the App needs: counters and histograms with labels, and gauges
whose value the scrape reads (the queue depth lives in the store, which the
``/metrics`` route asks off the event loop before rendering).

The App counts in two processes (the webhook's and the workers',
``guardian_app.background``): the workers' process hands over its
``Metrics.state()``, and the scrape renders both added together, as one
exposition.
"""

from __future__ import annotations

import threading
from typing import cast

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

LabelValues = tuple[str, ...]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(names: tuple[str, ...], values: LabelValues, extra: str = "") -> str:
    parts = [f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=False)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _number(value: float) -> str:
    if value == float("inf"):
        return "+Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


class _Metric:
    kind = ""

    def __init__(self, name: str, help: str, labels: tuple[str, ...] = ()) -> None:
        self.name = name
        self.help = help
        self.label_names = labels
        self._lock = threading.Lock()

    def header(self) -> list[str]:
        return [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]

    def render(self, others: Sequence[object] = ()) -> list[str]:
        """The samples, with ``others`` (what ``state()`` gave, in another process) added."""
        raise NotImplementedError

    def state(self) -> object:
        """The values, as plain data that pickles."""
        return None


class Counter(_Metric):
    kind = "counter"

    def __init__(self, name: str, help: str, labels: tuple[str, ...] = ()) -> None:
        super().__init__(name, help, labels)
        self._values: dict[LabelValues, float] = {}

    def inc(self, *labels: str, amount: float = 1.0) -> None:
        with self._lock:
            self._values[labels] = self._values.get(labels, 0.0) + amount

    def value(self, *labels: str) -> float:
        return self._values.get(labels, 0.0)

    def state(self) -> dict[LabelValues, float]:
        with self._lock:
            return dict(self._values)

    def render(self, others: Sequence[object] = ()) -> list[str]:
        values = self.state()
        for other in others:
            for key, value in cast("dict[LabelValues, float]", other).items():
                values[key] = values.get(key, 0.0) + value
        items = sorted(values.items())
        return [*self.header(), *(f"{self.name}{_labels(self.label_names, k)} {_number(v)}" for k, v in items)]


class Gauge(_Metric):
    """A value read when scraped; None when it could not be read (the
    metric is listed without a sample, and the scrape goes on)."""

    kind = "gauge"

    def render_value(self, value: float | None) -> list[str]:
        if value is None:
            return self.header()
        return [*self.header(), f"{self.name} {_number(value)}"]

    def render(self, others: Sequence[object] = ()) -> list[str]:
        return self.render_value(None)


class Histogram(_Metric):
    kind = "histogram"

    def __init__(self, name: str, help: str, buckets: tuple[float, ...], labels: tuple[str, ...] = ()) -> None:
        super().__init__(name, help, labels)
        self.buckets = (*sorted(buckets), float("inf"))
        self._counts: dict[LabelValues, list[int]] = {}
        self._sums: dict[LabelValues, float] = {}

    def observe(self, value: float, *labels: str) -> None:
        with self._lock:
            counts = self._counts.setdefault(labels, [0] * len(self.buckets))
            for i, bound in enumerate(self.buckets):
                if value <= bound:
                    counts[i] += 1
            self._sums[labels] = self._sums.get(labels, 0.0) + value

    def count(self, *labels: str) -> int:
        counts = self._counts.get(labels)
        return counts[-1] if counts else 0

    def state(self) -> tuple[dict[LabelValues, list[int]], dict[LabelValues, float]]:
        with self._lock:
            return {k: list(v) for k, v in self._counts.items()}, dict(self._sums)

    def render(self, others: Sequence[object] = ()) -> list[str]:
        lines = self.header()
        all_counts, sums = self.state()
        for other in others:
            other_counts, other_sums = cast("tuple[dict[LabelValues, list[int]], dict[LabelValues, float]]", other)
            for key, counts in other_counts.items():
                mine = all_counts.setdefault(key, [0] * len(self.buckets))
                all_counts[key] = [a + b for a, b in zip(mine, counts, strict=True)]
                sums[key] = sums.get(key, 0.0) + other_sums.get(key, 0.0)
        items = sorted(all_counts.items())
        for key, counts in items:
            for bound, count in zip(self.buckets, counts, strict=True):
                le = 'le="' + _number(bound) + '"'
                lines.append(f"{self.name}_bucket{_labels(self.label_names, key, le)} {count}")
            lines.append(f"{self.name}_sum{_labels(self.label_names, key)} {_number(sums[key])}")
            lines.append(f"{self.name}_count{_labels(self.label_names, key)} {counts[-1]}")
        return lines


class Metrics:
    """The App's metrics. One instance per App, passed to whoever counts."""

    def __init__(self) -> None:
        self.deliveries = Counter(
            "guardian_webhook_deliveries_total",
            "Webhook deliveries received, by event and outcome.",
            ("event", "outcome"),
        )
        self.jobs = Counter(
            "guardian_jobs_total", "Jobs by outcome (queued, coalesced, done, retried, failed).", ("outcome",)
        )
        self.github_calls = Counter(
            "guardian_github_requests_total", "Requests sent to the GitHub API, by HTTP status.", ("status",)
        )
        self.evaluation_seconds = Histogram(
            "guardian_evaluation_seconds",
            "Time to evaluate one pull request head, from job start to completed check run.",
            (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
        )
        self.ack_seconds = Histogram(
            "guardian_webhook_ack_seconds",
            "Time to verify, record and acknowledge a webhook delivery.",
            (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1),
        )
        self.queue_depth = Gauge("guardian_queue_depth", "Jobs waiting or running.")
        self.store_seconds = Histogram(
            "guardian_store_seconds",
            "Time one store call took (SQLite or PostgreSQL), by call.",
            (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5),
            ("call",),
        )
        self.instances = Gauge(
            "guardian_instances", "App instances sharing the store whose heartbeat is recent (1 with SQLite)."
        )
        self.redeliveries = Counter(
            "guardian_redeliveries_total",
            "Failed deliveries the App asked GitHub to send again, by outcome (requested, refused).",
            ("outcome",),
        )

    def _counted(self) -> list[_Metric]:
        return [
            self.deliveries,
            self.jobs,
            self.github_calls,
            self.evaluation_seconds,
            self.ack_seconds,
            self.store_seconds,
            self.redeliveries,
        ]

    def state(self) -> dict[str, object]:
        """Every count, as plain data another process can add to its own (``render(others=...)``)."""
        return {metric.name: metric.state() for metric in self._counted()}

    def render(
        self,
        *,
        queue_depth: float | None = None,
        instances: float | None = None,
        others: Sequence[Mapping[str, object]] = (),
    ) -> str:
        """The exposition text; ``queue_depth`` and ``instances`` as the scrape
        read them; ``others``: ``state()`` of other processes of this App, added in."""
        lines: list[str] = []
        for metric in self._counted():
            lines.extend(metric.render([other[metric.name] for other in others if metric.name in other]))
        lines.extend(self.queue_depth.render_value(queue_depth))
        lines.extend(self.instances.render_value(instances))
        return "\n".join(lines) + "\n"
