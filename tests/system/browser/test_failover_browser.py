"""Several app servers behind nginx on one PostgreSQL database, for real (issue #17):
a participant answers in Chromium, the server they are on is killed (SIGKILL)
mid-survey, and the page reconnects through nginx to a live server and goes on at
the next unanswered image, with nothing lost and nothing answered twice."""
from __future__ import annotations

import time

import pytest

from browser_steps import LOOK_S, answer_button, query, to_first_image
from nginx_proxy import nginx_binary, start_nginx
from streamlit_wire import make_server

pytestmark = pytest.mark.browser
SERVERS = 3


@pytest.fixture
def servers_behind_nginx(tmp_path, postgres_url):
    if nginx_binary() is None:
        pytest.skip("nginx is not installed (CI installs Debian's nginx: apt-get install nginx)")
    servers = []
    for i in range(SERVERS):
        (tmp_path / f"app{i}").mkdir()
        servers.append(make_server(tmp_path / f"app{i}", password="failover-secret", database_url=postgres_url))
    for server in servers:
        server.start()
    proxy = start_nginx(tmp_path / "nginx", [s.port for s in servers])
    yield proxy, servers
    proxy.stop()
    for server in servers:
        server.stop()


def test_a_killed_server_behind_nginx_loses_nothing_and_the_page_goes_on_elsewhere(servers_behind_nginx, new_person):
    proxy, servers = servers_behind_nginx
    page = new_person()
    token = to_first_image(page, proxy)
    for k in range(1, 6):
        page.get_by_text(f"Image {k} of 15", exact=True).wait_for()
        time.sleep(LOOK_S)
        answer_button(page, k).click()
    page.get_by_text("Image 6 of 15", exact=True).wait_for()

    # ip_hash sends this client to one server: the one that answered it last.
    port = int(proxy.upstream_of_last_request().rsplit(":", 1)[1])
    doomed = next(s for s in servers if s.port == port)
    doomed.kill()

    # The page reconnects through nginx to a live server. A click made while it was
    # reconnecting never reached a server: the participant, seeing no new image,
    # clicks again (and a click that did arrive is never stored twice).
    deadline = time.monotonic() + 60
    while not page.get_by_text("Image 7 of 15", exact=True).is_visible():
        assert time.monotonic() < deadline, "the page did not come back after its server was killed"
        time.sleep(LOOK_S)
        if answer_button(page, 6).is_visible():
            answer_button(page, 6).click()
        page.wait_for_timeout(2000)
    assert int(proxy.upstream_of_last_request().rsplit(":", 1)[1]) != doomed.port
    for k in range(7, 16):
        page.get_by_text(f"Image {k} of 15", exact=True).wait_for(timeout=60_000)
        time.sleep(LOOK_S)
        answer_button(page, k).click()
    page.get_by_text("You got").wait_for(timeout=60_000)

    database = servers[0]  # every server's DATABASE_URL is the one PostgreSQL database
    rows = query(database, "SELECT a.position FROM answer a JOIN participant p ON p.id = a.participant_id "
                     "WHERE p.token = :t ORDER BY a.position", t=token)
    assert [r.position for r in rows] == list(range(1, 16))  # none lost, none twice
    assert query(database, "SELECT count(*) FROM participant")[0][0] == 1
