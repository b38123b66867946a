"""A workload group's pod selector: the labels its pods carry, or why none selects them."""

from __future__ import annotations

import pytest

from stockade.model.entities import Container
from stockade.profiles.groups import GROUP_LABEL
from stockade.profiles.selectors import PodSelector, common, pod_selector

DEPLOYMENT_POD = Container(
    id="a" * 64, name="web", image_repository="shop/web", pod_name="web-7d4b9c8f6d-x2x9q",
    pod_namespace="shop", pod_labels={"app": "web", "pod-template-hash": "7d4b9c8f6d"},
)  # fmt: skip


@pytest.mark.parametrize(
    ("container", "expected"),
    [
        (DEPLOYMENT_POD, PodSelector(labels={"app": "web"}, namespace="shop")),
        (
            Container(id="b" * 64, labels={GROUP_LABEL: "db"}),
            PodSelector(labels={GROUP_LABEL: "db"}),
        ),
        (
            Container(
                id="c" * 64,
                pod_name="p",
                pod_namespace="ns",
                pod_labels={GROUP_LABEL: "db", "x": "1"},
            ),
            PodSelector(labels={GROUP_LABEL: "db"}, namespace="ns"),
        ),  # fmt: skip
        (
            Container(id="d" * 64, pod_name="p", pod_namespace="ns", labels={GROUP_LABEL: "db"}),
            PodSelector(
                namespace="ns",
                unselectable=f"the {GROUP_LABEL} label is on the container, not its pod",
            ),
        ),  # fmt: skip
        (
            Container(id="e" * 64, pod_name="solo", pod_namespace="ns"),
            PodSelector(namespace="ns", unselectable="its pods carry no workload label"),
        ),
        (
            Container(id="f" * 64, image_repository="tools/loner"),
            PodSelector(unselectable="not a Kubernetes workload (image): no pod label"),
        ),
        (
            Container(
                id="0" * 64, image_repository="app", labels={"com.docker.compose.project": "shop"}
            ),
            PodSelector(unselectable="not a Kubernetes workload (compose shop): no pod label"),
        ),  # fmt: skip
    ],
    ids=[
        "deployment",
        "label",
        "label-on-pod",
        "label-on-container",
        "bare-pod",
        "image",
        "compose",
    ],  # fmt: skip
)
def test_pod_selector(container: Container, expected: PodSelector) -> None:
    assert pod_selector(container) == expected


def test_common_keeps_the_labels_every_sighting_carries_alike() -> None:
    v1 = PodSelector(labels={"app": "web", "version": "v1"}, namespace="shop")
    v2 = PodSelector(labels={"app": "web", "version": "v2"}, namespace="shop")
    assert common(v1, v2) == PodSelector(labels={"app": "web"}, namespace="shop")
    other = PodSelector(labels={"app": "api"}, namespace="shop")
    assert common(v1, other).unselectable == "its pods share no label"
    none = PodSelector(unselectable="why")
    assert common(v1, none) == none == common(none, v1)
