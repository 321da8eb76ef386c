"""Request body size limit (413) as pure ASGI middleware: checks Content-Length up front and
counts streamed bytes, so a chunked upload cannot slip past the limit."""

from collections.abc import Callable

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .problems import PayloadTooLarge, ProblemError, problem_response


class BodySizeLimit:
    """``answers`` maps a path prefix to how errors are written there (SCIM's own format
    under /scim/v2); elsewhere the 413 is an RFC 9457 problem."""

    def __init__(self, app: ASGIApp, max_bytes: int, exempt_prefixes: tuple[str, ...] = (),
                 answers: dict[str, Callable[[ProblemError], Response]] | None = None):
        self.app, self.max_bytes, self.exempt = app, max_bytes, exempt_prefixes
        self.answers = answers or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.exempt):
            await self.app(scope, receive, send)
            return
        declared = chunked = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                declared = value
            elif name == b"transfer-encoding":
                chunked = value
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(scope, send)
            return
        if chunked is None:  # the server reads Content-Length bytes (or none), never more
            await self.app(scope, receive, send)
            return

        seen, too_large, started = 0, False, False

        async def counting_receive() -> Message:
            nonlocal seen, too_large
            if too_large:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    # End the stream for the app; whatever it answers is replaced by the 413.
                    too_large = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if too_large:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not too_large:
                raise
        if too_large and not started:
            await self._reject(scope, send)

    async def _reject(self, scope: Scope, send: Send) -> None:
        error = PayloadTooLarge(f"The request body exceeds the limit of {self.max_bytes} bytes.")
        answer = next((a for prefix, a in self.answers.items()
                       if scope["path"].startswith(prefix)), None)
        response = answer(error) if answer else problem_response(error, scope["path"])
        await response(scope, _empty_receive, send)


async def _empty_receive() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}
