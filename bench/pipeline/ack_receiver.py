#!/usr/bin/python3
"""A fast downstream MLLP receiver for bench/pipeline.sh (not a test peer).

asyncio Protocol on 127.0.0.1: finds each frame, reads MSH-10 and answers
MSA|AA|<MSH-10> at once, without parsing the rest or storing anything, so the
pipeline under test (not the receiver) is what gets measured. Counts frames.

Prints "listening PORT" once ready; on SIGTERM prints "received N" and exits.
Usage: ack_receiver.py [PORT]   (0 = any free port)
"""

import asyncio
import signal
import sys

SB, EB = b"\x0b", b"\x1c\x0d"
COUNT = [0]


class Ack(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
        self.buf = bytearray()

    def data_received(self, data):
        self.buf += data
        out = []
        while True:
            start = self.buf.find(SB)
            if start < 0:
                self.buf.clear()
                break
            end = self.buf.find(EB, start)
            if end < 0:
                if start:
                    del self.buf[:start]
                break
            head = bytes(self.buf[start + 1:min(end, start + 512)])
            del self.buf[:end + 2]
            control_id = b""
            if head.startswith(b"MSH") and len(head) > 4:
                fields = head.split(b"\r", 1)[0].split(head[3:4])
                if len(fields) > 9:
                    control_id = fields[9]
            COUNT[0] += 1
            out.append(SB + b"MSH|^~\\&|RX|BENCH|JUNCTION|HOSP|20240101000000||ACK|A" +
                       control_id + b"|P|2.5\rMSA|AA|" + control_id + b"\r" + EB)
        if out:
            self.transport.write(b"".join(out))


async def main(port):
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Ack, "127.0.0.1", port)
    print("listening %d" % server.sockets[0].getsockname()[1], flush=True)
    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, stop.set_result, None)
    loop.add_signal_handler(signal.SIGINT, stop.set_result, None)
    await stop
    server.close()
    print("received %d" % COUNT[0], flush=True)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 0))
