"""Starting the deployment: Ray options from the `[ray]` table of textlens.toml
(`ServerSettings.ray`, read with the rest of the file, $TEXTLENS_CONFIG included).

[ray]
num_replicas = 2            # or "auto" with min_replicas/max_replicas/target_ongoing_requests
num_cpus = 1                # per replica
num_gpus = 0                # per replica; fractional (0.5) shares a GPU
max_ongoing_requests = 8    # per replica; beyond it the proxy queues, then refuses
grpc_port = 9000            # Serve's gRPC proxy
http_port = 8000
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textlens.server.settings import RaySettings, load_settings

APP_NAME = "textlens"
PROXY_FIELDS = {"grpc_port", "http_port", "host"}
SERVICER = "textlens.v1.textlens_pb2_grpc.add_TextAnalysisServicer_to_server"


def deployment_options(ray: RaySettings) -> dict[str, Any]:
    """`Deployment.options(...)` for these settings."""
    options: dict[str, Any] = {
        "ray_actor_options": {"num_cpus": ray.num_cpus, "num_gpus": ray.num_gpus},
        "max_ongoing_requests": ray.max_ongoing_requests,
        "max_queued_requests": ray.max_queued_requests,
        "user_config": {"registry_version": None},
    }
    if ray.num_replicas == "auto":
        options["num_replicas"] = "auto"
        options["autoscaling_config"] = {
            "min_replicas": ray.min_replicas,
            "max_replicas": ray.max_replicas,
            "target_ongoing_requests": ray.target_ongoing_requests,
        }
    else:
        options["num_replicas"] = int(ray.num_replicas)
    return options


def run(
    config: Path | str | None = None,
    ray: RaySettings | None = None,
    overrides: dict[str, Any] | None = None,
) -> Any:
    """Start Serve's proxies and the textlens application on the connected Ray cluster."""
    from ray import serve
    from ray.serve.config import gRPCOptions

    ray = ray or load_settings(config).ray
    serve.start(
        http_options={"host": ray.host, "port": ray.http_port},
        grpc_options=gRPCOptions(port=ray.grpc_port, grpc_servicer_functions=[SERVICER]),
    )
    return _deploy(str(config) if config else None, overrides or {}, ray, None)


def _deploy(
    config: str | None, overrides: dict[str, Any], ray: RaySettings, registry_version: str | None
) -> Any:
    from ray import serve

    from textlens.server.ray_serve.deployment import TextlensReplica

    options = deployment_options(ray) | {"user_config": {"registry_version": registry_version}}
    deployment = serve.deployment(**options)(TextlensReplica)
    # The deployment's own options, not the proxies' (ports, host): what a reload reuses.
    app = deployment.bind(config, overrides, ray.model_dump(exclude=PROXY_FIELDS))
    return serve.run(app, name=APP_NAME, route_prefix=f"/{APP_NAME}")


def running_launch_args() -> dict[str, Any]:
    """The config, overrides and [ray] settings the running textlens app was deployed with."""
    from ray import serve

    try:
        handle = serve.get_app_handle(APP_NAME)
    except Exception:  # Serve not started, or no such application
        raise ValueError(
            f"no {APP_NAME!r} app is running on this Ray cluster: start it with "
            "`textlens ray serve --config textlens.toml`"
        ) from None
    launched: dict[str, Any] = handle.launch_args.remote().result(timeout_s=60)
    return launched


def update_registry_version(
    version: str, config: Path | str | None = None, ray: RaySettings | None = None
) -> str | None:
    """Make every replica re-read the model registry (Serve's user_config): the same
    deployment with a new `registry_version`, so Serve calls `reconfigure` on each.

    Without `config` (and `ray`), the running app's own config, overrides and [ray]
    settings are reused, so only `registry_version` changes; before issue 22 (item 16)
    that redeployed the app on the built-in settings and models. Returns the config
    path the app now runs with (None: the built-ins)."""
    if config is None and ray is None:
        launched = running_launch_args()
        stored = launched.get("ray")
        settings = RaySettings(**stored) if stored else load_settings(launched["config"]).ray
        _deploy(launched["config"], launched.get("overrides") or {}, settings, version)
        return str(launched["config"]) if launched["config"] else None
    settings = ray or load_settings(config).ray
    _deploy(str(config) if config else None, {}, settings, version)
    return str(config) if config else None
