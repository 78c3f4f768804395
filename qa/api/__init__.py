"""The REST API under /api/v1: Bearer tokens, the workspace's roles, and JSON errors (docs/workspace.md, "REST API").

    from qa.api import create_api, mounted_api
    api = create_api(ws, settings, jobs)          # a fastapi.FastAPI with its routes under /api/v1
    route = mounted_api(ws, settings, jobs)       # the same, as a route for the chat's own server (app.py)

A surface on top, beside qa.cli and app.py: it decides who is asking (a token) and leaves collections
and roles to qa.workspace, answering to qa.pipeline, and uploads and deletions to the jobs it is given.
"""
from .routes import PREFIX, create_api


def mounted_api(ws, settings, jobs, answerers=None):
    """The API as a Starlette Mount at /api/v1, to put first in another app's routes (app.py hands it to
    Gradio's FastAPI app, so the chat and the API share one server and port)."""
    from starlette.routing import Mount

    return Mount(PREFIX, app=create_api(ws, settings, jobs, answerers, prefix=""))


__all__ = ["PREFIX", "create_api", "mounted_api"]
