"""``proctor keys``: create prints the key once, list never shows it, revoke, and errors without tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from proctor.cli import cli
from proctor.keys import KeyRing
from proctor.store import open_store


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env=env)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/proctor.db"


def resolve(store_url: str, text: str) -> tuple[str, str | None, bool] | None:
    store = open_store(store_url)
    try:
        found = KeyRing(store).resolve(text)
    finally:
        store.close()
    return None if found is None else (found.tenant, found.agent, found.admin)


def test_create_prints_the_key_once(store_url: str) -> None:
    code, out, err = run("keys", "--store", store_url, "create", "--tenant", "acme", "--agent", "billing-bot")
    assert code == 0, err
    [key] = out.splitlines()
    assert key.startswith("pk-")
    key_id = key.split("-")[1]
    assert f"key {key_id} for tenant acme" in err and "not shown again" in err
    assert key not in err
    assert resolve(store_url, key) == ("acme", "billing-bot", False)


def test_create_json(store_url: str) -> None:
    code, out, err = run("keys", "--store", store_url, "create", "--tenant", "acme", "--team", "billing",
                         "--name", "ci", "--admin", "--json")
    assert code == 0, err
    made = json.loads(out)
    assert made["key"].startswith(f"pk-{made['id']}-")
    assert (made["tenant"], made["team"], made["name"], made["admin"], made["agent"]) == ("acme", "billing", "ci",
                                                                                        True, None)
    assert resolve(store_url, made["key"]) == ("acme", None, True)


def test_list_never_shows_the_key(store_url: str) -> None:
    keys = []
    for tenant in ("acme", "acme", "globex"):
        _, out, _ = run("keys", "--store", store_url, "create", "--tenant", tenant, "--json")
        keys.append(json.loads(out))
    code, out, err = run("keys", "--store", store_url, "list")
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 3
    for made in keys:
        assert any(line.startswith(made["id"]) and f"tenant={made['tenant']}" in line for line in lines)
        secret = made["key"][len(f"pk-{made['id']}-"):]
        assert made["key"] not in out and secret not in out
    code, out, _ = run("keys", "--store", store_url, "list", "--tenant", "globex", "--json")
    assert code == 0
    [listed] = [json.loads(line) for line in out.splitlines()]
    assert listed["id"] == keys[2]["id"] and listed["tenant"] == "globex" and listed["revoked_at"] is None
    assert "key" not in listed and keys[2]["key"] not in out
    code, out, err = run("keys", "--store", store_url, "list", "--tenant", "initech")
    assert code == 0 and out == "" and "No keys." in err


def test_revoke(store_url: str) -> None:
    _, out, _ = run("keys", "--store", store_url, "create", "--tenant", "acme", "--json")
    made = json.loads(out)
    code, out, err = run("keys", "--store", store_url, "revoke", made["id"])
    assert code == 0, err
    assert out.strip() == f"revoked {made['id']}"
    assert resolve(store_url, made["key"]) is None
    _, out, _ = run("keys", "--store", store_url, "list")
    assert "revoked" in out
    code, _, err = run("keys", "--store", store_url, "revoke", made["id"])
    assert code == 1 and f"no active key with id {made['id']!r}" in err
    code, _, err = run("keys", "--store", store_url, "revoke", "0123456789ab")
    assert code == 1 and "no active key" in err and "Traceback" not in err


def test_missing_store_is_a_usage_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/nothing-here.db"
    for command in (["list"], ["revoke", "0123456789ab"]):
        code, out, err = run("keys", "--store", url, *command)
        assert code == 2 and out == ""
        assert "nothing-here.db" in err and "nothing was written there yet" in err
        assert "Traceback" not in err
    assert not (tmp_path / "nothing-here.db").exists()


def test_bad_tenant_is_a_usage_error(store_url: str) -> None:
    code, out, err = run("keys", "--store", store_url, "create", "--tenant", "acme corp")
    assert code == 2 and out == ""
    assert "tenant 'acme corp'" in err and "expected 1-128 letters" in err


def test_store_from_environment_and_config(store_url: str, tmp_path: Path) -> None:
    code, out, _ = run("keys", "create", "--tenant", "acme", env={"PROCTOR_STORAGE": store_url})
    assert code == 0 and resolve(store_url, out.strip()) is not None
    config = tmp_path / "proctor.yaml"
    config.write_text(f"storage: {store_url}\n")
    code, out, _ = run("keys", "--config", str(config), "list", "--json")
    assert code == 0 and len(out.splitlines()) == 1


def test_invalid_config_names_the_key(tmp_path: Path) -> None:
    config = tmp_path / "proctor.yaml"
    config.write_text("auth: sometimes\n")
    code, out, err = run("keys", "--config", str(config), "list")
    assert code == 2 and out == ""
    assert "key 'auth'" in err and "off or keys" in err and "sometimes" in err
