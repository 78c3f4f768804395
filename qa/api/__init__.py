"""The REST API under /api/v1: Bearer tokens, the workspace's roles, and JSON errors (docs/workspace.md, "REST API").

    from qa.api import create_api
    api = create_api(ws, settings, jobs)          # a fastapi.FastAPI; mount Gradio on it at "/"

A surface on top, beside qa.cli and app.py: it decides who is asking (a token) and leaves collections
and roles to qa.workspace, answering to qa.pipeline, and uploads and deletions to the jobs it is given.
"""
from .routes import create_api

__all__ = ["create_api"]
