"""Signing for pnm's server-to-server API over gRPC.

The signed bytes are the serialized request message exactly as the client
serialized it, uncompressed; over gRPC, the payload of the message envelope
without its 5-byte prefix. pnm's signature v2 (the default here) goes in one
header,

    pnm-signature: v2;ts=<unix seconds>;nonce=<nonce>;sig=<hex>

where sig is the lower-case hex HMAC-SHA256, keyed with the API secret, of six
lines joined by "\n": "PNM-HMAC-SHA256-V2", "POST", the method path
("/pnm.v1.RoomService/CreateRoom"), the timestamp, the nonce, and the hex
SHA-256 of the signed bytes. It binds the call, the time and a fresh nonce, so
a captured request can neither be replayed nor sent to another method.
Upstream's v1 (signature_version=1) puts the HMAC of the signed bytes alone in
hash-signature.

The interceptor serializes the request once (deterministically, so map
entries come in a fixed order), signs those bytes and hands them on as they
are; the channel from `signed_channel` sends bytes without serializing them
again, so the signed bytes are the sent bytes.
"""

import hashlib
import hmac
import secrets
import time

import grpc

SIGNED_SERVICE = "/pnm.v1.RoomService/"


def signature_hex(api_secret: str, message: bytes) -> str:
    """HASH-SIGNATURE (upstream's v1): the hex HMAC-SHA256 of the signed bytes."""
    return hmac.new(api_secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def canonical_v2(method: str, path: str, timestamp: int, nonce: str, message: bytes) -> str:
    """The string a v2 signature covers."""
    return "\n".join(["PNM-HMAC-SHA256-V2", method, path, str(timestamp), nonce, hashlib.sha256(message).hexdigest()])


def signature_v2(api_secret: str, path: str, message: bytes, timestamp: int = None, nonce: str = None) -> str:
    """The pnm-signature value for a gRPC call of `path` (always POST) with these signed bytes."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    # 16 random bytes, base64url: 22 characters of A-Z a-z 0-9 _ -, as the server requires (16 to 64).
    nonce = secrets.token_urlsafe(16) if nonce is None else nonce
    canonical = canonical_v2("POST", path, timestamp, nonce, message)
    sig = hmac.new(api_secret.encode("utf-8"), canonical.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"v2;ts={timestamp};nonce={nonce};sig={sig}"


class _Details(grpc.ClientCallDetails):
    def __init__(self, details, metadata):
        self.method = details.method
        self.timeout = details.timeout
        self.metadata = metadata
        self.credentials = details.credentials
        self.wait_for_ready = getattr(details, "wait_for_ready", None)
        self.compression = getattr(details, "compression", None)


class SigningInterceptor(grpc.UnaryUnaryClientInterceptor):
    """Adds api-key and pnm-signature (or, for signature_version=1, hash-signature) to RoomService calls; other services pass unchanged."""

    def __init__(self, api_key: str, api_secret: str, signature_version: int = 2):
        if signature_version not in (1, 2):
            raise ValueError("signature_version is 1 or 2")
        self._api_key = api_key
        self._api_secret = api_secret
        self._version = signature_version

    def intercept_unary_unary(self, continuation, client_call_details, request):
        if not client_call_details.method.startswith(SIGNED_SERVICE):
            return continuation(client_call_details, request)
        if client_call_details.compression not in (None, grpc.Compression.NoCompression):
            raise ValueError("signed requests must not be compressed")
        body = request.SerializeToString(deterministic=True)
        metadata = list(client_call_details.metadata or [])
        if self._version == 2:
            # Signed anew for every call, retries included: each attempt needs its own nonce.
            signature = ("pnm-signature", signature_v2(self._api_secret, client_call_details.method, body))
        else:
            signature = ("hash-signature", signature_hex(self._api_secret, body))
        metadata += [("api-key", self._api_key), signature]
        return continuation(_Details(client_call_details, metadata), body)


class _SendBytesAsIs(grpc.Channel):
    """A channel whose request serializer passes already serialized bytes through unchanged."""

    def __init__(self, channel: grpc.Channel):
        self._channel = channel

    @staticmethod
    def _serializer(serialize):
        def send(request):
            if isinstance(request, bytes):
                return request
            return serialize(request) if serialize else request

        return send

    def unary_unary(self, method, request_serializer=None, response_deserializer=None, **kwargs):
        return self._channel.unary_unary(method, self._serializer(request_serializer), response_deserializer, **kwargs)

    def unary_stream(self, method, request_serializer=None, response_deserializer=None, **kwargs):
        return self._channel.unary_stream(method, request_serializer, response_deserializer, **kwargs)

    def stream_unary(self, method, request_serializer=None, response_deserializer=None, **kwargs):
        return self._channel.stream_unary(method, request_serializer, response_deserializer, **kwargs)

    def stream_stream(self, method, request_serializer=None, response_deserializer=None, **kwargs):
        return self._channel.stream_stream(method, request_serializer, response_deserializer, **kwargs)

    def subscribe(self, callback, try_to_connect=False):
        self._channel.subscribe(callback, try_to_connect)

    def unsubscribe(self, callback):
        self._channel.unsubscribe(callback)

    def close(self):
        self._channel.close()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        self.close()
        return False


def signed_channel(channel: grpc.Channel, api_key: str, api_secret: str, signature_version: int = 2) -> grpc.Channel:
    """`channel` with RoomService calls signed; use it for the generated stubs."""
    return grpc.intercept_channel(_SendBytesAsIs(channel), SigningInterceptor(api_key, api_secret, signature_version))
