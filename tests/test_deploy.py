"""Lint what can be linted offline in deploy/: YAML, JSON, Python snippets, shell, the Dockerfile.

The Kubernetes part is on paper (docs/kubernetes.md): no cluster, no Helm and no hadolint here, and
z2jh's own JSON schema ships inside its Helm chart, which cannot be fetched. What is checked: every
file parses; the z2jh values use z2jh's top-level keys and the structure the course relies on
(profiles, GPU limit, the exchange switch); embedded Python compiles; the Dockerfile copies files
that exist and pins the PyTorch the course is tested with; the shell scripts parse (bash -n).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
Z2JH_TOP = {"hub", "proxy", "singleuser", "scheduling", "prePuller", "cull", "ingress", "custom", "imagePullSecret",
            "imagePullSecrets", "debug", "rbac", "global", "fullnameOverride", "nameOverride", "apps"}


def values() -> dict:
    return yaml.safe_load((DEPLOY / "k8s" / "values.yaml").read_text())


@pytest.mark.parametrize("path", sorted(DEPLOY.rglob("*.yaml")), ids=lambda p: p.name)
def test_yaml_parses(path):
    assert isinstance(yaml.safe_load(path.read_text()), dict)


@pytest.mark.parametrize("path", sorted(DEPLOY.rglob("*.json")), ids=lambda p: str(p.relative_to(DEPLOY)))
def test_json_parses(path):
    assert isinstance(json.loads(path.read_text()), dict)


@pytest.mark.parametrize("path", sorted(DEPLOY.rglob("*.sh")), ids=lambda p: p.name)
def test_shell_scripts_parse(path):
    result = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_z2jh_values_structure():
    v = values()
    assert set(v) <= Z2JH_TOP, f"keys z2jh does not know: {set(v) - Z2JH_TOP}"
    single = v["singleuser"]
    assert single["extraEnv"]["COURSE_EXCHANGE"] == "nbexchange"
    profiles = single["profileList"]
    assert all("display_name" in p for p in profiles) and sum(bool(p.get("default")) for p in profiles) == 1
    gpu = [p for p in profiles if "nvidia.com/gpu" in p.get("kubespawner_override", {}).get("extra_resource_limits", {})]
    assert len(gpu) == 1 and gpu[0]["kubespawner_override"]["image"].endswith("-gpu")
    assert v["hub"]["services"]["nbexchange"]["url"].startswith("http://nbexchange.")
    for snippet in v["hub"]["extraConfig"].values():
        compile(snippet, "hub.extraConfig", "exec")
        assert "/etc/jupyter/attention-cv-{role}" in snippet
    for role in ("student", "instructor"):  # the folders the hook points at, as the image installs them
        assert (DEPLOY / "jupyter" / f"attention-cv-{role}").is_dir()
    nbex = yaml.safe_load((DEPLOY / "k8s" / "nbexchange-values.yaml").read_text())
    compile(nbex["configFile"], "nbexchange configFile", "exec")


def test_exchange_switch_in_the_shared_configuration(monkeypatch):
    from traitlets.config import PyFileConfigLoader

    monkeypatch.setenv("COURSE_EXCHANGE", "nbexchange")
    c = PyFileConfigLoader("nbgrader_config.py", path=str(DEPLOY / "jupyter")).load_config()
    assert c.ExchangeFactory.submit == "nbexchange.plugin.ExchangeSubmit"
    assert c.ExchangeFactory.fetch_feedback == "nbexchange.plugin.ExchangeFetchFeedback"
    monkeypatch.delenv("COURSE_EXCHANGE")
    c = PyFileConfigLoader("nbgrader_config.py", path=str(DEPLOY / "jupyter")).load_config()
    assert "ExchangeFactory" not in c


def test_dockerfile():
    text = (DEPLOY / "image" / "Dockerfile").read_text()
    lines = [ln for ln in text.replace("\\\n", " ").splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    instructions = [ln.split()[0] for ln in lines]
    known = {"FROM", "ARG", "ENV", "RUN", "COPY", "USER", "WORKDIR", "EXPOSE", "ENTRYPOINT", "CMD", "LABEL"}
    assert set(instructions) <= known and instructions[0] == "FROM"
    base = lines[0].split()[1]
    assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+", base), f"pin the base image's Python: {base}"
    for line in lines:
        if line.startswith("COPY"):
            for src in line.split()[1:-1]:
                assert (ROOT / src).exists(), f"the Dockerfile copies {src}, which the repository does not have"
    lock = dict(ln.split("  #")[0].strip().split("==") for ln in (ROOT / "requirements-lock.txt").read_text().splitlines()
                if "==" in ln and not ln.startswith("#"))
    for package in ("torch", "torchvision", "nbgrader"):
        assert f'"{package}=={lock[package]}"' in text, f"the image must install the tested {package}=={lock[package]}"
    assert 'CMD ["jupyterhub-singleuser"]' in text and "USER ${NB_UID}" in text


def test_hub_configuration_compiles():
    for path in (DEPLOY / "jupyterhub" / "jupyterhub_config.py", DEPLOY / "jupyter" / "nbgrader_config.py",
                 DEPLOY / "student_edition.py"):
        compile(path.read_text(), str(path), "exec")
    unit = (DEPLOY / "jupyterhub" / "jupyterhub.service").read_text()
    assert "ExecStart=/opt/attention-cv/venv/bin/jupyterhub -f /etc/jupyterhub/jupyterhub_config.py" in unit
