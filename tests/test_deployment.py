"""The deployment files as shipped: docker-compose.yml, the Caddyfile, the Dockerfile,
.dockerignore, the lock files and the package list in pyproject.toml.

No container engine is needed: the compose file is read as YAML (with its anchors and
merge keys, as compose reads them), and ``check --deploy`` runs with the environment the
web container gets from .env.example and the compose file."""

from __future__ import annotations

import ast
import fnmatch
import importlib.metadata
import os
import re
import secrets
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
APP_SERVICES = ["migrate", "web", "worker", "beat"]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _env_file(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if line.strip() and not line.startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


def _substitute(value: str, variables: dict[str, str]) -> str:
    # Compose's ${NAME}, ${NAME:?message} and ${NAME:-default}.
    return re.sub(r"\$\{(\w+)(?::[?-][^}]*)?\}", lambda match: variables[match.group(1)], value)


def test_every_long_running_service_has_a_health_check(compose):
    services = compose["services"]
    assert {"proxy", "web", "worker", "beat", "db", "redis"} <= set(services)
    for name, service in services.items():
        if service.get("restart") == "no":
            # One-shot jobs (migrate) exit; the others wait for them to succeed instead.
            assert any(dep.get("condition") == "service_completed_successfully"
                       for other in services.values() for dep_name, dep in other.get("depends_on", {}).items()
                       if dep_name == name)
            continue
        assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"


def test_only_the_tls_proxy_is_reachable_from_outside(compose):
    services = compose["services"]
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"proxy"}
    assert sorted(services["proxy"]["ports"]) == ["443:443", "80:80"]
    assert "./Caddyfile:/etc/caddy/Caddyfile:ro" in services["proxy"]["volumes"]
    assert services["proxy"]["depends_on"]["web"]["condition"] == "service_healthy"


def test_the_caddyfile_terminates_tls_with_its_own_ca_in_front_of_gunicorn():
    caddyfile = (ROOT / "Caddyfile").read_text()
    lines = [line.split("#", 1)[0].strip() for line in caddyfile.splitlines()]
    assert "tls internal" in lines
    upstream = next(line for line in lines if line.startswith("reverse_proxy"))
    gunicorn = {}
    exec((ROOT / "config" / "gunicorn.py").read_text(), gunicorn)  # noqa: S102 (our own settings file)
    assert upstream.endswith(":" + gunicorn["bind"].rsplit(":", 1)[1] + "}")
    assert "web:" in upstream


def test_the_app_services_trust_the_proxy_for_https_and_its_one_host_name(compose):
    for name in APP_SERVICES:
        environment = compose["services"][name]["environment"]
        assert environment["SECURE_PROXY_SSL_HEADER"] == "1"
        site = {"SITE_ADDRESS": "retention.branch.example.cn"}
        assert _substitute(environment["ALLOWED_HOSTS"], site) == "retention.branch.example.cn"
        assert _substitute(environment["CSRF_TRUSTED_ORIGINS"], site) == "https://retention.branch.example.cn"
    assert compose["services"]["proxy"]["environment"]["SITE_ADDRESS"].startswith("${SITE_ADDRESS")


def test_check_deploy_is_clean_with_the_compose_environment(compose):
    example = _env_file(ROOT / ".env.example")
    # Only what the container gets (and PATH): nothing of this test run's own environment.
    env = {"PATH": os.environ["PATH"], **example}
    env.update({key: _substitute(value, example) for key, value in compose["services"]["web"]["environment"].items()})
    env["SECRET_KEY"] = secrets.token_urlsafe(50)
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNINGS" not in result.stdout + result.stderr
    assert "no issues" in result.stdout


def _docker_ignores(path: str, patterns: list[str]) -> bool:
    # Docker's rule: patterns in order, the last one that matches the path or one of its
    # parent folders wins; "!" lets a path back in.
    parts = path.split("/")
    candidates = ["/".join(parts[:end]) for end in range(1, len(parts) + 1)]
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        glob = pattern.lstrip("!")
        anywhere = glob.startswith("**/")
        glob = glob.removeprefix("**/")
        for candidate in candidates:
            name = candidate.rsplit("/", 1)[-1]
            if fnmatch.fnmatchcase(candidate, glob) or (anywhere and fnmatch.fnmatchcase(name, glob)):
                ignored = not negate
    return ignored


@pytest.mark.parametrize("path,ignored", [
    (".env", True), (".env.production", True), ("var/secret_key", True), ("db.sqlite3", True),
    (".venv/bin/python", True), ("node_modules/htmx.org/dist/htmx.min.js", True), (".git/config", True),
    ("staticfiles/css/app.css", True), ("customers/__pycache__/models.cpython-311.pyc", True),
    (".env.example", False), ("config/settings.py", False), ("requirements/prod.lock", False),
    ("templates/base.html", False), ("Caddyfile", False),
])
def test_secrets_and_local_state_stay_out_of_the_image(path, ignored):
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    assert _docker_ignores(path, patterns) is ignored
    copies = [line for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("COPY")]
    assert not [line for line in copies if ".env" in line]


def test_the_image_installs_the_production_lock_then_every_app():
    steps = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()
             if line.strip().startswith(("COPY", "RUN"))]
    lock_install = steps.index("RUN pip install --no-cache-dir --require-hashes -r requirements/prod.lock")
    copy_all = steps.index("COPY . .")
    project_install = steps.index("RUN pip install --no-cache-dir --no-deps .")
    assert lock_install < copy_all < project_install


def _packages(find: dict) -> set[str]:
    # setuptools' find_packages: folders with an __init__.py, reached through folders that
    # have one too, as dotted names, kept when they match an include and no exclude pattern.
    def walk(folder: Path, prefix: str):
        for child in sorted(folder.iterdir()):
            if child.is_dir() and child.name.isidentifier() and (child / "__init__.py").is_file():
                yield prefix + child.name
                yield from walk(child, prefix + child.name + ".")

    def matches(name: str, patterns) -> bool:
        return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)

    return {name for name in walk(ROOT, "")
            if matches(name, find.get("include", ["*"])) and not matches(name, find.get("exclude", []))}


def test_the_package_list_covers_every_app_and_leaves_tests_out():
    find = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    packages = _packages(find)
    local_apps = {app.split(".")[0] for app in settings.INSTALLED_APPS if (ROOT / app.split(".")[0]).is_dir()}
    assert local_apps | {"config"} <= packages
    assert not {name for name in packages if name.split(".")[0] in {"tests", "benchmarks", "node_modules"}}


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _third_party_imports(folders: list[str]) -> set[str]:
    local = {path.name for path in ROOT.iterdir() if path.is_dir()} | {"manage"}
    modules = set()
    for folder in folders:
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    modules |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules.add(node.module.split(".")[0])
    return {module for module in modules if module not in sys.stdlib_module_names and module not in local}


def test_every_imported_distribution_is_declared():
    # hypothesis was imported by the tests and installed by hand, never declared.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    main = {_canonical(Requirement(line).name) for line in project["dependencies"]}
    dev = main | {_canonical(Requirement(line).name) for line in project["optional-dependencies"]["dev"]}
    distributions = importlib.metadata.packages_distributions()
    apps = [app.split(".")[0] for app in settings.INSTALLED_APPS if (ROOT / app.split(".")[0]).is_dir()]
    for folders, declared in ((apps + ["config"], main), (["tests", "benchmarks"], dev)):
        for module in sorted(_third_party_imports(folders)):
            names = {_canonical(name) for name in distributions.get(module, [module])}
            assert names & declared, f"{module} (from {folders}) is imported but {names} is not declared"


def _locked(path: Path) -> dict[str, str]:
    text = path.read_text()
    pins = dict(re.findall(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)", text, flags=re.MULTILINE))
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
    assert all("--hash=sha256:" in entry for entry in entries if entry.strip()), path.name
    return {re.sub(r"[-_.]+", "-", name).lower(): version for name, version in pins.items()}


@pytest.mark.parametrize("lock,groups", [("prod.lock", ["main"]), ("dev.lock", ["main", "dev"])])
def test_every_direct_dependency_is_bounded_and_locked_within_its_bounds(lock, groups):
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {"main": project["dependencies"], "dev": project["optional-dependencies"]["dev"]}
    locked = _locked(ROOT / "requirements" / lock)
    for group in groups:
        for line in declared[group]:
            requirement = Requirement(line)
            assert any(spec.operator in {"<", "<=", "==", "~="} for spec in requirement.specifier), \
                f"{requirement.name} has no upper bound"
            version = locked[re.sub(r"[-_.]+", "-", requirement.name).lower()]
            assert requirement.specifier.contains(version), f"{requirement.name}=={version} outside {line}"


def test_the_locks_were_made_from_the_current_pyproject():
    # uv writes the command it ran at the top; a dependency added to pyproject.toml without
    # `make lock` shows up in the bounds test above as missing from the lock.
    for lock in ("prod.lock", "dev.lock"):
        header = (ROOT / "requirements" / lock).read_text().splitlines()[1]
        assert "uv pip compile pyproject.toml" in header and "--generate-hashes" in header


def test_beat_touches_the_heartbeat_file_its_health_check_reads(tmp_path):
    heartbeat = tmp_path / "heartbeat"
    env = {k: v for k, v in os.environ.items() if k not in {"CELERY_BROKER_URL", "DATABASE_URL"}}
    env.update({"DEBUG": "1", "BEAT_HEARTBEAT_FILE": str(heartbeat), "VAR_DIR": str(tmp_path)})
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel=WARNING",
         "--schedule", str(tmp_path / "schedule")],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not heartbeat.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        assert heartbeat.exists(), proc.stderr.read() if proc.poll() is not None else "no heartbeat in 60 s"
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    # The compose health check's own command, against this file.
    check = next(service for name, service in yaml.safe_load((ROOT / "docker-compose.yml").read_text())
                 ["services"].items() if name == "beat")["healthcheck"]["test"]
    assert check[:3] == ["CMD", "python", "-c"]
    code = check[3].replace("/app/var/celerybeat-heartbeat", str(heartbeat))
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
    os.utime(heartbeat, (time.time() - 600, time.time() - 600))
    assert subprocess.run([sys.executable, "-c", code]).returncode == 1
