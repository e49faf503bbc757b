#!/usr/bin/python3
"""A minimal CRI (Kubernetes Container Runtime Interface, runtime.v1) client over gRPC.

The integration tests (integration/src/containerd/cri.rs) start it once per test and talk to it
through JSON lines, one call per line:

    stdin:  {"service": "RuntimeService", "method": "RunPodSandbox", "request": {...}}   (may span lines)
    stdout: {"response": {...}}    or    {"error": {"code": "NOT_FOUND", "details": "..."}}

Requests and responses are the CRI messages in protobuf's JSON mapping with the proto's own field
names (`pod_sandbox_id`); 64-bit integers come back as strings, as that mapping says. ExecSync's
stdout and stderr come back as text rather than base64. A request string "$POD" or "$CONTAINER"
stands for the last pod_sandbox_id or container_id a response carried, so a fixed list of lines
can run a pod from start to end. It needs Debian's python3-grpcio and
python3-protobuf, and the api_pb2 module that protoc generates from api.proto (the tests run
`protoc --python_out` into a directory passed as --stubs).

    cri_client.py --socket /path/to/containerd.sock --stubs DIR
"""

import argparse
import json
import sys


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--socket", required=True, help="containerd's gRPC socket")
    parser.add_argument("--stubs", required=True, help="directory holding the generated api_pb2.py")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per call")
    args = parser.parse_args()

    sys.path.insert(0, args.stubs)
    import grpc
    from google.protobuf import json_format

    import api_pb2

    channel = grpc.insecure_channel("unix://" + args.socket)

    def call(service, method, request):
        request_type = getattr(api_pb2, method + "Request")
        response_type = getattr(api_pb2, method + "Response")
        stub = channel.unary_unary(
            "/runtime.v1.%s/%s" % (service, method),
            request_serializer=request_type.SerializeToString,
            response_deserializer=response_type.FromString,
        )
        message = json_format.ParseDict(request, request_type())
        response = stub(message, timeout=args.timeout)
        if method == "ExecSync":
            return {
                "stdout": response.stdout.decode("utf-8", "replace"),
                "stderr": response.stderr.decode("utf-8", "replace"),
                "exit_code": response.exit_code,
            }
        return json_format.MessageToDict(response, preserving_proto_field_name=True)

    last = {}

    def substitute(value):
        if isinstance(value, dict):
            return {k: substitute(v) for k, v in value.items()}
        if isinstance(value, list):
            return [substitute(v) for v in value]
        if value in ("$POD", "$CONTAINER"):
            return last.get(value, value)
        return value

    buffer = ""
    for line in sys.stdin:
        # A call may span lines: read until the object is complete.
        buffer += line
        if not buffer.strip():
            buffer = ""
            continue
        try:
            query = json.loads(buffer)
        except json.JSONDecodeError as e:
            if e.pos >= len(buffer.rstrip()):
                continue
            query = None
            answer = {"error": {"code": "CLIENT", "details": "not JSON: %s" % e}}
        buffer = ""
        try:
            if query is None:
                raise ValueError(answer["error"]["details"])
            request = substitute(query.get("request", {}))
            answer = {"response": call(query["service"], query["method"], request)}
            for key, name in (("pod_sandbox_id", "$POD"), ("container_id", "$CONTAINER")):
                if key in answer["response"]:
                    last[name] = answer["response"][key]
        except grpc.RpcError as e:
            answer = {"error": {"code": e.code().name, "details": e.details()}}
        except Exception as e:  # a bad query: reported, and the client goes on
            answer = {"error": {"code": "CLIENT", "details": "%s: %s" % (type(e).__name__, e)}}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
