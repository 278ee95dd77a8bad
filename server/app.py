"""The app factory: page, static files, health check and the training websocket, one per tab."""

from __future__ import annotations

import io
import os
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

import jinja2
import segno
from fastapi import FastAPI, HTTPException, Request, WebSocket
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.datastructures import QueryParams
from starlette.status import WS_1008_POLICY_VIOLATION, WS_1013_TRY_AGAIN_LATER

from engine import schema
from engine.schema import Limits, default_config
from server import rooms
from server.config import DEFAULT_SPEED, PROTOCOL_VERSION, SETTINGS_VARIABLE, SPEED_STOPS, Settings
from server.fairness import Lanes
from server.guard import Guard
from server.hosts import HostRule, is_loopback_host, origin_allowed
from server.pacing import TokenBucket
from server.parking import Parking
from server.room_broker import RedisBroker, broker_for
from server.room_hub import RoomHub
from server.session import Session

PACKAGE_DIR = Path(__file__).resolve().parent
# New sessions one client address may start per process: a reconnect loop (a tab refused again
# and again, a client sending oversized messages) costs a run and a greeting each time.
ARRIVALS_PER_SECOND = 4
ARRIVAL_BURST = 64  # a whole class behind one NAT reconnecting after a server restart
MAX_ADDRESSES_TRACKED = 4096


def asset_dir(name: str) -> Path:
    """`templates` or `static`: inside the installed package (the wheel puts them there) first,
    else at the root of a source checkout."""
    for candidate in (PACKAGE_DIR / name, PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise RuntimeError(f"backprop-lab: cannot find the {name}/ directory next to {PACKAGE_DIR}")


SECTION_TITLES = {"data": "Data", "network": "Network", "training": "Training"}


def control_sections(limits: Limits) -> list[tuple[str, list[schema.Field]]]:
    """The schema's fields that have a control, by section, in the schema's order."""
    return [
        (title, [entry for entry in schema.section_fields(section, limits) if entry.control])
        for section, title in SECTION_TITLES.items()
    ]


def form_to_hash(query: QueryParams, limits: Limits) -> str:
    """The controls' form fields as the page's link (engine/schema.py's paths are both): a list
    field's values joined by commas, a checkbox's last value (its hidden 0, then 1 if ticked)."""
    known = {entry.path: entry for entry in schema.fields(limits)}
    parts = []
    for path in dict.fromkeys(query.keys()):
        if path not in known:
            continue
        values = query.getlist(path)
        value = values[-1] if known[path].kind == "boolean" else ",".join(values)
        parts.append(f"{quote(path)}={quote(value, safe=',')}")
    return "&".join(parts)


def full_reason(settings: Settings) -> str:
    """Why a connection over the cap is closed; with several workers the cap is per process."""
    if settings.workers == 1:
        return f"server full: {settings.max_connections} connections, try again later"
    share = settings.connections_per_worker
    return f"server full: {share} connections on this worker process, try again later"


def capped_address(websocket: WebSocket) -> str | None:
    """The client address the per-address cap counts; None for loopback (the teacher's own
    tabs, the benchmarks) and for a client without one."""
    client = websocket.client
    if client is None or is_loopback_host(client.host):
        return None
    return client.host


def refusal_reason(app: FastAPI, settings: Settings, address: str | None) -> str | None:
    """Why a new session cannot start (the close reason of code 1013), or None."""
    if address and not arrival_allowed(app.state.arrivals, address):
        return "too many new connections from your address; try again in a moment"
    if len(app.state.sessions) >= settings.connections_per_worker:
        return full_reason(settings)
    share = settings.sessions_per_address_per_worker
    if address and app.state.by_address[address] >= share:
        where = "" if settings.workers == 1 else " on this worker process"
        return f"too many tabs from your address: {share} sessions{where}; close one"
    return None


def arrival_allowed(arrivals: dict[str, TokenBucket], address: str) -> bool:
    """Each session costs a run and a greeting to start: one address (not loopback) may start
    ARRIVALS_PER_SECOND a second on average, in bursts of a whole class reconnecting at once."""
    if len(arrivals) > MAX_ADDRESSES_TRACKED:  # a flood of addresses: start counting afresh
        arrivals.clear()
    bucket = arrivals.setdefault(address, TokenBucket(ARRIVALS_PER_SECOND, ARRIVAL_BURST))
    return bucket.take(1)


def room_hub(settings: Settings) -> RoomHub | None:
    """This process's rooms: None when they are off (several workers and no Redis)."""
    if settings.rooms_off_reason:
        return None
    return RoomHub(
        broker_for(settings.redis_url),
        cap=settings.room_cap,
        grace_seconds=settings.room_grace_seconds,
        joins_per_minute=settings.join_attempts_per_minute,
    )


def qr_svg(url: str) -> bytes:
    """The join URL as a QR code (SVG, drawn by segno): medium error correction survives a
    projector's glare; the page sizes it, so one module is one SVG unit."""
    buffer = io.BytesIO()
    # omitsize: a viewBox and no fixed width, so CSS scales it without blurring.
    segno.make(url, error="m").save(
        buffer, kind="svg", border=2, omitsize=True, xmldecl=False, dark="#000", light="#fff"
    )
    return buffer.getvalue()


def create_app(settings: Settings | None = None) -> FastAPI:
    """A fresh application; every route reads `settings`, nothing is global."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        hub = app.state.rooms
        if hub is not None and isinstance(hub.broker, RedisBroker):
            await hub.broker.check()  # a wrong --redis stops the start with the reason
        yield
        app.state.stopping = True  # nothing to park: the process is going
        # Tell every open tab why it lost its session (the page reconnects with backoff).
        for session in list(app.state.sessions):
            await session.close(1001, "server shutting down")
        if hub is not None:
            await hub.shutdown()

    # No /openapi.json, /docs or /redoc: the page is the only client, docs/protocol.md the spec.
    app = FastAPI(
        title="backprop-lab", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None
    )
    app.add_middleware(Guard, rule=HostRule(settings.host, settings.allowed_hosts))
    app.state.settings = settings
    app.state.sessions = set()
    app.state.by_address = Counter()  # sessions per client address (loopback not counted)
    app.state.arrivals = {}  # new sessions per client address: a TokenBucket each
    app.state.lanes = Lanes()  # this process's engine, shared fairly by its sessions
    app.state.parking = Parking(
        settings.resume_grace,
        settings.sessions_per_address_per_worker,
        settings.connections_per_worker,
    )
    app.state.stopping = False
    app.state.rooms = room_hub(settings)
    loader = jinja2.FileSystemLoader(asset_dir("templates"))
    environment = jinja2.Environment(
        loader=loader, autoescape=True, trim_blocks=True, lstrip_blocks=True
    )
    templates = Jinja2Templates(env=environment)
    app.mount("/static", StaticFiles(directory=asset_dir("static")), name="static")

    limits = settings.run_limits()

    def page(request: Request, room_code: str = "") -> HTMLResponse:
        context = {
            "protocol": PROTOCOL_VERSION,
            "limits": settings.limits(),
            "control_sections": control_sections(limits),
            "defaults": default_config(),
            "speed_stops": SPEED_STOPS,
            "default_speed": DEFAULT_SPEED,
            "room_code": room_code,
            "rooms_off": settings.rooms_off_reason or "",
        }
        return templates.TemplateResponse(request, "index.html", context)

    @app.get("/", response_class=HTMLResponse)
    async def index(request: Request) -> Response:
        if request.query_params:  # the controls' form, submitted without scripts
            return RedirectResponse(f"/#{form_to_hash(request.query_params, limits)}", 303)
        return page(request)

    def room_code(text: str) -> str:
        try:
            return rooms.normalise_code(text)
        except ValueError as error:
            raise HTTPException(404, str(error)) from None

    @app.get("/r/{code}", response_class=HTMLResponse)
    async def room_page(request: Request, code: str) -> HTMLResponse:
        """A student's link: the page, which joins room `code` once it is connected."""
        return page(request, room_code(code))

    @app.get("/r/{code}/qr.svg")
    async def room_qr(request: Request, code: str) -> Response:
        url = f"{str(request.base_url).rstrip('/')}/r/{room_code(code)}"
        headers = {"Cache-Control": "private, max-age=3600"}
        return Response(qr_svg(url), media_type="image/svg+xml", headers=headers)

    @app.get("/healthz")
    async def healthz() -> dict[str, object]:
        # `worker`: which process of `--workers N` answered (each counts only its own sessions).
        sessions = len(app.state.sessions)
        return {
            "status": "ok",
            "protocol": PROTOCOL_VERSION,
            "sessions": sessions,
            "parked": len(app.state.parking),
            "worker": os.getpid(),
        }

    @app.websocket("/ws")
    async def training_socket(websocket: WebSocket) -> None:
        # The Guard has checked the Host already.
        origin, host = websocket.headers.get("origin"), websocket.headers.get("host")
        if not origin_allowed(origin, host, settings.allowed_origins):
            # Closing before accept makes the server answer the handshake with HTTP 403.
            await websocket.close(WS_1008_POLICY_VIOLATION)
            return
        await websocket.accept()
        address = capped_address(websocket)
        refusal = refusal_reason(app, settings, address)
        if refusal:
            await websocket.close(WS_1013_TRY_AGAIN_LATER, refusal)
            return
        # A page whose socket dropped comes back with its session's token (?resume=...).
        session = app.state.parking.take(websocket.query_params.get("resume"))
        if session is None:
            session = Session(websocket, settings, app.state.lanes, app.state.rooms)
        else:
            session.attach(websocket)
        app.state.sessions.add(session)
        if address:
            app.state.by_address[address] += 1
        try:
            await session.serve()
        finally:
            app.state.sessions.discard(session)
            if address:
                app.state.by_address[address] -= 1
                if app.state.by_address[address] <= 0:
                    del app.state.by_address[address]
            if not app.state.stopping:
                app.state.parking.park(session, address)
            # A room does not wait for a resume: a student leaves it, a teacher's room waits
            # for its token (the page sends both again after its hello).
            await session.room.depart()

    return app


def app_from_environment() -> FastAPI:
    """The factory each worker process of `--workers N` calls (uvicorn needs an import string);
    its settings come from the parent through the environment."""
    text = os.environ.get(SETTINGS_VARIABLE)
    return create_app(Settings.from_json(text) if text else None)
