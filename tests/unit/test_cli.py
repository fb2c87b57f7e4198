"""The ``openslot`` command on a temporary data directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from openslot.cli import main


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "240")
    for name in ("DATABASE_URL", "SECRET_KEY", "BASE_URL", "DATA_DIR"):
        monkeypatch.delenv(f"OPENSLOT_{name}", raising=False)
    return CliRunner()


def test_apps_create_json_and_list(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(
        main, ["apps", "create", "Booking", "--redirect-uri", "https://b.example/cb", "--json"]
    )
    assert result.exit_code == 0, result.output
    created = json.loads(result.output)
    assert set(created) >= {"client_id", "client_secret", "name", "redirect_uris"}
    assert (tmp_path / "openslot-data" / "openslot.db").exists()
    assert (tmp_path / "openslot-data" / "secret_key").stat().st_mode & 0o077 == 0
    listed = runner.invoke(main, ["apps", "list"], terminal_width=200)
    assert listed.exit_code == 0
    assert created["client_id"] in listed.output
    assert created["client_secret"] not in listed.output


def test_apps_create_refuses_a_bad_redirect_uri(runner: CliRunner) -> None:
    result = runner.invoke(main, ["apps", "create", "Bad", "--redirect-uri", "javascript:alert(1)"])
    assert result.exit_code != 0
    assert "redirect_uri" in result.output


def test_migrate(runner: CliRunner) -> None:
    result = runner.invoke(main, ["migrate"])
    assert result.exit_code == 0, result.output


def test_config_show_masks_secrets_and_names_sources(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENSLOT_SECRET_KEY", "super-secret-value")
    monkeypatch.setenv("OPENSLOT_DATABASE_URL", "postgresql://user:hunter2@127.0.0.1/db")
    result = runner.invoke(main, ["config", "show"], terminal_width=250)
    assert result.exit_code == 0, result.output
    assert "super-secret-value" not in result.output
    assert "hunter2" not in result.output
    assert "OPENSLOT_SECRET_KEY" in result.output
    assert "environment" in result.output
    assert "default" in result.output


def test_accounts_create_with_the_password_on_stdin(runner: CliRunner) -> None:
    result = runner.invoke(
        main,
        ["accounts", "create", "ada@example.com", "--name", "Ada", "--password-stdin", "--json"],
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    created = json.loads(result.output)
    assert created["account_id"].startswith("acc_")
    assert created["email"] == "ada@example.com"
    again = runner.invoke(main, ["accounts", "create", "ADA@example.com", "--password", "another password"])
    assert again.exit_code != 0
    assert "already exists" in again.output


def test_accounts_create_asks_for_the_password_and_checks_it(runner: CliRunner) -> None:
    result = runner.invoke(
        main, ["accounts", "create", "bob@example.com"], input="pass-word-1\npass-word-1\n"
    )
    assert result.exit_code == 0, result.output
    assert "created for bob@example.com" in result.output
    short = runner.invoke(main, ["accounts", "create", "eve@example.com", "--password", "short"])
    assert short.exit_code != 0
    assert "password" in short.output
    both = runner.invoke(
        main, ["accounts", "create", "x@example.com", "--password", "p" * 9, "--password-stdin"]
    )
    assert both.exit_code != 0


def test_apps_create_public(runner: CliRunner) -> None:
    result = runner.invoke(
        main, ["apps", "create", "Phone", "--redirect-uri", "https://p.example/cb", "--public", "--json"]
    )
    assert result.exit_code == 0, result.output
    created = json.loads(result.output)
    assert created["public"] is True
    assert created["client_secret"] is None
    plain = runner.invoke(
        main, ["apps", "create", "Phone 2", "--redirect-uri", "https://p.example/cb", "--public"]
    )
    assert plain.exit_code == 0
    assert "client_secret" not in plain.output
    assert "PKCE" in plain.output
    listed = runner.invoke(main, ["apps", "list"], terminal_width=200)
    assert "(public)" in listed.output
