"""``wbl serve --sample`` (what ``make serve`` runs): a real server on loopback, with the
sample term and three printed logins that work."""

from __future__ import annotations

import http.cookiejar
import os
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.web.conftest import csrf_of, free_port

LOGIN_LINE = re.compile(r"\s+(coordinator|host|student)\s+(\S+@\S+)\s+(\S+)$")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


@pytest.mark.slow
def test_serve_sample_prints_logins_that_work(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "WBL_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("WBL_ENV", None)
    wbl = Path(sys.executable).with_name("wbl")
    server = subprocess.Popen(
        [str(wbl), "serve", "--sample", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 120
        assert server.stdout is not None
        while time.monotonic() < deadline:
            line = server.stdout.readline()
            if not line:
                break
            lines.append(line)
            if sum(bool(LOGIN_LINE.match(x)) for x in lines) == 3:
                break
        logins = {m.group(1): (m.group(2), m.group(3)) for x in lines if (m := LOGIN_LINE.match(x))}
        assert set(logins) == {"coordinator", "host", "student"}, "".join(lines)
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):  # the server starts listening just after printing
            try:
                urllib.request.urlopen(f"{base}/login", timeout=2).close()
                break
            except OSError:
                time.sleep(0.1)
        homes = {"coordinator": "/coordinator/", "host": "/host/", "student": "/student/"}
        for role, (email, password) in logins.items():
            jar = http.cookiejar.CookieJar()
            opener = urllib.request.build_opener(
                urllib.request.HTTPCookieProcessor(jar), _NoRedirect()
            )
            with opener.open(f"{base}/login", timeout=10) as page:
                token = csrf_of(page.read().decode())
            form = urllib.parse.urlencode(
                {"email": email, "password": password, "csrf_token": token}
            ).encode()
            try:
                opener.open(f"{base}/login", data=form, timeout=10)
                raise AssertionError(f"{role}: no redirect after signing in")
            except urllib.error.HTTPError as answer:
                assert answer.code == 302, role
                assert answer.headers["Location"] == homes[role]
            with opener.open(f"{base}{homes[role]}", timeout=10) as home:
                assert home.status == 200
        # A search holding a name: the access log keeps the path, not the query.
        urllib.request.urlopen(f"{base}/login?next=/coordinator/%3Fq%3DZed+Secretname").close()
    finally:
        server.terminate()
        server.wait(timeout=10)
        rest = server.stdout.read() if server.stdout is not None else ""
        if server.stdout is not None:
            server.stdout.close()
    assert "GET /login?…" in rest and "Secretname" not in rest
