"""The web app's term pages, served over a real database on both backends."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from tests.bundles import write_tiny_bundle
from wbl.db import make_engine, transaction
from wbl.geocode import AddressLocator
from wbl.services.bundles import import_bundle
from web import create_app


@pytest.fixture
def client(db_url: str) -> Iterator[FlaskClient]:
    app = create_app({"TESTING": True, "DATABASE_URL": db_url})
    yield app.test_client()
    app.extensions["wbl_engine"].dispose()


def test_app_index_without_terms_says_how_to_import(client: FlaskClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert "wbl import FOLDER" in page.text


def test_app_term_page_shows_counts(client: FlaskClient, db_url: str, tmp_path: Path) -> None:
    engine = make_engine(db_url)
    with transaction(engine) as session:
        import_bundle(session, write_tiny_bundle(tmp_path), AddressLocator(session, None))
    engine.dispose()
    index = client.get("/")
    assert 'href="/terms/Tiny%20Term"' in index.text
    page = client.get("/terms/Tiny%20Term")
    assert page.status_code == 200
    assert "3 students · 2 hosts · 8 seats" in page.text
    assert client.get("/terms/Nope").status_code == 404
