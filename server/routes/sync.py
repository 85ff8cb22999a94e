"""``POST /api/v1/sync/push`` and ``/pull``: bodies parsed by the shared protocol, answered after commit."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool

from shared import (
    PULL_CURSOR_HEADER,
    PULL_HAS_MORE_HEADER,
    PULL_PATH,
    PUSH_PATH,
    PullRequest,
    PushRequest,
    PushResponse,
)
from shared.errors import MalformedPayload

from ..auth import Authenticated
from ..errors import ApiError, error_responses
from ..pull import PullPage, read_pull_json
from ..schemas import PullBody, PullResult, PushBody, PushResult
from ..sync import apply_push
from ..wire import read_json, read_push_json, write_json

__all__ = ["router"]

router = APIRouter(tags=["sync"])


def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    """A pydantic JSON schema with its ``$defs`` written in place, for ``openapi_extra``."""
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return walk(dict(defs[ref.removeprefix("#/$defs/")]))
            return {key: walk(value) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    return walk(schema)


def _body_doc(model: type) -> dict[str, Any]:
    schema = _inline(model.model_json_schema())  # type: ignore[attr-defined]
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


async def _body(request: Request) -> bytes:
    body = await request.body()
    if len(body) > request.app.state.settings.max_body_bytes:
        raise ApiError(413, "too_large", "the request body is too large")
    return body


async def _json(request: Request) -> Any:
    body = await _body(request)
    try:
        return read_json(body)
    except MalformedPayload as exc:
        raise ApiError(400, "malformed_json", exc.reason) from None


_RESPONSES = error_responses(400, 401, 403, 413, 422)
# up to this many mutations a push's inserts cost less as pipelined INSERTs than as COPY's round
# trips (PostgreSQL, bench/load.py and bench/sync.py)
_PIPELINED = 32


@router.post(
    PUSH_PATH,
    response_model=None,
    responses={200: {"model": PushResult, "description": "One answer per processed mutation"}, **_RESPONSES},
    openapi_extra=_body_doc(PushBody),
)
async def push(request: Request, user: Authenticated) -> Response:
    """Replay a batch of mutations (at most shared.MAX_BATCH) from one device; answered after commit."""
    try:
        obj, encode_args = read_push_json(await _body(request))
    except MalformedPayload as exc:
        raise ApiError(400, "malformed_json", exc.reason) from None
    message = PushRequest.from_dict(obj, encode_args)
    state = request.app.state

    def work(connection: Connection) -> PushResponse:
        rules = state.rules.get(connection, user.street_id)
        return apply_push(connection, user, message, rules, photos=state.photos)

    # a small push is mostly round trips to PostgreSQL: pipelined; a large one keeps COPY
    answer = await state.writer.run(work, key=user.street_id, pipelined=len(message.mutations) <= _PIPELINED)
    return Response(write_json(answer), media_type="application/json")  # only now, after commit


@router.post(
    PULL_PATH,
    response_model=None,
    responses={200: {"model": PullResult, "description": "A page of the street's events"}, **_RESPONSES},
    openapi_extra=_body_doc(PullBody),
)
async def pull(request: Request, user: Authenticated) -> Response:
    """The street's events after the cursor, paged, with the device's last processed seq."""
    message = PullRequest.from_dict(await _json(request))
    state = request.app.state

    def work() -> PullPage:
        with state.db.read() as session:
            return read_pull_json(session, user, message)

    page = await run_in_threadpool(work)
    # the cursor again in the headers: a phone can ask for the next page before it parses this one
    headers = {PULL_CURSOR_HEADER: page.cursor, PULL_HAS_MORE_HEADER: "true" if page.has_more else "false"}
    return Response(page.body, media_type="application/json", headers=headers)
