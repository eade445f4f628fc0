"""deploy/kubernetes: every manifest validates against the Kubernetes schema (strict: no
unknown fields), offline, with the schemas of the kubernetes-validate package."""

from __future__ import annotations

from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")
kubernetes_validate = pytest.importorskip("kubernetes_validate")

MANIFESTS = sorted((Path(__file__).resolve().parents[2] / "deploy" / "kubernetes").glob("*.yaml"))
KUBERNETES_VERSION = "1.30.0"  # the oldest release still in wide use; fields newer than it fail


def _documents(path: Path) -> list[dict[str, object]]:
    with open(path) as f:
        return [doc for doc in yaml.safe_load_all(f) if doc is not None]


@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda p: p.name)
def test_manifest_validates_strictly(manifest: Path) -> None:
    documents = _documents(manifest)
    assert documents
    for document in documents:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_an_invalid_manifest_is_refused() -> None:
    # The check can fail: a port as a string, an unknown field.
    document = _documents(MANIFESTS[0])[0]
    container = document["spec"]["template"]["spec"]["containers"][0]  # type: ignore[index]
    container["ports"][0]["containerPort"] = "eight thousand"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
    del container["ports"]
    container["memoryLimit"] = "512Mi"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
