"""containerd's gRPC API, only the two reads the context stage needs.

`Containers/Get` (labels, image, runtime, OCI spec) and `Images/Get` (the target
descriptor's digest), on containerd's unix socket, with the namespace sent as the
`containerd-namespace` metadata header. The few message types are built at first use
from the small table below (field numbers as in containerd's
`api/services/containers/v1/containers.proto`, `api/services/images/v1/images.proto` and
`api/types/descriptor.proto`); protobuf skips the fields left out. Message names are
ours: only the method paths and field numbers travel on the wire. grpc and protobuf are
imported at the first call, so an agent on a host without containerd never loads them.
"""

from __future__ import annotations

import functools
import json
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stockade.context.runtime import ContextError

if TYPE_CHECKING:
    import grpc
    from google.protobuf import message

DEFAULT_ADDRESS = Path("/run/containerd/containerd.sock")
NAMESPACE_HEADER = "containerd-namespace"

_PACKAGE = "stockade.containerd.api"
# message -> (field number, name, type); "map" is map<string, string>; other types name
# a message of this table or a fully qualified one.
_MESSAGES: dict[str, list[tuple[int, str, str]]] = {
    "Descriptor": [(1, "media_type", "string"), (2, "digest", "string"), (3, "size", "int64")],
    "Runtime": [(1, "name", "string")],
    "Container": [
        (1, "id", "string"),
        (2, "labels", "map"),
        (3, "image", "string"),
        (4, "runtime", "Runtime"),
        (5, "spec", ".google.protobuf.Any"),
        (6, "snapshotter", "string"),
    ],
    "GetContainerRequest": [(1, "id", "string")],
    "GetContainerResponse": [(1, "container", "Container")],
    "Image": [(1, "name", "string"), (2, "labels", "map"), (3, "target", "Descriptor")],
    "GetImageRequest": [(1, "name", "string")],
    "GetImageResponse": [(1, "image", "Image")],
}


@functools.cache
def _message_classes() -> dict[str, type[message.Message]]:
    """Build the message classes of `_MESSAGES` in a private descriptor pool (once)."""
    from google.protobuf import any_pb2, descriptor_pb2, descriptor_pool, message_factory

    _F = descriptor_pb2.FieldDescriptorProto
    scalars = {"string": _F.TYPE_STRING, "int64": _F.TYPE_INT64, "bytes": _F.TYPE_BYTES}
    pool = descriptor_pool.DescriptorPool()
    pool.Add(descriptor_pb2.FileDescriptorProto.FromString(any_pb2.DESCRIPTOR.serialized_pb))
    proto = descriptor_pb2.FileDescriptorProto(
        name="stockade/containerd_api.proto",
        package=_PACKAGE,
        syntax="proto3",
        dependency=["google/protobuf/any.proto"],
    )
    for name, fields in _MESSAGES.items():
        msg = proto.message_type.add(name=name)
        for number, fname, ftype in fields:
            f = msg.field.add(name=fname, number=number, label=_F.LABEL_OPTIONAL)
            if ftype in scalars:
                f.type = scalars[ftype]
            elif ftype == "map":
                entry = msg.nested_type.add(name="LabelsEntry")
                entry.options.map_entry = True
                entry.field.add(name="key", number=1, type=_F.TYPE_STRING, label=_F.LABEL_OPTIONAL)
                entry.field.add(
                    name="value", number=2, type=_F.TYPE_STRING, label=_F.LABEL_OPTIONAL
                )
                f.label, f.type = _F.LABEL_REPEATED, _F.TYPE_MESSAGE
                f.type_name = f".{_PACKAGE}.{name}.LabelsEntry"
            else:
                f.type = _F.TYPE_MESSAGE
                f.type_name = ftype if ftype.startswith(".") else f".{_PACKAGE}.{ftype}"
    pool.Add(proto)
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{_PACKAGE}.{name}"))
        for name in _MESSAGES
    }


class ContainerdApiError(ContextError):
    """containerd answered with an error, or not at all."""


class ContainerdUnreachable(ContainerdApiError):
    """No containerd listens on the socket (absent, refused, or no answer in time)."""


@dataclass(frozen=True, slots=True)
class ContainerRecord:
    """A container as containerd's metadata store holds it."""

    id: str
    image: str
    runtime: str
    snapshotter: str
    labels: Mapping[str, str] = field(default_factory=dict)
    spec: Mapping[str, Any] | None = None  # the OCI spec, when the record carries one


@dataclass(frozen=True, slots=True)
class ImageRecord:
    """An image name and the descriptor it points at (manifest or index)."""

    name: str
    digest: str
    media_type: str
    labels: Mapping[str, str] = field(default_factory=dict)


def _spec(value: bytes) -> Mapping[str, Any] | None:
    try:
        spec = json.loads(value)
    except ValueError:
        return None
    return spec if isinstance(spec, dict) else None


class ContainerdClient:
    """Reads containers and images from containerd's API socket, one short call each."""

    def __init__(self, address: Path = DEFAULT_ADDRESS, timeout_s: float = 1.0) -> None:
        self.address = address
        self._timeout = timeout_s
        self._channel: grpc.Channel | None = None
        self._methods: dict[str, Callable[..., message.Message]] = {}

    def container(self, namespace: str, container_id: str) -> ContainerRecord | None:
        """Containers/Get; None when containerd does not know this id in that namespace."""
        reply = self._call("containers", "Containers", "GetContainer", namespace, id=container_id)
        if reply is None:
            return None
        c: Any = reply.container  # type: ignore[attr-defined]
        return ContainerRecord(
            id=c.id,
            image=c.image,
            runtime=c.runtime.name,
            snapshotter=c.snapshotter,
            labels=dict(c.labels),
            spec=_spec(c.spec.value) if c.HasField("spec") else None,
        )

    def image(self, namespace: str, name: str) -> ImageRecord | None:
        """Images/Get; None when no image has this name in that namespace."""
        reply = self._call("images", "Images", "GetImage", namespace, name=name)
        if reply is None:
            return None
        i: Any = reply.image  # type: ignore[attr-defined]
        return ImageRecord(
            name=i.name,
            digest=i.target.digest,
            media_type=i.target.media_type,
            labels=dict(i.labels),
        )

    def close(self) -> None:
        """Close the channel (a later call opens a new one)."""
        if self._channel is not None:
            self._channel.close()
            self._channel = None
            self._methods.clear()

    def _call(
        self, service: str, stub: str, kind: str, namespace: str, **request: str
    ) -> message.Message | None:
        """One unary call `/containerd.services.<service>.v1.<stub>/Get`."""
        import grpc

        channel = self._open()  # checks the socket is still there on every call
        method = self._methods.get(kind) or self._method(channel, service, stub, kind)
        try:
            return method(
                _message_classes()[f"{kind}Request"](**request),
                timeout=self._timeout,
                metadata=((NAMESPACE_HEADER, namespace),),
            )
        except grpc.RpcError as e:
            code = e.code() if isinstance(e, grpc.Call) else None
            if code == grpc.StatusCode.NOT_FOUND:
                return None
            detail = e.details() if isinstance(e, grpc.Call) else str(e)
            where = f"containerd at {self.address}: {stub}/Get: {code} {detail}"
            if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                raise ContainerdUnreachable(where) from e
            raise ContainerdApiError(where) from e

    def _method(
        self, channel: grpc.Channel, service: str, stub: str, kind: str
    ) -> Callable[..., message.Message]:
        """The callable of one Get method on the channel, kept until the channel closes."""
        method: Callable[..., message.Message] = channel.unary_unary(
            f"/containerd.services.{service}.v1.{stub}/Get",
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=_message_classes()[f"{kind}Response"].FromString,
        )
        self._methods[kind] = method
        return method

    def _open(self) -> grpc.Channel:
        import grpc

        try:
            is_socket = stat.S_ISSOCK(self.address.stat().st_mode)
        except OSError:
            is_socket = False
        if not is_socket:
            self.close()
            raise ContainerdUnreachable(f"no containerd socket at {self.address}")
        if self._channel is None:
            self._channel = grpc.insecure_channel(
                f"unix://{self.address.resolve()}",
                options=[
                    ("grpc.enable_retries", 0),
                    ("grpc.initial_reconnect_backoff_ms", 200),
                    ("grpc.max_reconnect_backoff_ms", 2000),
                ],
            )
        return self._channel
