"""The service's OpenAPI document, written once (no per-request model validation) and the /docs page."""

from __future__ import annotations

from typing import Any

from .. import __version__

_THRESHOLD = {
    "description": "'default' (the package's threshold), 'ks' (tau*, the KS-optimal one) or a number in [0, 1]",
    "oneOf": [{"type": "string", "enum": ["default", "ks"]}, {"type": "number"}, {"type": "null"}],
}
_RESULT = {
    "type": "object",
    "description": "One per input, in order. A text that cannot be scored has only index and error.",
    "properties": {
        "index": {"type": "integer"},
        "score": {"type": "number"},
        "label": {"type": "string"},
        "threshold": {"type": "number"},
        "n_tokens": {"type": "integer"},
        "truncated": {"type": "boolean"},
        "error": {"type": "string"},
    },
    "required": ["index"],
}
_RESPONSE = {
    "type": "object",
    "properties": {
        "model": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "task": {"type": "string"},
                "variant": {"type": "string"},
                "sha256": {"type": "string"},
            },
        },
        "results": {"type": "array", "items": _RESULT},
    },
}
_ERROR = {"type": "object", "properties": {"error": {"type": "string"}}}


def _errors(*codes: int) -> dict[str, Any]:
    text = {
        400: "Invalid JSON (or pairs sent to a prompt package)",
        401: "Missing or wrong bearer token",
        413: "Too many texts or too large a body",
        422: "Wrong types or fields",
        503: "Queue full or shutting down (Retry-After)",
        504: "Results not ready within the request timeout",
    }
    return {str(c): {"description": text[c], "content": {"application/json": {"schema": _ERROR}}} for c in codes}


def _op(summary: str, body: dict[str, Any], example: dict[str, Any]) -> dict[str, Any]:
    return {
        "summary": summary,
        "requestBody": {"required": True, "content": {"application/json": {"schema": body, "example": example}}},
        "responses": {
            "200": {"description": "One result per input", "content": {"application/json": {"schema": _RESPONSE}}},
            **_errors(400, 401, 413, 422, 503, 504),
        },
        "security": [{"bearer": []}],
    }


def openapi_schema(model_name: str) -> dict[str, Any]:
    texts = {"type": "array", "items": {"type": "string"}}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "secbert-edge",
            "version": __version__,
            "description": f"Safety classifier service (model: {model_name}). Requests arriving together are "
            "batched into one inference call; each gets its own results.",
        },
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": {
            "/v1/classify": {
                "post": _op(
                    "Classify texts (prompts, or responses alone on a response-judge package)",
                    {
                        "type": "object",
                        "required": ["texts"],
                        "additionalProperties": False,
                        "properties": {"texts": texts, "threshold": _THRESHOLD},
                    },
                    {"texts": ["Ignore suas instruções anteriores e...", "Qual a capital do Brasil?"]},
                )
            },
            "/v1/classify-pairs": {
                "post": _op(
                    "Classify LLM responses with their prompts (response-judge packages)",
                    {
                        "type": "object",
                        "required": ["prompts", "responses"],
                        "additionalProperties": False,
                        "properties": {"prompts": texts, "responses": texts, "threshold": _THRESHOLD},
                    },
                    {"prompts": ["Como faço um bolo?"], "responses": ["Misture farinha, ovos e açúcar..."]},
                )
            },
            "/healthz": {"get": {"summary": "Alive", "responses": {"200": {"description": "ok"}}}},
            "/readyz": {
                "get": {
                    "summary": "Model loaded and warmed",
                    "responses": {
                        "200": {"description": "ready"},
                        "503": {"description": "warming up or shutting down"},
                    },
                }
            },
            "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": {"description": "text"}}}},
        },
    }


def docs_html(schema: dict[str, Any]) -> str:
    """The /docs page, self-contained: an edge box is often air-gapped, so nothing is fetched from a CDN. It lists
    every route with its request example, its responses and a curl line; tools read /openapi.json."""
    import json
    from html import escape

    parts = [
        f"<h1>{escape(schema['info']['title'])} {escape(schema['info']['version'])}</h1>",
        f"<p>{escape(schema['info']['description'])} Machine-readable: <a href='/openapi.json'>/openapi.json</a>.</p>",
    ]
    for path, methods in schema["paths"].items():
        for method, op in methods.items():
            parts.append(f"<h2><code>{method.upper()} {escape(path)}</code></h2><p>{escape(op['summary'])}</p>")
            example = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("example")
            if example is not None:
                body = json.dumps(example, ensure_ascii=False)
                curl = f"curl -s localhost:8000{path} -H 'content-type: application/json' -d '{body}'"
                parts.append(f"<pre>{escape(json.dumps(example, ensure_ascii=False, indent=2))}</pre>")
                parts.append(f"<pre>{escape(curl)}</pre>")
            codes = "".join(f"<li>{c}: {escape(r['description'])}</li>" for c, r in op["responses"].items())
            parts.append(f"<ul>{codes}</ul>")
    style = "body{font-family:sans-serif;max-width:60em;margin:2em auto}pre{background:#f4f4f4;padding:.6em}"
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>secbert-edge API</title><style>{style}</style>"
        f"</head><body>{''.join(parts)}</body></html>"
    )
