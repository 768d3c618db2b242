"""The Python side of `npm run bench:mlflow`: one workload of the mlflow client's request pattern.

Sends what mlflow 3.6's REST store sends (test/fixtures/mlflow/trace-client-3.6.jsonl), the way it
sends it (mlflow/utils/rest_utils.py): one `requests.Session` for every call, POST bodies through
`json=` (requests' json.dumps: ", " and ": " separators, floats as Python writes them), GET fields
through `params=`, the headers the client adds (User-Agent mlflow-python-client, Authorization
Bearer), and every answer read as the client reads it (`json.loads(response.text)`). The mlflow
client itself can't be installed here; what it adds on top (protobuf parsing of each answer,
entity objects) is not counted, so a real client sees a little more than this.

    python3 bench/mlflow_client_pattern.py WORKLOAD 'PARAMS-JSON'

Environment: MLFLOW_TRACKING_URI, MLFLOW_TRACKING_TOKEN (the names the client reads).
Prints one JSON line: {"ms": elapsed, "requests": n, "items": n, "pages": n}. WORKLOAD `bodies`
prints the first request of every workload instead, so the bench can check that the Node driver
(bench/mlflow-client-pattern.ts) sends the very same bytes.
Keep the body builders in step with that file.
"""

import json
import sys
import time

import requests

API = "/api/2.0/mlflow/"
HISTORY_PAGE = 25_000  # mlflow.store.tracking.GET_METRIC_HISTORY_MAX_RESULTS
SEARCH_PAGE = 10_000  # mlflow.search_runs: NUM_RUNS_PER_PAGE_PANDAS
USER = "bench"


def loss(step):
    # + - * / only: correctly rounded in both languages, so both drivers write the same digits.
    return 1.0 / (1.0 + step / 1000.0)


def log_batch_body(run_id, call, points, timestamp):
    """client.log_batch(run_id, metrics=[Metric(...)]): trace line 21's shape."""
    metrics = []
    for i in range(points):
        step = call * points + i
        metrics.append({"key": "loss", "value": loss(step) + (i % 7) * 0.001, "timestamp": timestamp + call, "step": step})
    return {"run_id": run_id, "metrics": metrics}


def log_metric_body(run_id, call, timestamp):
    """mlflow.log_metric / client.log_metric: trace line 9's shape (run_uuid and run_id)."""
    return {"run_uuid": run_id, "key": "loss", "value": loss(call), "timestamp": timestamp + call, "step": call, "run_id": run_id}


def create_run_body(experiment_id, index, timestamp):
    """client.create_run / mlflow.start_run: trace line 6's shape."""
    name = f"bench-{index}"
    return {
        "experiment_id": experiment_id,
        "user_id": USER,
        "run_name": name,
        "start_time": timestamp + index,
        "tags": [
            {"key": "mlflow.user", "value": USER},
            {"key": "mlflow.source.name", "value": "train.py"},
            {"key": "mlflow.source.type", "value": "LOCAL"},
            {"key": "mlflow.runName", "value": name},
        ],
    }


def run_batch_body(run_id, index, timestamp):
    """client.log_batch(run_id, metrics, params): the one batch after each created run."""
    return {
        "run_id": run_id,
        "metrics": [
            {"key": "loss", "value": loss(index), "timestamp": timestamp + index, "step": 0},
            {"key": "val_loss", "value": loss(index) + 0.25, "timestamp": timestamp + index, "step": 0},
            {"key": "accuracy", "value": 1.0 - loss(index) / 2.0, "timestamp": timestamp + index, "step": 0},
        ],
        "params": [{"key": "lr", "value": "0.01"}, {"key": "batch_size", "value": str(32 + index % 4 * 32)}],
    }


def history_params(run_id, key, page_token):
    """GetMetricHistory as the client's query string: fields in proto field order."""
    params = {"run_uuid": run_id, "metric_key": key, "run_id": run_id}
    if page_token:
        params["page_token"] = page_token
    params["max_results"] = HISTORY_PAGE
    return params


def search_body(experiment_id, page_token):
    """mlflow.search_runs([experiment_id]): trace line 24's shape, paged."""
    body = {"experiment_ids": [experiment_id], "run_view_type": "ACTIVE_ONLY", "filter": "", "max_results": SEARCH_PAGE}
    if page_token:
        body["page_token"] = page_token
    return body


class Client:
    """rest_utils.http_request: one cached Session, the client's headers, a 120 s timeout."""

    def __init__(self, url, token):
        self.url = url.rstrip("/")
        self.session = requests.Session()
        self.session.mount("http://", requests.adapters.HTTPAdapter())
        self.headers = {"User-Agent": "mlflow-python-client/3.6.0", "Authorization": f"Bearer {token}"}
        self.requests = 0

    def prepare(self, method, endpoint, body):
        kwargs = {"params": body} if method == "GET" else {"json": body}
        return self.session.prepare_request(requests.Request(method, self.url + API + endpoint, headers=self.headers, **kwargs))

    def call(self, method, endpoint, body):
        kwargs = {"params": body} if method == "GET" else {"json": body}
        response = self.session.request(method, self.url + API + endpoint, headers=self.headers, verify=True, timeout=120, **kwargs)
        self.requests += 1
        if response.status_code != 200:
            raise RuntimeError(f"{method} {endpoint}: {response.status_code} {response.text[:500]}")
        return json.loads(response.text)


def log_batch(client, p):
    for call in range(p["calls"]):
        client.call("POST", "runs/log-batch", log_batch_body(p["run_id"], call, p["points"], p["timestamp"]))
    return {"items": p["calls"] * p["points"]}


def log_metric(client, p):
    for call in range(p["calls"]):
        client.call("POST", "runs/log-metric", log_metric_body(p["run_id"], call, p["timestamp"]))
    return {"items": p["calls"]}


def create_runs(client, p):
    for index in range(p["count"]):
        run = client.call("POST", "runs/create", create_run_body(p["experiment_id"], index, p["timestamp"]))
        client.call("POST", "runs/log-batch", run_batch_body(run["run"]["info"]["run_id"], index, p["timestamp"]))
    return {"items": p["count"]}


def history(client, p):
    # TrackingServiceClient.get_metric_history: pages of 25,000 until no next_page_token.
    metrics, token, pages = [], None, 0
    while True:
        page = client.call("GET", "metrics/get-history", history_params(p["run_id"], p["key"], token))
        metrics.extend(page.get("metrics", []))
        pages += 1
        token = page.get("next_page_token")
        if not token:
            break
    if len(metrics) != p["expected"]:
        raise RuntimeError(f"history returned {len(metrics)} points, expected {p['expected']}")
    return {"items": len(metrics), "pages": pages}


def search(client, p):
    # fluent _paginate: pages of 10,000 while the server hands back a token.
    runs, token, pages = [], None, 0
    while True:
        page = client.call("POST", "runs/search", search_body(p["experiment_id"], token))
        runs.extend(page.get("runs", []))
        pages += 1
        token = page.get("next_page_token")
        if not token:
            break
    if len(runs) != p["expected"]:
        raise RuntimeError(f"search returned {len(runs)} runs, expected {p['expected']}")
    return {"items": len(runs), "pages": pages}


WORKLOADS = {"log_batch": log_batch, "log_metric": log_metric, "create_runs": create_runs, "history": history, "search": search}


def first_requests(client):
    """The first request of each workload with fixed arguments, as the bytes requests would send."""
    run, experiment, ts = "0" * 32, "1", 1_700_000_000_000
    samples = {
        "log_batch": ("POST", "runs/log-batch", log_batch_body(run, 1, 1000, ts)),
        "log_metric": ("POST", "runs/log-metric", log_metric_body(run, 0, ts)),
        "create_run": ("POST", "runs/create", create_run_body(experiment, 3, ts)),
        "run_batch": ("POST", "runs/log-batch", run_batch_body(run, 3, ts)),
        "history": ("GET", "metrics/get-history", history_params(run, "loss", "MjUwMDA=")),
        "search": ("POST", "runs/search", search_body(experiment, "MTAwMDA=")),
    }
    out = {}
    for name, (method, endpoint, body) in samples.items():
        prepared = client.prepare(method, endpoint, body)
        payload = prepared.body.decode("utf-8") if isinstance(prepared.body, bytes) else (prepared.body or "")
        out[name] = f"{method} {prepared.path_url}\n{payload}"
    return out


def main():
    import os

    workload = sys.argv[1]
    client = Client(os.environ["MLFLOW_TRACKING_URI"], os.environ["MLFLOW_TRACKING_TOKEN"])
    if workload == "bodies":
        print(json.dumps(first_requests(client)))
        return
    params = json.loads(sys.argv[2])
    # Open the kept-alive connection before the clock starts, as a training script has by then.
    client.call("GET", "experiments/get", {"experiment_id": params["warmup_experiment_id"]})
    client.requests = 0
    started = time.perf_counter()
    result = WORKLOADS[workload](client, params)
    ms = (time.perf_counter() - started) * 1000
    print(json.dumps({"ms": ms, "requests": client.requests, "pages": result.get("pages", 0), "items": result["items"]}))


if __name__ == "__main__":
    main()
