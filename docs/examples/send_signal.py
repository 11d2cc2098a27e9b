#!/usr/bin/env python3
"""Send a custom signal into a dcrf-gateway from another service (standard library only).

    SIGNAL_TOKEN=... python3 send_signal.py joined_chat '{"username": "alice", "chat_id": 7}'
    SIGNAL_TOKEN=... python3 send_signal.py --url http://gateway.internal:8000 joined_chat '{...}'

Or from your own code (a Django view, a Celery task):

    from send_signal import send_signal
    send_signal("http://127.0.0.1:8000", token, "joined_chat", {"username": "alice", "chat_id": 7})

The gateway answers 202 {"signal": ..., "status": "sent"}; every DCRF and GraphQL subscriber of the
signal's groups gets the event. A refusal raises SignalError with the status and the gateway's JSON
answer (400 with the field errors under "data", 401, 404, 413, 415, 429). 429 and 503 are retried
after the Retry-After the gateway sends (a few times at most).
"""

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


class SignalError(Exception):
    """The gateway refused the signal: `status` is the HTTP status, `body` its JSON answer."""

    def __init__(self, status, body):
        super().__init__(f"HTTP {status}: {json.dumps(body)}")
        self.status = status
        self.body = body


def send_signal(base_url, token, name, data, timeout=10.0, retries=3):
    """POST {"data": data} to <base_url>/signals/<name>; returns the gateway's JSON answer."""
    url = f"{base_url.rstrip('/')}/signals/{urllib.parse.quote(name, safe='')}"
    body = json.dumps({"data": data}).encode("utf-8")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Accept": "application/json"}
    for attempt in range(retries + 1):
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as error:
            text = error.read().decode("utf-8", "replace")
            try:
                answer = json.loads(text)
            except ValueError:
                answer = {"detail": text}
            if error.code in (429, 503) and attempt < retries:
                time.sleep(float(error.headers.get("Retry-After") or 1))
                continue
            raise SignalError(error.code, answer) from None
    raise AssertionError("unreachable")


def main(argv):
    parser = argparse.ArgumentParser(description="Send a custom signal into a dcrf-gateway.")
    parser.add_argument("signal", help="the signal's name, e.g. joined_chat")
    parser.add_argument("data", help='its payload as JSON, e.g. \'{"username": "alice", "chat_id": 7}\'')
    parser.add_argument("--url", default=os.environ.get("GATEWAY_URL", "http://127.0.0.1:8000"), help="the gateway (GATEWAY_URL)")
    args = parser.parse_args(argv)
    token = os.environ.get("SIGNAL_TOKEN")
    if not token:
        parser.error("set SIGNAL_TOKEN to the gateway's SIGNAL_TOKEN")
    try:
        data = json.loads(args.data)
    except ValueError as error:
        parser.error(f"data is not JSON: {error}")
    try:
        answer = send_signal(args.url, token, args.signal, data)
    except SignalError as error:
        print(f"refused: {error}", file=sys.stderr)
        return 1
    except urllib.error.URLError as error:
        print(f"gateway unreachable: {error.reason}", file=sys.stderr)
        return 2
    print(json.dumps(answer))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
