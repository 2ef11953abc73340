"""The openai provider against a raw HTTP/1.1 upstream on loopback: framing, keep-alive, streams, errors, proxies."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

from proctor.errors import ProviderError, ProviderTimeout
from proctor.providers import ProviderConfig
from proctor.providers.http11 import proxied
from proctor.providers.openai import OpenAIProvider

COMPLETION = {"id": "c1", "object": "chat.completion", "choices": [
    {"index": 0, "message": {"role": "assistant", "content": "héllo"}, "finish_reason": "stop"}]}
BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
Answer = Callable[[bytes], Awaitable[bytes | None]]  # request head + body in, raw response out (None: hang up)


class Upstream:
    """Answers each request on a connection with ``answer``; counts connections and remembers requests."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.connections = 0
        self.requests: list[bytes] = []
        self.close_after_next = False  # close the connection after the next answer, whatever it says

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length:"))
                request = head + await reader.readexactly(length)
                self.requests.append(request)
                raw = await self.answer(request)
                if raw is None:
                    break
                writer.write(raw)
                await writer.drain()
                if self.close_after_next or b"connection: close" in raw.split(b"\r\n\r\n", 1)[0]:
                    self.close_after_next = False
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@asynccontextmanager
async def serving(answer: Answer, timeout_s: float = 5.0) -> AsyncIterator[tuple[Upstream, OpenAIProvider]]:
    upstream = Upstream(answer)
    server = await asyncio.start_server(upstream.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    provider = OpenAIProvider(ProviderConfig(name="up", kind="openai", base_url=f"http://127.0.0.1:{port}/v1",
                                             timeout_s=timeout_s))
    try:
        yield upstream, provider
    finally:
        await provider.aclose()
        server.close()


def response(body: bytes, *, status: str = "200 OK", headers: str = "", framing: str = "length") -> bytes:
    head = f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\n{headers}"
    if framing == "length":
        return f"{head}content-length: {len(body)}\r\n\r\n".encode() + body
    if framing == "chunked":
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 7]), body[i:i + 7]) for i in range(0, len(body), 7))
        return f"{head}transfer-encoding: chunked\r\n\r\n".encode() + chunks + b"0\r\n\r\n"
    return f"{head}connection: close\r\n\r\n".encode() + body  # framed by the close


def run(coro: Awaitable[Any]) -> Any:
    async def main() -> Any:
        return await coro
    return asyncio.run(main())


@pytest.mark.parametrize("framing", ["length", "chunked", "close"])
def test_chat_reads_every_framing(framing: str) -> None:
    async def answer(_: bytes) -> bytes:
        return response(json.dumps(COMPLETION).encode(), framing=framing)

    async def go() -> None:
        async with serving(answer) as (upstream, provider):
            for _ in range(3):
                assert await provider.chat(BODY, "sk-caller") == COMPLETION
            # keep-alive reuses one connection; an answer framed by the close needs a new one each time
            assert upstream.connections == (3 if framing == "close" else 1)
            first = upstream.requests[0]
            assert first.startswith(b"POST /v1/chat/completions HTTP/1.1\r\n")
            assert b"authorization: Bearer sk-caller" in first
            assert json.loads(first.split(b"\r\n\r\n", 1)[1]) == BODY
    run(go())


def test_gzip_answer_is_decoded() -> None:
    async def answer(_: bytes) -> bytes:
        return response(gzip.compress(json.dumps(COMPLETION).encode()), headers="content-encoding: gzip\r\n")

    async def go() -> None:
        async with serving(answer) as (_, provider):
            assert await provider.chat(BODY, None) == COMPLETION
    run(go())


def test_connection_closed_by_the_upstream_while_idle_is_not_reused() -> None:
    async def answer(_: bytes) -> bytes:
        return response(json.dumps(COMPLETION).encode(), headers="connection: keep-alive\r\n")

    async def go() -> None:
        async with serving(answer) as (upstream, provider):
            upstream.close_after_next = True  # as a server does when its keep-alive timeout passes
            await provider.chat(BODY, None)
            await asyncio.sleep(0.05)
            assert await provider.chat(BODY, None) == COMPLETION
            assert upstream.connections == 2
    run(go())


def test_error_status_keeps_the_upstream_error_body() -> None:
    error = {"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}}

    async def answer(_: bytes) -> bytes:
        return response(json.dumps(error).encode(), status="429 Too Many Requests")

    async def go() -> None:
        async with serving(answer) as (_, provider):
            with pytest.raises(ProviderError) as info:
                await provider.chat(BODY, None)
            assert info.value.status == 429 and info.value.retryable and info.value.body == error
    run(go())


@pytest.mark.parametrize("stall", ["head", "body"])
def test_slow_upstream_times_out(stall: str) -> None:
    async def answer(_: bytes) -> bytes:
        if stall == "head":
            await asyncio.sleep(1.0)
            return response(b"{}")
        return response(b"{}")[:-1]  # one byte of the body never comes

    async def go() -> None:
        async with serving(answer, timeout_s=0.2) as (_, provider):
            with pytest.raises(ProviderTimeout):
                await provider.chat(BODY, None)
    run(go())


def test_stream_that_stalls_mid_body_times_out() -> None:
    part = b'data: {"choices": []}\n\n'

    async def answer(_: bytes) -> bytes:  # one event, then nothing: the body is never finished
        return b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n%x\r\n%s\r\n" % (len(part), part)

    async def go() -> None:
        async with serving(answer, timeout_s=0.2) as (_, provider):
            with pytest.raises(ProviderTimeout):
                [c async for c in provider.stream({**BODY, "stream": True}, None)]
    run(go())


def test_hang_up_after_the_request_is_an_error_and_the_request_is_not_sent_again() -> None:
    async def answer(_: bytes) -> None:
        return None  # the upstream read the request, then closed the connection

    async def go() -> None:
        async with serving(answer) as (upstream, provider):
            with pytest.raises(ProviderError, match="upstream request failed") as info:
                await provider.chat(BODY, None)
            assert info.value.retryable and not isinstance(info.value, ProviderTimeout)
            assert len(upstream.requests) == 1  # only connecting is retried: a POST that arrived is not re-sent
    run(go())


def test_refused_connection_is_a_retryable_provider_error() -> None:
    async def go() -> None:
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        provider = OpenAIProvider(ProviderConfig(name="up", kind="openai", base_url=f"http://127.0.0.1:{port}/v1"))
        with pytest.raises(ProviderError, match="cannot connect") as info:
            await provider.chat(BODY, None)
        assert info.value.retryable
        await provider.aclose()
    run(go())


def _sse(events: list[dict[str, Any]]) -> bytes:
    return b"".join(b"data: " + json.dumps(e).encode() + b"\r\n\r\n" for e in events) + b"data: [DONE]\n\n"


@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_stream_yields_every_event_and_reuses_the_connection(framing: str) -> None:
    events = [{"choices": [{"index": 0, "delta": {"content": w}}]} for w in ("Hel", "lo ", "wörld")]

    async def answer(_: bytes) -> bytes:
        return response(_sse(events), headers="content-type: text/event-stream\r\n", framing=framing)

    async def go() -> None:
        async with serving(answer) as (upstream, provider):
            for _ in range(2):
                assert [c async for c in provider.stream({**BODY, "stream": True}, None)] == events
            assert upstream.connections == 1
    run(go())


def test_gzip_stream_is_decoded() -> None:
    events = [{"choices": [{"index": 0, "delta": {"content": w}}]} for w in ("Hel", "lo")]

    async def answer(_: bytes) -> bytes:
        return response(gzip.compress(_sse(events)), headers="content-encoding: gzip\r\n", framing="chunked")

    async def go() -> None:
        async with serving(answer) as (_, provider):
            assert [c async for c in provider.stream({**BODY, "stream": True}, None)] == events
    run(go())


def test_stream_closed_while_the_upstream_still_generates_does_not_reuse_its_connection() -> None:
    first = {"choices": [{"index": 0, "delta": {"content": "Hel"}}]}
    events = [first, {"choices": [{"index": 0, "delta": {"content": "lo"}}]}]

    calls = 0

    async def answer(_: bytes) -> bytes:
        nonlocal calls
        calls += 1
        if calls == 1:  # the first stream stops after one event, its body still open
            part = b"data: " + json.dumps(first).encode() + b"\n\n"
            return b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n%x\r\n%s\r\n" % (len(part), part)
        return response(_sse(events), framing="chunked")

    async def go() -> None:
        async with serving(answer) as (upstream, provider):
            stream = provider.stream({**BODY, "stream": True}, None)
            assert await stream.__anext__() == first
            await stream.aclose()  # type: ignore[attr-defined]
            assert [c async for c in provider.stream({**BODY, "stream": True}, None)] == events
            assert upstream.connections == 2
    run(go())


def test_stream_error_status_raises_with_the_body() -> None:
    async def answer(_: bytes) -> bytes:
        return response(b'{"error": {"message": "bad model"}}', status="404 Not Found")

    async def go() -> None:
        async with serving(answer) as (_, provider):
            with pytest.raises(ProviderError) as info:
                [c async for c in provider.stream({**BODY, "stream": True}, None)]
            assert info.value.status == 404 and info.value.body == {"error": {"message": "bad model"}}
    run(go())


def test_environment_proxy_applies_unless_no_proxy_names_the_host(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not proxied("http://127.0.0.1:8000/v1")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    assert proxied("https://api.openai.com/v1")
    assert not proxied("http://127.0.0.1:8000/v1")  # only https is proxied
    monkeypatch.setenv("NO_PROXY", "api.openai.com")
    assert not proxied("https://api.openai.com/v1")


def test_request_goes_through_the_environment_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    async def answer(_: bytes) -> bytes:
        return response(json.dumps(COMPLETION).encode())

    async def go() -> None:
        proxy = Upstream(answer)  # a forward proxy for http:// reads the same requests, in absolute form
        server = await asyncio.start_server(proxy.handle, "127.0.0.1", 0)
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}")
        provider = OpenAIProvider(ProviderConfig(name="up", kind="openai", base_url="http://models.invalid/v1"))
        try:
            assert await provider.chat(BODY, "sk-caller") == COMPLETION
        finally:
            await provider.aclose()
            server.close()
        assert proxy.requests[0].startswith(b"POST http://models.invalid/v1/chat/completions HTTP/1.1\r\n")
    run(go())


def test_a_key_with_a_line_break_is_refused_before_it_reaches_the_upstream() -> None:
    async def answer(_: bytes) -> bytes:
        return response(json.dumps(COMPLETION).encode())

    async def go() -> None:
        async with serving(answer) as (upstream, provider):
            with pytest.raises(ProviderError, match="line break") as info:
                await provider.chat(BODY, "sk-x\r\nX-Injected: 1")
            assert info.value.status == 400 and not info.value.retryable
            assert upstream.requests == []
    run(go())


def _self_signed(tmp_path: Any) -> tuple[str, str]:
    """A certificate for 127.0.0.1 signed by itself, and its key, as PEM files."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "proctor test upstream")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "upstream.pem", tmp_path / "upstream.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


def test_https_upstream_is_verified_against_ssl_cert_file(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import ssl

    cert, key = _self_signed(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)

    async def answer(_: bytes) -> bytes:
        return response(json.dumps(COMPLETION).encode())

    async def call(trusted: bool) -> Any:
        upstream = Upstream(answer)
        server = await asyncio.start_server(upstream.handle, "127.0.0.1", 0, ssl=server_tls)
        port = server.sockets[0].getsockname()[1]
        if trusted:
            monkeypatch.setenv("SSL_CERT_FILE", cert)
        else:
            monkeypatch.delenv("SSL_CERT_FILE", raising=False)
        provider = OpenAIProvider(ProviderConfig(name="tls", kind="openai", base_url=f"https://127.0.0.1:{port}/v1",
                                                 timeout_s=5.0))
        try:
            return await provider.chat(BODY, "sk-test")
        finally:
            await provider.aclose()
            server.close()

    assert run(call(trusted=True))["choices"][0]["message"]["content"] == "héllo"
    with pytest.raises(ProviderError, match="cannot connect"):  # certifi does not know this certificate
        run(call(trusted=False))
