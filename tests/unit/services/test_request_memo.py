"""RequestMemo: what an authz lookup read, kept for the one request being authorized."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from warden.services.context import RequestMemo, end_request


def test_one_read_per_request_and_key() -> None:
    memo: RequestMemo[str] = RequestMemo()
    reads: list[str] = []

    def read(what: str) -> Callable[[], str]:
        def reader() -> str:
            reads.append(what)
            return what

        return reader

    params: dict[str, Any] = {"Id": "a"}
    assert memo.get(params, "x", read("x1")) == "x1"
    assert memo.get(params, "x", read("x2")) == "x1"  # served from the memo
    assert memo.get(params, "y", read("y1")) == "y1"  # another key of the same request
    assert reads == ["x1", "y1"]
    # An equal params object is another request: read again, and the old one is gone.
    again = dict(params)
    assert memo.get(again, "x", read("x3")) == "x3"
    assert memo.get(params, "x", read("x4")) == "x4"
    assert reads == ["x1", "y1", "x3", "x4"]


def test_threads_do_not_share_entries() -> None:
    memo: RequestMemo[str] = RequestMemo()
    params: dict[str, Any] = {}
    assert memo.get(params, "k", lambda: "main") == "main"
    seen: list[str] = []
    worker = threading.Thread(target=lambda: seen.append(memo.get(params, "k", lambda: "other")))
    worker.start()
    worker.join()
    assert seen == ["other"]
    assert memo.get(params, "k", lambda: "unused") == "main"


def test_end_request_lets_go_of_the_params() -> None:
    memo: RequestMemo[str] = RequestMemo()
    params: dict[str, Any] = {"MasterUserPassword": "not kept"}
    memo.get(params, "k", lambda: "read")
    end_request()
    assert memo.get(params, "k", lambda: "read again") == "read again"
