"""A plain FastAPI service that knows nothing of ff-otel (the auto-instrumentation tests run it).

Serve it with ``uvicorn fastapi_app:app --port PORT``.
"""

import os

from fastapi import FastAPI

app = FastAPI()


@app.get("/")
async def index() -> dict[str, object]:
    return {"service": "fastapi", "pid": os.getpid()}


@app.get("/items/{item_id}")
async def item(item_id: int) -> dict[str, object]:
    return {"item_id": item_id, "pid": os.getpid()}


@app.get("/boom")
async def boom() -> dict[str, object]:
    raise RuntimeError("the boom handler failed")
