#!/usr/bin/env python3
"""A remote Sluice transform in Python, standard library only.

Sluice POSTs Firehose's Lambda event to this server and takes its answer as the Lambda's
response, so a transform can be written in any language that can serve HTTP. Point a stream's
Lambda processor at it with

    {"ParameterName": "LambdaArn", "ParameterValue": "http://127.0.0.1:8090/"}

What it does to each record (a JSON object, one per record):
  - the value of one field (``message`` unless --field / TRANSFORM_FIELD says otherwise) is
    upper-cased, when it is a string;
  - the record is written back as compact JSON followed by a newline;
  - a record that is empty or only whitespace is Dropped;
  - a record that is not a JSON object (or not UTF-8, or not base64) is ProcessingFailed.

Requests that are not a Lambda event (not JSON, no ``records`` list, a record without a string
``recordId`` or ``data``) are answered 400 with ``{"error": "..."}``, which Sluice treats as a
failed invocation and retries up to NumberOfRetries. ``GET /health`` answers 200.

Run it:

    python3 transforms/remote/python_transform.py                 # port 8090 (or $PORT)
    python3 transforms/remote/python_transform.py --port 0        # any free port

It prints ``listening on http://127.0.0.1:<port>/`` once it accepts connections, and stops
cleanly on Ctrl-C or SIGTERM.
"""

import argparse
import base64
import binascii
import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Firehose sends at most 6 MB to a Lambda; a larger body is not a Lambda event.
MAX_BODY_BYTES = 6 * 1024 * 1024
DEFAULT_PORT = 8090


class BadRequest(Exception):
    """The request is not a Lambda event; answered 400 with the message."""


def transform_record(data, field):
    """Returns (result, data) for one record's bytes: data is the output bytes for Ok."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "ProcessingFailed", None
    if text.strip() == "":
        return "Dropped", None
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        # RecursionError: JSON nested too deep for Python's parser; a bad record, not a bad request.
        return "ProcessingFailed", None
    if not isinstance(document, dict):
        return "ProcessingFailed", None
    value = document.get(field)
    if isinstance(value, str):
        document[field] = value.upper()
    output = json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n"
    return "Ok", output.encode("utf-8")


def transform_event(event, field):
    """The Lambda response for a Lambda event; raises BadRequest if it is not one."""
    if not isinstance(event, dict) or not isinstance(event.get("records"), list):
        raise BadRequest("expected a Firehose Lambda event: a JSON object with a records list")
    answers = []
    for index, record in enumerate(event["records"]):
        if not isinstance(record, dict):
            raise BadRequest(f"records[{index}] is not an object")
        record_id = record.get("recordId")
        data = record.get("data")
        if not isinstance(record_id, str) or not isinstance(data, str):
            raise BadRequest(f"records[{index}] needs a string recordId and a string data")
        try:
            raw = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            answers.append({"recordId": record_id, "result": "ProcessingFailed"})
            continue
        result, output = transform_record(raw, field)
        answer = {"recordId": record_id, "result": result}
        if output is not None:
            answer["data"] = base64.b64encode(output).decode("ascii")
        answers.append(answer)
    return {"records": answers}


class TransformHandler(BaseHTTPRequestHandler):
    """POST: a Lambda event in, the Lambda response out. GET /health: 200."""

    server_version = "sluice-python-transform/1"
    # HTTP/1.1 keeps connections open between invocations; every answer has a Content-Length.
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        try:
            event = json.loads(self.read_body())
            self.answer(200, transform_event(event, self.server.field))
        except BadRequest as error:
            self.answer(400, {"error": str(error)})
        except ValueError as error:
            self.answer(400, {"error": f"the body is not JSON: {error}"})

    def do_GET(self):
        if self.path == "/health":
            self.answer(200, {"status": "ok"})
        else:
            self.answer(404, {"error": "POST a Firehose Lambda event; GET /health for liveness"})

    def read_body(self):
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            # The body, if any, is not read, so the connection cannot be reused.
            self.close_connection = True
            raise BadRequest("a Content-Length header is required")
        if int(length) > MAX_BODY_BYTES:
            self.close_connection = True
            raise BadRequest(f"the body is over {MAX_BODY_BYTES} bytes, the Lambda limit")
        return self.rfile.read(int(length))

    def answer(self, status, document):
        body = json.dumps(document).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        # One line per request would be one line per invocation on stderr; keep errors only.
        pass


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description="A remote Sluice transform (Python).")
    parser.add_argument(
        "--port",
        type=int,
        # A string default goes through type=int too, so a bad $PORT is reported like a bad --port.
        default=os.environ.get("PORT", str(DEFAULT_PORT)),
        help=f"TCP port, 0 for any free one (default: $PORT or {DEFAULT_PORT})",
    )
    parser.add_argument(
        "--host",
        default=os.environ.get("HOST", "127.0.0.1"),
        help="address to listen on (default: $HOST or 127.0.0.1)",
    )
    parser.add_argument(
        "--field",
        default=os.environ.get("TRANSFORM_FIELD", "message"),
        help="the field to upper-case (default: $TRANSFORM_FIELD or message)",
    )
    return parser.parse_args(argv)


def main(argv):
    options = parse_arguments(argv)
    server = ThreadingHTTPServer((options.host, options.port), TransformHandler)
    server.daemon_threads = True
    server.field = options.field
    host, port = server.server_address[:2]
    shown_host = f"[{host}]" if ":" in host else host

    def stop(_signum, _frame):
        # shutdown() waits for serve_forever to return, so it must run on another thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"listening on http://{shown_host}:{port}/", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
