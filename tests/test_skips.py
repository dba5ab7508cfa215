"""How the suite explains a test it cannot run: the reason names the fix that applies."""

from __future__ import annotations

import pytest

from tests import conftest


def test_skip_reason_mentions_require_services_only_when_it_is_set(monkeypatch) -> None:
    monkeypatch.setattr(conftest, "REQUIRE_SERVICES", False)
    with pytest.raises(pytest.skip.Exception) as skipped:
        conftest._unavailable("PostgreSQL at 127.0.0.1", "connection refused")
    assert "NEWSMON_REQUIRE_SERVICES" not in str(skipped.value)
    assert "PostgreSQL at 127.0.0.1 not reachable (connection refused)" in str(skipped.value)

    monkeypatch.setattr(conftest, "REQUIRE_SERVICES", True)
    with pytest.raises(pytest.fail.Exception) as failed:
        conftest._unavailable("PostgreSQL at 127.0.0.1", "connection refused")
    assert "unset NEWSMON_REQUIRE_SERVICES" in str(failed.value)
