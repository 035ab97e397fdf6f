"""The deploy path's helpers fail cleanly: tools/install_pulumi.py against a local mirror (verified, atomic,
nothing left behind on a refusal), python -m infra.cli (state backends, Automation API wiring against a
stand-in Pulumi CLI, check, token, smoke). Nothing here reaches the internet, a real Pulumi CLI or a real
Docker engine: docker and pulumi are stand-ins on PATH or in a temporary .pulumi-cli/."""
from __future__ import annotations

import gzip
import hashlib
import http.server
import importlib.util
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
from functools import partial
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from infra import cli, offline, smoke
from tests.loopback import QuietFiles, serving
from tests.mocks import ROOT

FIXTURES = Path(__file__).parent / "fixtures"
INSTALLER = ROOT / "tools" / "install_pulumi.py"
VERSION = (ROOT / "PULUMI_VERSION").read_text().strip()
_spec = importlib.util.spec_from_file_location("install_pulumi", INSTALLER)
installer = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(installer)
ARCHIVE = installer.archive_name(VERSION)
CHECKSUMS = f"pulumi-{VERSION}-checksums.txt"
KEYS = {"inference": {"key": "inf-key"}, "management": {"key": "mgmt-key"}, "API": {"key": "api-key"}}


# --- stand-ins -------------------------------------------------------------------------------------------

def fake_pulumi_script(version: str = VERSION) -> str:
    """A shell script that behaves as the Pulumi CLI `version` (tests/fixtures/fake_pulumi.py)."""
    return (f'#!/bin/sh\nFAKE_PULUMI_VERSION="${{FAKE_PULUMI_VERSION:-{version}}}"\nexport FAKE_PULUMI_VERSION\n'
            f'exec "{sys.executable}" "{FIXTURES / "fake_pulumi.py"}" "$@"\n')


def executable(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path


def fake_docker(bin_dir: Path, body: str) -> Path:
    return executable(bin_dir / "docker", "#!/bin/sh\n" + body)


DOCKER_OK = 'case "$1" in info) echo 99.0.0 ;; *) echo "unexpected $*" >&2; exit 3 ;; esac\n'
DOCKER_DOWN = 'echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2\nexit 1\n'
DOCKER_NO_CONTAINER = 'if [ "$1" = container ]; then echo "Error: No such container: $5" >&2; exit 1; fi\nexit 3\n'
DOCKER_RUNNING = (f'case "$1" in container) echo true ;; exec) echo \'{json.dumps(KEYS)}\' ;; *) exit 3 ;; esac\n')


def archive_bytes(members: dict[str, tuple[str, int]]) -> bytes:
    """A .tar.gz of name → (text, mode); names ending in / are directories."""
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz, tarfile.open(fileobj=gz, mode="w") as tar:
        for name, (text, mode) in members.items():
            info = tarfile.TarInfo(name.rstrip("/"))
            info.mode = mode
            if name.endswith("/"):
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                data = text.encode()
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def release(version: str = VERSION) -> bytes:
    return archive_bytes({"pulumi/": ("", 0o755), "pulumi/pulumi": (fake_pulumi_script(version), 0o755),
                          "pulumi/pulumi-language-python": ("#!/bin/sh\nexit 0\n", 0o755)})


@pytest.fixture
def mirror(tmp_path):
    """A local HTTP server serving a folder, as PULUMI_MIRROR_URL would name one."""
    folder = tmp_path / "mirror"
    folder.mkdir()
    with serving(partial(QuietFiles, directory=str(folder))) as url:
        yield SimpleNamespace(folder=folder, url=url + "/")


def publish(folder: Path, archive: bytes, *, digest: str | None = None, listed: bool = True) -> None:
    (folder / ARCHIVE).write_bytes(archive)
    lines = [f"{'0' * 64}  pulumi-v{VERSION}-windows-x64.zip"]
    if listed:
        lines.append(f"{digest or hashlib.sha256(archive).hexdigest()}  {ARCHIVE}")
    (folder / CHECKSUMS).write_text("\n".join(lines) + "\n")


def dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


@pytest.fixture
def project(tmp_path):
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "PULUMI_VERSION").write_text(VERSION + "\n")
    return folder


def install(project: Path, *args: str, mirror: str | None = None, path: str | None = None):
    env = {**os.environ, "PATH": path or os.environ["PATH"]}
    env.pop("PULUMI_MIRROR_URL", None)
    if mirror:
        env["PULUMI_MIRROR_URL"] = mirror
    return subprocess.run([sys.executable, str(INSTALLER), "--root", str(project), *args], env=env,
                          capture_output=True, text=True, timeout=120)


def nothing_installed(project: Path) -> bool:
    return not (project / ".pulumi-cli").exists()


# --- the installer -------------------------------------------------------------------------------------

def test_installer_verifies_and_installs_into_the_project(project, mirror):
    publish(mirror.folder, release())
    result = install(project, mirror=mirror.url)
    assert result.returncode == 0, result.stderr
    binary = project / ".pulumi-cli" / VERSION / "bin" / "pulumi"
    assert subprocess.run([str(binary), "version"], capture_output=True, text=True).stdout.strip() == f"v{VERSION}"
    assert (binary.parent / "pulumi-language-python").is_file()
    assert [p.name for p in (project / ".pulumi-cli").iterdir()] == [VERSION]  # no partial folder left
    assert f"verified sha256 {hashlib.sha256(release()).hexdigest()}" in result.stdout
    assert "installed Pulumi CLI" in result.stdout
    again = install(project, mirror=dead_url())  # idempotent: no download at all
    assert again.returncode == 0 and "already installed" in again.stdout


def test_installer_mirror_flag_and_if_missing(project, mirror, tmp_path):
    publish(mirror.folder, release())
    on_path = executable(tmp_path / "bin" / "pulumi", fake_pulumi_script())
    skipped = install(project, "--if-missing", mirror=dead_url(), path=f"{on_path.parent}:/usr/bin:/bin")
    assert skipped.returncode == 0 and f"using the Pulumi CLI on PATH: {on_path}" in skipped.stdout
    assert nothing_installed(project)
    result = install(project, "--mirror", mirror.url.rstrip("/"), "--if-missing", path="/usr/bin:/bin")
    assert result.returncode == 0, result.stderr
    assert (project / ".pulumi-cli" / VERSION / "bin" / "pulumi").is_file()


def test_installer_refuses_a_checksum_mismatch(project, mirror):
    publish(mirror.folder, release(), digest=hashlib.sha256(b"something else").hexdigest())
    result = install(project, mirror=mirror.url)
    assert result.returncode == 1
    assert f"checksum mismatch for {ARCHIVE}" in result.stderr and "nothing was installed" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert nothing_installed(project)


def test_installer_refuses_an_archive_the_checksums_do_not_list(project, mirror):
    publish(mirror.folder, release(), listed=False)
    result = install(project, mirror=mirror.url)
    assert result.returncode == 1
    assert f"{CHECKSUMS} lists no checksum for {ARCHIVE}: refusing to install" in result.stderr
    assert nothing_installed(project)


def test_installer_download_errors_are_one_clean_line(project, mirror):
    dead = dead_url()
    result = install(project, mirror=dead)
    assert result.returncode == 1
    assert result.stderr.startswith(f"install_pulumi: could not download {dead}{CHECKSUMS}: ")
    assert "PULUMI_MIRROR_URL" in result.stderr and len(result.stderr.splitlines()) == 1
    assert nothing_installed(project)
    (mirror.folder / CHECKSUMS).write_text(f"{'a' * 64}  {ARCHIVE}\n")  # the archive itself is missing: 404
    missing = install(project, mirror=mirror.url)
    assert missing.returncode == 1 and f"could not download {mirror.url}{ARCHIVE}: HTTP 404" in missing.stderr
    assert "Traceback" not in missing.stderr and nothing_installed(project)


@pytest.mark.parametrize("members, message", [
    ({"pulumi/pulumi": (fake_pulumi_script(), 0o755), "../evil": ("x", 0o644)}, "not part of a Pulumi release"),
    ({"pulumi/README": ("no binary", 0o644)}, "has no executable pulumi/pulumi"),
    ({"pulumi/pulumi": (fake_pulumi_script("3.1.0"), 0o755)}, f"holds pulumi 3.1.0, not {VERSION}"),
], ids=["path-traversal", "no-binary", "wrong-version"])
def test_installer_refuses_archives_that_are_not_the_release(project, mirror, members, message):
    publish(mirror.folder, archive_bytes(members))
    result = install(project, mirror=mirror.url)
    assert result.returncode == 1 and message in result.stderr, result.stderr
    assert nothing_installed(project) and not (project.parent / "evil").exists()


def test_installer_bad_version_file(project):
    (project / "PULUMI_VERSION").write_text("latest\n")
    result = install(project, mirror=dead_url())
    assert result.returncode == 1 and "not a version like 3.272.0" in result.stderr and nothing_installed(project)


def test_installer_keeps_an_existing_install_folder(project, mirror):
    (project / ".pulumi-cli").mkdir()
    publish(mirror.folder, release(), digest="f" * 64)
    assert install(project, mirror=mirror.url).returncode == 1
    assert list((project / ".pulumi-cli").iterdir()) == []  # the user's folder stays, empty as it was


def test_pinned_version_matches_the_sdk():
    pinned = {line.split("==")[0]: line.split("==")[1] for line in (ROOT / "requirements.txt").read_text().splitlines()
              if "==" in line}
    assert pinned["pulumi"] == VERSION


# --- infra.cli: state backends, stacks ----------------------------------------------------------------

@pytest.fixture
def env(tmp_path, monkeypatch):
    """No backend, no passphrase, no Pulumi CLI, a stand-in bin folder first on PATH; state in tmp."""
    for name in ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE", smoke.KEY_ENV):
        monkeypatch.delenv(name, raising=False)
    if shutil.which("pulumi", path="/usr/bin:/bin"):
        pytest.skip("a pulumi CLI is in /usr/bin or /bin; these tests need a PATH without one")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    monkeypatch.setattr(cli, "CLI_DIR", tmp_path / ".pulumi-cli")
    monkeypatch.setattr(cli, "STATE_DIR", tmp_path / "state")
    return SimpleNamespace(bin=bin_dir, tmp=tmp_path)


def run_cli(capsys, *args):
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


@pytest.mark.parametrize("stack, host", [("staging", "ec2"), ("prod", "ec2"), ("fleet", "fleet")])
@pytest.mark.parametrize("command", ["up", "destroy", "preview", "outputs", "smoke", "check"])
def test_cloud_stack_without_explicit_backend_is_refused(env, capsys, stack, host, command):
    code, _, err = run_cli(capsys, command, "--stack", stack)
    assert code == 2
    assert err.startswith(f"{command}: stack {stack} creates cloud resources (host {host}), so its state must not "
                          "default to the project-local .pulumi-state/")
    assert f"PULUMI_BACKEND_URL=s3://<bucket>/torchserve-deploy make {'deploy' if command in ('up', 'check') else command} STACK={stack}" in err
    assert not (env.tmp / "state").exists()


@pytest.mark.parametrize("how", ["env", "flag"])
def test_cloud_stack_with_explicit_backend_goes_on(env, capsys, monkeypatch, how):
    args = ["up", "--stack", "staging"]
    if how == "env":
        monkeypatch.setenv("PULUMI_BACKEND_URL", "s3://bucket/prefix")
    else:
        args += ["--backend", "s3://bucket/prefix"]
    code, _, err = run_cli(capsys, *args)
    assert code == 2 and "up: the Pulumi CLI is not installed: run make pulumi-cli" in err


def test_unknown_stack(env, capsys):
    code, _, err = run_cli(capsys, "up", "--stack", "nope")
    assert code == 2
    assert err == "up: no stack 'nope' in stacks/: use STACK=<one of dev, fleet, prod, staging> (or add stacks/Pulumi.nope.yaml)\n"


def test_no_pulumi_cli(env, capsys):
    code, _, err = run_cli(capsys, "preview", "--stack", "dev")
    assert code == 2
    assert err == (f"preview: the Pulumi CLI is not installed: run make pulumi-cli (installs the pinned Pulumi CLI "
                   f"{VERSION} into .pulumi-cli/), or put pulumi on PATH\n")


def test_too_old_pulumi_cli(env, capsys):
    executable(env.bin / "pulumi", fake_pulumi_script("3.0.5"))
    code, _, err = run_cli(capsys, "up", "--stack", "dev")
    assert code == 2
    assert "The minimum CLI version requirement is 3.1.0, your current CLI version is 3.0.5. Please update the Pulumi CLI: run" in err
    assert err.rstrip().endswith("run make pulumi-cli (installs the pinned Pulumi CLI " + VERSION + " into .pulumi-cli/)")


# --- infra.cli: the Automation API against a stand-in CLI ------------------------------------------------

@pytest.fixture
def pulumi(env, monkeypatch):
    """The stand-in CLI installed where make pulumi-cli puts it; its calls are logged."""
    executable(env.tmp / ".pulumi-cli" / VERSION / "bin" / "pulumi", fake_pulumi_script())
    state = env.tmp / "fake-state"
    state.mkdir()
    log = env.tmp / "pulumi.log"
    monkeypatch.setenv("FAKE_PULUMI_LOG", str(log))
    monkeypatch.setenv("FAKE_PULUMI_STATE", str(state))

    def calls():
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return SimpleNamespace(calls=calls, state=state)


def test_up_creates_the_stack_on_the_project_local_backend_and_streams(pulumi, env, capsys, monkeypatch):
    code, out, _ = run_cli(capsys, "up", "--stack", "dev")
    assert code == 0
    backend = f"file://{env.tmp / 'state'}"
    assert f"stack dev, state backend {backend}" in out
    assert "up (dev): fake pulumi streaming line 1\nup (dev): fake pulumi streaming line 2\n" in out
    assert "pulumi up: succeeded" in out
    calls = pulumi.calls()
    commands = [c["args"][:2] for c in calls]
    assert ["stack", "select"] in commands and ["stack", "init"] in commands
    up = next(c for c in calls if c["args"][0] == "up")
    assert up["args"][-2:] == ["--stack", "dev"] and "--yes" in up["args"]
    assert all(c["backend"] == backend for c in calls if c["args"] != ["version"])
    assert all(c["passphrase"] == "" for c in calls if c["args"] != ["version"])  # dev default: no secrets
    assert not any(c["args"][0] == "login" for c in calls)
    assert (env.tmp / "state").is_dir()
    assert "PULUMI_BACKEND_URL" not in os.environ  # the parent's environment is left alone


def test_outputs_destroy_and_preview(pulumi, env, capsys, monkeypatch):
    monkeypatch.setenv("PULUMI_BACKEND_URL", "s3://bucket/prefix")
    missing, _, err = run_cli(capsys, "destroy", "--stack", "staging")
    assert missing == 2 and err == ("destroy: stack staging does not exist in s3://bucket/prefix: run make deploy "
                                    "STACK=staging first (or set PULUMI_BACKEND_URL to the backend that holds it)\n")
    (pulumi.state / "staging").write_text("")
    monkeypatch.setenv("FAKE_PULUMI_OUTPUTS", json.dumps({"inferenceUrl": "https://x.example.com", "modelNames": ["demo"]}))
    code, out, _ = run_cli(capsys, "outputs", "--stack", "staging")
    assert code == 0 and json.loads(out[out.index("{"):]) == {"inferenceUrl": "https://x.example.com",
                                                             "modelNames": ["demo"]}
    code, out, _ = run_cli(capsys, "destroy", "--stack", "staging")
    assert code == 0 and "destroy (staging): fake pulumi streaming line 2" in out
    monkeypatch.setenv("FAKE_PULUMI_VERSION", "3.205.0")  # file-based event log, which the stand-in can write
    code, out, _ = run_cli(capsys, "preview", "--stack", "staging")
    assert code == 0 and "preview (staging): fake pulumi streaming line 1" in out
    calls = [c for c in pulumi.calls() if c["args"] != ["version"]]
    assert {c["backend"] for c in calls} == {"s3://bucket/prefix"}
    assert all(c["passphrase"] is None for c in calls)  # an explicit backend keeps the user's secrets settings
    preview = next(c for c in calls if c["args"][0] == "preview")
    assert "--diff" in preview["args"]


def test_a_failed_update_is_one_line(pulumi, capsys, monkeypatch):
    monkeypatch.setenv("FAKE_PULUMI_FAIL", "up")
    code, out, err = run_cli(capsys, "up", "--stack", "dev")
    assert code == 1
    assert "error: boom: the fake update failed" in err  # streamed as it came
    assert err.splitlines()[-1] == ("up: pulumi up failed for stack dev (error: boom: the fake update failed): the "
                                    "output above says why; fix that and run make deploy STACK=dev again")


def test_outputs_that_cannot_be_read_are_one_line(pulumi, capsys, monkeypatch):
    (pulumi.state / "dev").write_text("")
    monkeypatch.setenv("FAKE_PULUMI_FAIL", "stack output")
    code, _, err = run_cli(capsys, "smoke", "--stack", "dev")
    assert code == 1
    assert err.splitlines()[-1] == ("smoke: reading the stack's outputs failed for stack dev (error: boom: the fake "
                                    "update failed): fix that and run make smoke STACK=dev again")


def test_cli_runs_as_a_module_without_traceback(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PULUMI_BACKEND_URL"}
    result = subprocess.run([sys.executable, "-m", "infra.cli", "up", "--stack", "staging"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("up: stack staging creates cloud resources")


# --- check ---------------------------------------------------------------------------------------------

def test_check_passes(env, capsys):
    fake_docker(env.bin, DOCKER_OK)
    code, out, _ = run_cli(capsys, "check", "--stack", "dev")
    assert code == 0
    assert out.startswith(f"ok: Python {'.'.join(map(str, sys.version_info[:3]))}, stack dev (state: file://")
    assert out.rstrip().endswith("Docker engine 99.0.0, which accepts healthStartIntervalS")


def test_check_on_an_engine_before_25_offers_no_start_interval(env, capsys):
    fake_docker(env.bin, DOCKER_OK.replace("99.0.0", "20.10.24"))
    code, out, _ = run_cli(capsys, "check", "--stack", "dev")
    assert code == 0 and out.rstrip().endswith("Docker engine 20.10.24")


def test_check_python_version(env, capsys, monkeypatch):
    monkeypatch.setattr(sys, "version_info", (3, 10, 4, "final", 0))
    fake_docker(env.bin, DOCKER_OK)
    code, _, err = run_cli(capsys, "check", "--stack", "dev")
    assert code == 1
    assert err.startswith(f"check: Python 3.10.4 ({sys.executable}) is too old: this project needs Python 3.11 or later")
    assert "sudo apt-get install python3.11 python3.11-venv" in err


def test_check_docker_engine_down(env, capsys):
    fake_docker(env.bin, DOCKER_DOWN)
    code, _, err = run_cli(capsys, "check", "--stack", "dev")
    assert code == 1
    assert err.startswith("check: the Docker engine is not answering (docker info: Cannot connect to the Docker daemon")
    assert "sudo systemctl start docker" in err


def test_check_docker_not_installed(env, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(env.bin))
    code, _, err = run_cli(capsys, "check", "--stack", "dev")
    assert code == 1 and err.startswith("check: make deploy needs a Docker engine and docker is not installed")


# --- stacks importing ESC environments (their host may be set there) -------------------------------------

@pytest.fixture
def esc_stack(env, monkeypatch):
    """A project whose only stack, esc, imports an ESC environment and sets no host itself."""
    root = env.tmp / "project"
    (root / "stacks").mkdir(parents=True)
    for name in ("Pulumi.yaml", "PULUMI_VERSION"):
        shutil.copy(ROOT / name, root / name)
    (root / "stacks" / "Pulumi.esc.yaml").write_text("environment:\n  - ml/prod\nconfig:\n  aws:region: us-east-1\n")
    monkeypatch.setattr(cli, "ROOT", root)
    return root


@pytest.mark.parametrize("command", ["check", "up", "preview"])
def test_esc_stack_needs_an_explicit_backend(esc_stack, capsys, command):
    code, _, err = run_cli(capsys, command, "--stack", "esc")
    assert code == 2 and err.startswith(f"{command}: stack esc imports ESC environments (`environment:` in "
                                        "stacks/Pulumi.esc.yaml): only the Pulumi Cloud backend opens them")
    assert "PULUMI_BACKEND_URL=https://api.pulumi.com make" in err


def test_esc_stack_without_the_cli_is_refused_by_check(esc_stack, env, capsys, monkeypatch):
    fake_docker(env.bin, DOCKER_OK)
    monkeypatch.setenv("PULUMI_BACKEND_URL", "https://api.pulumi.com")
    code, _, err = run_cli(capsys, "check", "--stack", "esc")
    assert code == 2 and "only the Pulumi CLI can open them to tell which host it deploys to: run make pulumi-cli" in err


def test_check_reads_an_esc_stacks_host_from_pulumi_config(esc_stack, env, capsys, monkeypatch):
    fake_docker(env.bin, DOCKER_OK)
    executable(env.bin / "pulumi", fake_pulumi_script())
    log = env.tmp / "pulumi.log"
    monkeypatch.setenv("FAKE_PULUMI_LOG", str(log))
    monkeypatch.setenv("FAKE_PULUMI_CONFIG", json.dumps({"torchserve-deploy:host": {"value": "fleet", "secret": False},
                                                         "torchserve-deploy:pipIndexUrl": {"secret": True}}))
    monkeypatch.setenv("PULUMI_BACKEND_URL", "https://api.pulumi.com")
    code, out, _ = run_cli(capsys, "check", "--stack", "esc")
    assert code == 0 and "stack esc (state: https://api.pulumi.com, host fleet (pulumi config, ESC))" in out
    call = json.loads(log.read_text().splitlines()[-1])
    assert call == {"args": ["config", "--json", "--open", "--stack", "esc"], "backend": "https://api.pulumi.com",
                    "passphrase": None}
    monkeypatch.setenv("FAKE_PULUMI_CONFIG", json.dumps({"torchserve-deploy:host": {"secret": True}}))
    code, _, err = run_cli(capsys, "check", "--stack", "esc")
    assert code == 2 and "torchserve-deploy:host is a secret or not a string" in err


# --- token ----------------------------------------------------------------------------------------------

def test_token_with_no_container(env, capsys):
    fake_docker(env.bin, DOCKER_NO_CONTAINER)
    code, out, err = run_cli(capsys, "token", "--stack", "dev")
    assert (code, out, err) == (2, "", "token: no container torchserve-dev is running: run make deploy first\n")


def test_token_engine_down_and_no_docker(env, capsys, monkeypatch):
    fake_docker(env.bin, DOCKER_DOWN)
    code, _, err = run_cli(capsys, "token", "--stack", "dev")
    assert code == 2 and err.startswith("token: docker cannot inspect torchserve-dev (Cannot connect to the Docker")
    monkeypatch.setenv("PATH", str(env.tmp / "nothing"))
    code, _, err = run_cli(capsys, "token", "--stack", "dev")
    assert code == 2 and err.startswith("token: docker is not installed (or not on PATH)")


@pytest.mark.parametrize("kind, key", [("inference", "inf-key"), ("management", "mgmt-key")])
def test_token_prints_the_key(env, capsys, kind, key):
    fake_docker(env.bin, DOCKER_RUNNING)
    assert run_cli(capsys, "token", "--stack", "dev", "--kind", kind)[:2] == (0, key + "\n")


def test_token_rotate_without_management_api(env, capsys, monkeypatch):
    fake_docker(env.bin, DOCKER_RUNNING)
    port = int(dead_url().rstrip("/").rsplit(":", 1)[1])
    config = {"torchserve-deploy:host": "local", "torchserve-deploy:managementPort": port}
    monkeypatch.setattr(offline, "stack_file_text", lambda stack: yaml.safe_dump({"config": config}))
    code, _, err = run_cli(capsys, "token", "--stack", "dev", "--rotate")
    assert code == 2 and err.startswith(f"token: the management API did not answer (POST http://127.0.0.1:{port}/token")
    config["torchserve-deploy:managementPort"] = 1  # a config error is the validator's one line, exit 2
    code, _, err = run_cli(capsys, "token", "--stack", "dev", "--rotate")
    assert code == 2 and err.startswith("token: torchserve-deploy:managementPort: 1 is not valid. Allowed: ")


def test_token_on_a_cloud_stack(env, capsys):
    code, _, err = run_cli(capsys, "token", "--stack", "staging")
    assert code == 2 and "its key is in AWS; read it with the stack's keyCommand output (make outputs STACK=staging)" in err


def test_token_module_shim(env):
    fake_docker(env.bin, DOCKER_NO_CONTAINER)
    result = subprocess.run([sys.executable, "-m", "infra.token", "--stack", "dev"], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr == "token: no container torchserve-dev is running: run make deploy first\n"


# --- smoke ----------------------------------------------------------------------------------------------

@pytest.fixture
def torchserve():
    """A stand-in TorchServe inference API: records each request; `answers` overrides a model's reply."""
    calls, answers = [], {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            model = self.path.rsplit("/", 1)[-1]
            calls.append((self.path, self.headers["Authorization"], body))
            status, payload = answers.get(model, (200, json.dumps({"model": model, "got": body}).encode()))
            self.send_response(status)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    with serving(Handler) as url:
        yield SimpleNamespace(url=url, calls=calls, answers=answers)


@pytest.fixture
def stack(env, monkeypatch, torchserve):
    """The dev stack serving demo plus fixture models, deployed (outputs) and running (the stand-in docker)."""
    fake_docker(env.bin, DOCKER_RUNNING)
    models = {"demo": {"path": "models/demo"}, "echo": {"path": "tests/fixtures/models/echo"},
              "nosample": {"path": "tests/fixtures/models/nosample"}}

    def use(*names, settings=None, **outputs):
        config = {"torchserve-deploy:host": "local", "torchserve-deploy:models": {n: models[n] for n in names},
                  **(settings or {})}
        monkeypatch.setattr(offline, "stack_file_text", lambda stack: yaml.safe_dump({"config": config}))
        defaults = {"inferenceUrl": torchserve.url, "modelNames": list(names), "containerName": "torchserve-dev",
                    "managementUrl": "http://127.0.0.1:8081", "metricsUrl": "http://127.0.0.1:8082",
                    "tokenCommand": "make token STACK=dev"}
        monkeypatch.setattr(cli, "stack_outputs", lambda a: {**defaults, **outputs})
    return use


def test_smoke_sends_each_model_its_own_sample(stack, torchserve, capsys):
    stack("echo", "demo")  # the first model is not the demo
    code, out, _ = run_cli(capsys, "smoke", "--stack", "dev")
    assert code == 0
    assert sorted(torchserve.calls) == [("/predictions/demo", "Bearer inf-key", {"data": [1.0, 2.0, 3.0, 4.0]}),
                                        ("/predictions/echo", "Bearer inf-key", {"text": "hello", "n": 2})]
    assert f"inference endpoint: {torchserve.url}/predictions/<model>" in out
    assert 'prediction of echo for {"text": "hello", "n": 2}: {"model": "echo"' in out
    assert 'prediction of demo for {"data": [1.0, 2.0, 3.0, 4.0]}' in out


def test_smoke_model_without_sample(stack, torchserve, capsys):
    stack("demo", "nosample")
    code, _, err = run_cli(capsys, "smoke", "--stack", "dev")
    assert code == 1
    assert err == ("smoke: model nosample was not checked: tests/fixtures/models/nosample/torchserve-model.yaml "
                   "declares no sample request; add one, e.g. `sample: {data: [1.0, 2.0]}` (the JSON body POST "
                   "/predictions/nosample expects), then run make smoke STACK=dev\n")
    assert [c[0] for c in torchserve.calls] == ["/predictions/demo"]  # the others are still checked


@pytest.mark.parametrize("answer, message", [
    ((503, b'{"code": 503, "message": "Model demo has no worker"}'),
     'model demo answered HTTP 503 to its sample ({"code": 503, "message": "Model demo has no worker"}): see docker '
     "logs torchserve-dev; 503 while the workers start: wait a minute and run make smoke STACK=dev"),
    ((200, b"<html>"), "model demo answered HTTP 200 but not JSON ('<html>')"),
], ids=["503", "not-json"])
def test_smoke_bad_answers(stack, torchserve, capsys, answer, message):
    stack("demo")
    torchserve.answers["demo"] = answer
    code, _, err = run_cli(capsys, "smoke", "--stack", "dev")
    assert code == 1 and err.startswith(f"smoke: {message}"), err


def test_smoke_endpoint_down_and_no_outputs(stack, capsys):
    stack("demo", inferenceUrl=dead_url().rstrip("/"))
    code, _, err = run_cli(capsys, "smoke", "--stack", "dev")
    assert code == 1 and "did not answer" in err and "see docker logs torchserve-dev" in err
    stack("demo", inferenceUrl=None)
    code, _, err = run_cli(capsys, "smoke", "--stack", "dev")
    assert code == 2 and err.startswith("smoke: stack dev exports no inference endpoint (inferenceUrl, modelNames)")
    stack("demo", inferenceUrl=None, imageRef="torchserve-deploy:ci")  # buildType codebuild: nothing to ask
    code, out, _ = run_cli(capsys, "smoke", "--stack", "dev")
    assert code == 0 and "stack dev serves nothing (image torchserve-deploy:ci): no sample requests to send" in out


def test_smoke_without_token_auth_sends_no_key(stack, env, torchserve, capsys):
    stack("demo", settings={"torchserve-deploy:tokenAuth": False})
    fake_docker(env.bin, DOCKER_NO_CONTAINER)  # no key file is read
    assert run_cli(capsys, "smoke", "--stack", "dev")[0] == 0
    assert torchserve.calls == [("/predictions/demo", None, {"data": [1.0, 2.0, 3.0, 4.0]})]


def test_smoke_container_gone(stack, env, capsys):
    stack("demo")
    fake_docker(env.bin, DOCKER_NO_CONTAINER)
    code, _, err = run_cli(capsys, "smoke", "--stack", "dev")
    assert (code, err) == (2, "smoke: no container torchserve-dev is running: run make deploy first\n")


def test_smoke_cloud_stack_needs_the_key(stack, torchserve, capsys, monkeypatch):
    stack("demo", containerName=None, keyCommand="aws secretsmanager get-secret-value ...")
    code, out, _ = run_cli(capsys, "smoke", "--stack", "dev")
    assert code == 0 and "sample requests skipped: set TORCHSERVE_INFERENCE_KEY" in out and not torchserve.calls
    monkeypatch.setenv(smoke.KEY_ENV, "edge-key")
    code, out, _ = run_cli(capsys, "smoke", "--stack", "dev")
    assert code == 0 and torchserve.calls == [("/predictions/demo", "Bearer edge-key", {"data": [1.0, 2.0, 3.0, 4.0]})]


# --- the manifest's sample field ------------------------------------------------------------------------

@pytest.mark.parametrize("sample, message", [
    ("[1.0, 2.0]", "sample: [1.0, 2.0] is not valid. Allowed: input should be a valid dictionary"),
    ("{when: 2025-01-01}", "Allowed: a JSON object (strings, finite numbers, booleans, null, lists, objects; quote dates)"),
    ("{x: .nan}", "Allowed: a JSON object (strings, finite numbers"),
    ("{1: one}", "sample.1.[key]: 1 is not valid. Allowed: input should be a valid string"),
    (json.dumps({"data": "x" * 20000}), "Allowed: a JSON object of at most 16384 bytes (this one is 20012)"),
], ids=["list", "date", "nan", "int-key", "too-large"])
def test_manifest_sample_is_a_small_json_object(tmp_path, sample, message):
    from torchserve_deploy.errors import ValidationError
    from torchserve_deploy.model.manifest import load_manifest

    (tmp_path / "handler.py").write_text("")
    (tmp_path / "torchserve-model.yaml").write_text(f"name: m\nhandler: handler.py\nsample: {sample}\n")
    with pytest.raises(ValidationError) as err:
        load_manifest(tmp_path, "m/torchserve-model.yaml")
    assert message in str(err.value) and "Fix: fix sample" in str(err.value)


def test_demo_manifest_declares_its_sample():
    from torchserve_deploy.model.manifest import Manifest
    from torchserve_deploy.yaml_strict import load_yaml

    data = load_yaml((ROOT / "models/demo/torchserve-model.yaml").read_text(), "models/demo/torchserve-model.yaml")
    assert Manifest.model_validate(data).sample == {"data": [1.0, 2.0, 3.0, 4.0]}
