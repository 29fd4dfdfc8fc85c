"""A plain Flask service that knows nothing of ff-otel (the auto-instrumentation tests run it).

``python flask_app.py PORT`` serves it with Werkzeug; ``gunicorn flask_app:app`` also works.
Each response names the process that served it, so a test can tell workers apart.
"""

import os
import sys

from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/")
def index():
    return jsonify(service="flask", pid=os.getpid())


@app.get("/items/<int:item_id>")
def item(item_id: int):
    return jsonify(item_id=item_id, pid=os.getpid())


@app.get("/boom")
def boom():
    raise RuntimeError("the boom handler failed")


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(sys.argv[1]))
