"""The API's one error shape, {"error": {"code", "message"}}, and the request body limit that refuses early.

Every refusal goes through `ApiError`; FastAPI's own validation errors and Starlette's 404/405 are
reshaped into the same form, and anything unexpected becomes a 500 with a generic message (the
traceback goes to the server log, never to the client: it could name files, users or other text).
"""
from __future__ import annotations

import logging
from typing import Any, Optional

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("qa.api")

# Starlette's own statuses (unknown route, wrong method, ...) get a code a client can switch on
_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
          409: "conflict", 413: "too_large", 415: "unsupported_type", 422: "invalid_request", 500: "internal"}


class ApiError(Exception):
    """A refusal with its HTTP status, a short code and one line fit to show."""

    def __init__(self, status: int, code: str, message: str, extra: Optional[dict[str, Any]] = None):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra or {}


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}, **extra}


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", what)


def _location(loc: tuple) -> str:
    # ("body", "history", 0, "question") -> "history[0].question": where the problem is, never the value
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    out = ""
    for p in parts:
        out += f"[{p}]" if p.isdigit() else (f".{p}" if out else p)
    return out or "body"


def install(app: FastAPI) -> None:
    """Register the handlers that give every error the one shape."""

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, e: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if e.status == 401 else None
        return JSONResponse(error_body(e.code, e.message, **e.extra), status_code=e.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, e: RequestValidationError) -> JSONResponse:
        # FastAPI's default echoes the input back; this names where and what, never the value sent
        problems = [f"{_location(tuple(err.get('loc', ())))}: {err.get('msg', 'invalid')}" for err in e.errors()[:5]]
        return JSONResponse(error_body("invalid_request", "; ".join(problems) or "the request is not valid"),
                            status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, e: StarletteHTTPException) -> JSONResponse:
        message = e.detail if isinstance(e.detail, str) else "the request was refused"
        return JSONResponse(error_body(_CODES.get(e.status_code, "error"), message), status_code=e.status_code,
                            headers=getattr(e, "headers", None))

    @app.exception_handler(Exception)
    async def _crash(request: Request, e: Exception) -> JSONResponse:
        log.exception("internal error on %s %s", request.method, request.url.path)
        return JSONResponse(error_body("internal", f"internal error ({e.__class__.__name__}); see the server log"),
                            status_code=500)


class BodyLimit:
    """ASGI middleware: refuse a request to the API whose body is over its limit with 413, from its
    Content-Length before a byte is read, and by counting while it streams (a chunked body has no
    Content-Length, and a client may lie in it). The upload route gets `upload_bytes`; every other API
    route `json_bytes`. Paths outside `prefix` (the Gradio page mounted on the same app) pass untouched."""

    def __init__(self, app, prefix: str, upload_bytes: int, json_bytes: int):
        self.app, self.prefix = app, prefix
        self.upload_bytes, self.json_bytes = upload_bytes, json_bytes

    def limit_for(self, scope) -> int:
        path = scope.get("path", "")
        return self.upload_bytes if path.endswith("/documents") and scope.get("method") == "POST" else self.json_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope.get("path", "").startswith(self.prefix):
            return await self.app(scope, receive, send)
        limit = self.limit_for(scope)
        too_big = _TooLarge(limit, upload=limit == self.upload_bytes and limit != self.json_bytes)
        length = dict(scope.get("headers") or ()).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            return await _refuse(send, too_big)
        state = {"seen": 0, "over": False, "started": False}

        async def counted():
            message = await receive()
            if message["type"] == "http.request":
                state["seen"] += len(message.get("body", b""))
                if state["seen"] > limit:
                    state["over"] = True
                    raise too_big
            return message

        async def watch(message):
            # FastAPI turns an exception raised while it parses a body into its own 400: once the limit
            # is passed, whatever the app answers is replaced by the 413
            if state["over"]:
                if message["type"] == "http.response.start" and not state["started"]:
                    state["started"] = True
                    await _refuse(send, too_big)
                return
            state["started"] = state["started"] or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watch)
        except _TooLarge:
            if not state["started"]:
                await _refuse(send, too_big)


class _TooLarge(Exception):
    def __init__(self, limit: int, upload: bool = False):
        # an upload's limit includes the multipart framing: say so, or "2.0 MiB" reads as a wrong QA_MAX_UPLOAD_MB
        why = " (QA_MAX_UPLOAD_MB for the files plus 1 MiB of multipart framing)" if upload else ""
        super().__init__(f"the request body is over the limit of {limit / 2**20:.1f} MiB{why}")


async def _refuse(send, e: _TooLarge) -> None:
    response = JSONResponse(error_body("too_large", str(e)), status_code=413, headers={"Connection": "close"})
    await response({"type": "http"}, None, send)
