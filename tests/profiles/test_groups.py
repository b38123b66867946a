"""Workload groups: containers of one workload share a group, others do not."""

from __future__ import annotations

import pytest

from stockade.model.entities import Container
from stockade.profiles.groups import (
    GROUP_LABEL,
    HOST_GROUP,
    group_id,
    kubernetes_owner,
    workload_group,
)
from stockade.profiles.modes import (
    NS_PER_MINUTE,
    GroupModes,
    GroupState,
    Mode,
    ModePolicy,
    effective_modes,
    parse_mode,
)

ID_A, ID_B = "a" * 64, "b" * 64


def _c(cid: str = ID_A, **kw: object) -> Container:
    fields: dict[str, object] = {"image_repository": "docker.io/library/nginx", **kw}
    return Container(id=cid, **fields)  # type: ignore[arg-type]


def test_two_replicas_of_one_deployment_are_one_group() -> None:
    first = _c(ID_A, name="web", pod_name="shop-7d9f8b6c5-x2k4p", pod_namespace="prod")
    second = _c(ID_B, name="web", pod_name="shop-7d9f8b6c5-q9z7m", pod_namespace="prod")
    assert group_id(first) == group_id(second)
    assert workload_group(first).owner == "prod/shop/web"


@pytest.mark.parametrize(
    ("pod", "labels", "owner"),
    [
        ("shop-7d9f8b6c5-x2k4p", {"pod-template-hash": "7d9f8b6c5"}, "shop"),
        ("db-0", {}, "db"),
        ("agent-x2k4p", {}, "agent"),
    ],
    ids=["replicaset", "statefulset", "daemonset"],
)
def test_kubernetes_owner_drops_the_generated_tail(
    pod: str, labels: dict[str, str], owner: str
) -> None:
    assert kubernetes_owner(_c(pod_name=pod, pod_labels=labels, name=pod)) == owner


def test_compose_projects_and_images_separate_groups() -> None:
    shop = _c(ID_A, labels={"com.docker.compose.project": "shop"})
    blog = _c(ID_B, labels={"com.docker.compose.project": "blog"})
    plain = _c(ID_B)
    assert len({group_id(shop), group_id(blog), group_id(plain)}) == 3
    other_image = _c(ID_A, image_repository="docker.io/library/redis")
    assert group_id(other_image) != group_id(plain)
    assert group_id(plain) == group_id(_c(ID_A))


def test_an_explicit_label_overrides_and_ids_are_url_safe() -> None:
    labelled = _c(labels={GROUP_LABEL: "Payments API"})
    other_image = _c(ID_B, image_repository="x/y", labels={GROUP_LABEL: "Payments API"})
    group = workload_group(labelled)
    assert group.id == group_id(other_image)
    assert group.owner_kind == "label" and group.name == "Payments API"
    assert group.id.startswith("payments-api-")
    assert all(ch.isalnum() or ch in "-." for ch in group.id)
    assert group_id(Container.host()) == HOST_GROUP


def test_policy_discovers_first_then_monitors_and_a_user_choice_wins() -> None:
    policy = ModePolicy(discover_minutes=10)
    state = GroupState(first_seen_ns=0)
    assert effective_modes(state, policy, 9 * NS_PER_MINUTE) == GroupModes()
    later = effective_modes(state, policy, 10 * NS_PER_MINUTE)
    assert later == GroupModes(process=Mode.MONITOR, network=Mode.MONITOR)
    chosen = GroupState(first_seen_ns=0, process=Mode.PROTECT)
    now = effective_modes(chosen, policy, 0)
    assert now == GroupModes(process=Mode.PROTECT, network=Mode.DISCOVER)


def test_a_bad_mode_name_is_one_line_naming_where() -> None:
    assert parse_mode(" Protect", "x") is Mode.PROTECT
    with pytest.raises(ValueError, match=r"^body\.process: unknown mode 'block'"):
        parse_mode("block", "body.process")
