#!/usr/bin/env python3
"""pnm over gRPC from Python: create a room, check that it is active, get a
join token and verify it as the participant would.

  /usr/bin/python3 examples/python/room_demo.py --url http://127.0.0.1:8080 \\
      --api-key "$PNM_API_KEY" --api-secret "$PNM_API_SECRET"

Prints progress on stderr and one JSON object on stdout: {"ok": true, ...}
with what the server answered, or {"ok": false, "step", "code", "reason",
"message"} (exit status 1) when a call is refused.
"""

import argparse
import json
import os
import secrets
import sys
from urllib.parse import urlparse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "gen"))

import grpc  # noqa: E402
from google.protobuf import any_pb2, descriptor_pb2, descriptor_pool, message_factory  # noqa: E402

from pnm.v1 import common_pb2, create_room_pb2, join_token_pb2, verify_token_pb2  # noqa: E402
from pnm.v1 import participant_service_pb2_grpc, room_service_pb2_grpc  # noqa: E402
from pnm_signing import signed_channel  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("PNM_URL", "http://127.0.0.1:8080"), help="pnm's base URL (env PNM_URL)")
    parser.add_argument("--api-key", default=os.environ.get("PNM_API_KEY"), help="env PNM_API_KEY")
    parser.add_argument("--api-secret", default=os.environ.get("PNM_API_SECRET"), help="env PNM_API_SECRET")
    parser.add_argument("--room", default="py-demo-" + secrets.token_hex(4))
    parser.add_argument("--user-id", default="alice")
    parser.add_argument("--name", default="Alice")
    parser.add_argument("--signature-version", type=int, choices=(1, 2), default=2, help="2: pnm-signature (default); 1: upstream's hash-signature")
    args = parser.parse_args()
    if not args.api_key or not args.api_secret:
        parser.error("--api-key and --api-secret (or PNM_API_KEY and PNM_API_SECRET) are required")
    return args


def open_channel(url: str) -> grpc.Channel:
    parsed = urlparse(url)
    if parsed.scheme == "https":
        return grpc.secure_channel(f"{parsed.hostname}:{parsed.port or 443}", grpc.ssl_channel_credentials())
    return grpc.insecure_channel(f"{parsed.hostname}:{parsed.port or 80}")


def _status_class():
    """google.rpc.Status, declared here since Debian ships no generated googleapis for Python."""
    pool = descriptor_pool.Default()
    try:
        descriptor = pool.FindMessageTypeByName("google.rpc.Status")
    except KeyError:
        file = descriptor_pb2.FileDescriptorProto(name="pnm_examples/google_rpc_status.proto", package="google.rpc", syntax="proto3")
        file.dependency.append(any_pb2.DESCRIPTOR.name)
        status = file.message_type.add(name="Status")
        F = descriptor_pb2.FieldDescriptorProto
        status.field.add(name="code", number=1, type=F.TYPE_INT32, label=F.LABEL_OPTIONAL)
        status.field.add(name="message", number=2, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
        status.field.add(name="details", number=3, type=F.TYPE_MESSAGE, label=F.LABEL_REPEATED, type_name=".google.protobuf.Any")
        pool.AddSerializedFile(file.SerializeToString())
        descriptor = pool.FindMessageTypeByName("google.rpc.Status")
    if hasattr(message_factory, "GetMessageClass"):
        return message_factory.GetMessageClass(descriptor)
    return message_factory.MessageFactory(pool).GetPrototype(descriptor)


def failure_reason(error: grpc.RpcError) -> str:
    """The FailureReason of the pnm.v1.ErrorDetail that every pnm refusal carries (grpc-status-details-bin)."""
    for key, value in error.trailing_metadata() or ():
        if key != "grpc-status-details-bin":
            continue
        status = _status_class().FromString(value)
        for detail in status.details:
            if detail.type_url.endswith("/pnm.v1.ErrorDetail"):
                reason = common_pb2.ErrorDetail.FromString(detail.value).reason
                return common_pb2.FailureReason.Name(reason).removeprefix("FAILURE_REASON_")
    return ""


def main() -> int:
    args = parse_args()
    channel = open_channel(args.url)
    rooms = room_service_pb2_grpc.RoomServiceStub(signed_channel(channel, args.api_key, args.api_secret, args.signature_version))
    participants = participant_service_pb2_grpc.ParticipantServiceStub(channel)
    step = "CreateRoom"
    try:
        metadata = create_room_pb2.RoomMetadata(room_title="Python demo", room_features=create_room_pb2.RoomCreateFeatures(allow_webcams=True))
        # Several map entries: their order on the wire is only fixed by deterministic serialization.
        metadata.extra_data.update({"client": "python", "purpose": "demo", "zone": "eu", "team": "blue"})
        created = rooms.CreateRoom(create_room_pb2.CreateRoomRequest(room_id=args.room, metadata=metadata), timeout=10)
        print(f"CreateRoom: {created.msg}", file=sys.stderr)

        step = "IsRoomActive"
        active = rooms.IsRoomActive(create_room_pb2.IsRoomActiveRequest(room_id=args.room), timeout=10)
        print(f"IsRoomActive: {active.is_active}", file=sys.stderr)

        step = "GetJoinToken"
        user = join_token_pb2.UserInfo(name=args.name, user_id=args.user_id, is_admin=True)
        joined = rooms.GetJoinToken(join_token_pb2.GetJoinTokenRequest(room_id=args.room, user_info=user), timeout=10)
        print(f"GetJoinToken: token of {len(joined.token)} characters", file=sys.stderr)

        step = "VerifyToken"
        # ParticipantService is not signed: the participant's access token goes in Authorization.
        verified = participants.VerifyToken(verify_token_pb2.VerifyTokenRequest(), metadata=[("authorization", joined.token)], timeout=10)
        print(f"VerifyToken: room {verified.room_id}, user {verified.user_id}", file=sys.stderr)
    except grpc.RpcError as error:
        result = {"ok": False, "step": step, "code": error.code().name, "reason": failure_reason(error), "message": error.details()}
        print(json.dumps(result))
        return 1
    finally:
        channel.close()

    print(json.dumps({
        "ok": True,
        "roomId": args.room,
        "created": created.status,
        "roomActive": active.is_active,
        "tokenIssued": bool(joined.token),
        "verify": {"status": verified.status, "roomId": verified.room_id, "userId": verified.user_id, "natsWsUrls": list(verified.nats_ws_urls)},
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
