#!/usr/bin/env python3
"""Replication delay: a ticket is created in tickets → how soon orders can order it.

Against a running stack (`cargo xtask up`), through the ingress. For each sample, a seller
creates a ticket and a buyer immediately tries to order it, retrying every millisecond while
orders answers 404 (its replica has not seen `ticket:created` yet). The delay is from the
create request's response to the first 201. Each order is then cancelled.

    python3 bench/replication_delay.py [--base http://127.0.0.1:8080] [--samples 200]

Standard library only.
"""

import argparse
import http.cookiejar
import json
import statistics
import time
import urllib.error
import urllib.request
import uuid


def client():
    jar = http.cookiejar.CookieJar()
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))


def call(opener, base, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("content-type", "application/json")
    try:
        with opener.open(request) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, json.loads(raw) if raw else None


def sign_up(base):
    opener = client()
    email = f"bench-{uuid.uuid4().hex[:12]}@example.com"
    status, _ = call(opener, base, "POST", "/api/users/signup", {"email": email, "password": "password"})
    assert status == 201, status
    return opener


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default="http://127.0.0.1:8080")
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()
    seller, buyer = sign_up(args.base), sign_up(args.base)
    delays, attempts = [], []
    for _ in range(args.samples):
        status, ticket = call(seller, args.base, "POST", "/api/tickets", {"title": "bench", "price": 10})
        assert status == 201, (status, ticket)
        created = time.perf_counter()
        tries = 0
        while True:
            tries += 1
            status, order = call(buyer, args.base, "POST", "/api/orders", {"ticketId": ticket["id"]})
            if status == 201:
                break
            assert status == 404, (status, order)
            time.sleep(0.001)
        delays.append((time.perf_counter() - created) * 1000)
        attempts.append(tries)
        status, _ = call(buyer, args.base, "DELETE", f"/api/orders/{order['id']}")
        assert status == 204, status
    print(f"samples: {len(delays)}  (orders that needed a retry: {sum(1 for a in attempts if a > 1)})")
    print(
        "ticket created -> orderable, ms: "
        f"p50 {percentile(delays, 50):.1f}  p90 {percentile(delays, 90):.1f}  "
        f"p99 {percentile(delays, 99):.1f}  max {max(delays):.1f}  mean {statistics.mean(delays):.1f}"
    )


if __name__ == "__main__":
    main()
