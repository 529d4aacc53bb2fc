# outbound connection to a listener on 127.0.0.1
import socket
s = socket.create_connection(("127.0.0.1", {PORT}), timeout=2)
s.sendall(b"exfiltrated")
