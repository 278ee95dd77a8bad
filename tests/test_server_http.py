"""Plain HTTP routes of the app and the console script's argument handling."""

import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from server import cli, cli_options
from server.app import asset_dir, create_app
from server.config import Settings
from server.hosts import HostRule, is_loopback_host, origin_allowed

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def client():
    # A loopback bind answers loopback Hosts only (TestClient's default is "testserver").
    with TestClient(create_app(Settings()), base_url="http://127.0.0.1:8000") as test_client:
        yield test_client


def test_page_is_rendered_from_the_templates_directory(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "<html" in response.text.lower()


def test_healthz(client):
    health = client.get("/healthz").json()
    expected = {"status": "ok", "protocol": 1, "sessions": 0, "parked": 0, "worker": os.getpid()}
    assert health == expected


@pytest.mark.parametrize(
    "path",
    sorted(
        p.relative_to(ROOT / "static").as_posix()
        for p in (ROOT / "static").rglob("*")
        if p.is_file()
    ),
)
def test_every_static_file_is_served(client, path):
    response = client.get(f"/static/{path}")
    assert response.status_code == 200
    assert response.content == (ROOT / "static" / path).read_bytes()


def test_javascript_is_served_as_javascript_for_es_modules(client):
    response = client.get("/static/js/main.js")
    assert "javascript" in response.headers["content-type"]


def test_assets_are_found_at_the_repository_root_in_a_checkout():
    assert asset_dir("templates") == ROOT / "templates"
    assert asset_dir("static") == ROOT / "static"


def test_host_rules_on_a_loopback_bind():
    rule = HostRule("127.0.0.1")
    assert rule.allows("127.0.0.1:8000")
    assert rule.allows("[::1]:8000")
    assert rule.allows("localhost")
    assert not rule.allows("evil.example:8000")
    assert not rule.allows("127.0.0.1.evil.example")
    assert not rule.allows(None)
    assert not rule.allows("")


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),  # all of 127.0.0.0/8 is loopback
        ("::1", True),
        ("0:0:0:0:0:0:0:1", True),
        ("::ffff:127.0.0.1", True),
        ("localhost", True),
        ("LOCALHOST", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.20", False),
        ("localhost.evil.example", False),
        ("", False),
    ],
)
def test_loopback_is_any_loopback_address(host, loopback):
    assert is_loopback_host(host) is loopback
    assert Settings(host=host).is_loopback is loopback
    assert (cli.exposure_notice(Settings(host=host)) is None) is loopback


def test_a_loopback_address_in_the_host_header_is_allowed():
    rule = HostRule("127.0.0.1")
    assert rule.allows("127.0.0.2:8000")
    assert rule.allows("[0:0:0:0:0:0:0:1]:8000")
    assert not rule.allows("[::ffff:10.0.0.1]:8000")


def test_origin_rules():
    assert origin_allowed(None, "localhost:8000", ())
    assert origin_allowed("http://localhost:8000", "localhost:8000", ())
    assert not origin_allowed("http://localhost:9000", "localhost:8000", ())
    assert origin_allowed("http://a.example", "localhost:8000", ("http://a.example",))
    assert not origin_allowed("http://localhost:8000", None, ())


def test_the_config_cap_is_computed_from_the_network_limits():
    small, default = Settings(max_hidden_layers=1, max_neurons=4), Settings()
    # 9 weight layers of 32 x 32 weights and 32 biases, each with up to 3 optimizer numbers,
    # and 5,000 points of 3 numbers, at 26 bytes a number (4 more a point), over 64 KiB.
    points = 5000 * (3 * 26 + 4)
    assert default.max_config_bytes == 64 * 1024 + 4 * 9 * (32 * 32 + 32) * 26 + points
    assert small.max_config_bytes == 64 * 1024 + 4 * 2 * (4 * 4 + 4) * 26 + points
    assert default.limits()["max_config_bytes"] == default.max_config_bytes


def test_settings_refuse_nonsense():
    with pytest.raises(ValueError, match=r"settings\.max_connections: must be positive"):
        Settings(max_connections=0)
    with pytest.raises(ValueError, match=r"settings\.default_fps"):
        Settings(default_fps=90)


def test_cli_defaults_and_repeatable_origins():
    args = cli.parse_args(["--allow-origin", "http://a:1", "--allow-origin", "http://b:2"])
    assert (args.host, args.port, args.no_browser) == ("127.0.0.1", 8000, False)
    assert args.allow_origin == ["http://a:1", "http://b:2"]


def test_the_committed_settings_doc_is_the_settings_table():
    # Regenerate with: python -m server.settings_doc > docs/settings.md
    from server.settings_doc import HEADER, markdown_table, options

    assert (ROOT / "docs" / "settings.md").read_text() == HEADER + markdown_table()
    # Every option but --no-browser sets a setting, whose default is the option's default.
    flags = {
        flag for action in cli_options.option_parser()._actions for flag in action.option_strings
    }
    assert flags - set(options().values()) == {"-h", "--help", "--no-browser"}
    settings = cli_options.main_settings(cli.parse_args([]))
    assert settings == Settings()


def test_cli_refuses_a_bad_port(capsys):
    with pytest.raises(SystemExit):
        cli.parse_args(["--port", "70000"])
    assert "--port: must be in [1, 65535]" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:8000/"),
        ("0.0.0.0", "http://127.0.0.1:8000/"),
        ("::", "http://[::1]:8000/"),
        ("192.168.1.20", "http://192.168.1.20:8000/"),
    ],
)
def test_page_url(host, url):
    assert cli.page_url(host, 8000) == url


def test_only_a_non_loopback_bind_prints_who_can_reach_it():
    assert cli.exposure_notice(Settings(host="127.0.0.1")) is None
    notice = cli.exposure_notice(Settings(host="0.0.0.0", port=9000))
    assert "0.0.0.0:9000" in notice and "anyone on your network" in notice


def test_main_prints_the_url_opens_the_browser_and_turns_compression_off(monkeypatch, capsys):
    served, opened = {}, []

    class ImmediateTimer:  # the real one waits a second for the server to listen
        def __init__(self, _delay, function, args):
            self.function, self.args = function, args

        def start(self):
            self.function(*self.args)

    for name in cli.SINGLE_THREADED_BLAS:  # main sets them; monkeypatch restores them after
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(cli.threading, "Timer", ImmediateTimer)
    monkeypatch.setattr(cli.webbrowser, "open", opened.append)
    # Not a real server: uvicorn (one worker) or the supervisor (several) starts in serve().
    monkeypatch.setattr(cli, "serve", lambda settings: served.update(settings=settings) or 0)
    cli.main(["--host", "0.0.0.0", "--port", "8123", "--allow-origin", "http://a.example"])
    output = capsys.readouterr().out.splitlines()
    assert output[0] == "backprop-lab: serving on http://127.0.0.1:8123/"
    assert "anyone on your network" in output[1] and len(output) == 2
    assert opened == ["http://127.0.0.1:8123/"]
    settings = served["settings"]
    options = cli.uvicorn_options(settings)  # every server process runs with these
    assert options["ws_per_message_deflate"] is False
    # A config of the largest network is refused with a clear error, not closed by uvicorn.
    assert Settings().max_config_bytes < options["ws_max_size"]
    assert (settings.host, settings.port) == ("0.0.0.0", 8123)
    assert all(os.environ[name] == "1" for name in cli.SINGLE_THREADED_BLAS)


def test_main_with_no_browser_opens_nothing(monkeypatch, capsys):
    for name in cli.SINGLE_THREADED_BLAS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(cli.webbrowser, "open", lambda url: pytest.fail("opened " + url))
    monkeypatch.setattr(cli, "serve", lambda settings: 0)
    cli.main(["--no-browser"])
    assert capsys.readouterr().out == "backprop-lab: serving on http://127.0.0.1:8000/\n"


def test_the_page_renders_every_control_of_the_schema_before_any_script_runs():
    from engine import schema

    page = TestClient(create_app(), base_url="http://127.0.0.1:8000").get("/").text
    for entry in schema.fields():
        if not entry.control:
            assert f'data-path="{entry.path}"' not in page, entry.path
            continue
        assert f'data-path="{entry.path}"' in page, entry.path
        assert f'title="{entry.help}"' in page or entry.help.replace("'", "&#39;") in page
        assert f">{entry.label}<" in page, entry.label
    assert '<option value="circle" selected>Circle</option>' in page
    assert 'id="control-training.lr" name="training.lr"' in page and 'value="0.03"' in page
    assert 'data-when-path="training.optimizer" data-when-values="momentum" hidden' in page


def test_the_controls_form_without_scripts_becomes_a_link():
    client = TestClient(create_app(), base_url="http://127.0.0.1:8000")
    query = "data.dataset=xor&data.features=x1&data.features=x1sq&network.bias=0&network.bias=1"
    reply = client.get(f"/?{query}&nonsense=1", follow_redirects=False)
    assert reply.status_code == 303
    assert reply.headers["location"] == "/#data.dataset=xor&data.features=x1,x1sq&network.bias=1"


def test_the_speed_slider_is_rendered_from_the_servers_stops(client):
    import html
    import json
    import re

    from server.config import DEFAULT_SPEED, SPEED_STOPS

    slider = re.search(r'<input type="range" data-testid="speed"[^>]*>', client.get("/").text)
    attributes = dict(re.findall(r'([\w-]+)="([^"]*)"', slider.group(0)))
    stops = json.loads(html.unescape(attributes["data-stops"]))
    assert stops == list(SPEED_STOPS) and stops[-1] == "max"
    assert int(attributes["max"]) == len(stops) - 1
    assert stops[int(attributes["value"])] == DEFAULT_SPEED
