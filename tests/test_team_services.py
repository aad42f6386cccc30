"""The team profile's test servers are real: a login, a query and a round trip work, and nothing is left."""

from __future__ import annotations

import socket

import psycopg2
import pytest
import redis

from tests.support import services
from tests.support.services import postgres_server, redis_server, require_team_services


def _refuses_connections(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(2)
        return probe.connect_ex(("127.0.0.1", port)) != 0


def test_postgres_server_answers_on_its_url_and_leaves_nothing_behind() -> None:
    require_team_services()
    with postgres_server() as server:
        connection = psycopg2.connect(server.url)
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT current_database(), 1")
                assert cursor.fetchone() == (server.database, 1)
        finally:
            connection.close()
    assert _refuses_connections(server.port)
    assert not server.data_dir.exists()


def test_redis_server_answers_on_its_url_and_leaves_nothing_behind() -> None:
    require_team_services()
    with redis_server() as server:
        client = redis.Redis.from_url(server.url)
        try:
            client.set("spec2prod", "ready")
            assert client.get("spec2prod") == b"ready"
        finally:
            client.close()
    assert _refuses_connections(server.port)
    assert not server.data_dir.exists()


def test_postgres_server_stops_when_the_block_raises() -> None:
    require_team_services()
    with pytest.raises(RuntimeError, match="body failed"), postgres_server() as server:
        raise RuntimeError("body failed")
    assert _refuses_connections(server.port)
    assert not server.data_dir.exists()


def test_a_server_that_cannot_start_fails_with_its_log(monkeypatch: pytest.MonkeyPatch) -> None:
    require_team_services()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        # The race a free port can lose: someone else binds it between the pick and the server's bind.
        monkeypatch.setattr(services, "free_port", lambda: squatter.getsockname()[1])
        expected = r"(?s)redis-server exited.*server\.log \(tail\).*in use"
        with pytest.raises(RuntimeError, match=expected), redis_server(timeout_s=10):
            pass


def test_missing_servers_skip_the_test(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "postgres_bin_dir", lambda: None)
    monkeypatch.delenv(services.TEAM_REQUIRED_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="make team-deps"):
        require_team_services()


def test_missing_servers_fail_the_test_where_ci_requires_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "postgres_bin_dir", lambda: None)
    monkeypatch.setenv(services.TEAM_REQUIRED_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match="make team-deps"):
        require_team_services()
