"""An aiohttp-backed twin of ``proctor.providers.http11``'s upstream, for the upstream-client benchmark only.

Same interface as ``open_upstream`` (JSON post, streamed answers, ``ProviderError``/``ProviderTimeout``, connect
retries on connection errors only, header checks, the environment's proxy). Measured against the hand-written
pool and httpx by ``python -m benchmarks.gateway.upstream_client`` and not chosen: see benchmarks/RESULTS.md,
"Gateway: upstream HTTP client". aiohttp comes with the test extras (LiteLLM needs it), not with Proctor.

One ``ClientSession`` per upstream and event loop, made lazily inside the loop, since a session is bound to
the loop it was made in. The proxy (``HTTP(S)_PROXY``/``ALL_PROXY``, minus ``NO_PROXY``) is read once and
passed per request: aiohttp's ``trust_env`` would read the environment and ``~/.netrc`` on a worker thread for
every request, and a ``.netrc`` entry for the upstream's host would clash with the caller's Authorization.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import urllib.request
import weakref
from collections.abc import AsyncIterator, Mapping
from urllib.parse import urlsplit

import aiohttp

from proctor.errors import ProviderError, ProviderTimeout
from proctor.providers.http11 import Upstream, UpstreamStream  # the interface both clients implement

_CONNECT_RETRIES = 2  # connection errors only: a request that reached the upstream is never re-sent
_READ_SIZE = 64 * 1024
_DRAIN_S = 0.05
_KEEPALIVE_S = 5.0
_MAX_CONNECTIONS = 256
# Sent on every request; identity because a model's answer is small and a gateway should not pay for gzip.
_DEFAULT_HEADERS = {"User-Agent": "proctor", "Accept-Encoding": "identity"}


def open_upstream(name: str, base_url: str, timeout_s: float) -> Upstream:
    """The pooled client for ``base_url``, through the environment's proxy when one applies to it."""
    return AiohttpUpstream(name, base_url, timeout_s, proxy=environment_proxy(base_url))


def environment_proxy(url: str) -> str | None:
    """The proxy URL the environment names for ``url`` (``HTTP(S)_PROXY``, then ``ALL_PROXY``), unless
    ``NO_PROXY`` names its host."""
    proxies = urllib.request.getproxies_environment()
    parts = urlsplit(url)
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if not proxy or urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    return proxy


def _timeout(name: str, what: str) -> ProviderTimeout:
    return ProviderTimeout(name, f"upstream {what} timed out", retryable=True)


def _failed(name: str, exc: BaseException, what: str) -> ProviderError:
    if isinstance(exc, asyncio.TimeoutError):  # aiohttp's ServerTimeoutError is one too
        return _timeout(name, what)
    return ProviderError(name, f"upstream {what} failed: {type(exc).__name__}", retryable=True)


def _checked(name: str, headers: Mapping[str, str]) -> Mapping[str, str]:
    for key, value in headers.items():
        # A caller's key travels in a header: a line break in it must not add headers upstream.
        if any(c in key or c in value for c in "\r\n\0") or not (key + value).isascii():
            raise ProviderError(name, f"request header {key!r} holds a line break, NUL or non-ASCII "
                                "character; not sent", status=400)
    return headers


def _ssl_context() -> ssl.SSLContext:
    # certifi's CA bundle, as httpx (and the providers before aiohttp) used, so https upstreams verify as before.
    try:
        import certifi
    except ImportError:  # pragma: no cover - certifi comes with httpx, a core dependency
        return ssl.create_default_context()
    return ssl.create_default_context(cafile=certifi.where())


class AiohttpUpstream:
    """aiohttp's pool for one origin: up to 256 connections in flight, idle ones kept for 5 s.

    ``timeout_s`` bounds a whole non-streamed exchange, and for a stream its answer's head and then each
    read; connecting is bounded by the smaller of it and 10 s.
    """

    def __init__(self, name: str, base_url: str, timeout_s: float, *, proxy: str | None = None) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"expected an http:// or https:// URL; found {base_url!r}")
        self.name = name
        self.base_url = base_url.rstrip("/")
        self._proxy = proxy
        self._ssl = _ssl_context() if parts.scheme == "https" or proxy else None
        connect = min(10.0, timeout_s)
        self._whole = aiohttp.ClientTimeout(total=timeout_s, sock_connect=connect)
        self._stream = aiohttp.ClientTimeout(sock_connect=connect, sock_read=timeout_s)
        self._timeout_s = timeout_s
        # The loop owns its session: one made in a loop that has since closed cannot be used again.
        self._sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aiohttp.ClientSession] = \
            weakref.WeakKeyDictionary()

    def _session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        session = self._sessions.get(loop)
        if session is None or session.closed:
            connector = aiohttp.TCPConnector(limit=_MAX_CONNECTIONS, keepalive_timeout=_KEEPALIVE_S,
                                             ssl=self._ssl if self._ssl is not None else True)
            session = self._sessions[loop] = aiohttp.ClientSession(
                connector=connector, cookie_jar=aiohttp.DummyCookieJar(), headers=_DEFAULT_HEADERS,
                auto_decompress=True, trust_env=False, raise_for_status=False)
        return session

    async def _send(self, path: str, body: bytes, headers: Mapping[str, str],
                    timeout: aiohttp.ClientTimeout) -> aiohttp.ClientResponse:
        session = self._session()
        url = self.base_url + path
        sent = _checked(self.name, headers)
        for attempt in range(_CONNECT_RETRIES + 1):
            try:
                return await session.post(url, data=body, headers=sent, timeout=timeout, proxy=self._proxy,
                                          allow_redirects=False)
            except asyncio.TimeoutError as exc:
                raise _timeout(self.name, "request") from exc
            except aiohttp.ClientConnectorError as exc:  # nothing was sent, so trying again is safe
                if attempt == _CONNECT_RETRIES:
                    raise ProviderError(self.name, f"cannot connect to {self.base_url}", retryable=True) from exc
            except (aiohttp.ClientError, OSError, ValueError) as exc:
                raise _failed(self.name, exc, "request") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    async def post(self, path: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes]:
        response = await self._send(path, body, headers, self._whole)
        try:
            return response.status, await response.read()
        except (asyncio.TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
            raise _failed(self.name, exc, "request") from exc
        finally:
            response.release()

    async def post_stream(self, path: str, body: bytes, headers: Mapping[str, str]) -> UpstreamStream:
        return _AiohttpStream(self.name, await self._send(path, body, headers, self._stream))

    async def aclose(self) -> None:
        with contextlib.suppress(RuntimeError):  # no running loop: nothing of this loop to close
            session = self._sessions.pop(asyncio.get_running_loop(), None)
            if session is not None:
                await session.close()


class _AiohttpStream:
    """One streamed answer; holds its connection until closed."""

    def __init__(self, name: str, response: aiohttp.ClientResponse) -> None:
        self.name, self._response, self.status = name, response, response.status
        self._closed = False

    async def _chunks(self) -> AsyncIterator[bytes]:
        try:
            async for data in self._response.content.iter_any():
                yield data
        except (asyncio.TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
            raise _failed(self.name, exc, "stream") from exc

    async def aread(self) -> bytes:
        return b"".join([data async for data in self._chunks()])

    async def lines(self) -> AsyncIterator[str]:
        pending = b""
        async for data in self._chunks():
            pending += data
            *complete, pending = pending.split(b"\n")
            for line in complete:
                yield line.rstrip(b"\r").decode("utf-8", "replace")
        if pending:
            yield pending.rstrip(b"\r").decode("utf-8", "replace")

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        content = self._response.content
        if not content.at_eof():
            # A reader stops at "data: [DONE]", usually with the body's end already received: finish it, so
            # the connection can be reused. A body still being generated is not waited for.
            with contextlib.suppress(asyncio.TimeoutError, aiohttp.ClientError, OSError, ValueError):
                await asyncio.wait_for(_drain(content), _DRAIN_S)
        if content.at_eof():
            self._response.release()  # back to the pool
        else:
            self._response.close()  # unread bytes are left on the connection: never reuse it


async def _drain(content: aiohttp.StreamReader) -> None:
    left = _READ_SIZE
    while left > 0 and (data := await content.readany()):
        left -= len(data)
