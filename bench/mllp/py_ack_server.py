#!/usr/bin/python3
"""python-hl7's asyncio MLLP server (Debian python3-hl7; a peer we did not write)
on 127.0.0.1: parses each message and answers AA without storing anything.

Prints "listening PORT" once ready. Usage: py_ack_server.py [PORT] (0 = any).
"""

import asyncio
import signal
import sys

import hl7
import hl7.mllp


async def handle(reader, writer):
    try:
        while not reader.at_eof():
            message = await reader.readmessage()
            writer.writemessage(message.create_ack("AA"))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main(port):
    server = await hl7.mllp.start_hl7_server(handle, "127.0.0.1", port, limit=16 * 1024 * 1024)
    print("listening %d" % server.sockets[0].getsockname()[1], flush=True)
    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
    await stop
    server.close()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 0))
