"""A FastStream service for the interop tests (test/interop/faststream.spec.ts, faststream-traces.spec.ts).

    python faststream_app.py kafka  <bootstrap> <serve-topic> <reply-topic>
    python faststream_app.py rabbit <amqp-url>  <serve-queue>
    python faststream_app.py nats   <nats-url>  <serve-subject>
    python faststream_app.py nats-js <nats-url> <serve-subject> <serve-stream> <request-stream>

A `--telemetry` argument (anywhere) adds FastStream's TelemetryMiddleware of that broker
(KafkaTelemetryMiddleware, RabbitTelemetryMiddleware, NatsTelemetryMiddleware) with an OpenTelemetry
SDK tracer provider of its own, whose exporter prints each span as it ends:
    {"event": "span", "span": {"name": ..., "kind": "PRODUCER", "trace_id": "<32 hex>",
     "span_id": "<16 hex>", "parent_span_id": "<16 hex>" | null, "attributes": {...}}}

It uses FastStream's broker objects directly (no CLI) and:

- serves a subscriber on <serve-*> that answers a JSON list of numbers with
  {"sum": ..., "content_type": ..., "correlation_id": ...} (the last two: what FastStream read from the
  request; with --telemetry also "span_id", the id of FastStream's process span of that request) and
  any other body with what FastStream decoded it to ({"type": ..., "value"|"hex": ...}),
  through FastStream's own RPC reply path (a subscriber's return value goes to the request's reply
  address with its correlation id);
- reads commands from stdin, one JSON object a line:
    {"id": 1, "cmd": "request", "destination": "...", "body": ..., "correlation_id": "...", "timeout": 10}
  (a body {"bytes": "<hex>"} is sent as those bytes)
  and calls that destination as a FastStream client, printing
    {"id": 1, "reply": <decoded body>, "correlation_id": ..., "content_type": ..., "headers": {...}}
  (a bytes reply as {"bytes": "<hex>"}) or {"id": 1, "error": "..."}.
  RabbitMQ and NATS use FastStream's RPC API, `await broker.request(...)`. FastStream's Kafka broker
  has no `request` ("Kafka doesn't support `request` method without test client."), so on Kafka the
  client is FastStream's publisher and subscriber put together by hand: `broker.publish(...,
  reply_to=<reply-topic>, correlation_id=...)` and a FastStream subscriber on <reply-topic> that
  matches replies by correlation_id.

Prints {"event": "ready"} once subscribed; everything printed on stdout is one JSON object a line
(FastStream's logs go to stderr).
"""

import asyncio
import json
import logging
import sys
import uuid
from typing import Any

from opentelemetry import trace


def emit(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def span_line(span: Any) -> dict:
    """A finished OpenTelemetry SDK span as the test reads it (ids as W3C traceparent spells them)."""
    ctx, parent = span.get_span_context(), span.parent
    return {
        "name": span.name,
        "kind": span.kind.name,
        "trace_id": format(ctx.trace_id, "032x"),
        "span_id": format(ctx.span_id, "016x"),
        "parent_span_id": format(parent.span_id, "016x") if parent is not None else None,
        "attributes": {
            k: v if isinstance(v, (str, int, float, bool)) else str(v)
            for k, v in (span.attributes or {}).items()
        },
    }


def telemetry_middleware(kind: str) -> Any:
    """FastStream's TelemetryMiddleware of this broker, tracing into a provider that prints its spans."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

    class LineExporter(SpanExporter):
        """Prints each ended span as a JSON line, so the test sees it without polling."""

        def export(self, spans: Any) -> SpanExportResult:
            for span in spans:
                emit({"event": "span", "span": span_line(span)})
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(LineExporter()))
    if kind == "kafka":
        from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware as Middleware
    elif kind == "rabbit":
        from faststream.rabbit.opentelemetry import RabbitTelemetryMiddleware as Middleware
    else:
        from faststream.nats.opentelemetry import NatsTelemetryMiddleware as Middleware
    return Middleware(tracer_provider=provider)


def describe(msg: Any) -> dict:
    """The request as FastStream read it; with --telemetry, also the span_id of the process span."""
    seen = {"content_type": msg.content_type, "correlation_id": msg.correlation_id}
    span = trace.get_current_span().get_span_context()
    if span.is_valid:
        seen["span_id"] = format(span.span_id, "016x")
    return seen


def answer(body: Any, msg: Any) -> dict:
    """A list of numbers: their sum. Anything else: what FastStream decoded it to (bytes as hex)."""
    if isinstance(body, list):
        return {"sum": sum(body), **describe(msg)}
    if isinstance(body, bytes):
        return {"type": "bytes", "hex": body.hex(), **describe(msg)}
    return {"type": type(body).__name__, "value": body, **describe(msg)}


def to_json(body: Any) -> Any:
    """A reply body for the JSON line: bytes as {"bytes": hex}."""
    return {"bytes": body.hex()} if isinstance(body, bytes) else body


def from_json(body: Any) -> Any:
    """A request body from a command: {"bytes": hex} as bytes."""
    if isinstance(body, dict) and set(body) == {"bytes"}:
        return bytes.fromhex(body["bytes"])
    return body


def reply_line(cmd_id: Any, msg: Any, body: Any) -> dict:
    return {
        "id": cmd_id,
        "reply": to_json(body),
        "correlation_id": msg.correlation_id,
        "content_type": msg.content_type,
        "headers": {k: v if isinstance(v, str) else str(v) for k, v in dict(msg.headers or {}).items()},
    }


async def main() -> None:
    argv = [a for a in sys.argv if a != "--telemetry"]
    kind, url, serve = argv[1], argv[2], argv[3]
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    middlewares = [telemetry_middleware(kind)] if "--telemetry" in sys.argv else []
    pending: dict[str, asyncio.Future] = {}

    if kind == "kafka":
        from faststream.kafka import KafkaBroker
        from faststream.kafka.annotations import KafkaMessage as Message

        reply_topic = argv[4]
        broker = KafkaBroker(url, logger=logging.getLogger("faststream"), middlewares=middlewares)

        # Fresh, unique topics: read from the start so nothing produced before the group join is missed.
        @broker.subscriber(serve, group_id=f"{serve}-faststream", auto_offset_reset="earliest")
        async def serve_kafka(body: Any, msg: Message) -> dict:
            return answer(body, msg)

        @broker.subscriber(reply_topic, auto_offset_reset="earliest")
        async def on_reply(body: Any, msg: Message) -> None:
            future = pending.pop(msg.correlation_id, None)
            if future is not None and not future.done():
                future.set_result((msg, body))

        async def request(destination: str, body: Any, correlation_id: str, timeout: float):
            future = asyncio.get_running_loop().create_future()
            pending[correlation_id] = future
            try:
                await broker.publish(body, destination, reply_to=reply_topic, correlation_id=correlation_id)
                return await asyncio.wait_for(future, timeout)
            finally:
                pending.pop(correlation_id, None)

    elif kind == "rabbit":
        from faststream.rabbit import RabbitBroker
        from faststream.rabbit.annotations import RabbitMessage as Message

        broker = RabbitBroker(url, logger=logging.getLogger("faststream"), middlewares=middlewares)

        @broker.subscriber(serve)
        async def serve_rabbit(body: Any, msg: Message) -> dict:
            return answer(body, msg)

        async def request(destination: str, body: Any, correlation_id: str, timeout: float):
            msg = await broker.request(body, destination, correlation_id=correlation_id, timeout=timeout)
            return msg, await msg.decode()

    elif kind == "nats":
        from faststream.nats import NatsBroker
        from faststream.nats.annotations import NatsMessage as Message

        broker = NatsBroker(url, logger=logging.getLogger("faststream"), middlewares=middlewares)

        @broker.subscriber(serve)
        async def serve_nats(body: Any, msg: Message) -> dict:
            return answer(body, msg)

        async def request(destination: str, body: Any, correlation_id: str, timeout: float):
            msg = await broker.request(body, destination, correlation_id=correlation_id, timeout=timeout)
            return msg, await msg.decode()

    elif kind == "nats-js":
        # JetStream: the subscriber reads <serve-stream> (FastStream's `stream=`), and requests are
        # published to <request-stream> with the reply inbox in a `reply_to` header.
        from faststream.nats import JStream, NatsBroker
        from faststream.nats.annotations import NatsMessage as Message

        serve_stream, request_stream = argv[4], argv[5]
        broker = NatsBroker(url, logger=logging.getLogger("faststream"), middlewares=middlewares)

        @broker.subscriber(serve, stream=JStream(serve_stream, subjects=[serve]))
        async def serve_nats_js(body: Any, msg: Message) -> dict:
            return answer(body, msg)

        async def request(destination: str, body: Any, correlation_id: str, timeout: float):
            msg = await broker.request(
                body, destination, stream=request_stream, correlation_id=correlation_id, timeout=timeout
            )
            return msg, await msg.decode()

    else:
        raise SystemExit(f"unknown broker {kind!r}: kafka, rabbit, nats or nats-js")

    await broker.start()
    if kind in ("nats", "nats-js"):
        # The SUB is on the server once a PING round trip returns: a request made after READY finds it.
        await broker._connection.flush()
    emit({"event": "ready"})

    async def run(cmd: dict) -> None:
        cmd_id = cmd.get("id")
        try:
            msg, body = await request(
                cmd["destination"],
                from_json(cmd.get("body")),
                cmd.get("correlation_id") or str(uuid.uuid4()),
                float(cmd.get("timeout", 10)),
            )
            emit(reply_line(cmd_id, msg, body))
        except BaseException as err:  # noqa: BLE001 - reported to the test, which fails
            emit({"id": cmd_id, "error": f"{type(err).__name__}: {err}"})

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    tasks: set[asyncio.Task] = set()
    while line := await reader.readline():
        if not line.strip():
            continue
        cmd = json.loads(line)
        if cmd.get("cmd") == "request":
            task = asyncio.create_task(run(cmd))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        else:
            emit({"id": cmd.get("id"), "error": f"unknown command {cmd.get('cmd')!r}"})
    # stdin closed: the test is done with us.
    await broker.stop()


if __name__ == "__main__":
    asyncio.run(main())
