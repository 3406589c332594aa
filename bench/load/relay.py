"""A TCP relay on loopback (listen port -> target port) that a fault script can stop and start again.

Used in front of moto's S3 server: stopping the relay makes the endpoint refuse connections (S3 away) while moto
keeps what it stores. Run as `python -m bench.load.relay LISTEN_PORT TARGET_PORT`; SIGTERM ends it.
"""

import contextlib
import socket
import sys
import threading


def pipe(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(256 * 1024):
            target.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, target):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


def serve(listen_port: int, target_port: int) -> None:
    server = socket.create_server(("127.0.0.1", listen_port))
    while True:
        client, _address = server.accept()
        try:
            upstream = socket.create_connection(("127.0.0.1", target_port))
        except OSError:
            client.close()
            continue
        for source, target in ((client, upstream), (upstream, client)):
            threading.Thread(target=pipe, args=(source, target), daemon=True).start()


if __name__ == "__main__":
    serve(int(sys.argv[1]), int(sys.argv[2]))
