from labs.checks import check_admin_protection, check_retention_and_deadline


def test_the_shipped_settings_pass_the_access_checks():
    # given the project's settings, when the checks run, then the admin is protected and nothing is flagged
    assert check_admin_protection() == []
    assert check_retention_and_deadline() == []


def test_a_missing_lockout_middleware_and_odd_retention_or_deadline_are_reported(settings):
    # given axes removed, a 30-day retention and a 96-hour deadline
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != "axes.middleware.AxesMiddleware"]
    settings.AUDIT_RETENTION_DAYS = 30
    settings.CNIL_DEADLINE_HOURS = 96
    # when the checks run, then each is named
    assert [m.id for m in check_admin_protection()] == ["labs.E002"]
    assert [m.id for m in check_retention_and_deadline()] == ["labs.W001", "labs.W002"]
