"""The gateways under test: their configs, their launch commands, and the LiteLLM proxy's own venv.

Both route ``CHAT_MODEL`` to nginx's chat path and ``STREAM_MODEL`` to its stream path, run one process on
uvicorn with uvloop, and log only errors, so neither pays for access logs the other skips.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

from benchmarks.gateway.upstream import CHAT_MODEL, STREAM_MODEL

ROOT = Path(__file__).resolve().parents[2]
LITELLM_SPEC = "litellm[proxy]"
# Sent to both gateways: the LiteLLM proxy refuses to start without a master key, and checks it on every
# request (in memory; there is no database); Proctor forwards it upstream as the caller's provider key.
API_KEY = "sk-bench-7f3c9a1e5b2d4c6a8e0f1a3b5c7d9e1f"


def default_litellm_venv() -> Path:
    # Outside the checkout: the proxy extras are ~1 GB and must never land in Proctor's .venv.
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "proctor-bench" / "litellm"


def proctor_config(tmp: Path, upstream_port: int, port: int) -> Path:
    """A proctor.yaml: builtin:default policies, audit on to SQLite in ``tmp``, nginx as an openai provider."""
    base = f"http://127.0.0.1:{upstream_port}"
    providers = [
        {"name": "upstream-stream", "kind": "openai", "base_url": f"{base}/stream/v1", "models": [STREAM_MODEL]},
        {"name": "upstream", "kind": "openai", "base_url": f"{base}/v1", "models": ["*"]},
    ]
    doc = {
        "storage": f"sqlite:///{tmp / 'proctor-audit.db'}",
        "policies": ["builtin:default"],
        "providers": providers,
        "failure_mode": "closed",
        "server": {"host": "127.0.0.1", "port": port},
        "audit": {"key_file": str(tmp / "proctor-signing.key"), "sync": False},
    }
    path = tmp / "proctor.yaml"
    path.write_text(json.dumps(doc, indent=2), "utf-8")  # JSON is YAML
    return path


def proctor_argv(config: Path) -> list[str]:
    return [str(Path(sys.executable).with_name("proctor")), "serve", "--config", str(config),
            "--log-level", "warning"]


def litellm_config(tmp: Path, upstream_port: int) -> Path:
    """The proxy's config: two openai/ models on nginx, no callbacks, no database, no telemetry."""
    base = f"http://127.0.0.1:{upstream_port}"
    models = [
        {"model_name": CHAT_MODEL,
         "litellm_params": {"model": f"openai/{CHAT_MODEL}", "api_base": f"{base}/v1", "api_key": "sk-bench"}},
        {"model_name": STREAM_MODEL,
         "litellm_params": {"model": f"openai/{CHAT_MODEL}", "api_base": f"{base}/stream/v1",
                            "api_key": "sk-bench"}},
    ]
    doc = {
        "model_list": models,
        "litellm_settings": {"telemetry": False, "callbacks": [], "success_callback": [], "failure_callback": [],
                             "set_verbose": False},
        "general_settings": {"master_key": API_KEY},
    }
    path = tmp / "litellm.yaml"
    path.write_text(json.dumps(doc, indent=2), "utf-8")
    return path


def litellm_env() -> dict[str, str]:
    """The proxy's environment: the bundled cost map instead of a download, error logs only, no database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LITELLM_", "DATABASE_URL", "OPENAI_"))}
    env.update({"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR", "LITELLM_TELEMETRY": "False",
                "DISABLE_ADMIN_UI": "True", "NO_DOCS": "True"})
    return env


def litellm_argv(venv: Path, config: Path, port: int) -> list[str]:
    return [str(venv / "bin" / "litellm"), "--config", str(config), "--host", "127.0.0.1", "--port", str(port),
            "--num_workers", "1"]


def ensure_litellm(venv: Path, spec: str = LITELLM_SPEC) -> str:
    """Create ``venv`` with the LiteLLM proxy unless it is there; return the installed LiteLLM version."""
    python = venv / "bin" / "python"
    if not (venv / "bin" / "litellm").exists():
        print(f"installing {spec} into {venv} (once; a few minutes)", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", spec],
                       check=True)
    out = subprocess.run([str(python), "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def proctor_version() -> str:
    return version("proctor")
