"""Signing for pnm's server-to-server API over gRPC.

HASH-SIGNATURE is the lower-case hex HMAC-SHA256, keyed with the API secret,
of the serialized request message exactly as the client serialized it,
uncompressed. Over gRPC that is the payload of the message envelope, without
its 5-byte prefix. The interceptor serializes the request once
(deterministically, so map entries come in a fixed order), signs those bytes
and hands them on as they are; the channel from `signed_channel` sends bytes
without serializing them again, so the signed bytes are the sent bytes.
"""

import hashlib
import hmac

import grpc

SIGNED_SERVICE = "/pnm.v1.RoomService/"


def signature_hex(api_secret: str, message: bytes) -> str:
    return hmac.new(api_secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


class _Details(grpc.ClientCallDetails):
    def __init__(self, details, metadata):
        self.method = details.method
        self.timeout = details.timeout
        self.metadata = metadata
        self.credentials = details.credentials
        self.wait_for_ready = getattr(details, "wait_for_ready", None)
        self.compression = getattr(details, "compression", None)


class SigningInterceptor(grpc.UnaryUnaryClientInterceptor):
    """Adds API-KEY and HASH-SIGNATURE to RoomService calls; other services pass unchanged."""

    def __init__(self, api_key: str, api_secret: str):
        self._api_key = api_key
        self._api_secret = api_secret

    def intercept_unary_unary(self, continuation, client_call_details, request):
        if not client_call_details.method.startswith(SIGNED_SERVICE):
            return continuation(client_call_details, request)
        if client_call_details.compression not in (None, grpc.Compression.NoCompression):
            raise ValueError("signed requests must not be compressed")
        body = request.SerializeToString(deterministic=True)
        metadata = list(client_call_details.metadata or [])
        metadata += [("api-key", self._api_key), ("hash-signature", signature_hex(self._api_secret, body))]
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


def signed_channel(channel: grpc.Channel, api_key: str, api_secret: str) -> grpc.Channel:
    """`channel` with RoomService calls signed; use it for the generated stubs."""
    return grpc.intercept_channel(_SendBytesAsIs(channel), SigningInterceptor(api_key, api_secret))
