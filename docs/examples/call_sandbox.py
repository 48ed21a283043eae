#!/usr/bin/env python3
"""Call a running `kruispunt demo --keep-running` sandbox from Python, with no generated code.

The message types come from the broker's own server reflection (grpc.reflection.v1alpha, the
version Python's grpcio-reflection speaks), so this is what any agency can do in any language
that has gRPC: trust the CA, present its agency certificate, call kruispunt.v1.Exchange/Fetch.

    pip install grpcio grpcio-reflection protobuf
    python3 docs/examples/call_sandbox.py /tmp/kruispunt-sandbox/sandbox.json
"""

import json
import sys

import grpc
from google.protobuf import descriptor_pool, message_factory
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)


def main(sandbox_path: str) -> int:
    with open(sandbox_path, encoding="utf-8") as file:
        sandbox = json.load(file)

    def read(path: str) -> bytes:
        with open(path, "rb") as file:
            return file.read()

    credentials = grpc.ssl_channel_credentials(
        root_certificates=read(sandbox["ca_cert"]),
        private_key=read(sandbox["consumer_key"]),
        certificate_chain=read(sandbox["consumer_cert"]),
    )
    port = sandbox["broker_address"].rsplit(":", 1)[1]
    # The development certificates name "localhost" and 127.0.0.1.
    with grpc.secure_channel(f"localhost:{port}", credentials) as channel:
        pool = descriptor_pool.DescriptorPool(ProtoReflectionDescriptorDatabase(channel))
        request_type = message_factory.GetMessageClass(
            pool.FindMessageTypeByName("kruispunt.v1.FetchRequest")
        )
        response_type = message_factory.GetMessageClass(
            pool.FindMessageTypeByName("kruispunt.v1.FetchResponse")
        )
        fetch = channel.unary_unary(
            "/kruispunt.v1.Exchange/Fetch",
            request_serializer=request_type.SerializeToString,
            response_deserializer=response_type.FromString,
        )
        for subject in sandbox["subjects"][:2]:
            request = request_type(
                data_type=sandbox["data_type"],
                purpose=sandbox["purpose"],
                request_id="python-example",
            )
            request.subject.scheme = "be.insz"
            request.subject.id = subject
            response = fetch(request, timeout=10)
            person = json.loads(response.payload_json)
            print(
                f"{person['volledigeNaam']}: from {response.provider}, "
                f"ledger index {response.receipt.index}, leaf {response.receipt.leaf_hash.hex()[:16]}"
            )
        try:
            request = request_type(data_type=sandbox["data_type"], purpose="marketing")
            request.subject.scheme = "be.insz"
            request.subject.id = sandbox["subjects"][0]
            fetch(request, timeout=10)
            print("unexpected: an unauthorized purpose was accepted")
            return 1
        except grpc.RpcError as error:
            print(f"refused as expected: {error.code().name}: {error.details()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
