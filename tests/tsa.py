"""A real RFC 3161 time-stamping authority for the tests: a loopback HTTP server that
answers each ``application/timestamp-query`` with ``openssl ts -reply``, signing with a
TSA key and certificate (extendedKeyUsage=critical,timeStamping) made for this session
under a test root CA."""
from __future__ import annotations

import contextlib
import http.server
import subprocess
import tempfile
import threading
from pathlib import Path

CONFIG = """\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = dsure test
[root_ext]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[tsa_ext]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature,nonRepudiation
extendedKeyUsage = critical,timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[tsa]
default_tsa = test_tsa
[test_tsa]
dir = {dir}
serial = {dir}/serial
crypto_device = builtin
signer_cert = {dir}/tsa.pem
signer_key = {dir}/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_alg = sha256
"""


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_tsa_files(directory: Path) -> None:
    """root.pem/root.key, tsa.pem/tsa.key and tsa.cnf in ``directory``."""
    (directory / "tsa.cnf").write_text(CONFIG.format(dir=directory))
    (directory / "serial").write_text("01\n")
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")
    _openssl("req", "-x509", *ec, "-keyout", "root.key", "-out", "root.pem", "-days", "2",
             "-config", "tsa.cnf", "-extensions", "root_ext", "-subj", "/CN=dsure test root",
             cwd=directory)
    _openssl("req", "-new", *ec, "-keyout", "tsa.key", "-out", "tsa.csr", "-config", "tsa.cnf",
             "-subj", "/CN=dsure test TSA", cwd=directory)
    _openssl("x509", "-req", "-in", "tsa.csr", "-CA", "root.pem", "-CAkey", "root.key",
             "-CAcreateserial", "-out", "tsa.pem", "-days", "2", "-extfile", "tsa.cnf",
             "-extensions", "tsa_ext", cwd=directory)


class TestTsa:
    """``url`` answers time-stamp queries; set ``down`` to make it answer 503."""

    __test__ = False  # not a test class, whatever pytest thinks of its name

    def __init__(self, directory: Path):
        self.directory = directory
        self.ca_file = directory / "root.pem"
        self.down = False
        self.requests = 0
        self._lock = threading.Lock()
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/tsa"

    def reply(self, query: bytes) -> bytes:
        with self._lock, tempfile.TemporaryDirectory() as work:  # openssl bumps the serial file
            (Path(work) / "q.tsq").write_bytes(query)
            _openssl("ts", "-reply", "-config", str(self.directory / "tsa.cnf"),
                     "-queryfile", "q.tsq", "-out", "r.tsr", cwd=Path(work))
            self.requests += 1
            return (Path(work) / "r.tsr").read_bytes()

    def _handler(self):
        tsa = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the stdlib's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if tsa.down or self.headers.get("Content-Type") != "application/timestamp-query":
                    self.send_response(503 if tsa.down else 415)
                    self.end_headers()
                    return
                try:
                    answer = tsa.reply(body)
                except subprocess.CalledProcessError:
                    self.send_response(400)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        return Handler

    @classmethod
    @contextlib.contextmanager
    def running(cls, directory: Path):
        make_tsa_files(directory)
        tsa = cls(directory)
        thread = threading.Thread(target=tsa._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield tsa
        finally:
            tsa._server.shutdown()
            tsa._server.server_close()


def openssl_verifies(data_file: Path, token_file: Path, ca_file: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["openssl", "ts", "-verify", "-data", str(data_file), "-in", str(token_file),
                           "-CAfile", str(ca_file)], capture_output=True, text=True)
