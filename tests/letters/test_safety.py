"""Data from a leaked file is hostile: it is printed as text, and the renderer fetches nothing outside."""

from __future__ import annotations

import dataclasses

import pytest

from letters.checks import check_harfbuzz_subset, harfbuzz_subset_available
from letters.fetcher import BASE_URL, RefusedURL, StaticOnlyURLFetcher
from letters.render import render_letter_pdf, render_letter_pdf_plain
from letters.slots import address_lines

from .conftest import pdf_text

pytestmark = pytest.mark.django_db

OUTSIDE_URLS = [
    "file:///etc/passwd",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "https://example.com/logo.png",
    "ftp://example.com/x",
    BASE_URL + "../../../../etc/passwd",
    BASE_URL + "%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    BASE_URL + "letters/does-not-exist.css",
    "data:text/html,<script>alert(1)</script>",
]


@pytest.mark.parametrize("url", OUTSIDE_URLS)
def test_fetcher_refuses_anything_but_the_projects_static_files(url):
    # given the letters' URL fetcher
    fetcher = StaticOnlyURLFetcher()
    # when asked for a file, network or metadata address
    # then it refuses
    with pytest.raises(RefusedURL):
        fetcher(url)


def test_fetcher_serves_the_bundled_stylesheet_and_fonts():
    # given the letters' URL fetcher
    fetcher = StaticOnlyURLFetcher()
    # when asked for the print stylesheet and a bundled font
    css = fetcher(BASE_URL + "letters/v1/letter.css").read()
    font = fetcher(BASE_URL + "letters/fonts/DejaVuSans.ttf").read()
    # then it serves them
    assert b"@page" in css and font[:4] == b"\x00\x01\x00\x00"


MALICIOUS = [
    '<script>alert("x")</script>"><img src="file:///etc/passwd">',
    "url(file:///etc/passwd)",
    "A" * 500,
]


@pytest.mark.parametrize("hostile", MALICIOUS)
def test_hostile_names_and_addresses_print_as_escaped_text(make_letter, hostile, mocker_fetch):
    # given a patient whose name and address come from a hostile file
    _, letter = make_letter(first_name=hostile, last_name=hostile[:100], address_line=hostile[:300])
    letter = dataclasses.replace(letter, lab_name=hostile[:200], breach_description=hostile)
    # when the letter is rendered by both paths
    fast, plain = render_letter_pdf(letter), render_letter_pdf_plain(letter)
    # then the text is printed, cut to fit its box, the same in both, and nothing outside was fetched
    text = pdf_text(fast)
    assert text == pdf_text(plain)
    assert hostile[:12] in text
    # and every address line fits the window (500 characters are cut with "…")
    assert max(len(line) for line in address_lines(letter)) < 60
    if len(hostile) > 100:
        assert address_lines(letter)[0].endswith("…")
    assert [url for url in mocker_fetch if not url.startswith(BASE_URL + "letters/")] == []


def test_a_laboratory_logo_outside_static_files_is_not_fetched(make_letter, mocker_fetch):
    # given a laboratory whose logo path points outside the project
    _, letter = make_letter()
    letter = dataclasses.replace(letter, lab_logo_path="file:///etc/passwd")
    # when the letter is rendered
    pdf = render_letter_pdf_plain(letter)
    # then the fetcher was asked, refused, and the letter still rendered
    assert "file:///etc/passwd" in mocker_fetch
    assert b"root:" not in pdf and pdf.startswith(b"%PDF")


def test_harfbuzz_check_is_an_error_in_production_and_a_warning_otherwise(settings, monkeypatch):
    # given a WeasyPrint that cannot load harfbuzz-subset
    monkeypatch.setattr("weasyprint.text.ffi.harfbuzz_subset", None)
    # when the system check runs in production, then in development
    settings.PRODUCTION = True
    production = check_harfbuzz_subset()
    settings.PRODUCTION = False
    development = check_harfbuzz_subset()
    # then it fails loudly in production and warns otherwise
    assert [m.id for m in production] == ["letters.E001"] and production[0].is_serious()
    assert [m.id for m in development] == ["letters.W001"] and not development[0].is_serious()


def test_harfbuzz_check_is_registered_and_silent_when_subsetting_is_available():
    # given this machine (libharfbuzz-subset0 is installed)
    from django.core.checks import registry

    # then the check runs with Django's system checks and reports nothing
    assert check_harfbuzz_subset in registry.registry.get_checks()
    assert harfbuzz_subset_available() is True
    assert check_harfbuzz_subset() == []
