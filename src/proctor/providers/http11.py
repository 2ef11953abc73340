"""Upstream HTTP for the ``openai`` and ``anthropic`` providers: a lean keep-alive pool, and httpx behind a proxy.

Why hand-written, against "prefer the well-kept library" (measured by ``python -m
benchmarks.gateway.upstream_client``, 5 interleaved rounds; benchmarks/RESULTS.md, "Gateway: upstream HTTP
client"). Server CPU per governed request, ``proctor serve`` at 16 connections, medians: this pool 0.83 ms,
aiohttp 1.06 ms (+28%), httpx 3.59 ms (4.3x). The client alone, CPU per sequential post: 128 us, 299 us
(2.3x), 1,222 us (9.6x). aiohttp was past the ~15% we would pay for a library; httpx far past it.

Why not httpx for every call (issue 6): under load httpx/httpcore cost about 1.3 ms of CPU per upstream
call here, two thirds of a whole governed request. Its pool polls every idle socket on each request and
response (``has_expired``), and each call goes through anyio, sniffio, cookies, auth and redirect layers a
provider does not use. This pool posts over asyncio streams instead: the event loop already sees a server
close an idle connection (the reader reaches EOF), so taking a connection costs no system call.

httpx stays for upstreams reached through ``HTTP(S)_PROXY``/``ALL_PROXY`` (read once, at start-up), so a
proxied deployment behaves as before. Both raise ``ProviderError`` / ``ProviderTimeout`` only.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
import sys
import time
import urllib.request
import zlib
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Mapping
from typing import Protocol, TypeVar
from urllib.parse import urlsplit

import httpx

from proctor.errors import ProviderError, ProviderTimeout

_CONNECT_RETRIES = 2  # connection errors only: a request that reached the upstream is never re-sent
_READ_SIZE = 64 * 1024
_MAX_HEAD = 64 * 1024
_DRAIN_S = 0.05


class UpstreamStream(Protocol):
    """An answer whose body is read as it arrives; ``aclose`` must be called."""

    status: int

    def lines(self) -> AsyncIterator[str]:
        """The body's lines, decoded as UTF-8, without line endings."""
        ...

    async def aread(self) -> bytes: ...

    async def aclose(self) -> None: ...


class Upstream(Protocol):
    """POSTs to one base URL; the pool behind it is the implementation's."""

    async def post(self, path: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes]:
        """Send and read the whole answer: (status, body)."""
        ...

    async def post_stream(self, path: str, body: bytes, headers: Mapping[str, str]) -> UpstreamStream: ...

    async def aclose(self) -> None: ...


def open_upstream(name: str, base_url: str, timeout_s: float) -> Upstream:
    """The pooled client for ``base_url``: httpx when an environment proxy applies to it, else the lean pool."""
    return HttpxUpstream(name, base_url, timeout_s) if proxied(base_url) else Http11Upstream(name, base_url, timeout_s)


def proxied(url: str) -> bool:
    """Whether httpx would send requests for ``url`` through a proxy named in the environment."""
    proxies = urllib.request.getproxies_environment()
    parts = urlsplit(url)
    if not (proxies.get(parts.scheme) or proxies.get("all")):
        return False
    return not urllib.request.proxy_bypass(parts.hostname or "")  # NO_PROXY


T = TypeVar("T")


async def _within(seconds: float, step: Awaitable[T]) -> T:
    """Await ``step`` for at most ``seconds`` (raises asyncio.TimeoutError). On 3.11+ without wait_for's extra
    task per call, which was a few percent of a request's CPU here."""
    if sys.version_info >= (3, 11):
        async with asyncio.timeout(seconds):
            return await step
    return await asyncio.wait_for(step, seconds)


def _timeout(name: str, what: str) -> ProviderTimeout:
    return ProviderTimeout(name, f"upstream {what} timed out", retryable=True)


class _Conn:
    __slots__ = ("idle_since", "reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.idle_since = 0.0

    def close(self) -> None:
        self.writer.close()


class _Head:
    """Status and the headers that frame the body."""

    __slots__ = ("chunked", "encoding", "keep_alive", "length", "status")

    def __init__(self, raw: bytes) -> None:
        lines = raw.decode("latin-1").split("\r\n")
        version, _, rest = lines[0].partition(" ")
        code = rest[:3]
        if not version.startswith("HTTP/1.") or not code.isdigit():
            raise ValueError("not an HTTP/1.x status line")
        self.status = int(code)
        self.length: int | None = None
        self.chunked = False
        self.encoding = ""
        connection = ""
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                self.length = int(value.strip())
            elif name == "transfer-encoding":
                self.chunked = "chunked" in value.lower()
            elif name == "content-encoding":
                self.encoding = value.strip().lower()
            elif name == "connection":
                connection = value.strip().lower()
        self.keep_alive = "close" not in connection and (version == "HTTP/1.1" or "keep-alive" in connection)
        if self.status in (204, 304) or 100 <= self.status < 200:
            self.length = 0
        if self.chunked:
            self.length = None


class _Decoder:
    """Undoes a Content-Encoding the upstream used although it was not asked to (gzip, deflate)."""

    def __init__(self, encoding: str) -> None:
        self._z = zlib.decompressobj(16 + zlib.MAX_WBITS if encoding in ("gzip", "x-gzip") else zlib.MAX_WBITS) \
            if encoding in ("gzip", "x-gzip", "deflate") else None

    def feed(self, data: bytes) -> bytes:
        return self._z.decompress(data) if self._z is not None else data

    def flush(self) -> bytes:
        return self._z.flush() if self._z is not None else b""


class Http11Upstream:
    """A keep-alive pool of HTTP/1.1 connections to one origin (``http`` or ``https``).

    At most ``max_connections`` requests are in flight (more wait for a slot); up to ``max_idle``
    connections are kept, each for ``keepalive_s`` at most, newest first. Bodies are framed by
    Content-Length or chunked encoding; an answer framed by the connection's close ends that connection.
    """

    def __init__(self, name: str, base_url: str, timeout_s: float, *, max_connections: int = 256,
                 max_idle: int = 64, keepalive_s: float = 5.0) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"expected an http:// or https:// URL; found {base_url!r}")
        self.name = name
        self.base_url = base_url
        self._host = parts.hostname
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self._ssl = _ssl_context() if parts.scheme == "https" else None
        default_port = self._port == (443 if parts.scheme == "https" else 80)
        host = f"[{self._host}]" if ":" in self._host else self._host
        self._authority = host if default_port else f"{host}:{self._port}"
        self._prefix = parts.path.rstrip("/")
        self._timeout = timeout_s
        self._connect_timeout = min(10.0, timeout_s)
        self._idle: deque[_Conn] = deque()
        self._max_idle = max_idle
        self._keepalive = keepalive_s
        self._slots = asyncio.Semaphore(max_connections)

    # -- connections ----------------------------------------------------------------------------------
    async def _connect(self) -> _Conn:
        for attempt in range(_CONNECT_RETRIES + 1):
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(self._host, self._port, ssl=self._ssl, limit=_MAX_HEAD),
                    self._connect_timeout)
                return _Conn(reader, writer)
            except asyncio.TimeoutError as exc:
                raise _timeout(self.name, "connect") from exc
            except (OSError, ssl.SSLError) as exc:
                if attempt == _CONNECT_RETRIES:
                    raise ProviderError(self.name, f"cannot connect to {self.base_url}", retryable=True) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    async def _take(self) -> _Conn:
        now = time.monotonic()
        while self._idle:
            conn = self._idle.pop()
            # The loop reads idle sockets too, so a close by the server shows as EOF without a system call.
            if conn.reader.at_eof() or conn.writer.is_closing() or now - conn.idle_since > self._keepalive:
                conn.close()
                continue
            return conn
        return await self._connect()

    def _give_back(self, conn: _Conn) -> None:
        if len(self._idle) >= self._max_idle or conn.writer.is_closing():
            conn.close()
            return
        conn.idle_since = time.monotonic()
        self._idle.append(conn)

    def _request(self, path: str, body: bytes, headers: Mapping[str, str]) -> bytes:
        lines = [f"POST {self._prefix}{path} HTTP/1.1", f"Host: {self._authority}", f"Content-Length: {len(body)}",
                 "Accept-Encoding: identity", "User-Agent: proctor"]
        for name, value in headers.items():
            # A caller's key travels in a header: a line break in it must not add headers upstream.
            if any(c in name or c in value for c in "\r\n\0") or not (name + value).isascii():
                raise ProviderError(self.name, f"request header {name!r} holds a line break, NUL or non-ASCII "
                                    "character; not sent", status=400)
            lines.append(f"{name}: {value}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + body

    async def _exchange(self, conn: _Conn, path: str, body: bytes, headers: Mapping[str, str]) -> _Head:
        conn.writer.write(self._request(path, body, headers))
        await conn.writer.drain()
        while True:
            head = _Head(await conn.reader.readuntil(b"\r\n\r\n"))
            if not 100 <= head.status < 200:  # skip 100 Continue and 103 Early Hints
                return head

    async def _body(self, conn: _Conn, head: _Head) -> AsyncGenerator[bytes, None]:
        reader = conn.reader
        if head.chunked:
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
                if size == 0:
                    while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                        pass
                    return
                yield (await reader.readexactly(size + 2))[:-2]
        elif head.length is not None:
            left = head.length
            while left:
                data = await reader.read(min(left, _READ_SIZE))
                if not data:
                    raise asyncio.IncompleteReadError(b"", left)
                left -= len(data)
                yield data
        else:
            head.keep_alive = False
            while data := await reader.read(_READ_SIZE):
                yield data

    def _failed(self, exc: BaseException, what: str) -> ProviderError:
        if isinstance(exc, asyncio.TimeoutError):
            return _timeout(self.name, what)
        return ProviderError(self.name, f"upstream {what} failed: {type(exc).__name__}", retryable=True)

    # -- Upstream ---------------------------------------------------------------------------------------
    async def post(self, path: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes]:
        async with self._slots:
            conn = await self._take()
            try:
                status, data, reusable = await _within(self._timeout, self._whole(conn, path, body, headers))
            except BaseException as exc:
                conn.close()  # never reuse a connection whose exchange did not end cleanly
                if isinstance(exc, (asyncio.TimeoutError, OSError, EOFError, ValueError, zlib.error)):
                    raise self._failed(exc, "request") from exc
                raise
            if reusable:
                self._give_back(conn)
            else:
                conn.close()
            return status, data

    async def _whole(self, conn: _Conn, path: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes, bool]:
        head = await self._exchange(conn, path, body, headers)
        decoder = _Decoder(head.encoding)
        parts = [decoder.feed(data) async for data in self._body(conn, head)]
        parts.append(decoder.flush())
        return head.status, b"".join(parts), head.keep_alive

    async def post_stream(self, path: str, body: bytes, headers: Mapping[str, str]) -> UpstreamStream:
        await self._slots.acquire()
        conn: _Conn | None = None
        try:
            conn = await self._take()
            head = await _within(self._timeout, self._exchange(conn, path, body, headers))
        except BaseException as exc:
            if conn is not None:
                conn.close()
            self._slots.release()
            if isinstance(exc, (asyncio.TimeoutError, OSError, EOFError, ValueError)):
                raise self._failed(exc, "request") from exc
            raise
        return _Http11Stream(self, conn, head)

    async def aclose(self) -> None:
        while self._idle:
            self._idle.pop().close()


class _Http11Stream:
    """One streamed answer; holds its connection (and pool slot) until closed."""

    def __init__(self, pool: Http11Upstream, conn: _Conn, head: _Head) -> None:
        self.status = head.status
        self._pool, self._conn, self._head = pool, conn, head
        self._chunks = pool._body(conn, head)
        self._done = False
        self._closed = False

    async def _next(self) -> bytes | None:
        try:
            return await _within(self._pool._timeout, self._chunks.__anext__())
        except StopAsyncIteration:
            self._done = True
            return None
        except (asyncio.TimeoutError, OSError, EOFError, ValueError) as exc:
            raise self._pool._failed(exc, "stream") from exc

    async def aread(self) -> bytes:
        decoder = _Decoder(self._head.encoding)
        parts = []
        while (data := await self._next()) is not None:
            parts.append(decoder.feed(data))
        return b"".join(parts) + decoder.flush()

    async def lines(self) -> AsyncIterator[str]:
        decoder = _Decoder(self._head.encoding)
        pending = b""
        while (data := await self._next()) is not None:
            pending += decoder.feed(data)
            *complete, pending = pending.split(b"\n")
            for line in complete:
                yield line.rstrip(b"\r").decode("utf-8", "replace")
        pending += decoder.flush()
        if pending:
            yield pending.rstrip(b"\r").decode("utf-8", "replace")

    async def _drain(self) -> None:
        left = _READ_SIZE
        async for data in self._chunks:
            left -= len(data)
            if left <= 0:
                return
        self._done = True

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        if not self._done and self._head.keep_alive:
            # A reader stops at "data: [DONE]", usually with the body's end already received: finish it, so
            # the connection can be reused. A body still being generated is not waited for.
            with contextlib.suppress(asyncio.TimeoutError, OSError, EOFError, ValueError):
                await _within(_DRAIN_S, self._drain())
        await self._chunks.aclose()
        if self._done and self._head.keep_alive:
            self._pool._give_back(self._conn)
        else:
            self._conn.close()  # a stream closed early leaves unread bytes on its connection
        self._pool._slots.release()


def _ssl_context() -> ssl.SSLContext:
    """Verification as httpx does it: ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` when set (an internal CA), else
    certifi's bundle (one of httpx's dependencies). Read when the provider starts."""
    cafile, capath = os.environ.get("SSL_CERT_FILE") or None, os.environ.get("SSL_CERT_DIR") or None
    if cafile or capath:
        return ssl.create_default_context(cafile=cafile, capath=capath)
    try:
        import certifi
    except ImportError:  # pragma: no cover - httpx requires certifi
        return ssl.create_default_context()
    return ssl.create_default_context(cafile=certifi.where())


class HttpxUpstream:
    """httpx's pool, for upstreams behind an environment proxy (httpx reads HTTP(S)_PROXY and NO_PROXY)."""

    def __init__(self, name: str, base_url: str, timeout_s: float) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s, connect=min(10.0, timeout_s)),
            limits=httpx.Limits(max_connections=256, max_keepalive_connections=64),
        )

    async def _send(self, path: str, body: bytes, headers: Mapping[str, str], stream: bool) -> httpx.Response:
        request = self._client.build_request("POST", f"{self.base_url}{path}", content=body, headers=dict(headers))
        for attempt in range(_CONNECT_RETRIES + 1):
            try:
                return await self._client.send(request, stream=stream)
            except httpx.ConnectError as exc:
                if attempt == _CONNECT_RETRIES:
                    raise ProviderError(self.name, f"cannot connect to {self.base_url}", retryable=True) from exc
            except httpx.TimeoutException as exc:
                raise _timeout(self.name, "request") from exc
            except httpx.HTTPError as exc:
                raise ProviderError(self.name, f"upstream request failed: {type(exc).__name__}",
                                    retryable=True) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    async def post(self, path: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes]:
        response = await self._send(path, body, headers, stream=False)
        return response.status_code, response.content

    async def post_stream(self, path: str, body: bytes, headers: Mapping[str, str]) -> UpstreamStream:
        return _HttpxStream(self.name, await self._send(path, body, headers, stream=True))

    async def aclose(self) -> None:
        await self._client.aclose()


class _HttpxStream:
    def __init__(self, name: str, response: httpx.Response) -> None:
        self.name, self._response, self.status = name, response, response.status_code

    async def lines(self) -> AsyncIterator[str]:
        try:
            async for line in self._response.aiter_lines():
                yield line
        except httpx.TimeoutException as exc:
            raise _timeout(self.name, "stream") from exc
        except httpx.HTTPError as exc:
            raise ProviderError(self.name, f"upstream stream failed: {type(exc).__name__}") from exc

    async def aread(self) -> bytes:
        return await self._response.aread()

    async def aclose(self) -> None:
        await self._response.aclose()
