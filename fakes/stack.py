"""FakeStack: the target a subject talks to, started and reaped as one thing.

Three shapes, one object (the pytest plugin picks one per worker):
- `FakeStack(config)`: our own core (uvicorn thread) behind our own WireMock edge;
- `FakeStack(target_url="https://api.fiskil.com")`: the edge proxies a remote API (the sandbox
  target); there is no core and no control API;
- `FakeStack.attach(fake_url)`: a fake someone already runs (`fiskil-harness fake`); control and
  admin go over HTTP to `<fake_url>/__harness` and `<fake_url>/__admin`, nothing is started.

Start order is core, then edge, then `core.set_public_base_url(edge)`, so every URL the core hands
out leads back through the edge (journal and faults see the follow-ups). The edge's standing rules
(proxy, 405, 400s: fakes/wiremock/rules.py) are written into its root dir before the JVM starts, so
even WireMock's own `POST /__admin/reset` brings them back.
Stop order is the reverse, and runs also when start fails half-way.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import httpx

from fakes.wiremock import rules
from fakes.wiremock.edge import Edge
from fakes.wiremock.process import WireMockProcess

if TYPE_CHECKING:
    from fakes.control_client import ControlClient
    from fakes.webhook_dispatch import WebhookDispatcher
    from fakes.core.app import Core, CoreConfig

# Bounded so a long `fiskil-harness fake` session cannot grow the JVM without limit; per-scenario
# resets keep test runs far below it.
JOURNAL_LIMIT = 20000
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


def _default_core(config: CoreConfig | None) -> Core:
    from fakes.core.app import build_core

    return build_core(config)


def _default_server(core: Any) -> Any:
    from fakes.core.server import CoreServer

    return CoreServer(core)


class FakeStack:
    """Core + edge as a context manager; `base_url` is what a subject is configured with."""

    def __init__(
        self,
        config: CoreConfig | None = None,
        *,
        target_url: str | None = None,
        edge_port: int = 0,
        client: httpx.Client | None = None,
        core: Core | None = None,
        server_factory: Callable[[Any], Any] = _default_server,
        wiremock_args: Sequence[str] = (),
        start_timeout: float = 60.0,
    ) -> None:
        if target_url is not None and (config is not None or core is not None):
            raise ValueError("a remote target_url has no core: do not pass config or core with it")
        self._config = config
        self._target_url = target_url.rstrip("/") if target_url else None
        self._edge_port = edge_port
        self._own_client = client is None
        self.client = client or httpx.Client(timeout=DEFAULT_TIMEOUT)
        self._prebuilt_core = core
        self._server_factory = server_factory
        self._wiremock_args = ["--max-request-journal-entries", str(JOURNAL_LIMIT), *wiremock_args]
        self._start_timeout = start_timeout
        self._exit_stack: contextlib.ExitStack | None = None
        self._attached = False
        self._control: ControlClient | None = None

        self.core: Core | None = None
        self.core_url: str | None = None  # None on a remote target
        # Delivers the core's events to the webhook target registered through the control API
        # (PUT /__harness/webhook); None on a remote target or an attached fake.
        self.webhooks: WebhookDispatcher | None = None
        self.edge: Edge | None = None
        self.wiremock: WireMockProcess | None = None

    # -- construction variants ----------------------------------------------------------------

    @classmethod
    def attach(cls, fake_url: str, client: httpx.Client | None = None) -> FakeStack:
        """Use a fake that is already running (its edge URL); starts nothing, stops nothing.

        Reads `/__harness/info` for the core's own URL so `reset()` can re-add the proxy stub.
        """
        stack = cls(client=client)
        stack._attached = True
        fake_url = fake_url.rstrip("/")
        try:
            info = stack.client.get(f"{fake_url}/__harness/info").raise_for_status().json()
        except (httpx.HTTPError, ValueError) as exc:
            stack.close_client()
            raise ConnectionError(
                f"no fiskil-harness fake answers at {fake_url}/__harness/info ({exc}). "
                "Start one with `fiskil-harness fake` and pass the base URL it prints."
            ) from exc
        stack.core_url = info.get("core_url")
        stack.edge = Edge(fake_url, stack.client, proxy_target=stack.core_url)
        return stack

    # -- properties ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self.edge is None:
            raise RuntimeError("the FakeStack is not started; use it as a context manager")
        return self.edge.base_url

    @property
    def is_fake(self) -> bool:
        return self._target_url is None

    @property
    def target_url(self) -> str | None:
        """Where the edge proxies to: the core's URL, or the remote API."""
        return self._target_url or self.core_url

    @property
    def control(self) -> ControlClient | None:
        """The control API client (None on a remote target); built on first use.

        Our own core is controlled directly (not through the edge), so injected faults and the
        journal never involve control calls; an attached fake is controlled through its edge.
        """
        if not self.is_fake or self.edge is None:
            return None
        if self._control is None:
            from fakes.control_client import ControlClient

            base = self.edge.base_url if self._attached else self.core_url
            # secrets (the webhook target's) always go to the core directly, even when attached
            self._control = ControlClient(base, self.client, core_url=self.core_url)
        return self._control

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> FakeStack:
        if self._attached:
            return self
        if self._exit_stack is not None:
            raise RuntimeError("this FakeStack was already started")
        with contextlib.ExitStack() as stack:
            if self.is_fake:
                core = self._prebuilt_core if self._prebuilt_core is not None else _default_core(self._config)
                server = stack.enter_context(self._server_factory(core))
                self.core, self.core_url = core, server.url.rstrip("/")
                from fakes.webhook_dispatch import WebhookDispatcher

                self.webhooks = stack.enter_context(WebhookDispatcher(core))
                core.webhook_log = self.webhooks.log  # GET /__harness/webhook-deliveries
            target = self.target_url
            assert target is not None
            self.wiremock = stack.enter_context(
                WireMockProcess(port=self._edge_port, extra_args=self._wiremock_args, start_timeout=self._start_timeout,
                                mappings=rules.standing_mappings(target))
            )
            self.edge = Edge(self.wiremock.base_url, self.client, proxy_target=target)
            if self.core is not None:
                self.core.edge_faults = self.edge  # POST/GET/DELETE /__harness/faults
                self.core.set_public_base_url(self.edge.base_url)
            self._exit_stack = stack.pop_all()  # success: keep everything running
        return self

    def stop(self) -> None:
        """Stop the edge, then the core; closes the httpx client if the stack made it."""
        exit_stack, self._exit_stack = self._exit_stack, None
        try:
            if exit_stack is not None:
                exit_stack.close()
        finally:
            self.close_client()

    def close_client(self) -> None:
        if self._own_client:
            self.client.close()

    def __enter__(self) -> FakeStack:
        try:
            return self.start()
        except BaseException:
            self.close_client()
            raise

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- per-scenario isolation ---------------------------------------------------------------

    def reset(self, seed: int | None = None) -> None:
        """Fresh edge (no faults, empty journal, proxy back) and fresh core state."""
        if self.edge is None:
            raise RuntimeError("the FakeStack is not started")
        self.edge.reset()
        if self.core is not None:
            self.core.reset(seed)  # also forgets the webhook target: no deliveries until one is registered
            if self.webhooks is not None:
                self.webhooks.wait_idle(5.0)
                self.webhooks.clear()
        elif self._attached and self.control is not None:
            self.control.reset(seed)
