"""An S3 service that lacks what MinIO lacks: a proxy in front of moto's S3 server that answers as MinIO does
without a key-management service (501 NotImplemented, MinIO's error body) for PutPublicAccessBlock,
PutBucketEncryption and every write that asks for server-side encryption, and passes everything else to moto.
The portal's boto3 client parses these answers as it would MinIO's."""

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

ERROR = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
    "<Resource>{resource}</Resource><RequestId>17F0A7C3D2B1E0A9</RequestId></Error>"
)
NOT_IMPLEMENTED = "A header you provided implies functionality that is not implemented"
NO_KMS = "Server side encryption specified but KMS is not configured"
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


class MinioLike:
    """`refused` maps what to refuse ("publicAccessBlock", "encryption", "sse") to (status, code, message)."""

    def __init__(self, upstream: str, refused: dict[str, tuple[int, str, str]] | None = None):
        self.upstream = urlsplit(upstream)
        self.refused = (
            refused
            if refused is not None
            else {
                "publicAccessBlock": (501, "NotImplemented", NOT_IMPLEMENTED),
                "encryption": (501, "NotImplemented", NO_KMS),
                "sse": (501, "NotImplemented", NO_KMS),
            }
        )
        self.requests: list[tuple[str, str]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def refusal(self, method: str, path: str, headers) -> tuple[int, str, str] | None:
        query = urlsplit(path).query
        if method == "PUT" and "publicAccessBlock" in query:
            return self.refused.get("publicAccessBlock")
        if method == "PUT" and query.startswith("encryption"):
            return self.refused.get("encryption")
        if method in ("PUT", "POST") and headers.get("x-amz-server-side-encryption"):
            return self.refused.get("sse")
        return None

    def _handler(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _any(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                proxy.requests.append((self.command, self.path))
                refusal = proxy.refusal(self.command, self.path, self.headers)
                if refusal is not None:
                    status, code, message = refusal
                    answer = ERROR.format(code=code, message=message, resource=urlsplit(self.path).path).encode()
                    self.send_response(status)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                    return
                upstream = http.client.HTTPConnection(proxy.upstream.hostname, proxy.upstream.port, timeout=30)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    response = upstream.getresponse()
                    answer = response.read()
                    self.send_response(response.status)
                    for key, value in response.getheaders():
                        if key.lower() not in HOP_BY_HOP:
                            self.send_header(key, value)
                    # A HEAD answer has no body but the length of the object it describes.
                    length = response.getheader("Content-Length", "0") if self.command == "HEAD" else len(answer)
                    self.send_header("Content-Length", str(length))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(answer)
                finally:
                    upstream.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _any

        return Handler
