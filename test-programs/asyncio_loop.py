"""asyncio_loop.py: a CPython asyncio program dumped while its event loop
runs (restorer tests). A ticker task runs on the loop; at each wait point
(1, then 2) the program prints "waiting at K" and the loop waits for a byte
on stdin (add_reader: the loop's epoll). After wait point 1 it checks that
the loop is still this thread's running loop: CPython's
get_running_loop() compares getpid() with the PID the loop was started
under, so a process restored with another PID fails there ("no running
event loop"). Prints "result ok" and exits with status 7 (so tests see
the status come through)."""
import asyncio
import os
import sys


async def main():
    loop = asyncio.get_running_loop()
    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.001)

    async def wait_point(k):
        got = loop.create_future()

        def readable():
            if not got.done():
                got.set_result(os.read(0, 1))

        loop.add_reader(0, readable)
        print(f"waiting at {k}", flush=True)
        await got
        loop.remove_reader(0)

    task = asyncio.create_task(ticker())
    print("ready", flush=True)
    await wait_point(1)
    if asyncio.get_running_loop() is not loop:
        print("FAIL: another running loop", flush=True)
        sys.exit(1)
    # The ticker goes on: wait for it (an event, not a time).
    before = ticks
    while ticks < before + 3:
        await asyncio.sleep(0)
    print("ticker runs", flush=True)
    await wait_point(2)
    task.cancel()
    print("result ok", flush=True)


asyncio.run(main())
sys.exit(7)
