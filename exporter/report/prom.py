"""A small client of the Prometheus HTTP API (query_range, label values) with basic auth and a CA file."""

from __future__ import annotations

import ssl

import httpx

from exporter.messages import Problem

# Prometheus refuses a query_range of more than 11,000 points per series.
MAX_POINTS = 10_000


class PrometheusError(Problem):
    """Prometheus could not be reached or refused a query; the message says which and why, in the operator's
    language."""


class Prometheus:
    def __init__(self, url: str, username: str | None = None, password: str | None = None,
                 ca_file: str | None = None, timeout: float = 30.0):
        self.url = url.rstrip("/")
        verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca_file) if ca_file else True
        auth = httpx.BasicAuth(username, password or "") if username else None
        self.client = httpx.Client(base_url=self.url, auth=auth, verify=verify, timeout=timeout)

    def close(self) -> None:
        self.client.close()

    def _get(self, path: str, params: dict) -> object:
        try:
            response = self.client.get(path, params=params)
        except httpx.HTTPError as err:
            raise PrometheusError("report_prometheus_unreachable", url=self.url, detail=err or type(err).__name__) \
                from None
        if response.status_code in (401, 403):
            raise PrometheusError("report_prometheus_refused", url=self.url, status=response.status_code)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):  # HTML, or JSON that is no API envelope: another server at that address
            raise PrometheusError("report_not_prometheus", url=f"{self.url}{path}", status=response.status_code)
        if body.get("status") != "success":
            raise PrometheusError("report_query_refused", url=f"{self.url}{path}",
                                  detail=f"{body.get('errorType', 'error')}: {body.get('error', body)}")
        return body["data"]

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[tuple[dict, dict[float, float]]]:
        """[(labels, {unix time: value})] for `expr` evaluated every `step` seconds from `start` to `end`."""
        data = self._get("/api/v1/query_range", {"query": expr, "start": start, "end": end, "step": step})
        return [(series["metric"], {float(t): float(v) for t, v in series["values"]}) for series in data["result"]]

    def query(self, expr: str, time: float) -> list[dict]:
        """The instant vector `expr` at `time`: [{"metric": labels, "value": [time, "value"]}]."""
        return self._get("/api/v1/query", {"query": expr, "time": time})["result"]

    def label_values(self, label: str, match: str | None = None) -> list[str]:
        """Every value of `label` Prometheus holds (at any time), on series matching `match` if given."""
        return self._get(f"/api/v1/label/{label}/values", {"match[]": match} if match else {})
