# io is importable for StringIO/BytesIO only: io.open / io.FileIO must not be
import io
io.FileIO("{CANARY}", "w").write(b"pwned")
