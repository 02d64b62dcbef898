def test_static_files_are_served_by_the_app_itself_without_debug(client, settings):
    # given DEBUG off (the demo and production shapes), when the status page's script is fetched
    assert settings.DEBUG is False
    response = client.get("/static/status/prefill.js")
    # then it is served (the QR-code prefill and the stylesheets depend on it)
    assert response.status_code == 200
    assert b"replaceState" in b"".join(response.streaming_content)
