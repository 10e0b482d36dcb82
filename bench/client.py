"""A small keep-alive HTTP/1.1 client for the harnesses: h11 on asyncio streams.

It drives a thousand blackbox `/probe` requests per interval from the CPU the fake world uses,
so it must cost little; it keeps connections open between requests, as Prometheus does.
"""

from __future__ import annotations

import asyncio

import h11

READ_SIZE = 65536


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer
        self.h11 = h11.Connection(h11.CLIENT)

    async def request(self, host: str, target: str, headers: list[tuple[str, str]], method: str = "GET",
                      body: bytes = b"") -> tuple[int, bytes]:
        if self.h11.states == {h11.CLIENT: h11.DONE, h11.SERVER: h11.DONE}:
            self.h11.start_next_cycle()
        fields = [("Host", host), *headers] + ([("Content-Length", str(len(body)))] if method != "GET" else [])
        self.writer.write(self.h11.send(h11.Request(method=method, target=target, headers=fields))
                          + (self.h11.send(h11.Data(data=body)) if body else b"") + self.h11.send(h11.EndOfMessage()))
        status, chunks = 0, []
        while True:
            event = self.h11.next_event()
            if event is h11.NEED_DATA:
                self.h11.receive_data(await self.reader.read(READ_SIZE))
            elif isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.Data):
                chunks.append(event.data)
            elif isinstance(event, h11.EndOfMessage):
                return status, b"".join(chunks)
            elif isinstance(event, h11.ConnectionClosed):
                raise ConnectionError("closed before the answer ended")

    @property
    def reusable(self) -> bool:
        return self.h11.states == {h11.CLIENT: h11.DONE, h11.SERVER: h11.DONE}

    def close(self) -> None:
        self.writer.close()


class Client:
    """GET requests to one host:port over kept-alive connections (one per request in flight)."""

    def __init__(self, host: str, port: int, timeout: float):
        self.host, self.port, self.timeout = host, port, timeout
        self._idle: list[_Connection] = []

    async def get(self, target: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        """Return (status, raw body); a kept-alive connection the server has closed is retried once."""
        return await self.request("GET", target, headers)

    async def post(self, target: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        return await self.request("POST", target, headers, body)

    async def request(self, method: str, target: str, headers: dict[str, str] | None = None,
                      body: bytes = b"") -> tuple[int, bytes]:
        fields = list((headers or {}).items())
        while self._idle:
            connection = self._idle.pop()
            try:
                return await self._exchange(connection, method, target, fields, body)
            except (OSError, h11.RemoteProtocolError):
                continue  # the server closed it while idle
        reader, writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), self.timeout)
        return await self._exchange(_Connection(reader, writer), method, target, fields, body)

    async def _exchange(self, connection: _Connection, method: str, target: str, fields: list,
                        body: bytes) -> tuple[int, bytes]:
        try:
            async with asyncio.timeout(self.timeout):
                answer = await connection.request(f"{self.host}:{self.port}", target, fields, method, body)
        except BaseException:
            connection.close()
            raise
        if connection.reusable:
            self._idle.append(connection)
        else:
            connection.close()
        return answer

    def close(self) -> None:
        for connection in self._idle:
            connection.close()
        self._idle.clear()
